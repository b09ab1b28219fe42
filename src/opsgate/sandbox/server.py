"""Start and stop the sandbox: the Kubernetes API (and the sandbox Jenkins when present).

`__main__` and the `opsgate sandbox` CLI call `serve`/`serve_foreground` (blocking), `up`
(detached), `down` and `status`. `up` records a runtime file `sandbox.json` under
`<data_dir>/sandbox/`; the kubeconfig written there has the context `opsgate-sandbox`.
With `tls` (`up --tls`) the API answers HTTPS with a self-signed certificate for 127.0.0.1
made at start (`ca.crt` beside the kubeconfig, which trusts it): kubectl sends bearer tokens
only over TLS, so ServiceAccount tokens (in-cluster identity) need it.
"""

from __future__ import annotations

import asyncio
import datetime
import importlib.util
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from opsgate.errors import SandboxError
from opsgate.sandbox import seed
from opsgate.sandbox.apiserver.cluster import Cluster
from opsgate.sandbox.http import api

CONTEXT = "opsgate-sandbox"
HOST = "127.0.0.1"


@dataclass
class SandboxInfo:
    """Where a running sandbox answers (also the JSON of the runtime/info file)."""

    pid: int
    api_url: str
    kubeconfig: str
    context: str = CONTEXT
    jenkins_url: str | None = None
    jenkins_user: str | None = None
    jenkins_token: str | None = None
    state: str | None = None
    ca_file: str | None = None
    """With TLS: the certificate (its own CA) that clients must trust."""


def runtime_dir(data_dir: Path) -> Path:
    """The directory holding the kubeconfig and the runtime file."""
    return Path(data_dir) / "sandbox"


