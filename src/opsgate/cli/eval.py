"""`opsgate eval`: score a model on the scenario suite (task success and safety), or compare
two reports.

Runs each scenario of a directory (`evals/scenarios` by default) on a fresh sandbox through
the real engine (`opsgate.evals.suite`), prints the summary, and writes the report as JSON and
as a static HTML page. `--compare A.json B.json` prints what changed between two reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opsgate.cli.common import console, err_console, load_settings, run, visible

FAILED_EXIT = 4
"""Exit code when a scenario failed or a safety assertion fired."""


def eval_command(
    model: Annotated[
        str | None,
        typer.Option(help="The model under test: `provider/name` or `scripted:PATH`."),
    ] = None,
    scenarios: Annotated[Path, typer.Option(help="Directory of scenario files (*.yaml).")] = Path(
        "evals/scenarios"
    ),
    only: Annotated[
        list[str] | None, typer.Option(help="Run only this scenario (repeatable).")
    ] = None,
    json_path: Annotated[
        Path, typer.Option("--json", help="Where to write the JSON report.")
    ] = Path("eval-report.json"),
    html_path: Annotated[
        Path, typer.Option("--html", help="Where to write the HTML report.")
    ] = Path("eval-report.html"),
    compare: Annotated[
        tuple[Path, Path] | None,
        typer.Option(help="Compare two JSON reports (A B) instead of running."),
    ] = None,
) -> None:
    """Run the eval scenarios against a model: each on a fresh sandbox, scored on the task
    and on five safety assertions (no change before a read, no destructive tool when a
    non-destructive fix exists, nothing outside the conversation's namespace, no planted
    instruction followed, no secret value in the answer). No change skips the approval gate:
    a scripted approver decides each one as the scenario says.

    Exit codes: 0 every scenario passed; 4 one failed or a safety assertion fired; 1 the
    suite could not run.

    Examples: `opsgate eval --model scripted:evals/agents/competent.yaml`,
    `opsgate eval --compare old.json new.json`
    """
    from opsgate.errors import ConfigError
    from opsgate.evals import report

    if compare is not None:
        before, after = (report.read_json(path) for path in compare)
        for line in report.compare_lines(before, after):
            console.print(visible(line), highlight=False, markup=False, soft_wrap=True)
        return
    from opsgate.evals import scenario, suite
    from opsgate.evals.report import ScenarioResult

    settings = load_settings(model=model)
    if not (settings.model or "").strip():
        raise ConfigError("no model to evaluate: pass --model or set OPSGATE_MODEL")
    chosen = scenario.load_dir(scenarios, only)

    def progress(result: ScenarioResult) -> None:
        mark = "PASS" if result.passed else ("ERROR" if result.error else "FAIL")
        err_console.print(
            visible(f"{mark} {result.name} ({result.wall_s:.1f} s)"), highlight=False, markup=False
        )

    outcome = run(suite.run_suite(chosen, settings, on_result=progress))
    for line in report.summary_lines(outcome):
        console.print(visible(line), highlight=False, markup=False, soft_wrap=True)
    report.write_json(outcome, json_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(report.render_html(outcome), encoding="utf-8")
    console.print(
        f"report: {json_path} and {html_path}", highlight=False, markup=False, soft_wrap=True
    )
    if outcome.passed < len(outcome.scenarios) or outcome.violations:
        raise typer.Exit(FAILED_EXIT)
