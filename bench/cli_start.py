"""Benchmark the CLI's start-up: how long `opsgate ... --help` takes, against `python -c pass`.

Run with `make bench` or `.venv/bin/python bench/cli_start.py`. Every round runs the baseline
and each command's help once, interleaved, so load on the machine hits both alike. Prints the
median per command, the ratio of the slowest to the baseline, and last
`cli_help_ms=<median of the slowest command's help>` (target: under 250 ms on a quiet machine).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPSGATE = ROOT / ".venv" / "bin" / "opsgate"
ROUNDS = 15
COMMANDS = [
    [],
    ["approvals", "list"],
    ["chat"],
    ["ask"],
    ["audit", "verify"],
    ["users", "add"],
    ["tokens", "create"],
    ["serve"],
    ["sandbox", "up"],
    ["tools", "list"],
    ["doctor"],
]


def _ms(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    baseline: list[float] = []
    helps: dict[str, list[float]] = {" ".join(c) or "(top level)": [] for c in COMMANDS}
    for _ in range(ROUNDS):
        baseline.append(_ms([sys.executable, "-c", "pass"]))
        for command in COMMANDS:
            helps[" ".join(command) or "(top level)"].append(
                _ms([str(OPSGATE), *command, "--help"])
            )
    python_ms = statistics.median(baseline)
    medians = {name: statistics.median(times) for name, times in helps.items()}
    print(f"python_start_ms={python_ms:.1f}")
    for name, median in medians.items():
        print(f"help_ms[{name}]={median:.1f}")
    slowest = max(medians.values())
    print(f"cli_help_ratio={slowest / python_ms:.2f}")
    print(f"cli_help_ms={slowest:.1f}")


if __name__ == "__main__":
    main()
