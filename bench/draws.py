"""Lottery draws per second with real Redis and PostgreSQL at 100 concurrent fans, with the
exactly-N-winners check (and nobody twice, and Redis agreeing with PostgreSQL after).

Each round: a fresh campaign with PRIZES prizes, DRAWS draws by distinct fans (two openids
of one bound person among them), at most CONCURRENCY in flight. Run alone:
`python -m bench.draws [draws]`. Uses its own database and Redis DB 13.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.accounts.models import AccountBinding
from app.campaigns import campaigns, lottery
from app.campaigns.constants import DrawDecisionKind
from app.campaigns.models import PrizeAward
from app.campaigns.schemas import CampaignCreate
from app.core.db import create_engine, create_sessionmaker, unit_of_work
from app.core.migrate import run_on_engine
from app.core.redis import create_redis
from app.core.time import FakeClock
from bench.common import RESULTS, database_url, recreate_database

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_DRAWS_REDIS_URL", "redis://127.0.0.1:6379/13")
DB_NAME = "wxb_bench_draws"
DRAWS = 2000
PRIZES = 50
CONCURRENCY = 100
ROUNDS = 3
START = datetime(2026, 3, 1, tzinfo=UTC)


async def _database() -> str:
    await recreate_database(PG_ADMIN, DB_NAME)
    return database_url(PG_ADMIN, DB_NAME)


async def _round(sessionmaker, redis, code: str, draws: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    body = CampaignCreate.model_validate(
        {
            "code": code,
            "name": "bench",
            "starts_at": START,
            "ends_at": START + timedelta(days=30),
            "prizes": [{"code": "cash", "name": "红包", "value": "8.88", "inventory": PRIZES}],
        }
    )
    async with unit_of_work(sessionmaker) as session:
        await campaigns.create_campaign(session, body, actor="bench", now=START)
        for openid in (f"{code}-twinA", f"{code}-twinB"):
            session.add(
                AccountBinding(
                    openid=openid,
                    client_id=f"{code}-twin",
                    account_id="A1",
                    account_no_masked="****0001",
                    account_type="cash",
                    is_default=True,
                    consent_version="v1",
                    consented_at=START,
                    bound_at=START,
                )
            )
    clock = FakeClock(current=START + timedelta(days=1))
    draw = lottery.Lottery(sessionmaker, redis, clock, random.Random(1))
    gate = asyncio.Semaphore(CONCURRENCY)
    openids = [f"{code}-twinA", f"{code}-twinB"] + [f"{code}-{i:06d}" for i in range(draws - 2)]

    async def one(openid: str) -> DrawDecisionKind:
        async with gate:
            return (await draw.draw(code, openid)).decision

    began = time.perf_counter()
    results = await asyncio.gather(*(one(o) for o in openids))
    elapsed = time.perf_counter() - began
    async with sessionmaker() as session:
        campaign_id = (await campaigns.get_campaign_row(session, code)).id
        where = PrizeAward.campaign_id == campaign_id
        winners = await session.scalar(select(func.count()).where(where))
        persons = await session.scalar(
            select(func.count(func.distinct(PrizeAward.person_id))).where(where)
        )
        twins = await session.scalar(
            select(func.count()).where(where, PrizeAward.openid.like(f"{code}-twin%"))
        )
    report = await lottery.reconcile(sessionmaker, redis, code, now=clock.now(), repair=False)
    won = results.count(DrawDecisionKind.WON)
    ok = won == winners == persons == PRIZES and (twins or 0) <= 1 and report.agrees
    return {
        "draws": draws,
        "seconds": round(elapsed, 3),
        "draws_per_s": round(draws / elapsed, 1),
        "winners": winners,
        "distinct_persons": persons,
        "twin_awards": twins,
        "reconciled": report.agrees,
        "ok": ok,
    }


async def _run(draws: int) -> dict[str, object]:
    url = await _database()
    engine = create_engine(url, pool_size=20)
    await run_on_engine(engine, "upgrade", "head")
    sessionmaker = create_sessionmaker(engine)
    redis = create_redis(REDIS_URL)
    await redis.flushdb()
    rounds = []
    try:
        for n in range(ROUNDS):
            rounds.append(await _round(sessionmaker, redis, f"bench{n}", draws))
            print(json.dumps(rounds[-1]))
    finally:
        await redis.flushdb()
        await redis.aclose()
        await engine.dispose()
    rates = [float(r["draws_per_s"]) for r in rounds]  # type: ignore[arg-type]
    return {
        "concurrency": CONCURRENCY,
        "prizes": PRIZES,
        "draws_per_round": draws,
        "median_draws_per_s": statistics.median(rates),
        "all_exactly_n_winners": all(r["ok"] for r in rounds),
        "rounds": rounds,
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    args = sys.argv[1:] if argv is None else argv
    draws = int(args[0]) if args and args[0].isdigit() else DRAWS
    summary = asyncio.run(_run(draws))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "draws.json").write_text(json.dumps(summary, indent=2, default=str))
    print(
        f"draws: {summary['median_draws_per_s']} draws/s at {CONCURRENCY} concurrent fans, "
        f"exactly {PRIZES} winners each round: {summary['all_exactly_n_winners']}"
    )
    if not summary["all_exactly_n_winners"]:
        raise SystemExit("draws: the exactly-N-winners check failed")
    return summary


if __name__ == "__main__":
    main()
