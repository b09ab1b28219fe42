"""Preview and verify of `helm_test`: a release's test hooks, read from helm.

Attached to the tool in `mutations.py`. `helm test` has no dry run: the preview reads the
release's hooks (`helm get hooks`) and names the test hooks it would create; the verify reads
`helm status` as JSON, whose `hooks[].last_run.phase` says how each test hook's latest run
ended. Both are reads; a release with no test hooks tests nothing and is never `verified`.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from opsgate.errors import ToolFailed
from opsgate.tools.base import ToolEnv, ToolOutput, Verification
from opsgate.tools.command import output_from
from opsgate.tools.define import concluded, previewed
from opsgate.tools.helm import argv as a
from opsgate.tools.helm import params as p
from opsgate.tools.helm import releases

HOOK_ANNOTATION = "helm.sh/hook"
TEST_EVENTS = frozenset({"test", "test-success"})
"""The hook events `helm test` runs (`test-success` is Helm 2's name, still honoured)."""


def testing_hooks(manifest: str) -> list[str]:
    """`Kind/name` of each object in `helm get hooks` output that is a test hook."""
    found = []
    for document in yaml.safe_load_all(manifest):
        if not isinstance(document, dict):
            continue
        metadata = document.get("metadata") or {}
        events = str((metadata.get("annotations") or {}).get(HOOK_ANNOTATION, ""))
        if TEST_EVENTS & {event.strip() for event in events.split(",")}:
            found.append(f"{document.get('kind', '?')}/{metadata.get('name', '?')}")
    return found


async def preview_tests(params: p.ReleaseTestParams, env: ToolEnv) -> ToolOutput:
    """Preview of `helm_test`: the test hooks it would run (a missing release fails it)."""
    target = releases.target(env, params.context)
    result = await releases.run_result(
        env, a.release_hooks(params.release, params.namespace, target), whole=True
    )
    if result.exit_code != 0:
        return previewed(output_from(result), "failed")
    try:
        hooks = testing_hooks(result.stdout)
    except yaml.YAMLError as e:
        raise ToolFailed(f"the hooks of release {params.release!r} are not YAML") from e
    if not hooks:
        text = f"release {params.release!r} has no test hooks: helm test would run nothing"
        return previewed(ToolOutput(ok=True, text=text), "no_change")
    text = (
        f"would create and wait (at most {params.timeout_s} s each) for the test hooks of "
        f"release {params.release!r}: {', '.join(hooks)}; there is no dry run of a test"
    )
    return previewed(ToolOutput(ok=True, text=text), "changes")


def _runs(status: Any) -> list[tuple[str, str]]:
    """(`Kind/name`, phase of its latest run) of each test hook in `helm status` JSON."""
    hooks = status.get("hooks") if isinstance(status, dict) else None
    runs = []
    for hook in hooks if isinstance(hooks, list) else []:
        if isinstance(hook, dict) and TEST_EVENTS & set(hook.get("events") or []):
            phase = (hook.get("last_run") or {}).get("phase") or "not run"
            runs.append((f"{hook.get('kind', '?')}/{hook.get('name', '?')}", str(phase)))
    return runs


async def verify_tested(params: p.ReleaseTestParams, env: ToolEnv) -> ToolOutput:
    """Verify of `helm_test`: every test hook's latest run succeeded, as `helm status` says."""
    target = releases.target(env, params.context)
    result = await releases.run_result(
        env, a.status_json(params.release, params.namespace, target), whole=True
    )
    if result.exit_code != 0:
        return output_from(result)
    try:
        runs = _runs(json.loads(result.stdout))
    except ValueError as e:
        raise ToolFailed(f"helm status of {params.release!r} is not JSON") from e
    if not runs:
        summary = f"release {params.release!r} has no test hooks: nothing was tested"
        return concluded(Verification(verdict="not_verified", summary=summary))
    details = [f"{hook}: {phase}" for hook, phase in runs]
    failed = [hook for hook, phase in runs if phase != "Succeeded"]
    if failed:
        summary = f"{len(failed)} of {len(runs)} test hooks of {params.release!r} did not succeed"
        return concluded(
            Verification(
                verdict="failed",
                summary=summary,
                details=details,
                next_step="read the failing test pods' logs (k8s_logs) to see why",
            )
        )
    summary = f"all {len(runs)} test hooks of release {params.release!r} succeeded"
    return concluded(Verification(verdict="verified", summary=summary, details=details))