def write_kubeconfig(
    path: Path, api_url: str, ca_file: Path | None = None, key_file: Path | None = None
) -> None:
    """A kubeconfig with one context, `opsgate-sandbox`, pointing at the sandbox.

    Over TLS the admin user names a client certificate (the server's own): kubectl asks for
    a username and password on a terminal when a user has no credentials at all. The sandbox
    does not ask for client certificates; a request without a bearer token is the admin.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    trust = f"    certificate-authority: {ca_file}\n" if ca_file is not None else ""
    user = "{}"
    if ca_file is not None and key_file is not None:
        user = f"{{client-certificate: {ca_file}, client-key: {key_file}}}"
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {CONTEXT}\n  cluster:\n    server: {api_url}\n{trust}"
        f"users:\n- name: {CONTEXT}\n  user: {user}\n"
        f"contexts:\n- name: {CONTEXT}\n  context:\n    cluster: {CONTEXT}\n"
        f"    user: {CONTEXT}\n    namespace: default\n"
        f"current-context: {CONTEXT}\n"
    )


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA, and its key (0600), written to `folder`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "opsgate-sandbox")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "ca.crt", folder / "tls.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.touch(mode=0o600)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as e:
        sock.close()
        raise SandboxError(f"cannot listen on {HOST}:{port}: {e}") from e
    sock.listen(128)
    sock.setblocking(False)
    return sock


def build_cluster(seed_name: seed.Seed, state: Path | None) -> Cluster:
    """A seeded (or restored) cluster."""
    cluster = Cluster()
    from opsgate.sandbox.controllers import rollouts

    cluster.extra_controllers.append(rollouts.reconcile_all)
    if state is not None and state.exists():
        cluster.store.load(state)
        cluster.restore_crds()
    else:
        seed.apply_seed(cluster, seed_name)
        if seed_name == "demo":
            rollouts.seed(cluster)
            from opsgate.sandbox import helm_release

            helm_release.seed(cluster)
            seed.backdate(cluster)
    cluster.state_path = state
    cluster.settle()
    return cluster


async def _serve(
    port: int,
    jenkins_port: int | None,
    seed_name: seed.Seed,
    state: Path | None,
    kubeconfig: Path,
    info: Path | None,
    tick: bool,
    tls: bool = False,
) -> None:
    cluster = build_cluster(seed_name, state)
    sock = _bind(port)
    ca_file: Path | None = None
    key_file: Path | None = None
    if tls:
        ca_file, key_file = self_signed_certificate(kubeconfig.parent)
    scheme = "https" if tls else "http"
    api_url = f"{scheme}://{HOST}:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        api.create_app(cluster),
        log_level="warning",
        ws="websockets-sansio",
        lifespan="off",
        access_log=False,
        ssl_certfile=str(ca_file) if ca_file else None,
        ssl_keyfile=str(key_file) if key_file else None,
    )
    servers = [uvicorn.Server(config)]
    tasks = [servers[0].serve(sockets=[sock])]
    result = SandboxInfo(
        pid=os.getpid(),
        api_url=api_url,
        kubeconfig=str(kubeconfig),
        state=str(state) if state else None,
        ca_file=str(ca_file) if ca_file else None,
    )
    if jenkins_port is not None and importlib.util.find_spec("opsgate.sandbox.jenkins") is not None:
        from opsgate.sandbox import jenkins

        jsock = _bind(jenkins_port)
        jconfig = uvicorn.Config(
            jenkins.create_app(seed_name), log_level="warning", lifespan="on", access_log=False
        )
        servers.append(uvicorn.Server(jconfig))
        tasks.append(servers[1].serve(sockets=[jsock]))
        result.jenkins_url = f"http://{HOST}:{jsock.getsockname()[1]}/"
        result.jenkins_user = jenkins.SANDBOX_JENKINS_USER
        result.jenkins_token = jenkins.SANDBOX_JENKINS_TOKEN
    write_kubeconfig(kubeconfig, api_url, ca_file, key_file)

    async def announce() -> None:
        while not all(s.started for s in servers):  # noqa: ASYNC110 - uvicorn exposes only a flag
            await asyncio.sleep(0.02)
        if info is not None:
            info.parent.mkdir(parents=True, exist_ok=True)
            tmp = info.with_suffix(".tmp")
            tmp.touch(mode=0o600)
            tmp.write_text(json.dumps(asdict(result)))
            tmp.replace(info)

    async def ticking() -> None:
        # Time-based behaviour (back-offs, progress deadlines, timed rollout pauses) advances
        # without a request.
        while tick and not all(s.should_exit for s in servers):
            await asyncio.sleep(1.0)
            cluster.settle()

    ticker = asyncio.ensure_future(ticking())
    try:
        await asyncio.gather(*tasks, announce())
    finally:
        ticker.cancel()


def serve(
    port: int = 0,
    jenkins_port: int | None = 0,
    seed_name: seed.Seed = "demo",
    state: Path | None = None,
    kubeconfig: Path = Path(".opsgate/sandbox/kubeconfig"),
    info: Path | None = None,
    tick: bool = True,
    tls: bool = False,
) -> None:
    """Serve until interrupted (Jenkins too, unless `jenkins_port` is None); with `tick`
    False, time-based changes wait for the next write; with `tls`, HTTPS."""
    asyncio.run(_serve(port, jenkins_port, seed_name, state, kubeconfig, info, tick, tls))


def serve_foreground(
    data_dir: Path, port: int = 0, seed: seed.Seed = "demo", state: Path | None = None
) -> None:
    """`opsgate sandbox up` without `--detach`: serve, writing files under the data dir."""
    folder = runtime_dir(data_dir)
    serve(port, 0, seed, state, folder / "kubeconfig", folder / "sandbox.json")


def status(data_dir: Path) -> SandboxInfo | None:
    """The running sandbox recorded in the data dir, or None."""
    info_file = runtime_dir(data_dir) / "sandbox.json"
    if not info_file.exists():
        return None
    info = SandboxInfo(**json.loads(info_file.read_text()))
    try:
        os.kill(info.pid, 0)
    except OSError:
        info_file.unlink(missing_ok=True)
        return None
    return info


def up(
    data_dir: Path,
    port: int = 0,
    seed: seed.Seed = "demo",
    state: Path | None = None,
    timeout: float = 20.0,
) -> SandboxInfo:
    """Start a detached sandbox and wait until it answers."""
    running = status(data_dir)
    if running is not None:
        return running
    folder = runtime_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    info_file = folder / "sandbox.json"
    argv = [sys.executable, "-m", "opsgate.sandbox", "up", "--port", str(port), "--seed", seed]
    argv += ["--kubeconfig", str(folder / "kubeconfig"), "--info", str(info_file)]
    if state is not None:
        argv += ["--state", str(state)]
    log = str(folder / "sandbox.log")
    # posix_spawn leaves no Popen object behind: the sandbox outlives this call by design.
    pid = os.posix_spawn(
        sys.executable,
        argv,
        dict(os.environ),
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _reap(pid):
            raise SandboxError(f"the sandbox exited early; see {log}")
        found = status(data_dir)
        if found is not None:
            return found
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    _reap(pid)
    raise SandboxError(f"the sandbox did not start within {timeout:.0f} s")


def _reap(pid: int) -> bool:
    """Whether `pid` has exited (reaping it when it is our child)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        try:
            os.kill(pid, 0)
        except OSError:
            return True
        return False
    return done == pid


def down(data_dir: Path) -> bool:
    """Stop the detached sandbox; False when none was running."""
    info = status(data_dir)
    if info is None:
        return False
    os.kill(info.pid, signal.SIGTERM)
    for _ in range(200):
        if _reap(info.pid):
            break
        time.sleep(0.05)
    (runtime_dir(data_dir) / "sandbox.json").unlink(missing_ok=True)
    return True


def start_child(
    kubeconfig: Path,
    info: Path,
    *,
    seed_name: seed.Seed = "demo",
    port: int = 0,
    extra: list[str] | None = None,
    timeout: float = 30.0,
) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """Start a foreground sandbox as a child process; return it and its info once it answers.

    Used by `opsgate demo`, the test fixtures and the benchmarks, which stop it with
    `stop_child`. Its output goes to `sandbox.log` beside the info file.
    """
    argv = [sys.executable, "-m", "opsgate.sandbox", "up", "--port", str(port)]
    argv += ["--seed", seed_name, "--kubeconfig", str(kubeconfig), "--info", str(info)]
    info.unlink(missing_ok=True)
    log = info.parent / "sandbox.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*argv, *(extra or [])], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SandboxError(f"the sandbox exited early: {log.read_text()[-2000:]}")
        if info.exists():
            try:
                data: dict[str, Any] = json.loads(info.read_text())
                return proc, data
            except ValueError:
                pass  # written but not yet complete
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise SandboxError(f"the sandbox did not start within {timeout:.0f} s")


def stop_child(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a sandbox started by `start_child`, killing it if it lingers."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
