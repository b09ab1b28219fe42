"""The read-only tool `jenkins_diagnose`: the jobs of a Jenkins server whose last build failed.

Registered in `opsgate.tools.jenkins.TOOLS`; the Jenkins half of the diagnostics
(`opsgate.tools.diagnose` is the cluster's). One request lists every job three folder levels
deep with its last build; each failed one is a finding quoting its result and the last lines
of its console log. No fix is proposed: rebuilding is not known to fix anything.
"""

from __future__ import annotations

from typing import Any

from opsgate.domain.findings import Diagnosis, Finding, ObjectRef, Severity
from opsgate.tools.base import Tool, ToolEnv
from opsgate.tools.define import define
from opsgate.tools.jenkins import logs, urls
from opsgate.tools.jenkins.client import JenkinsClient
from opsgate.tools.jenkins.params import ServerParams
from opsgate.tools.jenkins.tooling import READ, Reply, Request

_LEVEL = "name,fullName,color,lastBuild[number,result,building,url]"
JOBS_TREE = f"jobs[{_LEVEL},jobs[{_LEVEL},jobs[{_LEVEL}]]]"
"""Three folder levels: deeper jobs are listed by `jenkins_list_jobs`."""

FAILED: dict[str, tuple[Severity, str]] = {
    "FAILURE": ("critical", "last build failed"),
    "UNSTABLE": ("warning", "last build unstable"),
}
LOG_TAIL_BYTES = 4096
LOG_LINES = 5
MAX_LOGS = 10


def _jobs(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for item in items:
        found.append(item)
        found.extend(_jobs(item.get("jobs") or []))
    return found


async def _last_lines(client: JenkinsClient, job: str, build: int) -> list[str]:
    url = urls.progressive_text_url(client.base, job, build, 0)
    chunk = await client.read_log(url, LOG_TAIL_BYTES, tail=True)
    window = logs.tail_window(chunk.data, chunk.text_size, truncated=chunk.truncated)
    lines = [line for line in window.data.decode(errors="replace").splitlines() if line.strip()]
    return lines[-LOG_LINES:]


async def jenkins_diagnose(params: ServerParams, client: JenkinsClient, env: ToolEnv) -> Reply:
    """Find the Jenkins jobs whose last build failed or is unstable, with the build number and
    the last lines of its console log, in one call. Start a CI investigation here."""
    listing = await client.get_json(urls.api_json(client.base, JOBS_TREE))
    findings: list[Finding] = []
    for job in _jobs(listing.get("jobs") or []):
        last = job.get("lastBuild") or {}
        failed = FAILED.get(str(last.get("result")))
        if failed is None or last.get("building"):
            continue
        severity, problem = failed
        name, number = str(job.get("fullName") or job.get("name")), int(last.get("number", 0))
        evidence = [f"build #{number}: {last.get('result')}"]
        if len(findings) < MAX_LOGS:
            lines = await _last_lines(client, name, number)
            if lines:
                evidence.append("last log lines: " + " | ".join(lines))
        findings.append(
            Finding(
                analyzer="jenkins_last_build",
                severity=severity,
                object=ObjectRef(kind="JenkinsJob", name=name),
                problem=problem,
                evidence=evidence,
            )
        )
    diagnosis = Diagnosis(
        context=f"jenkins:{client.name}", findings=findings, checked=["jenkins_jobs"]
    )
    lines = [f"Jenkins {client.name!r}: {len(findings) or 'no'} job(s) whose last build failed"]
    for finding in findings:
        lines.append(f"- [{finding.severity}] {finding.object.name}: {finding.problem}")
        lines.extend(f"    {line}" for line in finding.evidence)
    return Reply("\n".join(lines), diagnosis.model_dump(mode="json"))


TOOLS: list[Tool] = [define("jenkins", Request(jenkins_diagnose), ServerParams, READ)]
