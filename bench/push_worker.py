"""Push worker benchmarks (issue #6, items 3-5): throughput, end-to-end latency, rate cap.

Real PostgreSQL (a scratch database, recreated), Redis (a scratch DB), the WeChat simulator
(`wxbroker sim`, 20 ms latency, quota and rate limit out of the way) and workers as
`python -m app worker` subprocesses, exactly as deployed.

3. `worker`: a worker drains N committed deliveries (statuses recorded: done = every row
   `sent` in PostgreSQL) next to a bare aiohttp loop at the same concurrency against the same
   simulator, measured before and after the drain in the same run; target >= 80 % of the
   better bare figure. The bare loop sends what the worker sends: each message to another fan
   with its own client_msg_id (the simulator keeps an inbox and dedupe entries per fan).
   Also: the worker's peak RSS (target < 300 MB) and the CPU per send of the simulator, the
   worker, its PostgreSQL backends and the bare loop, from /proc (which process bounds what).
4. `latency`: signed alerts POSTed to `wxbroker serve` by an aiohttp client at a steady
   100/s open-loop rate for 30 s, one fan each; latency = POST sent -> the delivery's
   `sent_at` (the worker's clock once the simulator accepted the send; an upper bound of
   "seen at the simulator"). Target p99 < 500 ms, every alert sent.
5. `rate`: a 500/s cap (set live through `ratelimit.set_rate_limit`) across 2 worker
   processes, sends counted at the simulator over 60 s after a 3 s settle; target within
   ±5 %. The same run then lifts the cap for 10 s: the uncapped rate shows the cap, not the
   machine, set the figure.

Knobs: BENCH_PUSH_WORKER_ROWS (60,000), BENCH_PUSH_CONCURRENCY (200), BENCH_PUSH_RATE_S (60),
BENCH_PUSH_LATENCY_S (30), BENCH_PUSH_API_WORKERS (1: the `wxbroker serve` processes of item 4;
docker-compose.yml runs 2), BENCH_PG_ADMIN_URL, BENCH_PUSH_WORKER_DB,
BENCH_PUSH_WORKER_REDIS_URL. Run: `.venv/bin/python -m bench.push_worker [worker latency rate]`
(`make bench` runs all three); figures land in `bench/results/push_worker.txt`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import httpx
import orjson

from app.cli import worker_loop_factory
from bench.common import (
    RESULTS,
    VENV_BIN,
    Report,
    database_url,
    free_port,
    recreate_migrated_database,
    wait_ready,
)
from bench.common import process as common_process
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
)

ROWS = int(os.environ.get("BENCH_PUSH_WORKER_ROWS", "60000"))
CONCURRENCY = int(os.environ.get("BENCH_PUSH_CONCURRENCY", "200"))
RATE_S = float(os.environ.get("BENCH_PUSH_RATE_S", "60"))
RATE_CAP = 500
UNCAPPED_S = 10.0
LATENCY_S = float(os.environ.get("BENCH_PUSH_LATENCY_S", "30"))
API_WORKERS = int(os.environ.get("BENCH_PUSH_API_WORKERS", "1"))
ALERTS_PER_S = 100
BARE_S = 10.0
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = os.environ.get("BENCH_PUSH_WORKER_DB", "wxb_bench_push_worker")
REDIS_URL = os.environ.get("BENCH_PUSH_WORKER_REDIS_URL", "redis://127.0.0.1:6379/11")
INGEST_SECRET = "bench-ingest-secret"
CLK_TCK = os.sysconf("SC_CLK_TCK")


REPORT = Report("Push worker benchmarks")
figure, note = REPORT.figure, REPORT.note


# -- database, redis, processes -------------------------------------------------------------


def db_url(driver: str = "postgresql+asyncpg") -> str:
    return database_url(PG_ADMIN_URL, DB_NAME, driver)


async def recreate_db() -> None:
    await recreate_migrated_database(PG_ADMIN_URL, DB_NAME)


async def fresh_state(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "TRUNCATE alert, delivery, delivery_event, cs_message, push_relay_cursor,"
        " push_relay_mark RESTART IDENTITY CASCADE"
    )
    from app.core.redis import create_redis
    from app.push.constants import EPOCH_KEY

    redis = create_redis(REDIS_URL)
    await redis.flushdb()
    # A running system's Redis has its epoch: without it the reconciler's first pass takes
    # the flush above for a data loss and re-queues what the relay already sent.
    await redis.set(EPOCH_KEY, datetime.now(UTC).isoformat())
    await redis.aclose()


async def insert_pending(conn: asyncpg.Connection, n: int) -> None:
    """One alert and `n` committed pending deliveries for distinct fans (server-side)."""
    alert_id = await conn.fetchval(
        "INSERT INTO alert (type, severity, payload) VALUES ('bench', 'market', '{}') RETURNING id"
    )
    await conn.execute(
        """INSERT INTO delivery (alert_id, openid, template_id, data, severity)
           SELECT $1, 'oBench' || lpad(g::text, 8, '0'), $2, $3::json, 'market'
           FROM generate_series(1, $4) g""",
        alert_id, TEMPLATE_ID, orjson.dumps(DATA).decode(), n,
    )  # fmt: skip
    await conn.execute("ANALYZE delivery")


async def count_sent(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM delivery WHERE status = 'sent'"))


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def process(
    cmd: list[str], env: dict[str, str], name: str
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    """A bench process (simulator, worker, API) with its log under bench/results."""
    log_path = RESULTS / f"push-worker-bench-{name}-{os.getpid()}.log"
    return common_process(cmd, env, log_path, stop_timeout_s=30)


@contextlib.contextmanager
def simulator() -> Iterator[tuple[str, int]]:
    """`wxbroker sim` on a free port, prepared for load: (base URL, pid)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/_sim/wechat"
    cmd = [str(VENV_BIN / "wxbroker"), "sim", "--port", str(port)]
    with process(cmd, {**os.environ, **sim_env(port)}, "sim") as proc:
        wait_ready(f"{base}/stats")
        prepare_sim(base)
        yield base, proc.pid


