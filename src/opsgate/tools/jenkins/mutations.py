"""The Jenkins mutation tools (approval required): trigger a build, stop one, describe one.

Collected into `opsgate.tools.jenkins.TOOLS`. Each has a preview (what would happen, from
the job's current state, with parameters validated against its declaration) and a verify
recipe run after execution (the triggered build's result, ABORTED, the description reads
back). Verify bodies only get the call's parameters, so they find "the triggered build" as
the newest build whose parameters match the ones this call submitted.
"""

from __future__ import annotations

import time
from typing import Any

import anyio

from opsgate.errors import ToolFailed
from opsgate.tools.base import (
    PreviewReport,
    PreviewState,
    Progress,
    Tool,
    ToolEnv,
    Verification,
    VerifyVerdict,
)
from opsgate.tools.define import concluded, define
from opsgate.tools.jenkins import build_params, summaries, urls
from opsgate.tools.jenkins import params as p
from opsgate.tools.jenkins.client import JenkinsClient
from opsgate.tools.jenkins.reads import PARAMS_TREE
from opsgate.tools.jenkins.tooling import Reply, Request, hints, request_line, tool_fn
from opsgate.tools.redact import REDACTED, is_secret_key
from opsgate.tools.undo import impossible

POLL_FIRST_S = 0.2
POLL_MAX_S = 1.0
STOP_VERIFY_S = 30.0
RECENT_BUILDS = 10


def _verdict(verdict: VerifyVerdict, summary: str, *, next_step: str | None = None) -> Reply:
    """A verify body's answer: its `Verification`, and the same in words."""
    found = Verification(verdict=verdict, summary=summary, next_step=next_step)
    return Reply(concluded(found).text, found, ok=verdict == "verified")


async def _poll(interval: float) -> float:
    await anyio.sleep(interval)
    return min(interval * 1.5, POLL_MAX_S)


async def _until_finished(
    client: JenkinsClient,
    url: str,
    build: dict[str, Any],
    deadline: float,
    interval: float,
    report: Progress,
) -> dict[str, Any]:
    """`build`, re-read from `url` (polling from `interval`) until it stops building or
    `deadline` (monotonic) passes."""
    while build.get("building") and time.monotonic() < deadline:
        await report(f"build #{build.get('number', '?')} is still running")
        interval = await _poll(interval)
        build = await client.get_json(url)
    return build


async def _job_and_form(
    client: JenkinsClient, params: p.TriggerBuildParams, extra_tree: str = ""
) -> tuple[dict[str, Any], list[build_params.DeclaredParam], dict[str, str]]:
    """The job's JSON, its declared parameters, and the validated form values to submit."""
    tree = f"name,fullName,buildable,inQueue,nextBuildNumber,{PARAMS_TREE}{extra_tree}"
    job = await client.get_json(urls.api_json(urls.job_url(client.base, params.job), tree))
    declared = build_params.declared_params(job)
    return job, declared, build_params.validate_values(declared, params.parameters)


def _values_text(values: dict[str, str], form: dict[str, str]) -> str:
    if not values:
        return "no parameters"
    return ", ".join(
        f"{name}={value!r}" + ("" if name in form else " (default)")
        for name, value in values.items()
    )


async def _wait_for_start(
    client: JenkinsClient, queue_id: int, wait_s: float, report: Progress
) -> tuple[int | None, str]:
    """Follow a queue item until it has a build number, is cancelled, or `wait_s` passes."""
    url = urls.api_json(
        urls.queue_item_url(client.base, queue_id), "id,cancelled,why,executable[number]"
    )
    deadline = time.monotonic() + wait_s
    interval = POLL_FIRST_S
    while True:
        item = await client.get_json(url)
        executable = item.get("executable") or {}
        if isinstance(executable.get("number"), int):
            return executable["number"], "started"
        if item.get("cancelled"):
            return None, "the queue item was cancelled"
        if time.monotonic() >= deadline:
            return None, f"still queued after {wait_s:g} s: {item.get('why') or 'waiting'}"
        await report(f"queued: {item.get('why') or 'waiting'}")
        interval = await _poll(interval)


