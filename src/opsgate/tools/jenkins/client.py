"""The HTTP side of the Jenkins tools: one httpx client per call, bound to one configured server.

Used by `reads.py` and `mutations.py`. The server is looked up by name in `ToolEnv.jenkins`
when the call runs; its URL and API token never come from the model. Every request has a
timeout, verifies TLS per the server's config, does not follow redirects, and must stay under
the base URL. POSTs
carry the CSRF crumb. Failures become `JenkinsStatusError` (Jenkins answered 4xx/5xx),
`ToolTimeout` or `ToolFailed`, always chained, with the token masked out of any message.
"""

from __future__ import annotations

import functools
import json
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from opsgate.errors import InvalidInput, ToolFailed, ToolTimeout, truncate
from opsgate.settings import JenkinsServer
from opsgate.tools.base import ToolEnv
from opsgate.tools.jenkins import urls

CONNECT_TIMEOUT_S = 10.0


class JenkinsStatusError(ToolFailed):
    """Jenkins answered with an HTTP error status."""

    def __init__(self, status: int, method: str, url: str, body: str) -> None:
        super().__init__(f"Jenkins answered {status} to {method} {url}: {truncate(body, 300)}")
        self.status = status
        self.url = url
        self.body = body


@dataclass(frozen=True)
class LogChunk:
    """Part of a build log: the bytes read and where the log stands."""

    data: bytes
    text_size: int
    """`X-Text-Size`: the log's size when Jenkins answered."""
    more_data: bool
    """`X-More-Data`: the build is still writing its log."""
    truncated: bool


@functools.cache
def tls_context(verify: bool) -> ssl.SSLContext:
    """One TLS context per verification mode, built once per process.

    Loading the CA bundle takes 150+ ms, far more than a Jenkins request, and a context holds
    no per-server state, so sharing it keeps each tool call cheap.
    """
    return httpx.create_ssl_context(verify=verify, trust_env=False)


async def server_of(env: ToolEnv, name: str) -> JenkinsServer:
    """The configured server called `name`, looked up now; the model can only choose these."""
    server = await env.jenkins.lookup(name)
    if server is None:
        configured = ", ".join(repr(n) for n in await env.jenkins.names()) or "none"
        raise InvalidInput("server", f"no Jenkins server named {name!r}; configured: {configured}")
    return server


class JenkinsClient:
    """Requests to one Jenkins server; use as `async with JenkinsClient.open(env, name) as c`."""

    def __init__(self, name: str, server: JenkinsServer, http: httpx.AsyncClient) -> None:
        self.name = name
        self.base = urls.base_url(server.url)
        self._token = server.token.get_secret_value()
        self._http = http
        self._crumb: dict[str, str] | None = None

    @classmethod
    @asynccontextmanager
    async def open(cls, env: ToolEnv, name: str) -> AsyncIterator[JenkinsClient]:
        server = await server_of(env, name)
        timeout = httpx.Timeout(env.command_timeout_s, connect=CONNECT_TIMEOUT_S)
        async with httpx.AsyncClient(
            auth=httpx.BasicAuth(server.user, server.token.get_secret_value()),
            verify=tls_context(server.verify_tls),
            # Proxy or CA variables of the process must not redirect or re-trust Jenkins calls.
            trust_env=False,
            timeout=timeout,
            follow_redirects=False,
            transport=env.http_transport,
            headers={"Accept": "application/json, text/plain;q=0.9"},
        ) as http:
            yield cls(name, server, http)

    def _mask(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    async def _send(
        self, method: str, url: str, *, data: Mapping[str, str] | None = None
    ) -> httpx.Response:
        urls.ensure_under(self.base, url)
        headers = await self._crumb_header() if method == "POST" else {}
        try:
            response = await self._http.request(method, url, data=data, headers=headers)
        except httpx.TimeoutException as e:
            raise ToolTimeout(f"Jenkins {self.name!r} did not answer {method} {url} in time") from e
        except httpx.HTTPError as e:
            message = self._mask(truncate(str(e), 300))
            raise ToolFailed(
                f"Jenkins {self.name!r} unreachable ({method} {url}): {message}"
            ) from e
        if response.status_code >= 400:
            raise JenkinsStatusError(response.status_code, method, url, self._mask(response.text))
        return response

    async def _crumb_header(self) -> dict[str, str]:
        """The CSRF crumb header, fetched once per client; none if the issuer is disabled."""
        if self._crumb is None:
            try:
                issued = await self.get_json(urls.crumb_url(self.base))
            except JenkinsStatusError as e:
                if e.status != 404:
                    raise
                issued = {}
            field, crumb = issued.get("crumbRequestField"), issued.get("crumb")
            self._crumb = {str(field): str(crumb)} if field and crumb else {}
        return self._crumb

    async def get_json(self, url: str) -> Any:
        response = await self._send("GET", url)
        try:
            return response.json()
        except json.JSONDecodeError as e:
            body = self._mask(truncate(response.text, 200))
            raise ToolFailed(f"Jenkins {self.name!r} sent non-JSON for {url}: {body}") from e

    async def post(self, url: str, data: Mapping[str, str] | None = None) -> httpx.Response:
        return await self._send("POST", url, data=data or {})

    async def read_log(self, url: str, max_bytes: int, *, tail: bool) -> LogChunk:
        """Stream a progressiveText answer: its first `max_bytes`, or with `tail` its last."""
        urls.ensure_under(self.base, url)
        kept = bytearray()
        truncated = False
        try:
            async with self._http.stream("GET", url) as response:
                if response.status_code >= 400:
                    body = (await response.aread()).decode(errors="replace")
                    raise JenkinsStatusError(response.status_code, "GET", url, self._mask(body))
                async for chunk in response.aiter_bytes():
                    kept += chunk
                    if len(kept) > max_bytes:
                        truncated = True
                        if not tail:
                            break
                        del kept[: len(kept) - max_bytes]
                headers = response.headers
        except httpx.TimeoutException as e:
            raise ToolTimeout(f"Jenkins {self.name!r} did not send the log of {url} in time") from e
        except httpx.HTTPError as e:
            message = self._mask(truncate(str(e), 300))
            raise ToolFailed(f"Jenkins {self.name!r} unreachable (GET {url}): {message}") from e
        data = bytes(kept[:max_bytes]) if not tail else bytes(kept)
        size_header = headers.get("X-Text-Size", "")
        return LogChunk(
            data=data,
            text_size=int(size_header) if size_header.isdigit() else len(data),
            more_data=headers.get("X-More-Data", "").lower() == "true",
            truncated=truncated,
        )
