"""Webhook throughput: product path vs a bare wechatpy endpoint vs WeRoBot, in one run.

Product: uvicorn with 2 workers, real PostgreSQL + Redis, full path (signature, parse, Redis dedupe,
routing, keyword text reply, batched event recording). Baselines: a bare FastAPI endpoint doing
only wechatpy check_signature + parse_message + create_reply (same uvicorn flags), and WeRoBot on
gunicorn with 2 sync workers. wrk: 64 connections, unique MsgId per request.
Run: `make bench` (all benchmarks) or `.venv/bin/python -m bench.webhook`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from pathlib import Path

from redis import Redis

from app.core.security import sha1_signature
from bench.common import (
    RESULTS,
    ROOT,
    VENV_BIN,
    WrkResult,
    free_port,
    fresh_migrated_database,
    run_wrk,
    server,
)

TOKEN = "benchToken2024"
KEYWORD = "开户"
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = "wxbroker_bench"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
DURATION_S = int(os.environ.get("BENCH_DURATION_S", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
UVICORN_FLAGS = [
    "--workers",
    "2",
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--no-access-log",
    "--log-level",
    "warning",
]


def product_env(port: int) -> dict[str, str]:
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return {
        "ENVIRONMENT": "dev",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": f"{base}/{DB_NAME}",
        "REDIS_URL": REDIS_URL,
        "WECHAT_TOKEN": TOKEN,
        "RUN_WORKER_IN_PROCESS": "false",
        "MOUNT_SIMULATOR": "false",
        "LOG_LEVEL": "WARNING",
        "WEBHOOK_TIMESTAMP_WINDOW_S": "3600",
    }


async def prepare_database(env: dict[str, str]) -> None:
    await fresh_migrated_database(PG_ADMIN, DB_NAME, env)
    await seed_keyword(env["DATABASE_URL"])


async def seed_keyword(database_url: str) -> None:
    from app.content import service as content_service
    from app.core.db import create_engine, create_sessionmaker, unit_of_work

    engine = create_engine(database_url)
    async with unit_of_work(create_sessionmaker(engine)) as session:
        await content_service.create_keyword_reply(
            session, keyword=KEYWORD, match_type="exact", reply_text="您好，这是关键词自动回复。"
        )
    await engine.dispose()


def signed_path() -> tuple[str, int]:
    ts = int(time.time())
    nonce = str(random.randint(10**8, 10**9))
    sig = sha1_signature(TOKEN, str(ts), nonce)
    return f"/wechat?signature={sig}&timestamp={ts}&nonce={nonce}&openid=x", ts


def measure(name: str, port: int) -> WrkResult:
    path, ts = signed_path()
    script = ROOT / "bench" / "webhook.lua"
    base = random.randint(1, 10**6) * 10**9
    run_wrk(
        f"{name} (warm-up)",
        f"http://127.0.0.1:{port}",
        script,
        [path, str(base), str(ts)],
        duration_s=2,
    )
    return run_wrk(
        name,
        f"http://127.0.0.1:{port}",
        script,
        [path, str(base + 5 * 10**8), str(ts)],
        duration_s=DURATION_S,
    )


def main() -> dict[str, object]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    ports = {"product": free_port(), "wechatpy": free_port(), "werobot": free_port()}
    env = product_env(ports["product"])
    asyncio.run(prepare_database(env))
    Redis.from_url(REDIS_URL).flushdb()
    results: dict[str, list[WrkResult]] = {k: [] for k in ports}
    uvicorn = str(VENV_BIN / "uvicorn")
    servers = {
        "product": (
            [
                uvicorn,
                "app.main:create_app_from_env",
                "--factory",
                "--port",
                str(ports["product"]),
                *UVICORN_FLAGS,
            ],
            env,
        ),
        "wechatpy": (
            [
                uvicorn,
                "bench.baselines.wechatpy_plain:app",
                "--port",
                str(ports["wechatpy"]),
                *UVICORN_FLAGS,
            ],
            {"WECHAT_TOKEN": TOKEN},
        ),
        "werobot": (
            [
                str(VENV_BIN / "gunicorn"),
                "-w",
                "2",
                "-k",
                "sync",
                "-b",
                f"127.0.0.1:{ports['werobot']}",
                "--log-level",
                "warning",
                "bench.baselines.werobot_app:application",
            ],
            {"WECHAT_TOKEN": TOKEN},
        ),
    }
    for _ in range(ROUNDS):
        for name, (cmd, extra_env) in servers.items():
            ready = f"http://127.0.0.1:{ports[name]}/wechat"
            with server(cmd, extra_env, ready):
                results[name].append(measure(name, ports[name]))
    best = {k: max(v, key=lambda r: r.rps) for k, v in results.items()}
    print(f"\nwebhook @64 connections, {DURATION_S}s x {ROUNDS} rounds (best round)")
    print(f"{'target':<34} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7}")
    for r in best.values():
        print(r.row())
    ratio_plain = best["product"].rps / best["wechatpy"].rps
    ratio_werobot = best["product"].rps / best["werobot"].rps
    print(f"product / plain wechatpy = {ratio_plain:.2f} (target >= 0.90)")
    print(f"product / WeRoBot        = {ratio_werobot:.2f} (target >= 1.5)")
    print(f"product p99              = {best['product'].p99_ms:.1f} ms (target < 50 ms)")
    summary = {
        "results": {k: vars(r) for k, r in best.items()},
        "all_rounds": {k: [vars(r) for r in v] for k, v in results.items()},
        "ratio_vs_plain_wechatpy": ratio_plain,
        "ratio_vs_werobot": ratio_werobot,
    }
    Path(RESULTS / "webhook.json").write_text(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
