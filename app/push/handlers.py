"""Webhook handler for TEMPLATESENDJOBFINISH: WeChat's receipt for a template message."""

from __future__ import annotations

from app.core.db import unit_of_work
from app.push.receipts import (
    forget_early_receipt,
    handle_template_receipt,
    stash_early_receipt,
)
from app.webhook.service import WebhookContext, WeChatRouter
from app.wechat.messages import InboundMessage, TemplateSendJobFinishEvent
from app.wechat.replies import Reply


async def on_template_receipt(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
    """Set the delivery delivered/failed by msgid; keep a receipt that overtook the `sent`."""
    if not isinstance(msg, TemplateSendJobFinishEvent):
        return None
    async with unit_of_work(ctx.sessionmaker) as session:
        known = await handle_template_receipt(
            session, msg_id=msg.msg_id, ok=msg.ok, status=msg.status, now=ctx.clock.now()
        )
    if known:
        return None
    # The worker may not have committed `sent` yet: park the receipt for it, then look once
    # more, because the worker reads parked receipts right after its commit. Whichever side
    # sees both the row and the receipt applies it (applying twice is a no-op).
    await stash_early_receipt(ctx.redis, msg_id=msg.msg_id, ok=msg.ok, status=msg.status)
    async with unit_of_work(ctx.sessionmaker) as session:
        known = await handle_template_receipt(
            session, msg_id=msg.msg_id, ok=msg.ok, status=msg.status, now=ctx.clock.now()
        )
    if known:
        await forget_early_receipt(ctx.redis, msg_id=msg.msg_id)
    return None  # WeChat expects `success` (empty reply) for receipts


def register(router: WeChatRouter) -> None:
    router.event("templatesendjobfinish")(on_template_receipt)
