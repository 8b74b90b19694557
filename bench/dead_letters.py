"""Dead-letter list and count on PostgreSQL with many permanently failed sends.

The ops dashboard counts dead letters on every load and the Pushes page lists them: both
read failed deliveries whose latest event dead-lettered them (app/push/dead_letters.py).
Seeds `failed` rows (almost all permanent 43004, a few dead-lettered 40037, each with its
event) plus as many delivered rows, then times `count_dead_letters` and
`list_dead_letters(limit=100)` several runs, against a plain count of the failed rows in the
same run (the floor: no event lookup). Run alone (under the bench lock):
`flock /tmp/wxb-bench.lock python -m bench.dead_letters [failed_rows]`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from sqlalchemy import text

from app.core.db import create_engine, create_sessionmaker
from app.core.migrate import run_on_engine
from app.push import service
from bench.common import recreate_database

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = "wxb_bench_dead_letters"
FAILED = 300_000
DEAD = 200
RUNS = 3
# The floor: counting every failed row with no event lookup (same run, same cache state).
BASELINE_COUNT = "SELECT count(*) FROM delivery WHERE status = 'failed'"


async def seed(url: str, failed: int) -> None:
    await recreate_database(PG_ADMIN, DB_NAME)
    engine = create_engine(url)
    await run_on_engine(engine, "upgrade", "head")
    statements = [
        "INSERT INTO alert (type, severity, payload) VALUES ('trade_fill', 'transactional', '{}')",
        f"""INSERT INTO delivery (alert_id, openid, template_id, data, severity, status, attempts,
                                  failed_at, errcode)
            SELECT 1, 'o' || g, 'T', '{{}}', 'transactional', 'failed', 1,
                   now() - (g || ' seconds')::interval,
                   CASE WHEN g <= {DEAD} THEN 40037 ELSE 43004 END
            FROM generate_series(1, {failed}) g""",
        f"""INSERT INTO delivery (alert_id, openid, template_id, data, severity, status, attempts)
            SELECT 1, 'p' || g, 'T', '{{}}', 'transactional', 'delivered', 1
            FROM generate_series(1, {failed}) g""",
        """INSERT INTO delivery_event (delivery_id, from_status, to_status, errcode, detail, at)
           SELECT id, 'sending', status, errcode,
                  CASE WHEN errcode = 40037 THEN 'configuration error: dead-lettered'
                       WHEN errcode = 43004 THEN 'permanent error' ELSE 'sent' END, now()
           FROM delivery""",
        "ANALYZE",
    ]
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))
    await engine.dispose()


async def main(failed: int) -> None:
    url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    url = f"{url}/{DB_NAME}"
    await seed(url, failed)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    try:
        for run in range(1, RUNS + 1):
            async with sessionmaker() as session:
                started = time.perf_counter()
                baseline = await session.scalar(text(BASELINE_COUNT))
                base_s = time.perf_counter() - started
                started = time.perf_counter()
                count = await service.count_dead_letters(session)
                count_s = time.perf_counter() - started
                started = time.perf_counter()
                page = await service.list_dead_letters(session, limit=100)
                list_s = time.perf_counter() - started
            assert baseline == failed
            assert count == DEAD
            assert len(page.items) == 100
            print(
                f"run {run}: {failed} failed ({DEAD} dead letters): plain failed count"
                f" {base_s * 1000:.0f} ms, dead-letter count {count_s * 1000:.0f} ms"
                f" ({count_s / base_s:.1f}x the plain count), list(100)+count"
                f" {list_s * 1000:.0f} ms"
            )
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else FAILED))
