"""Push fixtures: a fake WeChat (third party) and builders for alerts, deliveries and workers."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.db import create_sessionmaker, unit_of_work
from app.core.redis import Redis
from app.core.time import FakeClock
from app.push import service, stream
from app.push.constants import PushConfig
from app.push.models import Delivery, DeliveryEvent
from app.push.relay import relay_once
from app.push.repository import DeliveryRepository
from app.push.worker import WorkerContext
from app.wechat.errors import WeChatApiError

TEMPLATE_PATH = "/cgi-bin/message/template/send"


@dataclass
class FakeWeChat:
    """Behaves like WeChat for the two send APIs: msgids, client_msg_id dedupe, scripted errors."""

    errors: dict[str, list[Exception]] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    custom: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0
    _by_client_id: dict[tuple[str, str], int] = field(default_factory=dict)
    _next_msgid: int = 1000

    def fail(self, openid: str, *errors: Exception) -> None:
        self.errors.setdefault(openid, []).extend(errors)

    def _raise_scripted(self, openid: str) -> None:
        queue = self.errors.get(openid)
        if queue:
            raise queue.pop(0)

    async def send_template(
        self,
        *,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        url: str | None = None,
        miniprogram: dict[str, str] | None = None,
        client_msg_id: str | None = None,
    ) -> int:
        self.calls += 1
        self._raise_scripted(openid)
        key = (openid, client_msg_id or "")
        if client_msg_id and key in self._by_client_id:
            return self._by_client_id[key]  # WeChat drops the repeat
        self._next_msgid += 1
        self._by_client_id[key] = self._next_msgid
        self.sent.append(
            {"openid": openid, "template_id": template_id, "data": dict(data), "url": url,
             "client_msg_id": client_msg_id, "msgid": self._next_msgid}
        )  # fmt: skip
        return self._next_msgid

    async def send_custom_message(self, *, openid: str, message: Mapping[str, Any]) -> None:
        self.calls += 1
        self._raise_scripted(openid)
        self.custom.append({"openid": openid, "message": dict(message)})

    def seen_per_fan(self) -> Counter[str]:
        return Counter(m["openid"] for m in self.sent)


def api_error(errcode: int) -> WeChatApiError:
    return WeChatApiError(errcode, f"errcode {errcode}", TEMPLATE_PATH)


@pytest.fixture
def fake_wechat() -> FakeWeChat:
    return FakeWeChat()


@pytest.fixture
def push_config() -> PushConfig:
    return PushConfig(
        block_ms=None, ids_per_entry=3, worker_entries=10, autoclaim_interval_s=0.0,
        autoclaim_idle_ms=60_000, relay_batch=100,
    )  # fmt: skip


@pytest.fixture
async def sessionmaker(
    engine: AsyncEngine, truncate_tables: None
) -> async_sessionmaker[AsyncSession]:
    """Committing sessions on the test database; every table is wiped after the test."""
    return create_sessionmaker(engine)


@pytest.fixture
async def push_redis(redis: Redis) -> Redis:
    await stream.ensure_groups(redis)
    return redis


def make_ctx(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    wechat: FakeWeChat,
    clock: FakeClock,
    config: PushConfig,
    *,
    consumer: str = "w1",
    **kw: Any,
) -> WorkerContext:
    return WorkerContext(
        redis=redis, sessionmaker=sessionmaker, wechat=wechat, clock=clock, config=config,
        consumer=consumer, rng=random.Random(7), **kw,
    )  # fmt: skip


@pytest.fixture
def ctx(
    sessionmaker: async_sessionmaker[AsyncSession],
    push_redis: Redis,
    fake_wechat: FakeWeChat,
    clock: FakeClock,
    push_config: PushConfig,
) -> WorkerContext:
    return make_ctx(sessionmaker, push_redis, fake_wechat, clock, push_config)


async def add_alert(
    sessionmaker: async_sessionmaker[AsyncSession],
    openids: Sequence[str],
    *,
    severity: str = "transactional",
    expires_at: datetime | None = None,
    template_id: str = "TPL_FILL",
) -> tuple[int, list[int]]:
    """Commit an alert with one pending delivery per openid; returns (alert id, delivery ids)."""
    async with unit_of_work(sessionmaker) as session:
        alert = await service.create_alert(
            session, alert_type="trade_fill", severity=severity, payload={"symbol": "600519"},
            expires_at=expires_at,
        )  # fmt: skip
        await service.create_deliveries(
            session, alert=alert, template_id=template_id,
            recipients=[(o, {"thing1": f"fill for {o}"}) for o in openids],
        )  # fmt: skip
        alert_id = alert.id
    async with sessionmaker() as session:
        ids = await DeliveryRepository(session).list_ids_for_alert(alert_id)
    return alert_id, ids


async def add_send_outcome(
    session: AsyncSession,
    *,
    alert_id: int,
    openid: str,
    status: str,
    at: datetime,
    errcode: int | None = None,
    detail: str | None = None,
    template_id: str = "T",
) -> int:
    """A delivery as the worker leaves it after one send (the row and its history event, e.g.
    `detail="configuration error: dead-lettered"`); returns its id. Flushes, never commits."""
    delivery = Delivery(
        alert_id=alert_id,
        openid=openid,
        template_id=template_id,
        data={},
        severity="transactional",
        status=status,
        attempts=1,
        errcode=errcode,
        error=f"errcode {errcode}" if errcode else None,
        failed_at=at if status == "failed" else None,
    )
    session.add(delivery)
    await session.flush()
    session.add(
        DeliveryEvent(
            delivery_id=delivery.id,
            from_status="sending",
            to_status=status,
            errcode=errcode,
            detail=detail,
            at=at,
        )
    )
    return int(delivery.id)


async def relay(ctx: WorkerContext) -> int:
    return await relay_once(ctx.sessionmaker, ctx.redis, clock=ctx.clock, config=ctx.config)
