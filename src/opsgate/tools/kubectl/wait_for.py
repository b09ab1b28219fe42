"""The condition wait `k8s_wait_for` (kubectl wait): its parameters, its argv, and the run
that says, while kubectl waits, that it is still waiting.

Registered by `reads.py` as a read: waiting changes nothing. One kubectl process waits for the
whole bound (`timeout_s`, at most 600 s), so the wait is exactly the command shown; every
`PROGRESS_EVERY_S` the call reports through `ToolEnv.report` how long it has waited.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Annotated, Literal

from pydantic import Field, model_validator

from opsgate.tools import validate
from opsgate.tools.base import ToolEnv, ToolOutput
from opsgate.tools.command import Target, deadline, namespace_args, run_argv
from opsgate.tools.kubectl import params as p

PROGRESS_EVERY_S = 5.0
"""How often `k8s_wait_for` says it is still waiting."""

ConditionType = Annotated[
    str,
    validate.grammar(
        r"([a-z0-9.-]+/)?[A-Za-z][A-Za-z0-9_.-]*",
        "a condition type such as 'Ready', 'Available', 'Complete' or 'example.com/Synced'",
        316,
    ),
]
"""A status condition's type: CamelCase, optionally prefixed by a domain (CRDs' conditions)."""

WaitValue = Annotated[
    str,
    validate.grammar(
        r"[A-Za-z0-9]([A-Za-z0-9_.:/+-]*[A-Za-z0-9])?", "a value such as 'Running' or '3'", 253
    ),
]


class WaitForParams(p.NamedParams):
    resource: validate.ResourceOrRef
    """`type/name` (`deployment/web`, `job/migrate`), or a type (`pods`) with `name`,
    `selector` or `all`."""
    name: validate.ObjectName | None = None
    """One object's name when `resource` is only a type."""
    selector: validate.LabelSelector | None = None
    """Wait for every object matching this label selector, e.g. `app=web`."""
    all: bool = False
    """Wait for every object of the type in the namespace."""
    condition: ConditionType | None = None
    """Wait until this status condition holds, e.g. `Ready` (pods), `Available` (deployments),
    `Complete` (jobs), `Established` (CRDs)."""
    condition_value: Literal["true", "false"] = "true"
    """The status `condition` must reach (`false` to wait for it to turn false)."""
    jsonpath: validate.WaitJsonPath | None = None
    """Wait until this field has `value` (or, without `value`, exists), e.g. `{.status.phase}`."""
    value: WaitValue | None = None
    """The value `jsonpath` must have, e.g. `Running`."""
    deleted: bool = False
    """Wait until the objects are gone (objects already gone count as deleted)."""
    timeout_s: int = Field(default=60, ge=1, le=p.MAX_ROLLOUT_TIMEOUT_S)
    """How long to wait before giving up (at most 600 s)."""

    @model_validator(mode="after")
    def _one_target_one_condition(self) -> WaitForParams:
        targets = (
            ("/" in self.resource)
            + (self.name is not None)
            + (self.selector is not None)
            + self.all
        )
        if targets != 1:
            raise ValueError("name exactly one target: 'type/name', 'name', 'selector' or 'all'")
        if (self.condition is not None) + (self.jsonpath is not None) + self.deleted != 1:
            raise ValueError("wait for exactly one of 'condition', 'jsonpath' or 'deleted'")
        if self.value is not None and self.jsonpath is None:
            raise ValueError("'value' is what 'jsonpath' must equal: give it with 'jsonpath'")
        if self.condition_value != "true" and self.condition is None:
            raise ValueError("'condition_value' needs 'condition'")
        return self


def awaited(params: WaitForParams) -> str:
    """What `k8s_wait_for` waits for, as kubectl's `--for` value."""
    if params.condition is not None:
        suffix = "" if params.condition_value == "true" else "=false"
        return f"condition={params.condition}{suffix}"
    if params.jsonpath is not None:
        return f"jsonpath={params.jsonpath}" + (f"={params.value}" if params.value else "")
    return "delete"


def wait_for_argv(params: WaitForParams, target: Target) -> list[str]:
    argv = [*target.head(), "wait", params.resource]
    if params.name is not None:
        argv.append(params.name)
    argv += namespace_args(params.namespace)
    if params.selector is not None:
        argv += ["--selector", params.selector]
    if params.all:
        argv.append("--all")
    return [*argv, f"--for={awaited(params)}", f"--timeout={params.timeout_s}s"]


async def k8s_wait_for(params: WaitForParams, env: ToolEnv) -> ToolOutput:
    """Wait (at most `timeout_s`) until objects meet a condition (kubectl wait): a status
    condition (`Ready`, `Available`, `Complete`), a JSONPath field with a value, or deletion.
    Changes nothing; says every few seconds that it is still waiting."""
    argv = wait_for_argv(params, Target.of(env, "kubectl", params.context))
    target = params.resource if params.name is None else f"{params.resource}/{params.name}"
    if params.selector is not None or params.all:
        target = f"{params.resource} ({params.selector or 'all'})"
    started = time.monotonic()
    waiting = asyncio.ensure_future(run_argv(env, argv, timeout_s=deadline(env, params.timeout_s)))
    try:
        while not waiting.done():
            await asyncio.wait({waiting}, timeout=PROGRESS_EVERY_S)
            if not waiting.done():
                elapsed = round(time.monotonic() - started)
                await env.report(
                    f"waiting for {target}: {awaited(params)} ({elapsed} of {params.timeout_s} s)"
                )
    finally:
        waiting.cancel()  # a no-op once it finished; stops kubectl if this call is cancelled
    output = waiting.result()
    if output.ok and not output.text.strip():
        # kubectl prints nothing when the objects to wait for deletion are already gone.
        met = "gone" if params.deleted else f"{awaited(params)} met"
        return dataclasses.replace(output, text=f"{target}: {met}")
    if not output.ok and "timed out waiting for the condition" in output.text:
        text = f"{output.text}\nnot met within {params.timeout_s} s: {awaited(params)}"
        return dataclasses.replace(output, text=text)
    return output
