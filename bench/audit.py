"""Benchmark of the audit log: hash-chained append rate and the time to verify the chain.

Run with `make bench` (or `.venv/bin/python bench/audit.py`). Measures single appends (one
transaction each), batched appends (`append_audit_many`) and `verify_audit` over 100,000
events, on a throwaway PostgreSQL 15 (skip with `--no-postgres`) and on SQLite. The baseline,
measured in the same run, is stream-event appends (one plain INSERT per transaction, no
chain). Last line: `audit_appends_per_s=<n>` (SQLite, single appends).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from opsgate.store import sql
from opsgate.store.records import NewAuditEvent

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fixtures import postgres

SECRET_KEY = b"bench-secret-key-0123456789abcdef"
PAYLOAD = {
    "tool": "k8s_get",
    "status": "succeeded",
    "exit_code": 0,
    "output": "NAME   READY   STATUS    RESTARTS   AGE\nweb-1  1/1     Running   0          5m\n",
    "output_sha256": "0" * 64,
    "output_size": 80,
    "truncated": False,
    "duration_ms": 42,
}


async def _baseline_inserts_per_s(store: sql.SqlStore, count: int) -> float:
    """Stream-event appends: one plain INSERT per write transaction, no chain."""
    started = time.perf_counter()
    for i in range(count):
        await store.append_event("cnv_bench", "run_bench", "bench", {"i": i})
    return count / (time.perf_counter() - started)


async def _measure(url: str, label: str, singles: int, total: int) -> float:
    store = await sql.open_store(url, secret_key=SECRET_KEY, audit_key=postgres.AUDIT_KEY)
    try:
        baseline = await _baseline_inserts_per_s(store, singles)
        started = time.perf_counter()
        for i in range(singles):
            await store.append_audit(
                "tool.finished",
                {**PAYLOAD, "i": i},
                actor_id=None,
                actor_name="engine",
                conversation_id="cnv_bench",
                run_id="run_bench",
                call_id=f"call_{i}",
            )
        single_rate = singles / (time.perf_counter() - started)
        batch, remaining = 1000, total - singles
        started = time.perf_counter()
        while remaining > 0:
            size = min(batch, remaining)
            await store.append_audit_many(
                [
                    NewAuditEvent("tool.finished", {**PAYLOAD, "i": i}, None, "engine")
                    for i in range(size)
                ]
            )
            remaining -= size
        batched_rate = (total - singles) / (time.perf_counter() - started)
        started = time.perf_counter()
        verification = await store.verify_audit()
        verify_s = time.perf_counter() - started
        if not verification.ok or verification.checked != total:
            raise SystemExit(f"{label}: verification failed: {verification}")
        print(f"{label}: plain inserts {baseline:,.0f}/s (baseline)")
        print(
            f"{label}: single appends {single_rate:,.0f}/s ({single_rate / baseline:.2f}x baseline)"
        )
        print(f"{label}: batched appends (1000/txn) {batched_rate:,.0f}/s")
        print(f"{label}: verify {verification.checked:,} events in {verify_s:.2f}s")
        return single_rate
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--singles", type=int, default=3000)
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    sizes = (args.singles, args.total)
    with tempfile.TemporaryDirectory(prefix="opsgate-bench-") as root:
        if not args.no_postgres:
            with postgres.running_postgres() as server:
                asyncio.run(_measure(server.url(postgres.TEMPLATE_DB), "postgres", *sizes))
        sqlite_url = f"sqlite+aiosqlite:///{root}/bench.db"
        rate = asyncio.run(_measure(sqlite_url, "sqlite", *sizes))
    print(f"audit_appends_per_s={rate:.0f}")


if __name__ == "__main__":
    main()
