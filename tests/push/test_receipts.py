"""TEMPLATESENDJOBFINISH receipts: delivered/failed by msgid, idempotent, early ones kept."""

from __future__ import annotations

from sqlalchemy import select

from app.push.handlers import on_template_receipt
from app.push.models import Delivery
from app.push.receipts import handle_template_receipt
from app.push.worker import run_once
from app.webhook.service import WebhookContext
from app.wechat.messages import TemplateSendJobFinishEvent
from tests.conftest import make_settings
from tests.push.conftest import add_alert, relay


async def sent_delivery(ctx, openid="o1") -> Delivery:
    await add_alert(ctx.sessionmaker, [openid])
    await relay(ctx)
    await run_once(ctx)
    async with ctx.sessionmaker() as session:
        return (await session.scalars(select(Delivery).where(Delivery.openid == openid))).one()


async def reload(ctx, delivery_id) -> Delivery:
    async with ctx.sessionmaker() as session:
        return await session.get(Delivery, delivery_id)


def receipt_event(msgid: int, status: str) -> TemplateSendJobFinishEvent:
    return TemplateSendJobFinishEvent(
        to_user="gh_1", from_user="o1", create_time=1700000000, msg_type="event",
        event="templatesendjobfinish", event_key="", msg_id=msgid, status=status,
        ok=status == "success",
    )  # fmt: skip


def webhook_ctx(ctx) -> WebhookContext:
    return WebhookContext(
        settings=make_settings(), sessionmaker=ctx.sessionmaker, redis=ctx.redis,
        clock=ctx.clock, state=None,
    )  # fmt: skip


class TestHandleTemplateReceipt:
    async def test_success_marks_delivered_and_repeats_change_nothing(self, ctx):
        delivery = await sent_delivery(ctx)
        for _ in range(2):
            async with ctx.sessionmaker() as session:
                assert await handle_template_receipt(
                    session, msg_id=delivery.msgid, ok=True, status="success", now=ctx.clock.now()
                )
                await session.commit()
        row = await reload(ctx, delivery.id)
        assert (row.status, row.delivered_at) == ("delivered", ctx.clock.now())

    async def test_user_block_marks_failed(self, ctx):
        delivery = await sent_delivery(ctx)
        async with ctx.sessionmaker() as session:
            await handle_template_receipt(
                session, msg_id=delivery.msgid, ok=False, status="failed:user block"
            )
            await session.commit()
        assert (await reload(ctx, delivery.id)).status == "failed"

    async def test_unknown_msgid_reports_false(self, session):
        assert not await handle_template_receipt(session, msg_id=424242, ok=True, status="success")


class TestWebhookHandler:
    async def test_receipt_event_sets_delivered(self, ctx):
        delivery = await sent_delivery(ctx)
        assert (
            await on_template_receipt(webhook_ctx(ctx), receipt_event(delivery.msgid, "success"))
            is None
        )
        assert (await reload(ctx, delivery.id)).status == "delivered"

    async def test_receipt_that_overtakes_the_sent_commit_is_applied_by_the_worker(
        self, ctx, fake_wechat
    ):
        next_msgid = fake_wechat._next_msgid + 1  # what the fake will return for the next send
        await on_template_receipt(
            webhook_ctx(ctx), receipt_event(next_msgid, "failed: system failed")
        )
        delivery = await sent_delivery(ctx)
        assert delivery.msgid == next_msgid
        assert delivery.status == "failed"