async def jenkins_trigger_build(
    params: p.TriggerBuildParams, client: JenkinsClient, env: ToolEnv
) -> Reply:
    """Trigger a build of a Jenkins job, with parameters checked against the ones the job
    declares (unset ones take their defaults), and wait briefly for its build number.
    Requires approval."""
    job, declared, form = await _job_and_form(client, params)
    if job.get("buildable") is False:
        return Reply(f"Job {params.job!r} is disabled; nothing was triggered.", ok=False)
    endpoint = "buildWithParameters" if declared else "build"
    target = f"{urls.job_url(client.base, params.job)}{endpoint}"
    response = await client.post(target, form)
    location = response.headers.get("Location")
    if not location:
        raise ToolFailed(f"Jenkins accepted the trigger of {params.job!r} but sent no queue item")
    queue_id = urls.queue_id_from_location(client.base, location)
    number, state = await _wait_for_start(client, queue_id, params.wait_for_start_s, env.report)
    values = build_params.masked(declared, build_params.effective_values(declared, form))
    if number is None:
        text = f"Triggered {params.job!r} (queue item {queue_id}); {state}."
    else:
        build_url = urls.build_url(client.base, params.job, number)
        text = f"Triggered {params.job!r}: build #{number} started ({build_url})."
    text += f"\nParameters: {_values_text(values, form)}"
    data = {"queue_id": queue_id, "build_number": number, "parameters": values}
    return Reply(text, data, ok=state != "the queue item was cancelled", command=f"POST {target}")


async def preview_trigger_build(
    params: p.TriggerBuildParams, client: JenkinsClient, env: ToolEnv
) -> Reply:
    """What a trigger would start: the job, its next build number and the validated values."""
    job, declared, form = await _job_and_form(client, params)
    values = build_params.masked(declared, build_params.effective_values(declared, form))
    lines = [
        f"Would trigger {params.job!r} on Jenkins {client.name!r} "
        f"(next build #{job.get('nextBuildNumber')}) with {_values_text(values, form)}."
    ]
    disabled = job.get("buildable") is False
    if disabled:
        lines.append("The job is disabled: the trigger would be refused.")
    if job.get("inQueue"):
        lines.append("A build of this job is already waiting in the queue.")
    state: PreviewState = "failed" if disabled else "changes"
    return Reply("\n".join(lines), PreviewReport(state=state), ok=not disabled)


def _masked_form(
    declared: list[build_params.DeclaredParam], form: dict[str, str]
) -> dict[str, str]:
    """Form values fit for an approval card: declared passwords and secret-looking names masked."""
    values = build_params.masked(declared, form)
    return {name: REDACTED if is_secret_key(name) else value for name, value in values.items()}


async def trigger_request(params: p.TriggerBuildParams, client: JenkinsClient, env: ToolEnv) -> str:
    """The POST a trigger sends: `buildWithParameters` for a parameterised job, else `build`."""
    _job, declared, form = await _job_and_form(client, params)
    endpoint = "buildWithParameters" if declared else "build"
    url = f"{urls.job_url(client.base, params.job)}{endpoint}"
    return request_line(client, "POST", url, _masked_form(declared, form))


def _matches(build: dict[str, Any], expected: dict[str, str]) -> bool:
    actual = {
        name: str(value).lower() if isinstance(value, bool) else str(value)
        for name, value in summaries.build_parameters(build).items()
    }
    return all(actual.get(name) == value for name, value in expected.items())


