"""Relay lag under steady, overlapping producers (issue #6 item 4, the relay's share isolated).

The latency bench (`bench.push_worker latency`) runs the API, a worker and the simulator, so
its `row → claimed` segment mixes the relay's horizon with CPU noise. Here only the relay runs
(`run_relay`, default `PushConfig`, in this process) against producers that each insert one
alert and one delivery (asyncpg, the real insert-guard trigger), hold their transaction open a
random 2-30 ms (the API's fan-out and idempotency work) and commit, started at a steady
BENCH_RELAY_LAG_RATE (100) per second for BENCH_RELAY_LAG_S (20) seconds.

Printed: commit → XADD per delivery (the XADD time is the stream entry id's milliseconds,
Redis's clock on this host) p50/p99/max, and the producers' INSERT time p50/p99 (a relay that
makes producers wait shows there). Scratch database `wxb_bench_relay_lag`, Redis DB 11.
Run: `flock /tmp/wxb-bench.lock .venv/bin/python -m bench.relay_lag`.
"""

from __future__ import annotations

import asyncio
import os
import random
import time

import asyncpg

from bench.common import database_url, recreate_migrated_database

RATE = float(os.environ.get("BENCH_RELAY_LAG_RATE", "100"))
DURATION_S = float(os.environ.get("BENCH_RELAY_LAG_S", "20"))
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = "wxb_bench_relay_lag"
REDIS_URL = os.environ.get("BENCH_RELAY_LAG_REDIS_URL", "redis://127.0.0.1:6379/11")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def produce(pool: asyncpg.Pool, n: int, rng: random.Random, out: dict[int, float],
                  insert_ms: list[float]) -> None:  # fmt: skip
    hold_s = rng.uniform(0.002, 0.030)
    async with pool.acquire() as conn, conn.transaction():
        alert_id = await conn.fetchval(
            "INSERT INTO alert (type, severity, payload) VALUES ('bench', 'transactional', '{}')"
            " RETURNING id"
        )
        t0 = time.perf_counter()
        delivery_id = await conn.fetchval(
            "INSERT INTO delivery (alert_id, openid, template_id, data, severity)"
            " VALUES ($1, $2, 'T', '{}'::json, 'transactional') RETURNING id",
            alert_id, f"oLag{n:08d}",
        )  # fmt: skip
        insert_ms.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(hold_s)
    out[int(delivery_id)] = time.time()  # committed


async def xadd_times(redis: object) -> dict[int, float]:
    from app.push.constants import STREAMS

    seen: dict[int, float] = {}
    for stream in STREAMS.values():
        for entry_id, fields in await redis.xrange(stream):  # type: ignore[attr-defined]
            at = int(entry_id.split(b"-")[0]) / 1000
            for part in fields[b"ids"].split(b","):
                seen.setdefault(int(part), at)
    return seen


async def main() -> None:
    from app.core.db import create_engine, create_sessionmaker
    from app.core.redis import create_redis
    from app.core.time import SystemClock
    from app.push.constants import PushConfig
    from app.push.relay import run_relay

    await recreate_migrated_database(PG_ADMIN_URL, DB_NAME)
    redis = create_redis(REDIS_URL)
    await redis.flushdb()
    engine = create_engine(database_url(PG_ADMIN_URL, DB_NAME), pool_size=4)
    pool = await asyncpg.create_pool(database_url(PG_ADMIN_URL, DB_NAME, "postgresql"),
                                     min_size=20, max_size=40)  # fmt: skip
    stop = asyncio.Event()
    relay = asyncio.create_task(
        run_relay(create_sessionmaker(engine), redis, stop, clock=SystemClock(),
                  config=PushConfig())
    )  # fmt: skip
    committed: dict[int, float] = {}
    insert_ms: list[float] = []
    rng = random.Random(4)
    started = time.perf_counter()
    tasks = []
    for n in range(int(RATE * DURATION_S)):
        delay = started + n / RATE - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(produce(pool, n, rng, committed, insert_ms)))
    await asyncio.gather(*tasks)
    await asyncio.sleep(2.0)  # the last rows' ticks
    stop.set()
    await relay
    seen = await xadd_times(redis)
    lag = [(seen[i] - at) * 1000 for i, at in committed.items() if i in seen]
    print(
        f"relay lag, {RATE:.0f} producers/s for {DURATION_S:.0f} s (load {os.getloadavg()[0]:.2f}):"
        f" {len(lag):,}/{len(committed):,} relayed; commit → XADD p50 {pct(lag, 0.5):.0f} ms,"
        f" p99 {pct(lag, 0.99):.0f} ms, max {max(lag):.0f} ms; producers' delivery INSERT"
        f" p50 {pct(insert_ms, 0.5):.1f} ms, p99 {pct(insert_ms, 0.99):.1f} ms,"
        f" max {max(insert_ms):.1f} ms",
        flush=True,
    )
    await pool.close()
    await redis.aclose()
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
