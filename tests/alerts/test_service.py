"""Fan-out: targeting, preferences, quiet hours, severities; ticks firing once per crossing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import service
from app.alerts.constants import Category
from app.alerts.errors import WatchlistFullError
from app.alerts.schemas import INGEST_ALERT, PreferencesUpdate, Tick, WatchlistItemWrite
from app.push.models import Alert
from tests.alerts.conftest import add_fans, delivery_rows, template_of
from tests.alerts.samples import alert_body

# 10:00 Beijing.
NOW = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
CONFIG = service.FanOutConfig(base_url="https://wx.example.com")
A, B, C, D = "oFanA00001", "oFanB00002", "oFanC00003", "oFanD00004"


async def _fan_out(session: AsyncSession, alert_type: str, target: dict[str, object]) -> int:
    alert = INGEST_ALERT.validate_python(alert_body(alert_type, target))
    prepared = service.prepare(alert, now=NOW, config=CONFIG)
    accepted = await service.fan_out(session, prepared, now=NOW, idempotency_key=None)
    return accepted.alert_id


async def _openids(session: AsyncSession, alert_id: int) -> list[str]:
    return [d.openid for d in await delivery_rows(session, alert_id)]


async def _prefs(session: AsyncSession, openid: str, **kw: object) -> None:
    set_quiet = "quiet_start_hour" in kw
    update = PreferencesUpdate.model_validate(kw)
    await service.update_preferences(session, openid=openid, update=update, set_quiet=set_quiet)


class TestTargets:
    async def test_openids_target_skips_unsubscribed_and_unknown_fans(
        self, session: AsyncSession
    ) -> None:
        await add_fans(session, [A, B])
        await add_fans(session, [C], subscribed=False)
        alert_id = await _fan_out(
            session, "trade_fill", {"kind": "openids", "openids": [A, B, C, D]}
        )
        assert await _openids(session, alert_id) == [A, B]

    async def test_security_topic_reaches_fans_watching_it(self, session: AsyncSession) -> None:
        await add_fans(session, [A, B, C])
        for fan in (A, C):
            await service.watch(
                session, openid=fan, item=WatchlistItemWrite(security_code="600519")
            )
        await service.watch(session, openid=B, item=WatchlistItemWrite(security_code="000001"))
        target = {"kind": "topic", "topic": "security:600519"}
        alert_id = await _fan_out(session, "dividend", target)
        assert await _openids(session, alert_id) == [A, C]

    async def test_category_topic_requires_that_category(self, session: AsyncSession) -> None:
        await add_fans(session, [A, B])
        await _prefs(session, B, categories={"ipo": False})
        alert_id = await _fan_out(session, "announcement", {"kind": "topic", "topic": "ipo"})
        assert await _openids(session, alert_id) == [A]

    async def test_all_topic_reaches_every_subscribed_fan(self, session: AsyncSession) -> None:
        await add_fans(session, [A, B])
        await add_fans(session, [C], subscribed=False)
        alert_id = await _fan_out(session, "announcement", {"kind": "topic", "topic": "all"})
        assert await _openids(session, alert_id) == [A, B]

    async def test_customer_target_uses_the_configured_resolver(
        self, session: AsyncSession
    ) -> None:
        await add_fans(session, [A, B])
        from app.fans.models import Fan  # the resolver issue #5 will provide

        config = service.FanOutConfig(
            base_url="", customer_resolver=lambda cid: select(Fan.openid).where(Fan.openid == B)
        )
        alert = INGEST_ALERT.validate_python(
            alert_body("trade_fill", {"kind": "customer", "client_id": "C1"})
        )
        prepared = service.prepare(alert, now=NOW, config=config)
        accepted = await service.fan_out(session, prepared, now=NOW, idempotency_key=None)
        assert await _openids(session, accepted.alert_id) == [B]


class TestPreferences:
    async def test_opted_out_category_is_skipped(self, session: AsyncSession) -> None:
        await add_fans(session, [A, B])
        await _prefs(session, A, categories={"trade": False})
        alert_id = await _fan_out(session, "trade_fill", {"kind": "openids", "openids": [A, B]})
        assert await _openids(session, alert_id) == [B]

    async def test_critical_alerts_ignore_opt_outs_and_quiet_hours(
        self, session: AsyncSession
    ) -> None:
        await add_fans(session, [A])
        await _prefs(session, A, categories={c.value: False for c in Category})
        await _prefs(session, A, quiet_start_hour=9, quiet_end_hour=11)
        alert_id = await _fan_out(session, "margin_call", {"kind": "openids", "openids": [A]})
        rows = await delivery_rows(session, alert_id)
        assert [(r.openid, r.next_attempt_at, r.severity) for r in rows] == [(A, None, "critical")]

    async def test_transactional_alert_in_quiet_hours_is_deferred_to_their_end(
        self, session: AsyncSession
    ) -> None:
        await add_fans(session, [A, B])
        await _prefs(session, A, quiet_start_hour=9, quiet_end_hour=11)  # now is 10:00
        await _prefs(session, B, quiet_start_hour=22, quiet_end_hour=8)
        alert_id = await _fan_out(session, "trade_fill", {"kind": "openids", "openids": [A, B]})
        rows = {r.openid: r for r in await delivery_rows(session, alert_id)}
        assert rows[A].next_attempt_at == datetime(2026, 1, 5, 3, 0, tzinfo=UTC)  # 11:00 BJ
        assert rows[B].next_attempt_at is None

    async def test_opted_out_fan_in_quiet_hours_is_skipped_not_deferred(
        self, session: AsyncSession
    ) -> None:
        await add_fans(session, [A, B, C])
        await _prefs(session, A, categories={"trade": False}, quiet_start_hour=9, quiet_end_hour=11)
        await _prefs(session, B, quiet_start_hour=9, quiet_end_hour=11)  # now is 10:00
        await _prefs(session, C, categories={"ipo": False})  # a row, but trade stays on
        alert_id = await _fan_out(session, "trade_fill", {"kind": "openids", "openids": [A, B, C]})
        rows = {r.openid: r.next_attempt_at for r in await delivery_rows(session, alert_id)}
        assert rows == {B: datetime(2026, 1, 5, 3, 0, tzinfo=UTC), C: None}

    async def test_quiet_hours_wrapping_midnight_defer_to_the_next_morning(
        self, session: AsyncSession
    ) -> None:
        await add_fans(session, [A])
        await _prefs(session, A, quiet_start_hour=9, quiet_end_hour=8)  # 09:00 → 08:00 next day
        alert_id = await _fan_out(session, "fund_transfer", {"kind": "openids", "openids": [A]})
        [row] = await delivery_rows(session, alert_id)
        assert row.next_attempt_at == datetime(2026, 1, 6, 0, 0, tzinfo=UTC)  # 08:00 BJ

    async def test_market_alert_in_quiet_hours_is_skipped(self, session: AsyncSession) -> None:
        await add_fans(session, [A, B])
        await _prefs(session, A, quiet_start_hour=10, quiet_end_hour=12)
        alert_id = await _fan_out(
            session, "watchlist_price", {"kind": "openids", "openids": [A, B]}
        )
        assert await _openids(session, alert_id) == [B]

    async def test_marketing_is_opt_in(self, session: AsyncSession) -> None:
        await add_fans(session, [A, B, C])
        await _prefs(session, B, categories={"marketing": True})
        await _prefs(
            session, C, categories={"marketing": True}, quiet_start_hour=9, quiet_end_hour=11
        )
        body = b'{"target": {"kind": "topic", "topic": "all"}, "title": "t", "body": "b"}'
        outcome = await service.broadcast(session, body=body, key="b-1", now=NOW, config=CONFIG)
        assert await _openids(session, outcome.body["alert_id"]) == [B]

    async def test_market_alerts_get_a_default_expiry(self, session: AsyncSession) -> None:
        await add_fans(session, [A])
        alert_id = await _fan_out(session, "ipo_listing", {"kind": "openids", "openids": [A]})
        [row] = await delivery_rows(session, alert_id)
        assert row.expires_at == NOW + service.MARKET_DEFAULT_TTL

    async def test_preferences_default_and_round_trip(self, session: AsyncSession) -> None:
        read = await service.get_preferences(session, openid=A)
        assert read.categories[Category.MARKETING] is False
        assert read.categories[Category.TRADE] is True
        await _prefs(
            session, A, categories={"marketing": True}, quiet_start_hour=23, quiet_end_hour=7
        )
        read = await service.get_preferences(session, openid=A)
        assert (read.categories[Category.MARKETING], read.quiet_start_hour) == (True, 23)


class TestReplay:
    async def test_same_alert_twice_into_one_alert_inserts_nothing_new(
        self, session: AsyncSession
    ) -> None:
        await add_fans(session, [A, B])
        alert_id = await _fan_out(session, "dividend", {"kind": "openids", "openids": [A, B]})
        from app.alerts.repository import Audience, Rules, recipients
        from app.push import service as push_service

        rules = Rules(None, "ignore", 10, {})
        again = await push_service.insert_deliveries_from_select(
            session, alert_id=alert_id, recipients=recipients(Audience(openids=[A, B]), rules)
        )
        assert again == 0


def _tick(price: str, prev: str = "1700") -> Tick:
    return Tick(
        security_code="600519",
        security_name="贵州茅台",
        price=Decimal(price),
        prev_close=Decimal(prev),
        at=NOW,
    )


class TestTicks:
    async def _watchers(self, session: AsyncSession) -> None:
        await add_fans(session, [A, B, C])
        await service.watch(
            session,
            openid=A,
            item=WatchlistItemWrite(security_code="600519", above_price=Decimal(1800)),
        )
        await service.watch(
            session,
            openid=B,
            item=WatchlistItemWrite(security_code="600519", above_price=Decimal(1800)),
        )
        await service.watch(
            session,
            openid=C,
            item=WatchlistItemWrite(security_code="600519", below_price=Decimal(1600)),
        )

    async def test_crossing_fires_once_per_crossing_and_rearms(self, session: AsyncSession) -> None:
        await self._watchers(session)
        assert await service.apply_tick(session, _tick("1790"), now=NOW, config=CONFIG) == []
        [fired] = await service.apply_tick(session, _tick("1805"), now=NOW, config=CONFIG)
        assert fired.recipients == 2
        assert await _openids(session, fired.alert_id) == [A, B]
        # Still above: no second alert.
        assert await service.apply_tick(session, _tick("1810"), now=NOW, config=CONFIG) == []
        # Back below re-arms; crossing again fires again.
        assert await service.apply_tick(session, _tick("1795"), now=NOW, config=CONFIG) == []
        [again] = await service.apply_tick(session, _tick("1801"), now=NOW, config=CONFIG)
        assert again.alert_id != fired.alert_id
        assert again.recipients == 2

    async def test_below_threshold_and_template_data(self, session: AsyncSession) -> None:
        await self._watchers(session)
        [fired] = await service.apply_tick(session, _tick("1599"), now=NOW, config=CONFIG)
        [row] = await delivery_rows(session, fired.alert_id)
        _, data, _ = await template_of(session, row)
        assert row.openid == C
        assert data is not None
        assert data["thing3"] == "下跌跌破1600.00"
        assert row.severity == "market"
        alert = await session.get(Alert, fired.alert_id)
        assert alert is not None
        assert alert.type == "watchlist_price"

    async def test_percent_threshold_fires_on_either_direction(self, session: AsyncSession) -> None:
        await add_fans(session, [A])
        await service.watch(
            session,
            openid=A,
            item=WatchlistItemWrite(security_code="600519", change_pct=Decimal(5)),
        )
        assert await service.apply_tick(session, _tick("1780"), now=NOW, config=CONFIG) == []
        [fired] = await service.apply_tick(session, _tick("1610"), now=NOW, config=CONFIG)
        [row] = await delivery_rows(session, fired.alert_id)
        _, data, _ = await template_of(session, row)
        assert data is not None
        assert data["thing3"] == "-5.29%"

    async def test_fans_with_watchlist_alerts_off_are_marked_but_not_sent(
        self, session: AsyncSession
    ) -> None:
        await self._watchers(session)
        await _prefs(session, A, categories={"watchlist": False})
        [fired] = await service.apply_tick(session, _tick("1805"), now=NOW, config=CONFIG)
        assert await _openids(session, fired.alert_id) == [B]

    async def test_distinct_thresholds_fire_distinct_alerts(self, session: AsyncSession) -> None:
        await add_fans(session, [A, B])
        await service.watch(
            session,
            openid=A,
            item=WatchlistItemWrite(security_code="600519", above_price=Decimal(1800)),
        )
        await service.watch(
            session,
            openid=B,
            item=WatchlistItemWrite(security_code="600519", above_price=Decimal(1850)),
        )
        fired = await service.apply_tick(session, _tick("1900"), now=NOW, config=CONFIG)
        assert [f.recipients for f in fired] == [1, 1]


class TestWatchlist:
    async def test_new_thresholds_replace_old_ones_and_rearm(self, session: AsyncSession) -> None:
        item = WatchlistItemWrite(security_code="600519", above_price=Decimal(1800))
        await service.watch(session, openid=A, item=item)
        item = WatchlistItemWrite(security_code="600519", above_price=Decimal(1900))
        [read] = await service.watch(session, openid=A, item=item)
        assert read.above_price == Decimal(1900)

    async def test_watchlist_is_capped(self, session: AsyncSession) -> None:
        for i in range(50):
            await service.watch(
                session, openid=A, item=WatchlistItemWrite(security_code=f"{i:06d}")
            )
        with pytest.raises(WatchlistFullError):
            await service.watch(session, openid=A, item=WatchlistItemWrite(security_code="600519"))