async def verify_trigger_build(
    params: p.TriggerBuildParams, client: JenkinsClient, env: ToolEnv
) -> Reply:
    """The newest build with this call's parameters, waited on until it finishes (bounded)."""
    extra = f",builds[number,building,result,actions[parameters[name,value]]]{{0,{RECENT_BUILDS}}}"
    deadline = time.monotonic() + env.command_timeout_s
    interval = POLL_FIRST_S
    job, declared, form = await _job_and_form(client, params, extra)
    # While a build of the job waits in the queue, the newest match may be an older build.
    while job.get("inQueue") and time.monotonic() < deadline:
        interval = await _poll(interval)
        job, declared, form = await _job_and_form(client, params, extra)
    hidden = {d.name for d in declared if d.kind == "password"}  # Jenkins never shows them
    expected = {
        name: value
        for name, value in build_params.effective_values(declared, form).items()
        if name not in hidden
    }
    build = next((b for b in job.get("builds") or [] if _matches(b, expected)), None)
    if build is None:
        state = "still waiting in the queue" if job.get("inQueue") else "not found"
        return _verdict(
            "failed", f"No build of {params.job!r} with these parameters yet ({state})."
        )
    url = urls.api_json(
        urls.build_url(client.base, params.job, build["number"]), "number,building,result,duration"
    )
    build = await _until_finished(client, url, build, deadline, interval, env.report)
    number, state = build.get("number"), summaries.build_state(build)
    if state == "RUNNING":
        return _verdict(
            "failed",
            f"{params.job} #{number} is still running after {env.command_timeout_s:g} s; its "
            "result is not known yet.",
            next_step=f"read its result later with jenkins_get_build (build {number})",
        )
    if state != "SUCCESS":
        return _verdict(
            "failed",
            f"{params.job} #{number} finished: {state}.",
            next_step=f"read why with jenkins_build_log (build {number}, from_end)",
        )
    return _verdict("verified", f"{params.job} #{number} finished: {state}.")


async def jenkins_stop_build(
    params: p.StopBuildParams, client: JenkinsClient, env: ToolEnv
) -> Reply:
    """Abort a running Jenkins build (its result becomes ABORTED). Requires approval."""
    build_url = urls.build_url(client.base, params.job, params.build)
    await client.post(f"{build_url}stop")
    build = await client.get_json(urls.api_json(build_url, "number,building,result"))
    text = f"Stop sent to {params.job} #{params.build}; it is now {summaries.build_state(build)}."
    return Reply(text, {"result": build.get("result")}, command=f"POST {build_url}stop")


async def preview_stop_build(
    params: p.StopBuildParams, client: JenkinsClient, env: ToolEnv
) -> Reply:
    """Whether the build runs now, for how long, and who started it."""
    url = urls.api_json(
        urls.build_url(client.base, params.job, params.build),
        "number,building,result,timestamp,actions[causes[shortDescription]]",
    )
    build = await client.get_json(url)
    causes = "; ".join(
        str(c.get("shortDescription")) for c in summaries.actions_of(build, "causes")
    )
    if not build.get("building"):
        text = (
            f"{params.job} #{params.build} already finished ({build.get('result')}): "
            "stopping it would change nothing."
        )
        return Reply(text, PreviewReport(state="no_change"))
    text = (
        f"Would abort {params.job} #{params.build}, running since "
        f"{summaries.when(build.get('timestamp'))} ({causes or 'unknown cause'})."
    )
    return Reply(text, PreviewReport(state="changes"))


async def stop_request(params: p.StopBuildParams, client: JenkinsClient, env: ToolEnv) -> str:
    """The POST a stop sends."""
    return request_line(
        client, "POST", f"{urls.build_url(client.base, params.job, params.build)}stop"
    )


async def verify_stop_build(
    params: p.StopBuildParams, client: JenkinsClient, env: ToolEnv
) -> Reply:
    """The build has finished and reads ABORTED."""
    url = urls.api_json(
        urls.build_url(client.base, params.job, params.build), "number,building,result"
    )
    deadline = time.monotonic() + min(env.command_timeout_s, STOP_VERIFY_S)
    build = await _until_finished(
        client, url, await client.get_json(url), deadline, POLL_FIRST_S, env.report
    )
    state = summaries.build_state(build)
    verdict: VerifyVerdict = "verified" if state == "ABORTED" else "failed"
    return _verdict(verdict, f"{params.job} #{params.build} is {state}.")