def worker_env(sim_base: str) -> dict[str, str]:
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
        }
    )
    return env


@contextlib.contextmanager
def workers(sim_base: str, count: int) -> Iterator[list[int]]:
    """`count` worker processes (pids); SIGTERM and wait on exit."""
    with contextlib.ExitStack() as stack:
        cmd = [sys.executable, "-m", "app", "worker"]
        yield [
            stack.enter_context(process(cmd, worker_env(sim_base), f"worker{i}")).pid
            for i in range(count)
        ]


async def accepted(http: aiohttp.ClientSession, base: str) -> int:
    async with http.get(f"{base}/stats") as response:
        return int((await response.json())["template_accepted"])


async def wait_for_accepted(http: aiohttp.ClientSession, base: str, at_least: int) -> float:
    """Poll the simulator until it accepted `at_least` sends; returns the time it saw them."""
    deadline = time.monotonic() + 1800
    while await accepted(http, base) < at_least:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the simulator never reached {at_least:,} sends")
        await asyncio.sleep(0.05)
    return time.perf_counter()


# -- 3. worker throughput --------------------------------------------------------------------


async def bare_aiohttp(base: str, sim_pid: int) -> tuple[float, float, float]:
    """A bare aiohttp loop at the worker's concurrency: (sends/s, simulator CPU us per send,
    the loop's own CPU us per send)."""
    prepare_sim(base)
    url = f"{base}{SEND_PATH}?access_token={await fetch_token(base)}"
    headers = {"Content-Type": "application/json; charset=utf-8"}
    bodies = distinct_fan_bodies()
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send_once() -> bool:
            try:
                async with session.post(url, data=next(bodies), headers=headers) as resp:
                    return orjson.loads(await resp.read()).get("errcode", 0) == 0
            except (aiohttp.ClientError, TimeoutError):
                return False

        cpu = cpu_s(sim_pid)
        measure = await run_load(send_once, CONCURRENCY, BARE_S)
        cpu = cpu_s(sim_pid) - cpu  # includes the warm-up round: a slight overestimate
    sent = measure.sends_per_s * BARE_S
    return measure.sends_per_s, cpu * 1e6 / max(sent, 1), measure.cpu_us_per_send


