"""One pooled HTTP client per kubeconfig context, for reads served without spawning kubectl.

Built once by `binaries.tool_env_from_settings` (when `Settings.native_reads` is on) and
carried in `ToolEnv.api`; used by `native.get`. Each context gets one `httpx.AsyncClient`
(HTTP/2 when the server offers it, so concurrent reads share one connection; HTTP/1.1
keep-alive otherwise) with the context's trust and credentials (`kubeconfig.load`,
`credentials`), and the context's API discovery, cached for `DISCOVERY_TTL_S` and refetched
when a name is not found. A kubeconfig that changes on disk is loaded again. Anything this
cannot do as kubectl does (a proxy, an unreachable server whose error kubectl words) raises
`NotNative`, so the caller runs kubectl instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import tempfile
import time
from collections.abc import AsyncGenerator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from opsgate.domain.acting import ActingAs
from opsgate.errors import NotNative, ToolTimeout
from opsgate.tools.native import credentials, discovery
from opsgate.tools.native.kubeconfig import Endpoint, load

DISCOVERY_TTL_S = 60.0
_PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")


@dataclass(frozen=True)
class ApiAnswer:
    """One API server response: status, body and content type."""

    status: int
    body: bytes
    content_type: str


@contextlib.contextmanager
def _pem_files(cert: bytes, key: bytes) -> Iterator[tuple[str, str]]:
    # `ssl` loads client certificates only from files: private ones, removed at once.
    with tempfile.TemporaryDirectory(prefix="opsgate-tls-") as folder:
        paths = []
        for name, data in (("tls.crt", cert), ("tls.key", key)):
            path = Path(folder) / name
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            paths.append(str(path))
        yield paths[0], paths[1]


def ssl_context(
    endpoint: Endpoint, cert: bytes | None = None, key: bytes | None = None
) -> ssl.SSLContext:
    """The TLS settings kubectl would use for `endpoint` (with a plugin's certificate)."""
    if endpoint.ca_pem is not None:
        context = ssl.create_default_context(cadata=endpoint.ca_pem.decode())
    else:
        context = ssl.create_default_context()
    if endpoint.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    cert = cert if cert is not None else endpoint.client_cert_pem
    key = key if key is not None else endpoint.client_key_pem
    if cert is not None and key is not None:
        with _pem_files(cert, key) as (cert_file, key_file):
            context.load_cert_chain(cert_file, key_file)
    return context


@dataclass
class _Connection:
    endpoint: Endpoint
    mtime_ns: int
    client: httpx.AsyncClient
    token_file: credentials.TokenFile | None
    credential: credentials.Credential | None = None
    resources: discovery.Discovery | None = None
    discovered_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    closer: AsyncGenerator[None] | None = None


_OPEN: set[AsyncGenerator[None]] = set()
"""The closers of connections still open. Held here because the loop holds its async
generators only weakly: a pool dropped while its loop runs would otherwise leave its socket to
the garbage collector before the closer ran."""


async def _closed_with_loop(connection: _Connection) -> AsyncGenerator[None]:
    # Its `finally` runs when the event loop shuts down (`shutdown_asyncgens`, as
    # `asyncio.run` and every asyncio runner do): a pooled connection never outlives its loop.
    try:
        yield
    finally:
        await connection.client.aclose()
        if connection.closer is not None:
            _OPEN.discard(connection.closer)


@dataclass
class ApiPool:
    """The native read path's connections, one per (kubeconfig, context)."""

    base_env: Mapping[str, str]
    """The environment kubectl would get (the runner's allowlisted one): exec plugins get it."""
    _connections: dict[tuple[str, str | None, asyncio.AbstractEventLoop], _Connection] = field(
        default_factory=dict
    )

    def _client(
        self, endpoint: Endpoint, cert: bytes | None = None, key: bytes | None = None
    ) -> httpx.AsyncClient:
        verify: ssl.SSLContext | bool = ssl_context(endpoint, cert, key) if endpoint.tls else False
        return httpx.AsyncClient(
            base_url=endpoint.server,
            verify=verify,
            http2=endpoint.tls,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=4),
        )

    async def _connection(self, kubeconfig: Path, context: str | None) -> _Connection:
        if any(self.base_env.get(name) for name in _PROXY_VARIABLES):
            raise NotNative("a proxy is set in the environment")
        loop = asyncio.get_running_loop()
        key = (str(kubeconfig), context, loop)
        try:
            # One stat of a small local file per read: cheaper than a thread hop.
            mtime_ns = os.stat(kubeconfig).st_mtime_ns
        except OSError as e:
            raise NotNative(f"cannot read kubeconfig {str(kubeconfig)!r}") from e
        known = self._connections.get(key)
        if known is not None and known.mtime_ns == mtime_ns:
            return known
        endpoint = load(kubeconfig, context)
        if known is not None:
            await known.client.aclose()
        for other in [k for k in self._connections if k[2].is_closed()]:
            del self._connections[other]  # closed with their loop
        token_file = credentials.TokenFile(endpoint.token_file) if endpoint.token_file else None
        connection = _Connection(endpoint, mtime_ns, self._client(endpoint), token_file)
        connection.closer = _closed_with_loop(connection)
        _OPEN.add(connection.closer)
        await anext(connection.closer)
        self._connections[key] = connection
        return connection

    async def endpoint(self, kubeconfig: Path, context: str | None) -> Endpoint:
        """The resolved context (its default namespace, its server)."""
        return (await self._connection(kubeconfig, context)).endpoint

    async def _authorization(self, connection: _Connection) -> str | None:
        endpoint = connection.endpoint
        if endpoint.exec is not None:
            async with connection.lock:
                credential = connection.credential
                if credential is None or not credential.fresh(time.time()):
                    credential = await credentials.run_plugin(
                        endpoint.exec, endpoint, self.base_env
                    )
                    if credential.client_cert_pem is not None:
                        await connection.client.aclose()
                        connection.client = self._client(
                            endpoint, credential.client_cert_pem, credential.client_key_pem
                        )
                    connection.credential = credential
            return f"Bearer {credential.token}" if credential.token else None
        if endpoint.token is not None:
            return f"Bearer {endpoint.token}"
        if connection.token_file is not None:
            return f"Bearer {connection.token_file.current()}"
        return None

    async def get(
        self,
        kubeconfig: Path,
        context: str | None,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        accept: str = "application/json",
        acting_as: ActingAs | None = None,
        timeout_s: float = 60.0,
    ) -> ApiAnswer:
        """GET `path` from the context's API server with its credentials.

        Raises:
            NotNative: the server could not be reached (kubectl words that error itself).
            ToolTimeout: no answer within `timeout_s`.
            ToolFailed: a credential plugin or token file failed.
        """
        connection = await self._connection(kubeconfig, context)
        for attempt in (1, 2):
            headers = {"Accept": accept}
            authorization = await self._authorization(connection)
            if authorization is not None:
                headers["Authorization"] = authorization
            if acting_as is not None:
                headers["Impersonate-User"] = acting_as.user
            request = connection.client.build_request(
                "GET", path, params=dict(query or {}), headers=headers, timeout=timeout_s
            )
            if acting_as is not None:
                # One header line per group, as kubectl sends them (never comma-joined).
                request.headers.update(
                    httpx.Headers([("Impersonate-Group", group) for group in acting_as.groups])
                )
            try:
                response = await connection.client.send(request)
            except httpx.TimeoutException as e:
                raise ToolTimeout(f"GET {path!r} timed out after {timeout_s:g} s") from e
            except httpx.HTTPError as e:
                raise NotNative(f"the API server could not be reached: {type(e).__name__}") from e
            if response.status_code == 401 and connection.credential is not None and attempt == 1:
                connection.credential = None  # a plugin's token the server no longer takes
                continue
            break
        return ApiAnswer(
            response.status_code, response.content, response.headers.get("content-type", "")
        )

    async def resources(
        self, kubeconfig: Path, context: str | None, *, timeout_s: float, refresh: bool = False
    ) -> discovery.Discovery:
        """The context's API resources (cached; `refresh` refetches)."""
        connection = await self._connection(kubeconfig, context)
        age = time.monotonic() - connection.discovered_at
        if connection.resources is not None and not refresh and age < DISCOVERY_TTL_S:
            return connection.resources
        groups = []
        for path in ("/api", "/apis"):
            answer = await self.get(
                kubeconfig, context, path, accept=discovery.ACCEPT, timeout_s=timeout_s
            )
            if answer.status != 200 or "as=APIGroupDiscoveryList" not in answer.content_type:
                raise NotNative(f"the server gave no aggregated discovery at {path!r}")
            groups.append(answer.body)
        connection.resources = discovery.parse(groups)
        connection.discovered_at = time.monotonic()
        return connection.resources

    async def aclose(self) -> None:
        """Close this event loop's connections (others close when their loop shuts down)."""
        loop = asyncio.get_running_loop()
        for key in [k for k in self._connections if k[2] is loop]:
            await self._connections.pop(key).client.aclose()
