"""Funnel report over 1,000,000 conversion events on PostgreSQL (target: under 2 s).

Seeds a dedicated database with persons, channels and events whose shape resembles an
account's year (most fans never convert; app users and customers arrive from all sides),
then times `funnel_report` for a 90-day period, first-touch and last-touch, several runs.
Run alone: `python -m bench.funnel [events]`.
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

import asyncpg

from app.campaigns import funnel
from app.campaigns.constants import FUNNEL_PATHS, Attribution
from app.core.db import create_engine, create_sessionmaker
from app.core.migrate import run_on_engine
from bench.common import RESULTS, recreate_database

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = "wxb_bench_funnel"
EVENTS = 1_000_000
CHANNELS = 40
RUNS = 5
TARGET_S = 2.0
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
PERIOD = (datetime(2025, 7, 1, tzinfo=UTC), datetime(2025, 9, 29, tzinfo=UTC))


def _journeys(total_events: int, rng: random.Random) -> list[list[tuple[str, datetime]]]:
    """Per person: 1-3 steps among followed/app_activated/account_opened (+ first trade)."""
    kinds = ("followed", "app_activated", "account_opened")
    people: list[list[tuple[str, datetime]]] = []
    count = 0
    while count < total_events:
        steps = rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
        order = rng.sample(kinds, steps)
        at = YEAR_START + timedelta(seconds=rng.randrange(365 * 86400))
        journey = []
        for kind in order:
            journey.append((kind, at))
            at += timedelta(seconds=rng.randrange(1, 40 * 86400))
        if "account_opened" in order and rng.random() < 0.5:
            journey.append(("first_trade", at))
        people.append(journey[: total_events - count])
        count += len(people[-1])
    return people


async def seed(url: str, total_events: int) -> int:
    await recreate_database(PG_ADMIN, DB_NAME)
    engine = create_engine(url, pool_size=2)
    await run_on_engine(engine, "upgrade", "head")
    await engine.dispose()

    rng = random.Random(20260101)
    people = _journeys(total_events, rng)
    conn = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{DB_NAME}")
    try:
        now = datetime.now(UTC)
        await conn.copy_records_to_table(
            "channel",
            records=[
                (
                    i,
                    f"ch-{i:03d}",
                    f"Channel {i}",
                    "campaign",
                    None,
                    f"ch-{i:03d}",
                    True,
                    "bench",
                    now,
                )
                for i in range(1, CHANNELS + 1)
            ],
            columns=[
                "id",
                "code",
                "name",
                "kind",
                "staff_member_id",
                "scene_str",
                "is_active",
                "created_by",
                "created_at",
            ],
        )
        persons = []
        for pid, journey in enumerate(people, start=1):
            first = rng.randrange(1, CHANNELS + 1) if rng.random() < 0.8 else None
            last = rng.randrange(1, CHANNELS + 1) if first and rng.random() < 0.3 else first
            persons.append((pid, f"o{pid:027d}", first, journey[0][1], last, journey[0][1], now))
        await conn.copy_records_to_table(
            "person",
            records=persons,
            columns=[
                "id",
                "openid",
                "first_channel_id",
                "first_touch_at",
                "last_channel_id",
                "last_touch_at",
                "created_at",
            ],
        )
        events = [
            (f"b{pid}-{i}", pid, kind, at, None, at)
            for pid, journey in enumerate(people, start=1)
            for i, (kind, at) in enumerate(journey)
        ]
        await conn.copy_records_to_table(
            "conversion_event",
            records=events,
            columns=["event_id", "person_id", "kind", "occurred_at", "channel_id", "received_at"],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return len(people)


async def measure(url: str) -> dict[str, object]:
    engine = create_engine(url, pool_size=2)
    sessionmaker = create_sessionmaker(engine)
    timings: dict[str, list[float]] = {}
    totals: dict[str, dict[str, int]] = {}
    try:
        for model in (Attribution.FIRST_TOUCH, Attribution.LAST_TOUCH):
            runs = []
            for _ in range(RUNS):
                async with sessionmaker() as session:
                    started = time.perf_counter()
                    report = await funnel.funnel_report(
                        session, start=PERIOD[0], end=PERIOD[1], attribution=model
                    )
                    runs.append(time.perf_counter() - started)
            timings[model.value] = runs
            totals[model.value] = {p: getattr(report.totals, p) for p in FUNNEL_PATHS}
            channels = len(report.rows)
    finally:
        await engine.dispose()
    return {"timings_s": timings, "totals": totals, "channels_in_report": channels}


def main(argv: list[str] | None = None) -> dict[str, object]:
    args = sys.argv[1:] if argv is None else argv
    total = int(args[0]) if args and args[0].isdigit() else EVENTS
    url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    url = f"{url}/{DB_NAME}"
    started = time.perf_counter()
    persons = asyncio.run(seed(url, total))
    seeded_s = time.perf_counter() - started
    result = asyncio.run(measure(url))
    medians = {m: statistics.median(t) for m, t in result["timings_s"].items()}  # type: ignore[union-attr]
    worst = max(max(t) for t in result["timings_s"].values())  # type: ignore[union-attr]
    summary = {
        "events": total,
        "persons": persons,
        "channels": CHANNELS,
        "period": [PERIOD[0].isoformat(), PERIOD[1].isoformat()],
        "seed_s": round(seeded_s, 1),
        "median_s": {m: round(v, 3) for m, v in medians.items()},
        "worst_s": round(worst, 3),
        "target_s": TARGET_S,
        "ok": worst < TARGET_S,
        **result,
    }
    print(f"funnel over {total:,} events / {persons:,} persons, {CHANNELS} channels")
    for model, median in medians.items():
        print(f"  {model}-touch: median {median * 1000:.0f} ms over {RUNS} runs")
    print(
        f"  worst {worst * 1000:.0f} ms (target < {TARGET_S * 1000:.0f} ms): "
        f"{'OK' if summary['ok'] else 'TOO SLOW'}"
    )
    print(f"  totals (first touch): {result['totals']['first']}")  # type: ignore[index]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "funnel.json").write_text(json.dumps(summary, indent=2, default=str))
    if not summary["ok"]:
        raise RuntimeError(f"funnel report took {worst:.2f}s (target {TARGET_S}s)")
    return summary


if __name__ == "__main__":
    main()
