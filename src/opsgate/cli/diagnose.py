"""`opsgate diagnose`: what is broken, found by the analyzers, with no model involved.

The diagnosis runs on the server, as direct read calls (`k8s_diagnose`, then
`jenkins_diagnose` for each Jenkins server it knows) in a conversation of its own, so it uses
the server's contexts and credentials and is in the audit log like any read. The findings come
back as the structured data of each call's `tool.finished` event; a proposed fix is printed as
the call it is, to be proposed (and approved) like any change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from opsgate.cli.options import ServerOption, TokenOption

if TYPE_CHECKING:
    from opsgate.cli.client import ApiClient
    from opsgate.domain.findings import Diagnosis

FINDINGS_EXIT = 4
"""Exit code when something was found, or could not be checked."""


def diagnose(
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Namespace (default: the context's).")
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Every namespace.")
    ] = False,
    context: Annotated[str | None, typer.Option(help="Kubeconfig context.")] = None,
    jenkins: Annotated[
        list[str] | None,
        typer.Option(help="Jenkins server to check (repeatable; default: every one known)."),
    ] = None,
    no_jenkins: Annotated[bool, typer.Option("--no-jenkins", help="Skip Jenkins.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the diagnoses as JSON.")] = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Find what is broken: crash loops, image pulls, missing config, OOM kills, pending pods,
    failing probes, stuck rollouts, Services without endpoints, dangling Ingresses, Pending
    claims, autoscalers at their maximum, unhealthy nodes, Argo Rollouts, Helm releases and
    failed Jenkins builds. Reads only; works without a model.

    Exit codes: 0 nothing found and everything checked; 4 something found or not checked;
    1 the diagnosis could not run.

    Example: `opsgate diagnose -n shop`
    """
    import json

    from opsgate.cli.client import connect

    with connect(server, token) as client:
        known: list[str] = client.request("GET", "/contexts").get("jenkins", [])
        servers = [] if no_jenkins else (jenkins if jenkins else known)
        diagnoses = _run(client, context, namespace, all_namespaces, servers)
    if as_json:
        print(json.dumps([d.model_dump(mode="json") for d in diagnoses], indent=2))
    else:
        for diagnosis in diagnoses:
            _show(diagnosis)
    if any(d.findings or d.skipped for d in diagnoses):
        raise typer.Exit(FINDINGS_EXIT)


def _run(
    client: ApiClient,
    context: str | None,
    namespace: str | None,
    all_namespaces: bool,
    jenkins: list[str],
) -> list[Diagnosis]:
    where = "every namespace" if all_namespaces else (namespace or "the default namespace")
    body: dict[str, Any] = {"title": f"Diagnose {where}", "context": context}
    if namespace is not None and not all_namespaces:
        body["namespace"] = namespace
    conversation = str(client.request("POST", "/conversations", json=body)["id"])
    args: dict[str, Any] = {"all_namespaces": True} if all_namespaces else {}
    if namespace is not None and not all_namespaces:
        args["namespace"] = namespace
    calls = [("k8s_diagnose", args)] + [("jenkins_diagnose", {"server": name}) for name in jenkins]
    return [_call(client, conversation, tool, call_args) for tool, call_args in calls]


def _call(client: ApiClient, conversation: str, tool: str, args: dict[str, Any]) -> Diagnosis:
    from opsgate.domain.findings import Diagnosis
    from opsgate.errors import OpsgateError

    started = client.request(
        "POST", f"/conversations/{conversation}/calls", json={"tool": tool, "args": args}
    )
    run_id = str(started["run_id"])
    finished: dict[str, Any] | None = None
    for event in client.events(conversation, 0):
        if event.data.get("run_id") != run_id:
            continue
        if event.type == "tool.finished":
            finished = event.data
        if event.type == "run.finished":
            break
    if finished is None:
        raise OpsgateError(f"{tool} did not finish (run {run_id}); see the Command Center")
    if finished.get("status") != "succeeded" or finished.get("data") is None:
        raise OpsgateError(f"{tool} failed: {finished.get('output', '')}")
    return Diagnosis.model_validate(finished["data"])


def _show(diagnosis: Diagnosis) -> None:
    from rich.text import Text

    from opsgate.cli.common import console, untrusted
    from opsgate.tools.diagnose.analyzers import where_of

    title = Text(diagnosis.context or "the default context", style="bold")
    if not (diagnosis.context or "").startswith("jenkins:"):
        title.append(f", {where_of(diagnosis)}")
    console.print(title)
    if not diagnosis.findings:
        checked = ", ".join(diagnosis.checked) or "nothing"
        console.print(Text(f"  no problem found (checked: {checked})", "green"))
    styles = {"critical": "bold red", "warning": "yellow"}
    for finding in diagnosis.findings:
        line = Text("  ")
        line.append(f"{finding.severity.upper():8}", styles[finding.severity])
        line.append_text(untrusted(f" {finding.object}: {finding.problem}"))
        line.append(f"  [{finding.analyzer}]", "dim")
        console.print(line)
        for evidence in finding.evidence:
            console.print(Text("      ").append_text(untrusted(evidence, "dim")))
        if finding.fix is not None:
            call = " ".join(f"{k}={v}" for k, v in finding.fix.args.items())
            fix = Text("      fix (needs approval): ", "cyan")
            fix.append_text(untrusted(f"{finding.fix.tool} {call} — {finding.fix.why}"))
            console.print(fix)
    for skipped in diagnosis.skipped:
        console.print(untrusted(f"  NOT checked: {skipped.what}: {skipped.reason}", "yellow"))
