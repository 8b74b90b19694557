"""Webhook handler for TEMPLATESENDJOBFINISH: WeChat's receipt for a template message."""

from __future__ import annotations

from app.core.db import unit_of_work
from app.push.receipts import handle_template_receipt, stash_early_receipt
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
    if not known:
        await stash_early_receipt(ctx.redis, msg_id=msg.msg_id, ok=msg.ok, status=msg.status)
    return None  # WeChat expects `success` (empty reply) for receipts


def register(router: WeChatRouter) -> None:
    router.event("templatesendjobfinish")(on_template_receipt)
