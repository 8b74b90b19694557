"""Push pipeline benchmarks (issue #6): fan-out, relay, worker throughput, latency, rate limit.

Each figure is printed next to its target. Real PostgreSQL (a scratch database, recreated) and
Redis (a scratch DB), the WeChat simulator served by uvicorn in a subprocess (`wxbroker sim`),
workers as `python -m app worker` subprocesses.

1. fan-out of one alert to N subscribed fans (preferences applied) vs a bare INSERT … SELECT of
   N rows into a table with only a primary key, same run — target >= 50 % of its rate;
2. relay of N pending deliveries into Redis Streams — target < 5 s for 1,000,000;
3. worker throughput against the simulator at 20 ms latency, no cap, statuses recorded, vs a
   bare aiohttp loop at the same concurrency against the same simulator — target >= 80 %;
   worker RSS while draining — target < 300 MB;
4. alert posted (signed, through the API) → template send seen at the simulator: p99 < 500 ms
   at 100 alerts/s;
5. a 500/s cap across 2 worker processes holds within ±5 % over 60 s.

Knobs: BENCH_PUSH_ROWS (1,000,000: fan-out and relay), BENCH_PUSH_WORKER_ROWS (60,000),
BENCH_PUSH_CONCURRENCY (200), BENCH_PUSH_RATE_S (60), BENCH_PUSH_LATENCY_S (20),
BENCH_PG_ADMIN_URL, BENCH_PUSH_DB, BENCH_PUSH_REDIS_URL.
Run: `.venv/bin/python -m bench.push [fanout relay worker latency rate]` or `make bench`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import httpx
import orjson

from bench.common import RESULTS, ROOT, VENV_BIN, free_port, server
from bench.template_send import (
    APP_ID,
    APP_SECRET,
    DATA,
    SEND_PATH,
    TEMPLATE_ID,
    fetch_token,
    prepare_sim,
    run_load,
    sim_env,
    template_body,
)

ROWS = int(os.environ.get("BENCH_PUSH_ROWS", "1000000"))
WORKER_ROWS = int(os.environ.get("BENCH_PUSH_WORKER_ROWS", "60000"))
CONCURRENCY = int(os.environ.get("BENCH_PUSH_CONCURRENCY", "200"))
RATE_S = float(os.environ.get("BENCH_PUSH_RATE_S", "60"))
RATE_CAP = 500
LATENCY_S = float(os.environ.get("BENCH_PUSH_LATENCY_S", "20"))
ALERTS_PER_S = 100
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = os.environ.get("BENCH_PUSH_DB", "wxb_bench_push")
REDIS_URL = os.environ.get("BENCH_PUSH_REDIS_URL", "redis://127.0.0.1:6379/15")
INGEST_SECRET = "bench-ingest-secret"


@dataclass
class Figure:
    name: str
    value: str
    target: str
    ok: bool

    def line(self) -> str:
        mark = "OK  " if self.ok else "MISS"
        return f"  [{mark}] {self.name:<46} {self.value:<34} target {self.target}"


FIGURES: list[Figure] = []


def figure(name: str, value: str, target: str, ok: bool) -> None:
    FIGURES.append(Figure(name, value, target, ok))
    print(FIGURES[-1].line(), flush=True)


# -- database and redis --------------------------------------------------------------------


def db_url(driver: str = "postgresql+asyncpg") -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", f"{driver}://", 1)
    return f"{base}/{DB_NAME}"


async def recreate_db() -> None:
    from app.core.db import create_engine
    from app.core.migrate import run_on_engine

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    finally:
        await conn.close()
    engine = create_engine(db_url())
    await run_on_engine(engine, "upgrade", "head")
    await engine.dispose()


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


async def count_status(conn: asyncpg.Connection, status: str) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM delivery WHERE status = $1", status))


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


async def bench_fanout() -> None:
    from app.alerts import service as alerts_service
    from app.alerts.schemas import INGEST_ALERT
    from app.core.db import create_engine, create_sessionmaker, unit_of_work

    conn = await pg()
    await reset_tables(conn)
    await conn.execute("TRUNCATE fan, fan_preference RESTART IDENTITY CASCADE")
    await conn.execute(
        """INSERT INTO fan (openid, is_subscribed, subscribe_count)
           SELECT 'oFan' || lpad(g::text, 8, '0'), true, 1 FROM generate_series(1, $1) g""",
        ROWS,
    )
    # Preferences for a tenth of the fans; a few opted out of IPO alerts.
    await conn.execute(
        """INSERT INTO fan_preference (openid, ipo, trade, watchlist, financial, marketing)
           SELECT 'oFan' || lpad(g::text, 8, '0'), g % 20 <> 0, true, true, true, false
           FROM generate_series(1, $1, 10) g""",
        ROWS,
    )
    await conn.execute("ANALYZE fan")
    await conn.execute("ANALYZE fan_preference")
    expected = await conn.fetchval(
        """SELECT count(*) FROM fan f LEFT JOIN fan_preference p ON p.openid = f.openid
           WHERE f.is_subscribed AND coalesce(p.ipo, true)"""
    )

    # The bare statement: N (alert, fan) pairs into a table with only a primary key.
    await conn.execute("DROP TABLE IF EXISTS bench_pairs")
    await conn.execute(
        "CREATE TABLE bench_pairs (alert_id bigint, openid varchar(64),"
        " PRIMARY KEY (alert_id, openid))"
    )
    started = time.perf_counter()
    await conn.execute("INSERT INTO bench_pairs SELECT 1, openid FROM fan")
    bare_s = time.perf_counter() - started
    await conn.execute("DROP TABLE bench_pairs")

    body = orjson.dumps(
        {
            "type": "ipo_subscription_open",
            "target": {"kind": "topic", "topic": "ipo"},
            "payload": {
                "security_code": "301999",
                "security_name": "某某科技",
                "subscribe_date": "2026-01-06",
                "issue_price": 25.8,
            },
        }
    )
    engine = create_engine(db_url())
    sessionmaker = create_sessionmaker(engine)
    now = datetime.now(UTC)
    config = alerts_service.FanOutConfig(base_url="http://127.0.0.1:8000")
    alert = alerts_service.parse_json(INGEST_ALERT, body)
    prepared = alerts_service.prepare(alert, now=now, config=config)
    started = time.perf_counter()
    async with unit_of_work(sessionmaker) as session:
        accepted = await alerts_service.fan_out(session, prepared, now=now, idempotency_key=None)
    fan_out_s = time.perf_counter() - started
    await engine.dispose()
    await conn.close()

    ratio = bare_s / fan_out_s
    print(
        f"  fan-out: {accepted.recipients:,} deliveries (expected {expected:,}) "
        f"in {fan_out_s:.2f} s; "
        f"bare INSERT … SELECT of {ROWS:,} pairs in {bare_s:.2f} s"
    )
    figure(
        f"1 fan-out to {ROWS:,} fans vs bare INSERT…SELECT",
        f"{ratio:.0%} of its rate ({accepted.recipients / fan_out_s:,.0f} rows/s)",
        ">= 50 %",
        ratio >= 0.5 and accepted.recipients == expected,
    )


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


# -- processes -----------------------------------------------------------------------------


@contextlib.contextmanager
def simulator() -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}/_sim/wechat"
    cmd = [str(VENV_BIN / "wxbroker"), "sim", "--port", str(port)]
    with server(cmd, sim_env(port), f"{base}/stats"):
        prepare_sim(base)
        yield base


def worker_env(sim_base: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "PUSH_"))}
    env.update(
        {
            "ENVIRONMENT": "dev",
            "DATABASE_URL": db_url(),
            "REDIS_URL": REDIS_URL,
            "WECHAT_APP_ID": APP_ID,
            "WECHAT_APP_SECRET": APP_SECRET,
            "WECHAT_TOKEN": "benchToken2024",
            "WECHAT_API_BASE_URL": sim_base,
            "MOUNT_SIMULATOR": "false",
            "LOG_LEVEL": "WARNING",
            "INGEST_HMAC_SECRETS": INGEST_SECRET,
            "PUSH_CONCURRENCY": str(CONCURRENCY),
            **extra,
        }
    )
    return env


@contextlib.contextmanager
def workers(sim_base: str, count: int = 1, **extra: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = []
    log = (RESULTS / f"push-worker-{os.getpid()}.log").open("ab")
    try:
        for _ in range(count):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "app", "worker"],
                    cwd=ROOT,
                    env=worker_env(sim_base, **extra),
                    stdout=log,
                    stderr=log,
                )
            )
        yield procs
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


async def wait_workers_ready(count: int) -> None:
    from app.core.redis import create_redis
    from app.push.constants import HEARTBEAT_PREFIX

    redis = create_redis(REDIS_URL)
    deadline = time.monotonic() + 60
    while len(await redis.keys(f"{HEARTBEAT_PREFIX}*")) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not start (see bench/results/push-worker-*.log)")
        await asyncio.sleep(0.1)
    await redis.aclose()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def sim_stats(base: str) -> dict[str, object]:
    async with httpx.AsyncClient(timeout=10) as http:
        return dict((await http.get(f"{base}/stats")).json())


# -- 3. worker throughput ------------------------------------------------------------------


async def bare_aiohttp(base: str, seconds: float) -> float:
    url = f"{base}{SEND_PATH}?access_token={await fetch_token(base)}"
    headers = {"Content-Type": "application/json; charset=utf-8"}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send_once() -> bool:
            try:
                async with session.post(url, data=template_body(), headers=headers) as resp:
                    return orjson.loads(await resp.read()).get("errcode", 0) == 0
            except (aiohttp.ClientError, TimeoutError):
                return False

        measure = await run_load(send_once, CONCURRENCY, seconds)
    return float(measure.sends_per_s)


async def drain_with_worker(base: str, rows: int) -> tuple[float, float]:
    """Commit `rows` pending deliveries to a running worker; (sends/s, peak RSS MB)."""
    conn = await pg()
    await reset_tables(conn)
    await flush_redis()
    with workers(base) as procs:
        await wait_workers_ready(1)
        started = time.perf_counter()
        await insert_pending(conn, rows)
        peak = 0.0
        while (sent := await count_status(conn, "sent")) < rows:
            peak = max(peak, rss_mb(procs[0].pid))
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"worker drained only {sent:,} of {rows:,}")
            await asyncio.sleep(0.5)
        elapsed = time.perf_counter() - started
        peak = max(peak, rss_mb(procs[0].pid))
    await conn.close()
    return rows / elapsed, peak


async def bench_worker() -> None:
    with simulator() as base:
        bare = await bare_aiohttp(base, 10.0)
        prepare_sim(base)
        rate, peak = await drain_with_worker(base, WORKER_ROWS)
        bare_after = await bare_aiohttp(base, 10.0)
    reference = max(bare, bare_after)
    print(
        f"  worker: {WORKER_ROWS:,} deliveries at {rate:,.0f}/s (C={CONCURRENCY}); bare aiohttp "
        f"{bare:,.0f}/s before, {bare_after:,.0f}/s after; peak RSS {peak:.0f} MB"
    )
    figure(
        "3 worker sends/s vs bare aiohttp, 20 ms sim",
        f"{rate / reference:.0%} ({rate:,.0f} vs {reference:,.0f}/s)",
        ">= 80 %",
        rate / reference >= 0.8,
    )
    figure(f"3 worker peak RSS draining {WORKER_ROWS:,}", f"{peak:.0f} MB", "< 300 MB", peak < 300)


# -- 4. latency ----------------------------------------------------------------------------


def sign(body: bytes) -> str:
    t = str(int(time.time()))
    mac = hmac.new(INGEST_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


async def bench_latency() -> None:
    from app.alerts.constants import AlertType
    from app.alerts.templates import SPECS

    conn = await pg()
    await reset_tables(conn)
    await flush_redis()
    openids = [f"oLat{i:08d}" for i in range(int(LATENCY_S * ALERTS_PER_S))]
    await conn.execute("TRUNCATE fan RESTART IDENTITY CASCADE")
    await conn.executemany(
        "INSERT INTO fan (openid, is_subscribed, subscribe_count) VALUES ($1, true, 1)",
        [(o,) for o in openids],
    )
    api_port = free_port()
    with simulator() as base, workers(base):
        spec = SPECS[AlertType.SECURITY_LOGIN]
        template = {"template_id": spec.default_template_id, "title": spec.title}
        httpx.post(f"{base}/_admin/templates", json={**template, "content": spec.content()})  # noqa: ASYNC210
        env = worker_env(base)
        api = [str(VENV_BIN / "wxbroker"), "serve", "--port", str(api_port)]
        with server(api, env, f"http://127.0.0.1:{api_port}/healthz"):
            await wait_workers_ready(1)
            await http_latency_run(f"http://127.0.0.1:{api_port}", base, openids, conn)
    await conn.close()


async def http_latency_run(
    api: str, sim_base: str, openids: list[str], conn: asyncpg.Connection
) -> None:
    posted: dict[int, float] = {}
    interval = 1.0 / ALERTS_PER_S
    async with httpx.AsyncClient(base_url=api, timeout=10) as http:

        async def post(i: int, openid: str) -> None:
            body = orjson.dumps(
                {
                    "type": "security_login",
                    "target": {"kind": "openids", "openids": [openid]},
                    "payload": {
                        "device": "iPhone 15",
                        "location": "上海",
                        "at": datetime.now(UTC).isoformat(),
                    },
                }
            )
            headers = {"X-Broker-Signature": sign(body), "Idempotency-Key": f"lat-{i}"}
            t0 = time.time()
            response = await http.post("/api/v1/alerts", content=body, headers=headers)
            if response.status_code == 201:
                posted[int(response.json()["alert_id"])] = t0

        started = time.perf_counter()
        tasks = []
        for i, openid in enumerate(openids):
            delay = started + i * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(i, openid)))
        await asyncio.gather(*tasks)
    deadline = time.monotonic() + 60
    while await count_status(conn, "sent") < len(posted) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    rows = await conn.fetch(
        "SELECT alert_id, extract(epoch FROM sent_at) AS sent FROM delivery"
        " WHERE sent_at IS NOT NULL"
    )
    lat = sorted(
        (float(r["sent"]) - posted[int(r["alert_id"])]) * 1000
        for r in rows
        if int(r["alert_id"]) in posted
    )
    if not lat:
        figure("4 alert → template send p99", "no sends", "< 500 ms", False)
        return
    p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(
        f"  latency: {len(lat):,}/{len(openids):,} alerts sent; p50 {p50:.0f} ms, p99 {p99:.0f} ms"
    )
    figure(
        f"4 alert posted → send accepted, {ALERTS_PER_S}/s",
        f"p99 {p99:.0f} ms (p50 {p50:.0f} ms)",
        "p99 < 500 ms",
        p99 < 500 and len(lat) == len(openids),
    )


# -- 5. rate limit -------------------------------------------------------------------------


async def bench_rate() -> None:
    from app.core.redis import create_redis
    from app.push.ratelimit import set_rate_limit

    conn = await pg()
    await reset_tables(conn)
    await flush_redis()
    rows = int(RATE_CAP * (RATE_S + 20))
    await insert_pending(conn, rows)
    with simulator() as base, workers(base, 2):
        redis = create_redis(REDIS_URL)
        await set_rate_limit(redis, rate_per_s=RATE_CAP)
        await wait_workers_ready(2)
        await asyncio.sleep(3)  # let the burst settle: measure the steady state
        before = int((await sim_stats(base))["template_accepted"])  # type: ignore[call-overload]
        started = time.perf_counter()
        await asyncio.sleep(RATE_S)
        after = int((await sim_stats(base))["template_accepted"])  # type: ignore[call-overload]
        elapsed = time.perf_counter() - started
        await redis.aclose()
    await conn.close()
    rate = (after - before) / elapsed
    figure(
        f"5 cap {RATE_CAP}/s across 2 workers over {RATE_S:.0f} s",
        f"{rate:.1f}/s ({rate / RATE_CAP - 1:+.1%})",
        "within ±5 %",
        abs(rate / RATE_CAP - 1) <= 0.05,
    )


# -- main ----------------------------------------------------------------------------------

PARTS = {
    "fanout": bench_fanout,
    "relay": bench_relay,
    "worker": bench_worker,
    "latency": bench_latency,
    "rate": bench_rate,
}


def main(argv: list[str] | None = None) -> None:
    chosen = [p for p in (argv if argv is not None else sys.argv[1:]) if p in PARTS] or list(PARTS)
    RESULTS.mkdir(parents=True, exist_ok=True)
    asyncio.run(recreate_db())
    for name in chosen:
        print(f"-- {name}", flush=True)
        try:
            asyncio.run(PARTS[name]())
        except Exception as exc:
            figure(name, f"failed: {exc!r}"[:80], "-", False)
    print("\nPush benchmarks:")
    for fig in FIGURES:
        print(fig.line())
    out = RESULTS / "push.txt"
    out.write_text("\n".join(f.line() for f in FIGURES) + "\n")


if __name__ == "__main__":
    main()
