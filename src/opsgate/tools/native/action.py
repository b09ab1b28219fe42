"""The action of a read with a native path: try it, else run kubectl, and say which ran.

Used by `tools.kubectl.reads` for `k8s_get` and `k8s_logs`. With `ToolEnv.api` set
(`Settings.native_reads`) the native function prints the read itself; a read it does not
serve (`NotNative`) runs the same kubectl argv as before. Either way the result's `data`
records the path, `{"read_path": "native"}` or `{"read_path": "kubectl", "reason": "..."}`,
which the tool result carries to the engine and its stream. Both outputs go through the same
`output_from` and the tool's `post` step, so caps, redaction and the output hash treat them
alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from opsgate.errors import NotNative
from opsgate.tools.base import CommandResult, ToolEnv, ToolOutput
from opsgate.tools.command import Argv, Builder, Target, output_from

ReadPath = Literal["native", "kubectl"]

NativeRead = Callable[[Any, ToolEnv, Target, list[str]], Awaitable[CommandResult]]
"""`(params, env, target, kubectl_argv) -> result`; raises `NotNative` for what it leaves."""

OFF = "native reads are off (OPSGATE_NATIVE_READS=false) or not set up for this tool server"


def path_record(path: ReadPath, reason: str | None = None) -> dict[str, str]:
    """The `data` a read's result carries: which path ran it and, for kubectl, why."""
    return {"read_path": path} if reason is None else {"read_path": path, "reason": reason}


@dataclass(frozen=True)
class NativeFirst:
    """`argv`'s tool, served by `native` when it can and by `argv`'s kubectl command otherwise."""

    argv: Argv
    native: NativeRead

    @property
    def fn(self) -> Builder:
        return self.argv.fn

    async def run(self, params: Any, env: ToolEnv) -> ToolOutput:
        reason = OFF
        if env.api is not None:
            target = self.argv.target(params, env)
            kubectl_argv = self.argv.argv(params, env)
            try:
                result = await self.native(params, env, target, kubectl_argv)
            except NotNative as e:
                reason = str(e)
            else:
                output = output_from(result, ok_exit_codes=self.argv.ok_exit_codes)
                output = dataclasses.replace(output, data=path_record("native"))
                return self.argv.post(params, output) if self.argv.post else output
        output = await self.argv.run(params, env)
        return dataclasses.replace(output, data=path_record("kubectl", reason))

    async def command(self, params: Any, env: ToolEnv) -> str | None:
        return await self.argv.command(params, env)