def _same_text(left: object, right: str) -> bool:
    return str(left or "").replace("\r\n", "\n").strip() == right.replace("\r\n", "\n").strip()


async def _current_description(client: JenkinsClient, params: p.SetDescriptionParams) -> Any:
    """The build's description as Jenkins reports it now (None when it has none)."""
    url = urls.api_json(urls.build_url(client.base, params.job, params.build), "number,description")
    return (await client.get_json(url)).get("description")


async def jenkins_set_build_description(
    params: p.SetDescriptionParams, client: JenkinsClient, env: ToolEnv
) -> Reply:
    """Set the description of a Jenkins build (replaces the previous one). Requires approval."""
    build_url = urls.build_url(client.base, params.job, params.build)
    await client.post(f"{build_url}submitDescription", {"description": params.description})
    text = f"Description of {params.job} #{params.build} set to {params.description!r}."
    return Reply(
        text, {"description": params.description}, command=f"POST {build_url}submitDescription"
    )


async def preview_set_build_description(
    params: p.SetDescriptionParams, client: JenkinsClient, env: ToolEnv
) -> Reply:
    """The current description next to the new one."""
    current = await _current_description(client, params)
    if _same_text(current, params.description):
        text = f"The description of {params.job} #{params.build} is already {current!r}."
        return Reply(text, PreviewReport(state="no_change"))
    text = (
        f"Would change the description of {params.job} #{params.build}\n"
        f"from: {current!r}\nto:   {params.description!r}"
    )
    return Reply(text, PreviewReport(state="changes"))


async def description_request(
    params: p.SetDescriptionParams, client: JenkinsClient, env: ToolEnv
) -> str:
    """The POST a description change sends."""
    url = f"{urls.build_url(client.base, params.job, params.build)}submitDescription"
    return request_line(client, "POST", url, {"description": params.description})


async def verify_set_build_description(
    params: p.SetDescriptionParams, client: JenkinsClient, env: ToolEnv
) -> Reply:
    """The description reads back as set."""
    current = await _current_description(client, params)
    same = _same_text(current, params.description)
    found = "reads back as set" if same else f"reads {current!r}, not what was set"
    summary = f"Description of {params.job} #{params.build} {found}."
    return _verdict("verified" if same else "failed", summary)


TOOLS: list[Tool] = [
    define(
        "jenkins",
        Request(jenkins_trigger_build, shown=trigger_request),
        p.TriggerBuildParams,
        hints(read_only=False, destructive=False, idempotent=False),
        preview=tool_fn(preview_trigger_build),
        verify=tool_fn(verify_trigger_build),
        verifies="waits (bounded) for the triggered build to finish: its result must be SUCCESS",
        undo=impossible(
            "a Jenkins build cannot be taken back once triggered: what its steps did (deploys, "
            "pushes, notifications) happened outside opsgate's view"
        ),
    ),
    define(
        "jenkins",
        Request(jenkins_stop_build, shown=stop_request),
        p.StopBuildParams,
        # Idempotent: stopping an aborted or finished build changes nothing more.
        hints(read_only=False, destructive=True, idempotent=True),
        preview=tool_fn(preview_stop_build),
        verify=tool_fn(verify_stop_build),
        verifies="waits (bounded) for the build to finish: its result must be ABORTED",
        undo=impossible("a stopped Jenkins build cannot be resumed; trigger a new build instead"),
    ),
    define(
        "jenkins",
        Request(jenkins_set_build_description, shown=description_request),
        p.SetDescriptionParams,
        # Not destructive: only a build's free-text note changes; setting it twice is the same.
        hints(read_only=False, destructive=False, idempotent=True),
        preview=tool_fn(preview_set_build_description),
        verify=tool_fn(verify_set_build_description),
        verifies="reads the build's description back: it must be the one set",
    ),
]
