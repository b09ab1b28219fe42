"""Run one scenario through the real engine and collect what happened.

Called by `evals.suite` for each scenario. The engine is the one `opsgate serve` builds
(`api.build.engine`: real tools over the in-process MCP server, real store and checkpointer
in a data directory of the scenario's own), configured with the model under test and pointed
at a fresh sandbox. An operator asks the scenario's request; a scripted approver decides every
change as the scenario's policy says, through `Engine.decide`, so the gate is never skipped.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsgate.api import build
from opsgate.domain.runs import FINAL_RUN_STATUSES
from opsgate.engine.bus import EventBus
from opsgate.engine.engine import Engine
from opsgate.evals.cluster import Sandbox
from opsgate.evals.scenario import Approver, Scenario
from opsgate.settings import Settings
from opsgate.store.protocol import Store
from opsgate.store.records import ApprovalItem, ToolCallRecord, User
from opsgate.tools import registry
from opsgate.tools.base import Tool

MAX_DECISION_ROUNDS = 20
"""How many approval pauses one run may go through before the harness gives up on it."""
APPROVE_REASON = "approved by the eval's scripted approver"


@dataclass(frozen=True)
class Call:
    """One call the agent proposed, as the engine recorded it."""

    tool: str
    args: dict[str, Any]
    classification: str
    destructive: bool
    status: str
    decision: str | None = None
    """`approve` or `reject` for a change; None for a read or a call never put to approval."""
    output: str = ""
    """What the call returned, redacted by the tool layer (as the model saw it)."""


@dataclass
class Transcript:
    """Everything a run left behind that the verifier and the safety assertions judge."""

    run_status: str
    reason: str | None
    answer: str
    calls: list[Call] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    model_turns: int = 0
    wall_s: float = 0.0


def scenario_settings(base: Settings, sandbox: Sandbox, data_dir: Path) -> Settings:
    """`base` (the model and its limits) pointed at `sandbox`, with a data directory of its own."""
    return base.model_copy(
        update={
            "data_dir": data_dir,
            "database_url": None,
            "kubeconfig": sandbox.kubeconfig,
            "default_context": sandbox.context,
            "contexts": [sandbox.context],
            "kubectl_path": None,
            "helm_path": None,
            "jenkins": {"sandbox": sandbox.jenkins} if sandbox.jenkins else {},
            "approval_key": None,
            "secret_key": None,
            "audit_key": None,
        }
    )


def decision(approver: Approver, item: ApprovalItem) -> tuple[bool, str]:
    """Whether the scripted approver approves `item`, and the reason it gives."""
    if approver.policy == "approve_all":
        return True, APPROVE_REASON
    if approver.policy == "approve_matching" and any(
        pattern.matches(item.tool, item.args) for pattern in approver.match
    ):
        return True, APPROVE_REASON
    return False, approver.reason


async def _decide_round(
    engine: Engine, store: Store, run_id: str, approver: Approver, person: User
) -> dict[str, str]:
    """Decide every pending call of the run; returns call id -> decision."""
    decided: dict[str, str] = {}
    run = await store.get_run(run_id)
    for request in await store.list_approvals(conversation_id=run.conversation_id):
        if request.run_id != run_id or request.status != "pending":
            continue
        for item in request.items:
            approve, reason = decision(approver, item)
            await engine.decide(request.id, item.call_id, person, approve=approve, reason=reason)
            decided[item.call_id] = "approve" if approve else "reject"
    return decided


def _call(record: ToolCallRecord, decisions: dict[str, str], tools: Mapping[str, Tool]) -> Call:
    classification, destructive = record.classification, record.destructive
    tool = tools.get(record.tool)
    if record.status == "invalid" and tool is not None:
        # The engine files a call it refused as a change (fail closed); what the agent tried
        # is judged by what the tool is, so a read with a bad argument stays a read.
        hints = tool.annotations.model_dump(by_alias=True)
        classification = "read" if hints.get("readOnlyHint") else "mutation"
        destructive = bool(hints.get("destructiveHint"))
    return Call(
        tool=record.tool,
        args=dict(record.args),
        classification=classification,
        destructive=destructive,
        status=record.status,
        decision=decisions.get(record.id),
        output=record.output or "",
    )


async def run_scenario(scenario: Scenario, settings: Settings) -> Transcript:
    """Ask the scenario's request on an engine built from `settings`; decide until it ends."""
    started = time.monotonic()
    async with AsyncExitStack() as stack:
        store = await build.open_store(settings)
        stack.push_async_callback(store.close)
        tools = registry.all_tools()
        engine = await build.engine(settings, store, EventBus(), tools, stack)
        operator = await store.create_user("eval-operator", "operator", None)
        approver = await store.create_user("eval-approver", "approver", None)
        conversation = await store.create_conversation(
            f"eval {scenario.name}",
            operator.id,
            [settings.default_context or ""],
            scenario.namespace,
        )
        run = await engine.submit_message(conversation.id, operator, scenario.request)
        decisions: dict[str, str] = {}
        for _ in range(MAX_DECISION_ROUNDS):
            await engine.wait_run(run.id)
            status = (await store.get_run(run.id)).status
            if status != "awaiting_approval":
                break
            decisions.update(
                await _decide_round(engine, store, run.id, scenario.approver, approver)
            )
        final = await store.get_run(run.id)
        if final.status not in FINAL_RUN_STATUSES:
            await engine.stop(run.id, operator)
            await engine.wait_run(run.id)
        messages = await store.list_messages(conversation.id, roles=["assistant"])
        records = await store.list_calls(run_id=run.id)
        transcript = Transcript(
            run_status=final.status,
            reason=final.reason,
            answer=messages[-1].text if messages else "",
            calls=[_call(r, decisions, tools) for r in sorted(records, key=lambda r: r.created_at)],
            model_turns=final.model_turns,
        )
        for message in messages:
            usage = (message.data or {}).get("usage") or {}
            transcript.input_tokens += int(usage.get("input_tokens", 0))
            transcript.output_tokens += int(usage.get("output_tokens", 0))
    transcript.wall_s = time.monotonic() - started
    return transcript
