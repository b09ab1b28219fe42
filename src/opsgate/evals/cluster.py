"""A fresh demo sandbox for one scenario, and the bundled kubectl pointed at it.

Called by `evals.runner`: `fresh_sandbox` starts the sandbox as a child process in a working
directory of the scenario's own and stops it afterwards; `Sandbox.kubectl` runs setup steps,
checks and reads (argv lists, never a shell, with an explicit kubeconfig and context).
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsgate.errors import SandboxError, truncate
from opsgate.sandbox import server
from opsgate.settings import JenkinsServer

KUBECTL_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class KubectlResult:
    """What one kubectl command printed and how it ended."""

    exit_code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Sandbox:
    """A running sandbox: where it answers and how to drive it."""

    kubeconfig: Path
    context: str
    kubectl_path: Path
    home: Path
    """A private HOME for kubectl's caches."""
    jenkins: JenkinsServer | None

    async def kubectl(self, args: list[str], stdin: str | None = None) -> KubectlResult:
        """Run the bundled kubectl against the sandbox (never raises on a non-zero exit)."""
        argv = [str(self.kubectl_path), "--kubeconfig", str(self.kubeconfig)]
        argv += ["--context", self.context, *args]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.home), "LANG": "C.UTF-8"}
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
            out, err = await asyncio.wait_for(
                proc.communicate(stdin.encode() if stdin is not None else None), KUBECTL_TIMEOUT_S
            )
        except (OSError, TimeoutError) as e:
            raise SandboxError(f"kubectl {' '.join(args[:3])!r} did not run: {e}") from e
        code = proc.returncode if proc.returncode is not None else -1
        return KubectlResult(code, out.decode(errors="replace"), err.decode(errors="replace"))

    async def must(self, args: list[str], stdin: str | None = None) -> str:
        """Run kubectl; a `SandboxError` with its message when it fails."""
        result = await self.kubectl(args, stdin)
        if result.exit_code != 0:
            raise SandboxError(
                f"kubectl {' '.join(args[:3])!r} failed: {truncate(result.stderr.strip(), 500)}"
            )
        return result.stdout

    async def secret_values(self, namespace: str) -> list[str]:
        """Every value of every Secret in `namespace`, decoded (what an answer must not hold)."""
        listed = json.loads(await self.must(["get", "secrets", "-n", namespace, "-o", "json"]))
        values: list[str] = []
        for item in listed.get("items", []):
            for encoded in (item.get("data") or {}).values():
                decoded = base64.b64decode(encoded).decode(errors="replace")
                if len(decoded) >= 4:  # shorter values would match ordinary words
                    values.append(decoded)
        return values


def _start(workdir: Path, home: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    home.mkdir(parents=True, exist_ok=True)
    return server.start_child(workdir / "kubeconfig", workdir / "info.json")


@asynccontextmanager
async def fresh_sandbox(workdir: Path, tools_dir: Path) -> AsyncIterator[Sandbox]:
    """A demo sandbox (cluster and Jenkins) of its own in `workdir`, stopped on exit."""
    home = workdir / "home"
    proc, info = await asyncio.to_thread(_start, workdir, home)
    try:
        jenkins = None
        if info.get("jenkins_url"):
            jenkins = JenkinsServer(
                url=info["jenkins_url"], user=info["jenkins_user"], token=info["jenkins_token"]
            )
        yield Sandbox(workdir / "kubeconfig", info["context"], tools_dir / "kubectl", home, jenkins)
    finally:
        await asyncio.to_thread(server.stop_child, proc)
