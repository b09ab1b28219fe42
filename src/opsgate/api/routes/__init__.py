"""The HTTP routes of the API, one module per area; `opsgate.api.app` includes their routers."""
