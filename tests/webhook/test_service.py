"""WebhookService through the endpoint: dedupe of concurrent retries, the budget, errors."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.metrics import WEBHOOK_HANDLER_ERRORS
from app.fans import service as fans_service
from app.push.constants import CS_STREAM
from app.push.models import CsMessage
from app.webhook.constants import INTERIM_FOLLOW_UP_FAILED
from app.webhook.dispatch import WebhookContext
from app.webhook.models import InboundEvent
from app.wechat.messages import InboundMessage, parse_inbound
from app.wechat.replies import Reply, TextReply
from tests.conftest import make_settings
from tests.webhook.signing import deliver, open_reply, post, reply_fields

OPENID = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"


def text_xml(content: str, msg_id: int) -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


class Gate:
    """A handler that counts its runs and blocks until the test opens the gate."""

    def __init__(self, reply: str) -> None:
        self.calls = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.reply = reply

    async def __call__(self, ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
        self.calls += 1
        self.started.set()
        await self.release.wait()
        return TextReply(self.reply)


class TestConcurrentRetries:
    @pytest.mark.parametrize("mode", ["plain", "safe"])
    async def test_three_identical_posts_run_the_handler_once(
        self, app: FastAPI, client: httpx.AsyncClient, mode: str
    ) -> None:
        gate = Gate("只执行一次")
        app.state.wechat_router.text("concurrent")(gate)
        delivery = deliver(text_xml("concurrent", 111), mode)  # type: ignore[arg-type]

        requests = [asyncio.create_task(post(client, delivery)) for _ in range(3)]
        await gate.started.wait()
        gate.release.set()
        responses = await asyncio.gather(*requests)

        assert gate.calls == 1
        assert {r.status_code for r in responses} == {200}
        contents = {reply_fields(open_reply(r, mode))["Content"] for r in responses}  # type: ignore[arg-type]
        assert contents == {"只执行一次"}

    async def test_a_later_retry_gets_the_stored_reply(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        gate = Gate("first answer")
        gate.release.set()
        app.state.wechat_router.text("again")(gate)
        first = await post(client, deliver(text_xml("again", 222)))
        retry = await post(client, deliver(text_xml("again", 222)))

        assert gate.calls == 1
        assert reply_fields(retry.content)["Content"] == "first answer"
        assert retry.content == first.content

    async def test_a_retry_in_another_mode_is_encrypted_for_its_own_request(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        gate = Gate("shared")
        gate.release.set()
        app.state.wechat_router.text("modes")(gate)
        await post(client, deliver(text_xml("modes", 333), "plain"))
        retry = await post(client, deliver(text_xml("modes", 333), "safe"))

        assert b"<Encrypt>" in retry.content
        assert reply_fields(open_reply(retry, "safe"))["Content"] == "shared"
        assert gate.calls == 1

    async def test_events_are_deduplicated_by_sender_time_event_and_key(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        gate = Gate("menu")
        gate.release.set()
        app.state.wechat_router.event("click", key="K1")(gate)
        click = (
            "<xml><ToUserName>gh_0123456789ab</ToUserName>"
            f"<FromUserName>{OPENID}</FromUserName><CreateTime>1700000200</CreateTime>"
            "<MsgType>event</MsgType><Event>CLICK</Event><EventKey>K1</EventKey></xml>"
        )
        for _ in range(2):
            await post(client, deliver(click))
        await post(client, deliver(click.replace("1700000200", "1700000201")))

        assert gate.calls == 2


class TestTimeBudget:
    @pytest.fixture
    def settings(self):
        return make_settings(webhook_time_budget_s=0.05)

    async def test_overrun_answers_success_and_queues_the_reply_durably(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        engine: AsyncEngine,
    ) -> None:
        gate = Gate("稍后为您送达")
        app.state.wechat_router.text("slow")(gate)
        delivery = deliver(text_xml("slow", 444), "safe")

        response = await post(client, delivery)
        assert response.content == b"success"  # the budget ran out: WeChat gets `success` now

        retry = await post(client, delivery)
        assert retry.content == b"success"
        gate.release.set()
        await app.state.webhook.drain()

        assert gate.calls == 1
        async with AsyncSession(engine) as session:
            rows = list(await session.scalars(select(CsMessage)))
        assert [(r.openid, r.message, r.reason) for r in rows] == [
            (OPENID, {"msgtype": "text", "text": {"content": "稍后为您送达"}}, "webhook.overrun")
        ]
        entries = await app.state.redis.xrange(CS_STREAM)
        assert len(entries) == 1

    async def test_a_route_with_interim_text_answers_it_and_sends_the_reply_once(
        self, app: FastAPI, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        gate = Gate("查询结果")
        app.state.wechat_router.text("slowquery", interim="正在查询，请稍候…")(gate)
        delivery = deliver(text_xml("slowquery", 777), "safe")

        # The first POST and two concurrent retries while the handler is still running.
        first = await asyncio.gather(*(post(client, delivery) for _ in range(3)))
        gate.release.set()
        await app.state.webhook.drain()
        # A retry after the reply went out as a CS message reads the stored answer from Redis.
        late = await post(client, delivery)

        contents = [reply_fields(open_reply(r, "safe"))["Content"] for r in [*first, late]]
        assert contents == ["正在查询，请稍候…"] * 4
        assert gate.calls == 1
        async with AsyncSession(engine) as session:
            rows = list(await session.scalars(select(CsMessage)))
        assert [(r.openid, r.message, r.reason) for r in rows] == [
            (OPENID, {"msgtype": "text", "text": {"content": "查询结果"}}, "webhook.overrun")
        ]
        assert len(await app.state.redis.xrange(CS_STREAM)) == 1

    async def test_a_route_with_interim_text_that_finishes_in_time_answers_directly(
        self, app: FastAPI, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        gate = Gate("直接回复")
        gate.release.set()
        app.state.wechat_router.text("fastquery", interim="正在查询，请稍候…")(gate)

        response = await post(client, deliver(text_xml("fastquery", 888)))
        await app.state.webhook.drain()

        assert reply_fields(response.content)["Content"] == "直接回复"
        async with AsyncSession(engine) as session:
            assert list(await session.scalars(select(CsMessage))) == []

    async def test_overrun_handler_that_returns_nothing_queues_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        release = asyncio.Event()

        async def quiet(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
            await release.wait()
            return None

        app.state.wechat_router.text("quiet")(quiet)
        response = await post(client, deliver(text_xml("quiet", 555)))
        release.set()
        await app.state.webhook.drain()

        assert response.content == b"success"
        async with AsyncSession(engine) as session:
            assert list(await session.scalars(select(CsMessage))) == []

    @pytest.mark.parametrize("outcome", ["raises", "returns nothing"])
    async def test_a_promised_follow_up_is_an_apology_when_the_handler_gives_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, engine: AsyncEngine, outcome: str
    ) -> None:
        release = asyncio.Event()

        async def broken(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
            await release.wait()
            if outcome == "raises":
                raise RuntimeError("counter exploded")
            return None

        app.state.wechat_router.text("brokenquery", interim="正在查询，请稍候…")(broken)
        response = await post(client, deliver(text_xml("brokenquery", 556), "safe"))
        release.set()
        await app.state.webhook.drain()

        assert reply_fields(open_reply(response, "safe"))["Content"] == "正在查询，请稍候…"
        async with AsyncSession(engine) as session:
            rows = list(await session.scalars(select(CsMessage)))
        apology = {"msgtype": "text", "text": {"content": INTERIM_FOLLOW_UP_FAILED}}
        assert [(r.openid, r.message) for r in rows] == [(OPENID, apology)]


class TestPrefetch:
    async def test_the_owner_reads_the_route_keys_with_its_claim(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        seen: list[dict[str, bytes | None]] = []

        async def cached(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
            seen.append(dict(ctx.prefetched))
            return TextReply("from cache")

        await app.state.redis.set(f"bench-cache:{OPENID}", b"hit")
        keys = lambda msg: [f"bench-cache:{msg.from_user}", "bench-cache:none"]  # noqa: E731
        app.state.wechat_router.text("cached", prefetch=keys)(cached)
        delivery = deliver(text_xml("cached", 999))

        first = await post(client, delivery)
        retry = await post(client, delivery)

        assert seen == [{f"bench-cache:{OPENID}": b"hit", "bench-cache:none": None}]
        assert reply_fields(first.content)["Content"] == "from cache"
        assert retry.content == first.content


class TestHandlerErrors:
    async def test_a_failing_handler_is_logged_and_answered_success(
        self, app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def broken(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
            raise RuntimeError("boom")

        app.state.wechat_router.text("broken")(broken)
        label = WEBHOOK_HANDLER_ERRORS.labels(f"{broken.__module__}.{broken.__qualname__}")
        before = label._value.get()

        response = await post(client, deliver(text_xml("broken", 666)))

        assert response.status_code == 200
        assert response.content == b"success"
        assert label._value.get() == before + 1
        assert any(r.message == "webhook.handler_failed" for r in caplog.records)


class TestRecording:
    @pytest.fixture
    def settings(self):
        # The background flush must not race the assertions: the test flushes by hand.
        return make_settings(recorder_flush_interval_s=3600)

    async def test_deliveries_are_recorded_in_batches_and_keep_fans_current(
        self, app: FastAPI, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        head = (
            "<xml><ToUserName>gh_0123456789ab</ToUserName>"
            f"<FromUserName>{OPENID}</FromUserName><MsgType>event</MsgType>"
        )
        events = [
            f"{head}<CreateTime>1700000100</CreateTime><Event>subscribe</Event>"
            "<EventKey>qrscene_campaign42</EventKey><Ticket>t</Ticket></xml>",
            f"{head}<CreateTime>1700000200</CreateTime><Event>CLICK</Event>"
            "<EventKey>MENU_X</EventKey></xml>",
            f"{head}<CreateTime>1700000300</CreateTime><Event>unsubscribe</Event></xml>",
        ]
        for xml in events:
            await post(client, deliver(xml))
        await post(client, deliver(events[1]))  # a retry is not recorded twice
        recorder = app.state.webhook.recorder
        assert recorder.pending == 3

        assert await recorder.flush() == 3

        async with AsyncSession(engine) as session:
            stored = list(await session.scalars(select(InboundEvent).order_by(InboundEvent.id)))
            fan = await fans_service.get_fan(session, OPENID)
        assert [(r.event, r.event_key, r.scene) for r in stored] == [
            ("subscribe", "qrscene_campaign42", "campaign42"),
            ("click", "MENU_X", None),
            ("unsubscribe", None, None),
        ]
        assert all(r.openid == OPENID and r.msg_type == "event" for r in stored)
        assert fan is not None
        assert fan.is_subscribed is False
        assert fan.subscribe_scene == "campaign42"
        assert fan.unsubscribed_at is not None
        assert fan.unsubscribed_at.timestamp() == 1700000300


class TestInlineRoutes:
    async def test_an_inline_route_runs_in_the_request_task_without_the_budget_task(
        self, app: FastAPI
    ) -> None:
        tasks: list[object] = []

        async def pure(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
            tasks.append(asyncio.current_task())
            return TextReply("inline")

        async def io_bound(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
            tasks.append(asyncio.current_task())
            return TextReply("task")

        router = app.state.wechat_router
        router.text("pure", inline=True)(pure)
        router.text("io")(io_bound)
        service = app.state.webhook

        pure_msg = parse_inbound(text_xml("pure", 1).encode())
        io_msg = parse_inbound(text_xml("io", 2).encode())
        inline_reply = await service._run_within_budget(pure_msg, router.resolve(pure_msg))
        task_reply = await service._run_within_budget(io_msg, router.resolve(io_msg))

        assert (inline_reply, task_reply) == (TextReply("inline"), TextReply("task"))
        assert tasks[0] is asyncio.current_task()
        assert tasks[1] is not asyncio.current_task()
