"""The six conversion paths between fans, app users and customers, per channel and period.

A person converts along `A → B` in a period when they became B inside [start, end) after
having become A (first follow, first app activation, first account opening). The channel is
the person's first-touch or last-touch channel. Portable SQL: see FunnelRepository.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns import constants as c
from app.campaigns.errors import InvalidPeriodError
from app.campaigns.repository import ChannelRepository, FunnelRepository
from app.campaigns.schemas import FunnelReport, FunnelRow

UNATTRIBUTED = None


def _row(channel: str | None, counts: list[int]) -> FunnelRow:
    return FunnelRow(channel=channel, **dict(zip(c.FUNNEL_PATHS, counts, strict=True)))


async def funnel_report(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    attribution: c.Attribution = c.Attribution.FIRST_TOUCH,
) -> FunnelReport:
    """Counts of the six paths per channel (None: no channel touched the person)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidPeriodError("start and end need a time zone")
    if not start < end or end - start > timedelta(days=c.MAX_FUNNEL_DAYS):
        raise InvalidPeriodError(f"need start < end, at most {c.MAX_FUNNEL_DAYS} days apart")
    raw = await FunnelRepository(session).report(start=start, end=end, attribution=attribution)
    channels = await ChannelRepository(session).by_ids(i for i, _ in raw if i is not None)
    rows = [_row(channels[i].code if i in channels else UNATTRIBUTED, counts) for i, counts in raw]
    rows.sort(key=lambda r: (r.channel is None, r.channel or ""))
    totals = [sum(counts[k] for _, counts in raw) for k in range(len(c.FUNNEL_PATHS))]
    return FunnelReport(
        start=start, end=end, attribution=attribution, rows=rows, totals=_row("TOTAL", totals)
    )


def funnel_csv(report: FunnelReport) -> str:
    """The report as CSV: one line per channel, then the totals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["channel", *c.FUNNEL_PATHS])
    for row in [*report.rows, report.totals]:
        writer.writerow([row.channel or "(none)", *(getattr(row, path) for path in c.FUNNEL_PATHS)])
    return out.getvalue()
