"""Benchmark of the audit log: hash-chained append rate and the time to verify the chain.

Run with `make bench` (or `.venv/bin/python bench/audit.py`). Measures single appends (one
transaction each), batched appends (`append_audit_many`) and `verify_audit` over 100,000
events on SQLite, and the same on a throwaway PostgreSQL 15 when one can be started. Prints a
ratio against a baseline measured in the same run (a plain INSERT with no chain), so numbers
are comparable across machines. Last line: `audit_appends_per_s=<n>` (SQLite, single appends).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from opsgate.store import sql, tables
from opsgate.store.audit_log import NewAuditEvent

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
    """Plain single-row INSERTs in their own write transactions: the floor of any append."""
    started = time.perf_counter()
    for i in range(count):
        async with store._write() as conn:  # the same transaction path as an append
            await conn.execute(
                insert(tables.stream_events).values(
                    conversation_id="cnv_bench",
                    run_id="run_bench",
                    type="bench",
                    data={"i": i},
                    created_at=store._now(),
                )
            )
    return count / (time.perf_counter() - started)


async def _measure(url: str, label: str, singles: int, total: int) -> float:
    store = await sql.open_store(url, secret_key=SECRET_KEY)
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
            f"{label}: single appends {single_rate:,.0f}/s "
            f"({single_rate / baseline:.2f}x baseline)"
        )
        print(f"{label}: batched appends (1000/txn) {batched_rate:,.0f}/s")
        print(f"{label}: verify {verification.checked:,} events in {verify_s:.2f}s")
        return single_rate
    finally:
        await store.close()


def _postgres_url(root: Path) -> tuple[str, object] | None:
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.fixtures import postgres
    except ImportError as e:
        print(f"postgres: skipped ({e})")
        return None
    generator = postgres.postgres_server.__wrapped__()  # type: ignore[attr-defined]
    server = next(generator)
    return server.url(postgres.TEMPLATE_DB), generator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--singles", type=int, default=3000)
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opsgate-bench-") as root:
        if not args.no_postgres:
            started = _postgres_url(Path(root))
            if started is not None:
                url, generator = started
                try:
                    asyncio.run(_measure(url, "postgres", args.singles, args.total))
                finally:
                    next(generator, None)  # type: ignore[call-overload]
        sqlite_url = f"sqlite+aiosqlite:///{root}/bench.db"
        rate = asyncio.run(_measure(sqlite_url, "sqlite", args.singles, args.total))
    print(f"audit_appends_per_s={rate:.0f}")


if __name__ == "__main__":
    main()
