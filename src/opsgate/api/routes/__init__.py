"""The HTTP routes of the API, one module per area; `opsgate.api.app` includes their routers.

Also holds `RecordId`, the path parameter the route modules share for a stored record's id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

RecordId = Annotated[
    str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
]
"""A stored record's id (conversation, run, approval, user, token) taken from the URL path."""
