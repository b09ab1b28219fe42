"""The HTTP surface of the sandbox API server: routes, discovery, OpenAPI, tables, watch, exec."""
