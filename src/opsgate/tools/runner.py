"""The real `CommandRunner`: one argv, no shell, a deadline, capped and redacted output.

Built once by whoever builds the `ToolEnv` (the MCP server, via `binaries.tool_env_from_settings`)
and used by every kubectl/helm tool. The child process gets its own session so that on a
timeout the whole process group (kubectl's credential plugins, helm's hooks) is killed, and
an environment built from an allowlist rather than the server's own environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from opsgate.errors import ToolFailed, truncate
from opsgate.tools import redact
from opsgate.tools.base import CommandResult

ENV_ALLOWLIST = frozenset(
    {
        "PATH",
        "HOME",
        "KUBECONFIG",
        "LANG",
        "LC_ALL",
        "TMPDIR",
        "XDG_CACHE_HOME",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "HELM_CACHE_HOME",
        "HELM_CONFIG_HOME",
        "HELM_DATA_HOME",
        "HELM_PLUGINS",
        "HELM_REGISTRY_CONFIG",
        "HELM_REPOSITORY_CACHE",
        "HELM_REPOSITORY_CONFIG",
        "KUBECACHEDIR",
        "NO_PROXY",
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "no_proxy",
        "https_proxy",
        "http_proxy",
    }
)
"""What a child may see of the environment: where things live, locale, proxies. No tokens."""

_READ_CHUNK = 64 * 1024
_DRAIN_AFTER_KILL_S = 2.0


def child_env(source: Mapping[str, str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allowlisted subset of `source`, overlaid with the allowlisted subset of `extra`."""
    env = {key: value for key, value in source.items() if key in ENV_ALLOWLIST}
    if extra:
        env.update({key: value for key, value in extra.items() if key in ENV_ALLOWLIST})
    return env


@dataclass
class _Capture:
    """One output stream, kept up to `cap` bytes, with the size of the whole."""

    cap: int
    kept: bytearray = field(default_factory=bytearray)
    size: int = 0

    async def drain(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(_READ_CHUNK):
            self.size += len(chunk)
            room = self.cap - len(self.kept)
            if room > 0:
                self.kept.extend(chunk[:room])

    @property
    def truncated(self) -> bool:
        return self.size > len(self.kept)

    def text(self) -> str:
        return shown_text(bytes(self.kept), truncated=self.truncated)


def shown_text(kept: bytes, *, truncated: bool) -> str:
    """What a tool shows of the bytes it kept of a stream: decoded, then redacted. Also used
    for output the native read path prints itself, so both paths redact alike."""
    return redact.redact_text(kept.decode("utf-8", errors="replace"), truncated=truncated)


@dataclass(frozen=True)
class SubprocessRunner:
    """Runs argv lists with `create_subprocess_exec` in a new session, never through a shell."""

    env: Mapping[str, str]
    """The child's base environment; filtered through `ENV_ALLOWLIST` again on every call."""
    timeout_s: float = 60.0
    output_cap_bytes: int = 64 * 1024

    async def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout_s: float | None = None,
        env: Mapping[str, str] | None = None,
        stdout_cap_bytes: int | None = None,
    ) -> CommandResult:
        """Run `argv` to completion or until the deadline; output capped per stream (stdout at
        `stdout_cap_bytes` when given) and redacted.

        Raises:
            ToolFailed: the program could not be started.
        """
        if not argv:
            raise ToolFailed("refusing to run an empty argv")
        deadline = self.timeout_s if timeout_s is None else timeout_s
        started = time.monotonic()
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=child_env(self.env, env),
                start_new_session=True,
            )
        except OSError as e:
            raise ToolFailed(f"could not start {argv[0]!r}: {truncate(str(e), 200)}") from e
        stdout = _Capture(self.output_cap_bytes if stdout_cap_bytes is None else stdout_cap_bytes)
        stderr = _Capture(self.output_cap_bytes)
        assert process.stdout is not None
        assert process.stderr is not None
        readers = [
            asyncio.create_task(stdout.drain(process.stdout)),
            asyncio.create_task(stderr.drain(process.stderr)),
        ]
        timed_out = False
        try:
            async with asyncio.timeout(deadline):
                if stdin is not None:
                    await _feed(process, stdin)
                await asyncio.gather(*readers)
                await process.wait()
        except TimeoutError:
            timed_out = True
            _kill_group(process.pid)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_DRAIN_AFTER_KILL_S):
                    await asyncio.gather(*readers, return_exceptions=True)
            await process.wait()
        finally:
            # Also reached when the caller cancels the run (a stopped run): kill, then reap.
            if process.returncode is None:
                _kill_group(process.pid)
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
            await process.wait()
        return CommandResult(
            argv=redact.mask_argv(argv),
            exit_code=process.returncode if process.returncode is not None else -1,
            stdout=stdout.text(),
            stderr=stderr.text(),
            duration_ms=int((time.monotonic() - started) * 1000),
            stdout_truncated=stdout.truncated,
            stderr_truncated=stderr.truncated,
            stdout_size=stdout.size,
            stderr_size=stderr.size,
            timed_out=timed_out,
        )


async def _feed(process: asyncio.subprocess.Process, data: bytes) -> None:
    assert process.stdin is not None
    # A child that exits without reading its input is not our failure; its exit code says.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        process.stdin.write(data)
        await process.stdin.drain()
    process.stdin.close()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