def distinct_fan_bodies() -> Iterator[bytes]:
    """Template sends as the worker makes them: each to another fan, with its own
    client_msg_id. (One fan for every send would be cheaper for the simulator: one inbox,
    one dedupe entry list; 60-110 us less per send here, which flattered the baseline.)"""
    data = {k: {"value": v} for k, v in DATA.items()}
    for n in itertools.count():
        yield orjson.dumps(
            {
                "touser": f"oBare{n:010d}",
                "template_id": TEMPLATE_ID,
                "data": data,
                "client_msg_id": f"bare-{n}",
            }
        )


async def drain(base: str, sim_pid: int, rows: int) -> dict[str, float]:
    """Commit `rows` deliveries, start a worker, time first send -> every row `sent`."""
    conn = await asyncpg.connect(db_url("postgresql"))
    await fresh_state(conn)
    prepare_sim(base)
    await insert_pending(conn, rows)
    async with aiohttp.ClientSession() as http:
        with workers(base, 1) as [pid]:
            first = await wait_for_accepted(http, base, 1)
            cpu_worker, cpu_sim = cpu_s(pid), cpu_s(sim_pid)
            pg_start = await pg_cpu(conn)
            peak = [rss_mb(pid)]
            sampler = asyncio.create_task(_sample_rss(pid, peak))
            try:
                await wait_for_accepted(http, base, rows)
                while await count_sent(conn) < rows:  # noqa: ASYNC110 - polling another process
                    await asyncio.sleep(0.05)
                done = time.perf_counter()
            finally:
                sampler.cancel()
            cpu_worker, cpu_sim = cpu_s(pid) - cpu_worker, cpu_s(sim_pid) - cpu_sim
            pg_end = await pg_cpu(conn)
            cpu_pg = sum(spent - pg_start.get(b, 0.0) for b, spent in pg_end.items())
            peak.append(rss_mb(pid))
    await conn.close()
    elapsed = done - first
    return {
        "rate": rows / elapsed,
        "elapsed": elapsed,
        "peak_mb": max(peak),
        "worker_us": cpu_worker * 1e6 / rows,
        "sim_us": cpu_sim * 1e6 / rows,
        "pg_us": cpu_pg * 1e6 / rows,
    }


async def pg_cpu(conn: asyncpg.Connection) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving our database (the worker's pool)."""
    rows = await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        DB_NAME,
    )
    spent: dict[int, float] = {}
    for row in rows:
        with contextlib.suppress(FileNotFoundError):
            spent[int(row["pid"])] = cpu_s(int(row["pid"]))
    return spent


async def _sample_rss(pid: int, seen: list[float]) -> None:
    while True:
        seen[:] = [max(*seen, rss_mb(pid))]
        await asyncio.sleep(0.25)


async def bench_worker() -> None:
    with simulator() as (base, sim_pid):
        bare_before, sim_us_bare, loop_us = await bare_aiohttp(base, sim_pid)
        got = await drain(base, sim_pid, ROWS)
        bare_after, sim_us_after, loop_us_after = await bare_aiohttp(base, sim_pid)
    reference = max(bare_before, bare_after)
    rate = got["rate"]
    note(
        f"worker: {ROWS:,} deliveries in {got['elapsed']:.1f} s = {rate:,.0f}/s (C={CONCURRENCY});"
        f" bare aiohttp {bare_before:,.0f}/s before, {bare_after:,.0f}/s after"
    )
    note(
        f"CPU per send while draining: simulator {got['sim_us']:.0f} us, worker"
        f" {got['worker_us']:.0f} us, PostgreSQL backends {got['pg_us']:.0f} us;"
        f" simulator {sim_us_bare:.0f}/{sim_us_after:.0f} us under the bare"
        f" loop (one core = {1e6 / max(sim_us_bare, 1):,.0f} sends/s), the bare loop itself"
        f" {loop_us:.0f}/{loop_us_after:.0f} us"
    )
    figure(
        "3 worker sends/s vs bare aiohttp, 20 ms sim",
        f"{rate / reference:.0%} ({rate:,.0f} vs {reference:,.0f}/s)",
        ">= 80 %",
        rate / reference >= 0.8,
    )
    figure(
        f"3 worker peak RSS draining {ROWS:,}",
        f"{got['peak_mb']:.0f} MB",
        "< 300 MB",
        got["peak_mb"] < 300,
    )


