"""Benchmark the sandbox: start time, and `kubectl get pods -A` against kubectl's own start-up.

Run with `make bench` or `.venv/bin/python bench/sandbox.py`. The baseline is measured in the
same run (`kubectl version --client` does no network I/O), so the last line,
`sandbox_get_pods_ratio=<x>`, compares like with like on any machine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KUBECTL = ROOT / ".tools" / "bin" / "kubectl"
ROUNDS = 15


def _time(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def _start(work: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], float]:
    info = work / "info.json"
    info.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "opsgate.sandbox", "up", "--port", "0", "--seed", "demo"]
    argv += ["--kubeconfig", str(work / "kubeconfig"), "--info", str(info)]
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    while not info.exists():
        if proc.poll() is not None or time.perf_counter() - started > 30:
            raise SystemExit("the sandbox did not start")
        time.sleep(0.01)
    return proc, time.perf_counter() - started


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=10)


def main() -> None:
    """Start a demo sandbox, time the commands, print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # Byte-code is cached in a private prefix (the environment may forbid writing it
        # next to the sources); the first start fills it, as any installed copy would have.
        py_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        py_env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        proc, cold_s = _start(work, py_env)
        _stop(proc)
        starts = []
        for _ in range(3):
            proc, seconds = _start(work, py_env)
            starts.append(seconds)
            _stop(proc)
        proc, _ = _start(work, py_env)
        try:
            env = {"PATH": os.environ.get("PATH", ""), "HOME": str(work)}
            get = [str(KUBECTL), "--kubeconfig", str(work / "kubeconfig"), "get", "pods", "-A"]
            _time(get, env)  # fills kubectl's discovery cache, as any later call finds it
            version = [str(KUBECTL), "version", "--client"]
            baseline = statistics.median(_time(version, env) for _ in range(ROUNDS))
            get_pods = statistics.median(_time(get, env) for _ in range(ROUNDS))
        finally:
            _stop(proc)
    print(f"sandbox_cold_start_s={cold_s:.3f}")
    print(f"sandbox_start_s={statistics.median(starts):.3f}")
    print(f"kubectl_version_client_median_s={baseline:.3f}")
    print(f"kubectl_get_pods_all_median_s={get_pods:.3f}")
    print(f"sandbox_get_pods_ratio={get_pods / baseline:.2f}")


if __name__ == "__main__":
    main()
