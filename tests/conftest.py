"""Shared fixtures. Tests never reach a real model provider or a non-loopback address.

Each area keeps its fixtures in `tests/fixtures/<area>.py`, loaded here as plugins.
"""

pytest_plugins = [
    "tests.fixtures.cli",
    "tests.fixtures.mcp",
    # Before `engine` and `api`, which import its AUDIT_KEY.
    "tests.fixtures.postgres",
    # Before `engine`, which imports its SandboxInfo.
    "tests.fixtures.sandbox",
    "tests.fixtures.engine",
    "tests.fixtures.jenkins",
    "tests.fixtures.ui",
    "tests.fixtures.api",
    "tests.fixtures.oidc",
    # Last: it imports the cli and sandbox fixtures.
    "tests.fixtures.gateway",
]
