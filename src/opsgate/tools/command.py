"""Running kubectl and helm: the explicit head of every argv, one deadline rule, and turning a
finished command into a `ToolOutput`.

Used by every family that runs a binary (kubectl, helm, argo) and by the shared recipes
(`rollout.py`). Every argv starts with the binary's full path, then `--kubeconfig` (when
configured) and the context flag explicitly, so a call never depends on the environment's
current context. Helm keeps its cache, config and repositories under `ToolEnv.helm_home`,
never the user's `$HOME`. `Argv` is the action `define.define` builds a tool from when the
tool is one command built by a pure argv builder.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import shlex
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from opsgate.domain.acting import ActingAs
from opsgate.errors import ToolFailed, ToolTimeout, truncate
from opsgate.tools import redact
from opsgate.tools.base import CommandResult, ToolEnv, ToolOutput

Binary = Literal["kubectl", "helm"]

TIMEOUT_MARGIN_S = 15.0
"""Extra seconds the runner allows beyond a command's own `--timeout`, so the command reports
its own timeout before the runner kills it."""

DEFAULT_HELM_HOME = Path(".opsgate") / "helm"
"""Used only when the server was built without `helm_home` (mirrors the default data dir)."""

FILE_PLACEHOLDER = "<private temp file>"
"""How the path of a private temp file (helm's `--values`) is shown: it exists only while the
command runs, so its real path says nothing to the person approving."""

WHOLE_OUTPUT_BYTES = 16 * 1024 * 1024
"""How much stdout a tool keeps of a command it reads whole to work out what it shows (a
release's manifest it diffs, a kustomization it renders), instead of the output cap on what it
shows: far above one release (Helm keeps a release in one Secret of at most 1 MiB, compressed)
or one manifest `k8s_apply` takes. Output beyond it fails the call rather than being cut."""

_CONTEXT_FLAGS: dict[Binary, str] = {"kubectl": "--context", "helm": "--kube-context"}
_AS_FLAGS: dict[Binary, tuple[str, str]] = {
    "kubectl": ("--as", "--as-group"),
    "helm": ("--kube-as-user", "--kube-as-group"),
}


@dataclass(frozen=True)
class Target:
    """Which binary, kubeconfig and context a call uses; derived from `ToolEnv` and params."""

    binary: Binary
    path: str
    """The binary's full path."""
    kubeconfig: str | None
    context: str | None
    acting_as: ActingAs | None = None
    """The person the call impersonates (`ToolEnv.acting_as`), never from the call's params."""

    @classmethod
    def of(cls, env: ToolEnv, binary: Binary, context: str | None) -> Target:
        return cls(
            binary=binary,
            path=str(env.kubectl if binary == "kubectl" else env.helm),
            kubeconfig=str(env.kubeconfig) if env.kubeconfig is not None else None,
            context=context if context is not None else env.default_context,
            acting_as=env.acting_as,
        )

    def head(self) -> list[str]:
        argv = [self.path]
        if self.kubeconfig is not None:
            argv += ["--kubeconfig", self.kubeconfig]
        if self.context is not None:
            argv += [_CONTEXT_FLAGS[self.binary], self.context]
        if self.acting_as is not None:
            # One `--flag=value` element each: a name can never be read as another flag.
            as_user, as_group = _AS_FLAGS[self.binary]
            argv.append(f"{as_user}={self.acting_as.user}")
            argv += [f"{as_group}={group}" for group in self.acting_as.groups]
        return argv


def namespace_args(namespace: str | None, all_namespaces: bool = False) -> list[str]:
    if all_namespaces:
        return ["--all-namespaces"]
    if namespace is not None:
        return ["--namespace", namespace]
    return []


def display(argv: Sequence[str]) -> str:
    """The argv as one line for people to read (never executed), secret values masked."""
    return shlex.join(redact.mask_argv(argv))


def deadline(env: ToolEnv, own_timeout_s: float | None) -> float:
    """The runner's deadline for a command that bounds itself to `own_timeout_s` (if it does)."""
    return env.command_timeout_s if own_timeout_s is None else own_timeout_s + TIMEOUT_MARGIN_S


def own_timeout(params: Any) -> float | None:
    """A call's own time bound: its `timeout_s` parameter, when its tool has one."""
    timeout_s = getattr(params, "timeout_s", None)
    return float(timeout_s) if timeout_s is not None else None


def environment(env: ToolEnv, binary: Binary) -> dict[str, str] | None:
    """What a binary needs beyond the runner's base environment: HELM_*_HOME for helm."""
    if binary != "helm":
        return None
    home = (env.helm_home if env.helm_home is not None else DEFAULT_HELM_HOME).absolute()
    return {
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }


def capped(text: str, limit_bytes: int, what: str = "output") -> tuple[str, bool]:
    """`text` cut to at most `limit_bytes` of UTF-8 plus a line saying so, and whether it was."""
    encoded = text.encode()
    if len(encoded) <= limit_bytes:
        return text, False
    kept = encoded[:limit_bytes].decode(errors="ignore")
    shown = len(kept.encode())
    return f"{kept}\n[{what} truncated: showing {shown} of {len(encoded)} bytes]", True


def output_from(result: CommandResult, *, ok_exit_codes: Sequence[int] = (0,)) -> ToolOutput:
    """A `ToolOutput` from a finished command: stdout, then stderr, then any failure marker.

    Raises:
        ToolTimeout: the command was killed at its deadline.
    """
    if result.timed_out:
        command = truncate(shlex.join(result.argv), 300)
        raise ToolTimeout(f"{command!r} timed out after {result.duration_ms} ms")
    ok = result.exit_code in ok_exit_codes
    parts = [result.stdout] if result.stdout else []
    if result.stdout_truncated:
        shown = len(result.stdout.encode())
        parts.append(f"[stdout truncated: showing {shown} of {result.stdout_size} bytes]")
    # Always shown: kubectl puts admission and deprecation warnings there on success too.
    if result.stderr:
        parts.append(result.stderr)
    if result.stderr_truncated:
        parts.append(f"[stderr truncated: {result.stderr_size} bytes in all]")
    if not ok:
        parts.append(f"[exit code {result.exit_code}]")
    return ToolOutput(
        ok=ok,
        text="\n".join(part.rstrip("\n") for part in parts),
        exit_code=result.exit_code,
        truncated=result.stdout_truncated or result.stderr_truncated,
        duration_ms=result.duration_ms,
        command=shlex.join(result.argv),
    )


async def run_result(
    env: ToolEnv,
    argv: Sequence[str],
    *,
    binary: Binary = "kubectl",
    stdin: str | None = None,
    timeout_s: float | None = None,
    stdout_cap_bytes: int | None = None,
) -> CommandResult:
    """Run one argv through the injected runner; the raw (capped, redacted) result.

    `stdout_cap_bytes` (e.g. `WHOLE_OUTPUT_BYTES`) is for output the caller reads whole.
    """
    data = stdin.encode("utf-8") if stdin is not None else None
    timeout = timeout_s if timeout_s is not None else env.command_timeout_s
    if stdout_cap_bytes is None:
        # Named only by callers that read output whole; every other call is the call runners
        # have always served.
        return await env.runner.run(
            argv, stdin=data, timeout_s=timeout, env=environment(env, binary)
        )
    return await env.runner.run(
        argv,
        stdin=data,
        timeout_s=timeout,
        env=environment(env, binary),
        stdout_cap_bytes=stdout_cap_bytes,
    )


async def run_argv(
    env: ToolEnv,
    argv: Sequence[str],
    *,
    binary: Binary = "kubectl",
    stdin: str | None = None,
    timeout_s: float | None = None,
    ok_exit_codes: Sequence[int] = (0,),
    stdout_cap_bytes: int | None = None,
) -> ToolOutput:
    """Run one argv through the injected runner into a `ToolOutput`.

    Raises:
        ToolTimeout: the command was killed at its deadline.
    """
    result = await run_result(
        env,
        argv,
        binary=binary,
        stdin=stdin,
        timeout_s=timeout_s,
        stdout_cap_bytes=stdout_cap_bytes,
    )
    return output_from(result, ok_exit_codes=ok_exit_codes)


async def read_json(env: ToolEnv, argv: list[str]) -> dict[str, Any]:
    """Run a kubectl read that prints JSON and parse it; `ToolFailed` saying why otherwise."""
    output = await run_argv(env, argv)
    if not output.ok:
        raise ToolFailed(truncate(output.text, 500))
    try:
        data: dict[str, Any] = json.loads(output.text)
    except ValueError as e:
        raise ToolFailed(f"kubectl returned no JSON: {truncate(output.text, 200)!r}") from e
    return data


@contextlib.contextmanager
def private_file(text: str | None) -> Iterator[str | None]:
    """A file only this process can read, holding `text`, removed when the block ends."""
    if text is None:
        yield None
        return
    directory = tempfile.mkdtemp(prefix="opsgate-")
    try:
        path = Path(directory) / "input.yaml"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        yield str(path)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


Builder = Callable[..., list[str]]
"""`(params, target) -> argv`; with `Argv.file`, `(params, target, path_or_None) -> argv`."""


@dataclass(frozen=True)
class Argv:
    """A tool that is one command: `fn` builds its argv (pure), this runs it.

    `fn` is named after the tool and its docstring is the description the model reads.
    """

    fn: Builder
    binary: Binary = "kubectl"
    stdin: str | None = None
    """A parameter sent on the command's stdin (a manifest) instead of in its argv."""
    file: str | None = None
    """A parameter written to a private temp file whose path `fn` gets as a third argument."""
    ok_exit_codes: tuple[int, ...] = (0,)
    timeout: Callable[[Any], float | None] = own_timeout
    """The command's own time bound for these parameters; the runner adds the margin."""
    post: Callable[[Any, ToolOutput], ToolOutput] | None = None
    """Reshapes the output (e.g. redaction that needs the parameters)."""

    def __post_init__(self) -> None:
        if not inspect.getdoc(self.fn):
            raise ValueError(f"argv builder {self.fn.__name__!r} has no docstring")

    def target(self, params: Any, env: ToolEnv) -> Target:
        return Target.of(env, self.binary, getattr(params, "context", None))

    def argv(self, params: Any, env: ToolEnv, path: str | None = None) -> list[str]:
        """The argv for these parameters; `path` is where the `file` parameter was written."""
        if self.file is None:
            return self.fn(params, self.target(params, env))
        return self.fn(params, self.target(params, env), path)

    async def run(self, params: Any, env: ToolEnv) -> ToolOutput:
        text = getattr(params, self.file) if self.file is not None else None
        with private_file(text) as path:
            output = await run_argv(
                env,
                self.argv(params, env, path),
                binary=self.binary,
                stdin=getattr(params, self.stdin) if self.stdin is not None else None,
                timeout_s=deadline(env, self.timeout(params)),
                ok_exit_codes=self.ok_exit_codes,
            )
        return self.post(params, output) if self.post is not None else output

    async def command(self, params: Any, env: ToolEnv) -> str:
        """The exact command `run` would start, for display: secrets masked, temp files named."""
        placeholder = FILE_PLACEHOLDER if getattr(params, self.file or "", None) else None
        shown = display(self.argv(params, env, placeholder))
        return f"{shown} < {self.stdin}" if self.stdin is not None else shown
