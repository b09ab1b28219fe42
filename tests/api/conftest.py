"""The API's fixtures live in `tests/fixtures/api.py`; re-exported here for `tests/api/`."""

from tests.fixtures.api import api_env, empty_api_env

__all__ = ["api_env", "empty_api_env"]
