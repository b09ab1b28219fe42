"""Bearer credentials that change over time: exec credential plugins and token files.

Called by `pool.ApiPool` before each request. An exec plugin runs as kubectl runs it
(client-go's `exec` authenticator): its argv with no shell, the environment kubectl itself
would get plus the plugin's own `env`, `KUBERNETES_EXEC_INFO` holding the `ExecCredential`
request (non-interactive), stdin closed; its stdout is an `ExecCredential` whose
`status.token` (or client certificate) is used until `status.expirationTimestamp`, or until
the server answers 401. A token file (the in-cluster ServiceAccount mount) is re-read at most
once a minute, as client-go does, so a rotated token is picked up. Neither the token nor the
plugin's output ever reaches a message.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsgate.errors import ToolFailed, ToolTimeout, truncate
from opsgate.tools.native.kubeconfig import Endpoint, ExecConfig

TOKEN_FILE_REFRESH_S = 60.0
EXEC_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Credential:
    """What an exec plugin returned: a token or a client certificate, and until when."""

    token: str | None
    client_cert_pem: bytes | None
    client_key_pem: bytes | None
    expires_at: float | None
    """Epoch seconds; None when the plugin named no expiry (used until a 401)."""

    def fresh(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at


def exec_info(config: ExecConfig, endpoint: Endpoint) -> str:
    """The `KUBERNETES_EXEC_INFO` a plugin gets: a non-interactive `ExecCredential` request."""
    spec: dict[str, Any] = {"interactive": False}
    if config.provide_cluster_info:
        cluster: dict[str, Any] = {"server": endpoint.server}
        if endpoint.ca_pem is not None:
            cluster["certificate-authority-data"] = base64.b64encode(endpoint.ca_pem).decode()
        if endpoint.insecure:
            cluster["insecure-skip-tls-verify"] = True
        spec["cluster"] = cluster
    request = {"kind": "ExecCredential", "apiVersion": config.api_version, "spec": spec}
    return json.dumps(request, separators=(",", ":"))


def _program(config: ExecConfig, env: Mapping[str, str]) -> str:
    if "/" in config.command:
        return str(config.base / config.command)
    found = shutil.which(config.command, path=env.get("PATH", ""))
    if found is None:
        raise ToolFailed(f"exec credential plugin {config.command!r} not found on PATH")
    return found


def _expiry(status: Mapping[str, Any]) -> float | None:
    stamp = status.get("expirationTimestamp")
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError as e:
        raise ToolFailed(f"exec credential plugin gave a bad expirationTimestamp {stamp!r}") from e
    return parsed.timestamp()


def parse_credential(stdout: bytes, config: ExecConfig) -> Credential:
    """The credential in a plugin's stdout; `ToolFailed` saying why when it holds none."""
    try:
        answer = json.loads(stdout)
    except ValueError as e:
        raise ToolFailed(f"exec credential plugin {config.command!r} printed no JSON") from e
    if not isinstance(answer, dict) or answer.get("kind") != "ExecCredential":
        raise ToolFailed(f"exec credential plugin {config.command!r} gave no ExecCredential")
    if config.api_version and answer.get("apiVersion") != config.api_version:
        raise ToolFailed(
            f"exec credential plugin {config.command!r} answered apiVersion "
            f"{str(answer.get('apiVersion'))!r}, not {config.api_version!r}"
        )
    status = answer.get("status")
    if not isinstance(status, dict):
        raise ToolFailed(f"exec credential plugin {config.command!r} gave no status")
    token = status.get("token")
    cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
    if not (isinstance(token, str) and token) and not (isinstance(cert, str) and cert):
        raise ToolFailed(f"exec credential plugin {config.command!r} gave no token or certificate")
    return Credential(
        token=token if isinstance(token, str) and token else None,
        client_cert_pem=cert.encode() if isinstance(cert, str) and cert else None,
        client_key_pem=key.encode() if isinstance(key, str) and key else None,
        expires_at=_expiry(status),
    )


async def run_plugin(
    config: ExecConfig, endpoint: Endpoint, base_env: Mapping[str, str]
) -> Credential:
    """Run the plugin once (no shell) and parse what it printed.

    Raises:
        ToolFailed: it could not start, failed, or printed no credential.
        ToolTimeout: it did not finish within `EXEC_TIMEOUT_S`.
    """
    env = {**base_env, **dict(config.env), "KUBERNETES_EXEC_INFO": exec_info(config, endpoint)}
    argv = [_program(config, env), *config.args]
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
    except OSError as e:
        raise ToolFailed(f"could not start exec credential plugin {argv[0]!r}: {e}") from e
    try:
        async with asyncio.timeout(EXEC_TIMEOUT_S):
            stdout, stderr = await process.communicate()
    except TimeoutError as e:
        process.kill()
        await process.wait()
        raise ToolTimeout(f"exec credential plugin {argv[0]!r} timed out") from e
    if process.returncode != 0:
        said = truncate(stderr.decode(errors="replace").strip(), 300)
        raise ToolFailed(
            f"exec credential plugin {argv[0]!r} exited with {process.returncode}: {said}"
        )
    return parse_credential(stdout, config)


@dataclass
class TokenFile:
    """A token file read at most once per `TOKEN_FILE_REFRESH_S`."""

    path: Path
    token: str = ""
    read_at: float = -TOKEN_FILE_REFRESH_S

    def current(self) -> str:
        now = time.monotonic()
        if now - self.read_at >= TOKEN_FILE_REFRESH_S:
            try:
                self.token = self.path.read_text().strip()
            except OSError as e:
                raise ToolFailed(
                    f"cannot read token file {str(self.path)!r}: {os.strerror(e.errno or 0)}"
                ) from e
            self.read_at = now
        return self.token