# -- 4. latency --------------------------------------------------------------------------------


def sign(body: bytes) -> str:
    t = str(int(time.time()))
    mac = hmac.new(INGEST_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def alert_body(openid: str) -> bytes:
    return orjson.dumps(
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


async def bench_latency() -> None:
    from app.alerts.constants import AlertType
    from app.alerts.templates import SPECS

    conn = await asyncpg.connect(db_url("postgresql"))
    await fresh_state(conn)
    openids = [f"oLat{i:08d}" for i in range(int(LATENCY_S * ALERTS_PER_S))]
    await conn.execute("TRUNCATE fan RESTART IDENTITY CASCADE")
    await conn.copy_records_to_table(
        "fan", records=[(o, True, 1) for o in openids],
        columns=["openid", "is_subscribed", "subscribe_count"],
    )  # fmt: skip
    api_port = free_port()
    spec = SPECS[AlertType.SECURITY_LOGIN]
    with simulator() as (base, _sim_pid):
        template = {"template_id": spec.default_template_id, "title": spec.title}
        httpx.post(f"{base}/_admin/templates", json={**template, "content": spec.content()})  # noqa: ASYNC210
        api_cmd = [str(VENV_BIN / "wxbroker"), "serve", "--port", str(api_port)]
        api_cmd += ["--workers", str(API_WORKERS)]
        with workers(base, 1), process(api_cmd, worker_env(base), "api"):
            api = f"http://127.0.0.1:{api_port}"
            await asyncio.to_thread(wait_ready, f"{api}/healthz", 60.0)
            posted, failures = await post_alerts(api, openids)
            lat = await latencies(conn, posted)
    await conn.close()
    if not lat:
        figure("4 alert → send p99", f"no sends ({failures} failed posts)", "< 500 ms", False)
        return
    p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    note(
        f"latency ({API_WORKERS} API process(es)):"
        f" {len(lat):,}/{len(openids):,} alerts sent ({failures} failed posts);"
        f" p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {lat[-1]:.0f} ms"
    )
    figure(
        f"4 alert posted → send accepted, {ALERTS_PER_S}/s",
        f"p99 {p99:.0f} ms (p50 {p50:.0f} ms)",
        "p99 < 500 ms",
        p99 < 500 and len(lat) == len(openids),
    )


async def post_alerts(api: str, openids: list[str]) -> tuple[dict[int, float], int]:
    """POST one signed alert per fan at a steady open-loop rate; {alert id: time posted}."""
    posted: dict[int, float] = {}
    answered: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=200)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def post(i: int, openid: str) -> None:
            nonlocal failures
            body = alert_body(openid)
            headers = {
                "X-Broker-Signature": sign(body),
                "Idempotency-Key": f"lat-{i}",
                "Content-Type": "application/json",
            }
            t0 = time.time()
            try:
                async with http.post(f"{api}/api/v1/alerts", data=body, headers=headers) as r:
                    answer = await r.read()
                    answered.append(time.time() - t0)
                    if r.status == 201:
                        posted[int(orjson.loads(answer)["alert_id"])] = t0
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            failures += 1

        started = time.perf_counter()
        tasks = []
        for i, openid in enumerate(openids):
            delay = started + i / ALERTS_PER_S - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(i, openid)))
        await asyncio.gather(*tasks)
    answered.sort()
    if answered:
        p50, p99 = answered[len(answered) // 2], answered[int(len(answered) * 0.99)]
        note(f"  POST answered (client side): p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    return posted, failures


async def latencies(conn: asyncpg.Connection, posted: dict[int, float]) -> list[float]:
    """Post → sent_at per alert (ms, sorted); prints where the time went, segment by segment."""
    deadline = time.monotonic() + 60
    while await count_sent(conn) < len(posted) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    rows = await conn.fetch(
        "SELECT alert_id, extract(epoch FROM created_at) AS created,"
        " extract(epoch FROM sending_at) AS sending, extract(epoch FROM sent_at) AS sent"
        " FROM delivery WHERE sent_at IS NOT NULL"
    )
    rows = [r for r in rows if int(r["alert_id"]) in posted]
    segments = {
        "post → row committed (API, fan-out)": [
            float(r["created"]) - posted[int(r["alert_id"])] for r in rows
        ],
        "row → claimed (relay, stream, worker read)": [
            float(r["sending"]) - float(r["created"]) for r in rows
        ],
        "claimed → sent recorded (send, record)": [
            float(r["sent"]) - float(r["sending"]) for r in rows
        ],
    }
    for name, values in segments.items():
        values.sort()
        if values:
            p50, p99 = values[len(values) // 2], values[int(len(values) * 0.99)]
            note(f"  {name}: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    return sorted((float(r["sent"]) - posted[int(r["alert_id"])]) * 1000 for r in rows)


# -- 5. rate limit -----------------------------------------------------------------------------


async def bench_rate() -> None:
    from app.core.redis import create_redis
    from app.push.ratelimit import set_rate_limit

    conn = await asyncpg.connect(db_url("postgresql"))
    await fresh_state(conn)
    redis = create_redis(REDIS_URL)
    await set_rate_limit(redis, rate_per_s=RATE_CAP)  # before the workers start: no burst
    await insert_pending(conn, int(RATE_CAP * (RATE_S + 10) + 5000 * UNCAPPED_S))
    async with aiohttp.ClientSession() as http:
        with simulator() as (base, _sim_pid), workers(base, 2):
            await wait_for_accepted(http, base, 1)
            await asyncio.sleep(3)  # measure the steady state, not the start
            per_second: list[int] = []
            before = previous = await accepted(http, base)
            started = time.perf_counter()
            for second in range(1, int(RATE_S) + 1):
                await asyncio.sleep(started + second - time.perf_counter())
                now = await accepted(http, base)
                per_second.append(now - previous)
                previous = now
            elapsed = time.perf_counter() - started
            capped = (previous - before) / elapsed
            await set_rate_limit(redis, rate_per_s=0)  # lifted live, as ops would
            await asyncio.sleep(2)
            before = await accepted(http, base)
            started = time.perf_counter()
            await asyncio.sleep(UNCAPPED_S)
            uncapped = (await accepted(http, base) - before) / (time.perf_counter() - started)
    await redis.aclose()
    await conn.close()
    note(
        f"rate: {capped:.1f}/s over {elapsed:.1f} s; per second min {min(per_second)},"
        f" max {max(per_second)}; the same 2 workers uncapped: {uncapped:,.0f}/s"
    )
    figure(
        f"5 cap {RATE_CAP}/s across 2 workers over {RATE_S:.0f} s",
        f"{capped:.1f}/s ({capped / RATE_CAP - 1:+.1%}), uncapped {uncapped:,.0f}/s",
        "within ±5 %",
        abs(capped / RATE_CAP - 1) <= 0.05,
    )


# -- main --------------------------------------------------------------------------------------

PARTS = {"worker": bench_worker, "latency": bench_latency, "rate": bench_rate}


def main(argv: list[str] | None = None) -> None:
    chosen = [p for p in (argv if argv is not None else sys.argv[1:]) if p in PARTS] or list(PARTS)
    RESULTS.mkdir(parents=True, exist_ok=True)
    asyncio.run(recreate_db())
    # The load clients (the bare aiohttp loop above all) run on the worker's own event loop
    # (uvloop), so the item-3 ratio compares pipelines, not event loops.
    loop_factory = worker_loop_factory()
    for name in chosen:
        print(f"-- {name}", flush=True)
        try:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(PARTS[name]())
        except Exception as exc:
            figure(name, f"failed: {exc!r}"[:80], "-", False)
    REPORT.finish(RESULTS / "push_worker.txt")


if __name__ == "__main__":
    main()
