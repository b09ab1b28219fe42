"""Preview and verify of `helm_dependency_build`: `helm dependency list` read before and after.

Attached to the tool in `mutations.py`. `helm dependency list` says, per dependency of a local
chart, whether its archive in `charts/` is there and matches (`ok`, `unpacked`) or not
(`missing`, `wrong version`, `misnamed`...); it reads files only. The preview names what a build
would download, the verify that every dependency is now in place.
"""

from __future__ import annotations

from dataclasses import dataclass

from opsgate.tools.base import ToolEnv, ToolOutput, Verification
from opsgate.tools.command import output_from
from opsgate.tools.define import concluded, previewed
from opsgate.tools.helm import argv as a
from opsgate.tools.helm import params as p
from opsgate.tools.helm import releases

IN_PLACE = frozenset({"ok", "unpacked"})
"""The statuses `helm dependency list` gives a dependency whose chart is in `charts/`."""


@dataclass(frozen=True)
class Dependency:
    """One row of `helm dependency list`."""

    name: str
    version: str
    repository: str
    status: str


def parse_list(stdout: str) -> list[Dependency]:
    """The rows of `helm dependency list` (tab-separated, after a header); none for a chart
    without dependencies (helm prints only a warning then)."""
    rows = []
    for line in stdout.splitlines()[1:]:
        cells = [cell.strip() for cell in line.split("\t")]
        if len(cells) == 4 and cells[0]:
            rows.append(Dependency(*cells))
    return rows


async def _listed(chart: str, env: ToolEnv) -> list[Dependency] | ToolOutput:
    result = await releases.run_result(env, a.dependency_list(chart, releases.target(env)))
    if result.exit_code != 0:
        return output_from(result)
    return parse_list(result.stdout)


def _describe(dependency: Dependency) -> str:
    return (
        f"{dependency.name} {dependency.version} from {dependency.repository}: {dependency.status}"
    )


async def dependency_build_preview(params: p.DependencyBuildParams, env: ToolEnv) -> ToolOutput:
    """Preview of `helm_dependency_build`: which dependencies are not yet in `charts/` and
    would be downloaded (a chart helm cannot read fails it)."""
    found = await _listed(params.chart, env)
    if isinstance(found, ToolOutput):
        return previewed(found, "failed")
    lines = [_describe(dependency) for dependency in found]
    if not found:
        text = f"{params.chart} declares no dependencies: the build would write nothing"
        return previewed(ToolOutput(ok=True, text=text), "no_change")
    missing = [dependency for dependency in found if dependency.status not in IN_PLACE]
    if not missing:
        lines.append(
            f"every dependency is in {params.chart}/charts already; the build would "
            "download them again and replace the archives with the same versions"
        )
        return previewed(ToolOutput(ok=True, text="\n".join(lines)), "no_change")
    names = ", ".join(dependency.name for dependency in missing)
    lines.append(f"would download {names} into {params.chart}/charts (and write Chart.lock)")
    return previewed(ToolOutput(ok=True, text="\n".join(lines)), "changes")


async def verify_dependencies_built(params: p.DependencyBuildParams, env: ToolEnv) -> ToolOutput:
    """Verify of `helm_dependency_build`: `helm dependency list` shows every dependency ok."""
    found = await _listed(params.chart, env)
    if isinstance(found, ToolOutput):
        return found
    if not found:
        summary = f"{params.chart} declares no dependencies: there was nothing to build"
        return concluded(Verification(verdict="verified", summary=summary))
    missing = [dependency for dependency in found if dependency.status not in IN_PLACE]
    details = [_describe(dependency) for dependency in found]
    if missing:
        summary = f"{len(missing)} of {len(found)} dependencies of {params.chart} are not in place"
        return concluded(Verification(verdict="failed", summary=summary, details=details))
    summary = f"all {len(found)} dependencies of {params.chart} are in its charts/ directory"
    return concluded(Verification(verdict="verified", summary=summary, details=details))
