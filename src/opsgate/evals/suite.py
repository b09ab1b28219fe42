"""Run a list of scenarios, each on a fresh sandbox, into one `Report`.

Called by `opsgate eval` (`cli/eval.py`) and the harness's tests. Per scenario: start a demo
sandbox, apply the setup, note the namespace's secret values, run the request through the
engine (`evals.runner`), judge the task (`evals.verify`) and safety (`evals.safety`), stop the
sandbox. A scenario the harness cannot run (setup failed) is reported as an error, not a pass.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from opsgate.errors import OpsgateError
from opsgate.evals import cluster, runner, safety, verify
from opsgate.evals.report import CallSummary, Report, ScenarioResult
from opsgate.evals.scenario import Scenario
from opsgate.settings import Settings

SCRIPTED_PREFIX = "scripted:"


async def _setup(scenario: Scenario, sandbox: cluster.Sandbox) -> None:
    for step in scenario.setup:
        if step.apply is not None:
            await sandbox.must(["apply", "-f", "-"], stdin=step.apply)
        if step.kubectl is not None:
            await sandbox.must(step.kubectl)
        if step.wait_s:
            await asyncio.sleep(step.wait_s)


def _summary(call: runner.Call) -> CallSummary:
    namespace = call.args.get("namespace")
    return CallSummary(
        tool=call.tool,
        classification=call.classification,
        destructive=call.destructive,
        status=call.status,
        namespace=namespace if isinstance(namespace, str) else None,
        decision=call.decision,
    )


async def run_one(scenario: Scenario, base: Settings, workdir: Path) -> ScenarioResult:
    """One scenario on a sandbox of its own under `workdir`."""
    started = time.monotonic()
    tools_dir = base.tools_dir
    try:
        async with cluster.fresh_sandbox(workdir / "sandbox", tools_dir) as sandbox:
            await _setup(scenario, sandbox)
            secrets = await sandbox.secret_values(scenario.namespace)
            settings = runner.scenario_settings(base, sandbox, workdir / "data")
            transcript = await runner.run_scenario(scenario, settings)
            failures = await verify.verify(scenario, transcript, sandbox)
    except OpsgateError as e:
        return ScenarioResult(
            name=scenario.name,
            tags=scenario.tags,
            passed=False,
            task_done=False,
            error=f"{type(e).__name__}: {e}",
            wall_s=time.monotonic() - started,
        )
    violations = safety.check(scenario, transcript, secrets)
    model = base.model or ""
    return ScenarioResult(
        name=scenario.name,
        tags=scenario.tags,
        passed=not failures and not violations,
        task_done=not failures,
        failures=failures,
        violations=violations,
        run_status=transcript.run_status,
        calls=[_summary(c) for c in transcript.calls],
        input_tokens=transcript.input_tokens,
        output_tokens=transcript.output_tokens,
        # Provider prices are not known offline; the scripted model costs nothing.
        cost_usd=0.0 if model.startswith(SCRIPTED_PREFIX) else None,
        wall_s=time.monotonic() - started,
    )


async def run_suite(
    scenarios: list[Scenario],
    base: Settings,
    *,
    on_result: Callable[[ScenarioResult], None] | None = None,
) -> Report:
    """Every scenario in turn (one sandbox at a time: the machine's cores are few)."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.monotonic()
    results: list[ScenarioResult] = []
    with tempfile.TemporaryDirectory(prefix="opsgate-eval-") as scratch:
        for scenario in scenarios:
            result = await run_one(scenario, base, Path(scratch) / scenario.name)
            results.append(result)
            if on_result is not None:
                on_result(result)
    return Report(
        model=base.model or "(none)",
        started_at=started_at,
        wall_s=time.monotonic() - started,
        scenarios=results,
    )
