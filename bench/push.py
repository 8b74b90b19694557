"""Push pipeline benchmarks (issue #6, items 1-2): fan-out and relay.

Each figure is printed next to its target. Real PostgreSQL (a scratch database, recreated) and
Redis (a scratch DB).

1. fan-out of one alert to N subscribed fans (preferences applied) vs a bare INSERT … SELECT of
   N rows into a table with only a primary key, same run — target >= 50 % of its rate;
2. relay of N pending deliveries into Redis Streams — target < 5 s for 1,000,000.

`fanout` stores the fans in openid order (the seed's order); `fanout-shuffled` runs the same
comparison on fans stored in random openid order, as real fans are (by subscription time):
both statements then read the fans in an order unrelated to their indexes'.

Items 3-5 (worker throughput and RSS, alert → send latency, rate-cap accuracy) run worker
processes against the simulator: `bench/push_worker.py`.

Knobs: BENCH_PUSH_ROWS (1,000,000), BENCH_PG_ADMIN_URL, BENCH_PUSH_DB, BENCH_PUSH_REDIS_URL.
Run: `.venv/bin/python -m bench.push [fanout relay fanout-shuffled]` or `make bench` (the
first two).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import UTC, datetime

import asyncpg
import orjson

from bench.common import RESULTS, Report, database_url, recreate_migrated_database
from bench.template_send import DATA, TEMPLATE_ID

ROWS = int(os.environ.get("BENCH_PUSH_ROWS", "1000000"))
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = os.environ.get("BENCH_PUSH_DB", "wxb_bench_push")
REDIS_URL = os.environ.get("BENCH_PUSH_REDIS_URL", "redis://127.0.0.1:6379/15")


REPORT = Report("Push benchmarks", value_width=34)
figure = REPORT.figure


# -- database and redis --------------------------------------------------------------------


def db_url(driver: str = "postgresql+asyncpg") -> str:
    return database_url(PG_ADMIN_URL, DB_NAME, driver)


async def recreate_db() -> None:
    await recreate_migrated_database(PG_ADMIN_URL, DB_NAME)


async def pg() -> asyncpg.Connection:
    return await asyncpg.connect(db_url("postgresql"))


async def reset_tables(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "TRUNCATE alert, delivery, delivery_event, cs_message RESTART IDENTITY CASCADE"
    )


async def insert_pending(conn: asyncpg.Connection, n: int, *, prefix: str = "oBench") -> int:
    """One alert and `n` pending deliveries (bulk, server-side) for distinct fans."""
    alert_id = await conn.fetchval(
        "INSERT INTO alert (type, severity, payload) VALUES ('bench', 'market', '{}') RETURNING id"
    )
    data = orjson.dumps(DATA).decode()
    await conn.execute(
        """INSERT INTO delivery (alert_id, openid, template_id, data, severity)
           SELECT $1, $2 || lpad(g::text, 8, '0'), $3, $4::json, 'market'
           FROM generate_series(1, $5) g""",
        alert_id, prefix, TEMPLATE_ID, data, n,
    )  # fmt: skip
    await conn.execute("ANALYZE delivery")
    return int(alert_id)


async def count_queued(conn: asyncpg.Connection) -> int:
    """`queued` as the API shows it: relayed fresh rows are queued by the relay cursor."""
    return int(
        await conn.fetchval(
            """SELECT count(*) FROM delivery WHERE status = 'queued' OR (status = 'pending'
               AND queued_at IS NULL AND next_attempt_at IS NULL AND id <= coalesce(
               (SELECT last_id FROM push_relay_cursor WHERE kind = 'delivery'), 0))"""
        )
    )


async def flush_redis() -> None:
    from app.core.redis import create_redis

    redis = create_redis(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()


# -- 1. fan-out ----------------------------------------------------------------------------


# Every 20 fans: 1 opted out of IPO alerts, 1 in quiet hours now, 1 with quiet hours later
# today, 1 with a preference row on defaults; the other 16 never set anything (no row).
PREFS_SQL = """INSERT INTO fan_preference (openid, ipo, quiet_start_hour, quiet_end_hour)
    SELECT 'oFan' || lpad(g::text, 8, '0'), g % 20 <> 0,
           CASE g % 20 WHEN 5 THEN $2 WHEN 10 THEN ($2 + 3) % 24 END,
           CASE g % 20 WHEN 5 THEN ($2 + 2) % 24 WHEN 10 THEN ($2 + 5) % 24 END
    FROM generate_series(1, $1) g WHERE g % 5 = 0"""
FANOUT_ALERTS = {
    # market: quiet hours skip the fan
    "market": {
        "type": "ipo_subscription_open",
        "target": {"kind": "topic", "topic": "ipo"},
        "payload": {"security_code": "301999", "security_name": "某某科技",
                    "subscribe_date": "2026-01-06", "issue_price": 25.8},
    },
    # transactional: quiet hours defer the fan to their end (next_attempt_at)
    "transactional": {
        "type": "announcement",
        "target": {"kind": "topic", "topic": "ipo"},
        "payload": {"title": "新股申购安排", "summary": "本周新股申购时间表已发布",
                    "published_at": "2026-01-05T09:00:00+08:00"},
    },
}  # fmt: skip


async def seed_fans(
    conn: asyncpg.Connection, beijing_hour: int, *, shuffled: bool = False
) -> dict[str, int]:
    """N subscribed fans with preferences for a fifth of them; the expected recipients.
    `shuffled`: both tables stored in random openid order instead of openid order."""
    await conn.execute("TRUNCATE fan, fan_preference RESTART IDENTITY CASCADE")
    order = " ORDER BY md5(g::text)" if shuffled else ""
    await conn.execute(
        """INSERT INTO fan (openid, is_subscribed, subscribe_count)
           SELECT 'oFan' || lpad(g::text, 8, '0'), true, 1 FROM generate_series(1, $1) g"""
        + order,
        ROWS,
    )
    await conn.execute(PREFS_SQL + order, ROWS, beijing_hour)
    # Vacuumed, not only analysed: hint bits and the visibility map set once here, so neither
    # the bare statement nor the fan-out that reads the fans first pays for setting them.
    await conn.execute("VACUUM (ANALYZE) fan, fan_preference")
    opted_out = ROWS // 20
    quiet = (ROWS + 15) // 20  # g % 20 == 5
    return {"market": ROWS - opted_out - quiet, "transactional": ROWS - opted_out, "quiet": quiet}


async def bare_insert_select(conn: asyncpg.Connection) -> float:
    """The reference: N (alert, fan) pairs into a table with only a primary key."""
    await conn.execute("DROP TABLE IF EXISTS bench_pairs")
    await conn.execute(
        "CREATE TABLE bench_pairs (alert_id bigint, openid varchar(64),"
        " PRIMARY KEY (alert_id, openid))"
    )
    await conn.execute("CHECKPOINT")
    started = time.perf_counter()
    await conn.execute("INSERT INTO bench_pairs SELECT 1, openid FROM fan")
    elapsed = time.perf_counter() - started
    await conn.execute("DROP TABLE bench_pairs")
    return elapsed


async def bench_fanout(*, shuffled: bool = False) -> None:
    """The ingest path's own function (`alerts.service.fan_out`: alert row, recipients query,
    `push.service.insert_deliveries_from_select`, commit) for a market alert (quiet hours skip)
    and a transactional one (quiet hours defer), each next to a bare INSERT … SELECT."""
    from app.alerts import service as alerts_service
    from app.alerts.schemas import INGEST_ALERT
    from app.core.db import create_engine, create_sessionmaker, unit_of_work

    conn = await pg()
    await reset_tables(conn)
    now = datetime.now(UTC)
    hour, quiet_ends = alerts_service.beijing_hour_and_quiet_ends(now)
    expected = await seed_fans(conn, hour, shuffled=shuffled)
    engine = create_engine(db_url())
    sessionmaker = create_sessionmaker(engine)
    config = alerts_service.FanOutConfig(base_url="http://127.0.0.1:8000")
    for severity, body in FANOUT_ALERTS.items():
        bare_s = await bare_insert_select(conn)
        alert = alerts_service.parse_json(INGEST_ALERT, orjson.dumps(body))
        prepared = alerts_service.prepare(alert, now=now, config=config)
        # Autovacuum's pass over the previous fan-out's rows (triggered by inserts) would land
        # in this one's timing at random: run it now, untimed.
        await conn.execute("VACUUM (ANALYZE) delivery")
        await conn.execute("CHECKPOINT")
        started = time.perf_counter()
        async with unit_of_work(sessionmaker) as session:
            accepted = await alerts_service.fan_out(
                session, prepared, now=now, idempotency_key=None
            )
        fan_out_s = time.perf_counter() - started
        deferred = await conn.fetchval(
            "SELECT count(*) FROM delivery WHERE alert_id = $1 AND next_attempt_at = $2",
            accepted.alert_id,
            quiet_ends[(hour + 2) % 24],
        )
        want_deferred = expected["quiet"] if severity == "transactional" else 0
        correct = accepted.recipients == expected[severity] and deferred == want_deferred
        # Rates, rows committed per second: the fan-out commits fewer rows than it reads fans.
        ratio = (accepted.recipients / fan_out_s) / (ROWS / bare_s)
        print(
            f"  fan-out ({severity}): {accepted.recipients:,} deliveries (expected "
            f"{expected[severity]:,}), {deferred:,} deferred to the end of quiet hours "
            f"(expected {want_deferred:,}) in {fan_out_s:.2f} s; bare INSERT … SELECT of "
            f"{ROWS:,} pairs in {bare_s:.2f} s"
        )
        figure(
            f"1 fan-out ({severity}) to {ROWS:,} {'shuffled ' if shuffled else ''}fans vs bare",
            f"{ratio:.0%} of its rate ({accepted.recipients / fan_out_s:,.0f} vs"
            f" {ROWS / bare_s:,.0f} rows/s)",
            ">= 50 %",
            ratio >= 0.5 and correct,
        )
    await engine.dispose()
    await conn.close()


# -- 2. relay ------------------------------------------------------------------------------


async def bench_relay() -> None:
    from app.core.db import create_engine, create_sessionmaker
    from app.core.redis import create_redis
    from app.core.time import SystemClock
    from app.push import stream
    from app.push.constants import STREAMS, PushConfig
    from app.push.relay import relay_once

    conn = await pg()
    await reset_tables(conn)
    await insert_pending(conn, ROWS)
    await flush_redis()
    engine = create_engine(db_url())
    redis = create_redis(REDIS_URL)
    await stream.ensure_groups(redis)
    config = PushConfig()
    started = time.perf_counter()
    moved = await relay_once(create_sessionmaker(engine), redis, clock=SystemClock(), config=config)
    relay_s = time.perf_counter() - started
    entries = await redis.xlen(STREAMS["market"])
    queued = await count_queued(conn)
    await redis.aclose()
    await engine.dispose()
    await conn.close()
    print(f"  relay: {moved:,} ids in {entries:,} stream entries, {queued:,} rows queued")
    figure(
        f"2 relay of {ROWS:,} deliveries into Redis",
        f"{relay_s:.2f} s ({moved / relay_s:,.0f} ids/s)",
        "< 5 s for 1,000,000",
        moved == ROWS and queued == ROWS and relay_s * 1_000_000 / ROWS < 5.0,
    )


# -- main ----------------------------------------------------------------------------------


async def bench_fanout_shuffled() -> None:
    await bench_fanout(shuffled=True)


PARTS = {"fanout": bench_fanout, "relay": bench_relay, "fanout-shuffled": bench_fanout_shuffled}
DEFAULT_PARTS = ["fanout", "relay"]


def main(argv: list[str] | None = None) -> None:
    asked = argv if argv is not None else sys.argv[1:]
    chosen = [p for p in asked if p in PARTS] or DEFAULT_PARTS
    RESULTS.mkdir(parents=True, exist_ok=True)
    asyncio.run(recreate_db())
    for name in chosen:
        print(f"-- {name}", flush=True)
        try:
            asyncio.run(PARTS[name]())
        except Exception as exc:
            figure(name, f"failed: {exc!r}"[:80], "-", False)
    REPORT.finish(RESULTS / "push.txt")


if __name__ == "__main__":
    main()
