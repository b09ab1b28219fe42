"""The eval report: per scenario pass/fail with the reason, safety violations, calls, tokens,
cost and wall time; written as JSON and as a static HTML page, and compared across runs.

Built by `evals.suite`; written, read and compared by `opsgate eval` (`cli/eval.py`). The JSON
is the `Report` model's dump, so `--compare` reads back exactly what a run wrote.
"""

from __future__ import annotations

import html
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opsgate.errors import ConfigError, truncate
from opsgate.evals.safety import ASSERTIONS, Assertion, Violation


class CallSummary(BaseModel):
    """One call the agent proposed, as the report lists it."""

    model_config = ConfigDict(frozen=True)

    tool: str
    classification: str
    destructive: bool
    status: str
    namespace: str | None = None
    decision: str | None = None


class ScenarioResult(BaseModel):
    """How the agent did on one scenario."""

    name: str
    tags: list[str] = Field(default_factory=list)
    passed: bool
    """The task was done and no safety assertion fired."""
    task_done: bool
    failures: list[str] = Field(default_factory=list)
    """What the verifier found missing (empty when the task was done)."""
    violations: list[Violation] = Field(default_factory=list)
    run_status: str | None = None
    calls: list[CallSummary] = Field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    """None when the provider's price is unknown (the scripted model costs nothing: 0)."""
    wall_s: float = 0.0
    error: str | None = None
    """The harness could not run the scenario (setup failed, the sandbox did not start)."""


class Report(BaseModel):
    """One run of the suite."""

    model: str
    started_at: str
    wall_s: float
    scenarios: list[ScenarioResult]

    @property
    def passed(self) -> int:
        return sum(1 for s in self.scenarios if s.passed)

    @property
    def violations(self) -> int:
        return sum(len(s.violations) for s in self.scenarios)

    def by_assertion(self) -> dict[Assertion, int]:
        """How often each safety assertion fired over the suite."""
        counts = dict.fromkeys(ASSERTIONS, 0)
        for result in self.scenarios:
            for violation in result.violations:
                counts[violation.assertion] += 1
        return counts


def write_json(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")


def read_json(path: Path) -> Report:
    """A report written by `write_json`; a `ConfigError` naming the file otherwise."""
    try:
        return Report.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read report {str(path)!r}: {e.strerror}") from e
    except ValidationError as e:
        raise ConfigError(f"{str(path)!r} is not an eval report: {truncate(str(e), 500)}") from e


def _cost(result: ScenarioResult) -> str:
    return "unknown" if result.cost_usd is None else f"${result.cost_usd:.4f}"


def summary_lines(report: Report) -> list[str]:
    """The plain-text summary `opsgate eval` prints."""
    lines = [f"{'scenario':<36} {'result':<8} {'safety':<7} {'calls':>5} {'tokens':>8} {'time':>7}"]
    for s in report.scenarios:
        result = "PASS" if s.passed else ("ERROR" if s.error else "FAIL")
        tokens = s.input_tokens + s.output_tokens
        lines.append(
            f"{s.name:<36} {result:<8} {len(s.violations):<7} {len(s.calls):>5} "
            f"{tokens:>8} {s.wall_s:>6.1f}s"
        )
        for why in ([s.error] if s.error else []) + s.failures:
            lines.append(f"    task: {why}")
        for v in s.violations:
            lines.append(f"    safety {v.assertion}: {v.detail}")
    fired = ", ".join(f"{k} {n}" for k, n in report.by_assertion().items() if n) or "none"
    lines.append(
        f"{report.passed}/{len(report.scenarios)} passed; {report.violations} safety "
        f"violations ({fired}); model {report.model}; {report.wall_s:.1f} s"
    )
    return lines


def render_html(report: Report) -> str:
    """A static page: the summary, then one table row per scenario (no scripts, no links)."""
    e = html.escape
    rows = []
    for s in report.scenarios:
        result = "pass" if s.passed else ("error" if s.error else "fail")
        reasons = [*([s.error] if s.error else []), *s.failures]
        reasons += [f"{v.assertion}: {v.detail}" for v in s.violations]
        calls = ", ".join(f"{c.tool} ({c.status})" for c in s.calls)
        rows.append(
            f"<tr class={result}><td>{e(s.name)}</td><td>{result}</td>"
            f"<td>{len(s.violations)}</td><td>{'<br>'.join(e(r) for r in reasons)}</td>"
            f"<td>{e(calls)}</td><td>{s.input_tokens + s.output_tokens}</td>"
            f"<td>{e(_cost(s))}</td><td>{s.wall_s:.1f} s</td></tr>"
        )
    fired = "".join(f"<li>{e(name)}: {count}</li>" for name, count in report.by_assertion().items())
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><title>opsgate eval: {e(report.model)}</title>
<style>
body{{font:14px system-ui,sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}}
tr.pass td:nth-child(2){{color:#176b2c}}
tr.fail td:nth-child(2),tr.error td:nth-child(2){{color:#b00020}}
</style></head><body>
<h1>opsgate eval</h1>
<p>Model {e(report.model)}, started {e(report.started_at)}, {report.wall_s:.1f} s.
<strong>{report.passed}/{len(report.scenarios)} passed</strong>,
{report.violations} safety violations.</p>
<h2>Safety assertions fired</h2><ul>{fired}</ul>
<h2>Scenarios</h2>
<table><tr><th>scenario</th><th>result</th><th>safety violations</th><th>reasons</th>
<th>tool calls</th><th>tokens</th><th>cost</th><th>wall time</th></tr>
{"".join(rows)}
</table></body></html>
"""


def compare_lines(before: Report, after: Report) -> list[str]:
    """What changed from `before` to `after`: totals, then each scenario whose result moved."""
    lines = [
        f"passed: {before.passed}/{len(before.scenarios)} ({before.model}) -> "
        f"{after.passed}/{len(after.scenarios)} ({after.model})",
        f"safety violations: {before.violations} -> {after.violations}",
    ]
    old = {s.name: s for s in before.scenarios}
    new = {s.name: s for s in after.scenarios}
    for name in sorted(old.keys() | new.keys()):
        a, b = old.get(name), new.get(name)
        if a is None or b is None:
            lines.append(f"{name}: only in {'the second' if a is None else 'the first'} report")
            continue
        if a.passed != b.passed or len(a.violations) != len(b.violations):
            was = "pass" if a.passed else "fail"
            now = "pass" if b.passed else "fail"
            lines.append(
                f"{name}: {was} -> {now}, violations {len(a.violations)} -> {len(b.violations)}"
            )
    return lines
