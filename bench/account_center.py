"""Account center latency: menu click "我的持仓" through the webhook, 32 concurrent fans.

The product app runs in uvicorn (BENCH_WORKERS worker processes, default 2 as in
docker-compose.yml; uvloop) on real PostgreSQL + Redis; the sandbox counter runs as its own
server process (`app.simulator.main`, as `wxbroker sim` serves it) set to 50 ms latency, and the
gateway reaches it over loopback HTTP (BROKERAGE_API_BASE_URL). 32 fans are bound to the demo
customers' accounts (rows inserted directly: the binding flow itself is covered by the tests).
Each click is a signed CLICK MENU_POSITIONS event with its own CreateTime, answered with the
positions news card.
- cold: before each round the fans' cached counter data and cached binding lists are deleted
  (PostgreSQL and the counter are asked again); 32 fans click at once; COLD_ROUNDS rounds.
- warm: caches primed; 32 fans click back to back for WARM_S seconds (under the 30 s TTL).
Targets: p99 < 300 ms cold, < 30 ms warm. Run: `.venv/bin/python -m bench.account_center`.

Besides latency, each phase reports the CPU time per click of the three processes (product,
sandbox, this load client; from /proc): on a shared machine latency moves with the neighbours'
load, CPU per click much less, and it shows which process is the bottleneck.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import httpx
from redis import Redis

from app.account_center.cache import cache_key
from app.account_center.constants import QueryKind
from app.accounts.binding_cache import entry_key
from app.brokerage import demo_data
from app.core.security import sha1_signature
from bench.common import RESULTS, VENV_BIN, free_port, fresh_migrated_database, server

TOKEN = "benchToken2024"
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = "wxbroker_bench_accounts"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
FANS = int(os.environ.get("BENCH_FANS", "32"))
LATENCY_MS = float(os.environ.get("BENCH_COUNTER_LATENCY_MS", "50"))
COLD_ROUNDS = int(os.environ.get("BENCH_COLD_ROUNDS", "15"))
WARM_S = float(os.environ.get("BENCH_WARM_S", "10"))
# docker-compose.yml's api service runs 2 workers; BENCH_WORKERS=1 measures one process alone.
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
UVICORN_FLAGS = [
    "--workers",
    str(WORKERS),
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--no-access-log",
    "--log-level",
    "warning",
]


def product_env(port: int, sim_port: int) -> dict[str, str]:
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return {
        "ENVIRONMENT": "dev",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": f"{base}/{DB_NAME}",
        "REDIS_URL": REDIS_URL,
        "WECHAT_TOKEN": TOKEN,
        "RUN_WORKER_IN_PROCESS": "false",
        "MOUNT_SIMULATOR": "false",
        "BROKERAGE_API_BASE_URL": f"http://127.0.0.1:{sim_port}/_sim/broker",
        "LOG_LEVEL": "WARNING",
        "WEBHOOK_TIMESTAMP_WINDOW_S": "3600",
    }


def bindable_accounts() -> list[tuple[demo_data.CustomerSpec, demo_data.AccountSpec]]:
    return [(c, a) for c in demo_data.CUSTOMERS for a in c.accounts if not a.locked]


async def prepare_database(env: dict[str, str]) -> list[str]:
    await fresh_migrated_database(PG_ADMIN, DB_NAME, env)
    return await bind_fans()


async def bind_fans() -> list[str]:
    accounts = bindable_accounts()
    openids = [f"oBenchFan{i:018d}" for i in range(FANS)]
    now = datetime.now(UTC)
    conn = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{DB_NAME}")
    try:
        for i, openid in enumerate(openids):
            customer, account = accounts[i % len(accounts)]
            await conn.execute(
                "INSERT INTO account_binding (openid, client_id, account_id, account_no_masked,"
                " account_type, is_default, consent_version, consented_at, bound_at)"
                " VALUES ($1, $2, $3, $4, $5, true, 'bench', $6, $6)",
                openid,
                customer.client_id,
                account.account_id,
                "****" + account.account_no[-4:],
                str(account.account_type),
                now,
            )
    finally:
        await conn.close()
    return openids


class Clicker:
    """Signed CLICK events with unique CreateTimes (WeChat's dedupe key differs per click)."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        # aiohttp, not httpx: httpx's pool is the bottleneck at this concurrency (see
        # docs/wechat-client.md) and would be measured instead of the service.
        self.http = http
        self.create_time = int(time.time()) - 1800

    async def click(self, openid: str) -> tuple[float, bool]:
        self.create_time += 1
        ts = str(int(time.time()))
        nonce = str(random.randint(10**8, 10**9))
        params = {"signature": sha1_signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
        body = (
            "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{self.create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            "<Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[MENU_POSITIONS]]></EventKey></xml>"
        )
        started = time.perf_counter()
        async with self.http.post("/wechat", params=params, data=body.encode()) as response:
            text = await response.text()
        elapsed = (time.perf_counter() - started) * 1000
        ok = response.status == 200 and "我的持仓" in text
        return elapsed, ok


@dataclass(frozen=True)
class Processes:
    """The pids whose CPU time is measured per phase (the load client is this process)."""

    product: int
    sandbox: int

    def cpu_s(self) -> dict[str, float]:
        return {
            "product": cpu_seconds(self.product),
            "sandbox": cpu_seconds(self.sandbox),
            "client": time.process_time(),
        }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live descendants (uvicorn's workers).

    Linux /proc: stat fields 14 and 15; field 4 is the parent's pid.
    """
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended meanwhile
                continue
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, fields in stats.items() if int(fields[1]) == parent]
        tree.update(children)
        frontier += children
    ticks = sum(int(stats[p][11]) + int(stats[p][12]) for p in tree if p in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_per_click(
    before: dict[str, float], after: dict[str, float], clicks: int
) -> dict[str, float]:
    return {f"cpu_ms_{name}": 1000 * (after[name] - before[name]) / clicks for name in before}


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def summary(
    name: str, samples: list[float], errors: int, cpu: dict[str, float]
) -> dict[str, float]:
    row = {
        "samples": len(samples),
        "errors": errors,
        "p50_ms": statistics.median(samples),
        "p99_ms": p99(samples),
        "max_ms": max(samples),
        **cpu,
    }
    print(
        f"{name:<6} {row['samples']:>8} {row['p50_ms']:>9.1f} {row['p99_ms']:>9.1f}"
        f" {row['max_ms']:>9.1f} {errors:>7} {cpu['cpu_ms_product']:>9.2f}"
        f" {cpu['cpu_ms_sandbox']:>9.2f} {cpu['cpu_ms_client']:>9.2f}"
    )
    return row


def cached_keys(openids: list[str]) -> list[str]:
    """What a fan's click may find cached: the counter-data entry and the binding list."""
    accounts = bindable_accounts()
    keys = []
    for i, openid in enumerate(openids):  # the same fan → account assignment as bind_fans
        _, account = accounts[i % len(accounts)]
        keys.append(cache_key(QueryKind.POSITIONS, openid=openid, account_id=account.account_id))
        keys.append(entry_key(openid))
    return keys


async def cold(clicker: Clicker, openids: list[str], redis: Redis) -> tuple[list[float], int]:
    samples, errors = [], 0
    keys = cached_keys(openids)
    for _ in range(COLD_ROUNDS):
        redis.delete(*keys)  # a fan's first click in a while: nothing about them is cached
        results = await asyncio.gather(*(clicker.click(o) for o in openids))
        samples += [ms for ms, _ in results]
        errors += sum(1 for _, ok in results if not ok)
    return samples, errors


async def warm(clicker: Clicker, openids: list[str]) -> tuple[list[float], int]:
    await asyncio.gather(*(clicker.click(o) for o in openids))  # prime every fan's cache
    samples: list[float] = []
    errors = 0
    deadline = time.perf_counter() + WARM_S

    async def fan(openid: str) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            ms, ok = await clicker.click(openid)
            samples.append(ms)
            errors += 0 if ok else 1

    await asyncio.gather(*(fan(o) for o in openids))
    return samples, errors


async def run(
    port: int, sim_port: int, openids: list[str], procs: Processes
) -> dict[str, dict[str, float]]:
    base = f"http://127.0.0.1:{port}"
    limits = httpx.Limits(max_connections=FANS, max_keepalive_connections=FANS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as http:
        admin = f"http://127.0.0.1:{sim_port}/_sim/broker/_admin"
        await http.post(f"{admin}/maintenance", json={"mode": "off"})
        await http.post(f"{admin}/latency", json={"fixed_ms": LATENCY_MS})
        connector = aiohttp.TCPConnector(limit=FANS)
        session = aiohttp.ClientSession(base_url=base, connector=connector)
        clicker = Clicker(session)
        await warm(clicker, openids[:4])  # connections, JIT-free warm-up of the code paths
        redis = Redis.from_url(REDIS_URL)
        started = procs.cpu_s()
        cold_samples, cold_errors = await cold(clicker, openids, redis)
        between = procs.cpu_s()
        warm_samples, warm_errors = await warm(clicker, openids)
        ended = procs.cpu_s()
        await session.close()
    # The warm phase's priming clicks are in its CPU figures too (32 of thousands).
    cold_cpu = cpu_per_click(started, between, len(cold_samples))
    warm_cpu = cpu_per_click(between, ended, len(warm_samples) + len(openids))
    print(
        f"\nmenu click 我的持仓, {FANS} concurrent fans, counter latency {LATENCY_MS:.0f} ms,"
        f" {WORKERS} uvicorn worker(s)"
    )
    print(f"{'':<52} CPU ms per click of:")
    print(
        f"{'cache':<6} {'samples':>8} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9} {'errors':>7}"
        f" {'product':>9} {'sandbox':>9} {'client':>9}"
    )
    return {
        "cold": summary("cold", cold_samples, cold_errors, cold_cpu),
        "warm": summary("warm", warm_samples, warm_errors, warm_cpu),
    }


def main() -> dict[str, object]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    port, sim_port = free_port(), free_port()
    env = product_env(port, sim_port)
    Redis.from_url(REDIS_URL).flushdb()
    openids = asyncio.run(prepare_database(env))
    uvicorn = str(VENV_BIN / "uvicorn")
    factory = ["--factory", "--loop", "uvloop", "--no-access-log", "--log-level", "warning"]
    sim_cmd = [uvicorn, "app.simulator.main:create_sim_app_from_env", *factory]
    sim_cmd += ["--port", str(sim_port)]
    cmd = [uvicorn, "app.main:create_app_from_env", "--factory", "--port", str(port)]
    cmd += UVICORN_FLAGS
    sim_ready = f"http://127.0.0.1:{sim_port}/_sim/broker/_admin/stats"
    with (
        server(sim_cmd, env, sim_ready) as sandbox,
        server(cmd, env, f"http://127.0.0.1:{port}/healthz") as product,
    ):
        rows = asyncio.run(run(port, sim_port, openids, Processes(product.pid, sandbox.pid)))
    cold_ok = rows["cold"]["p99_ms"] < 300 and rows["cold"]["errors"] == 0
    warm_ok = rows["warm"]["p99_ms"] < 30 and rows["warm"]["errors"] == 0
    for name, ok, target in (("cold", cold_ok, 300), ("warm", warm_ok, 30)):
        verdict = "ok" if ok else "MISSED"
        print(f"{name} p99 {rows[name]['p99_ms']:.1f} ms (target < {target} ms): {verdict}")
    result: dict[str, object] = {
        "fans": FANS,
        "counter_latency_ms": LATENCY_MS,
        "workers": WORKERS,
        **rows,
    }
    Path(RESULTS / "account_center.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
