"""Built-in webhook handlers: welcome on follow, keyword auto-replies, the default reply."""

from __future__ import annotations

import logging

from app.content.service import KeywordCache
from app.core.security import mask_openid
from app.webhook.service import WebhookContext, WeChatRouter
from app.wechat.messages import EventMessage, InboundMessage, TextMessage, UnknownMessage
from app.wechat.replies import Reply, TextReply

log = logging.getLogger(__name__)


class ContentHandlers:
    """Handlers bound to this process's keyword cache."""

    def __init__(self, keywords: KeywordCache) -> None:
        self.keywords = keywords

    async def welcome(self, ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
        """Every follow (plain or by QR scan) gets the configured welcome text."""
        text = ctx.settings.webhook_welcome_text
        return TextReply(text) if text.strip() else None

    async def keyword_reply(self, ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
        """Text messages no feature route claimed: a keyword rule, else the default reply."""
        content = msg.content if isinstance(msg, TextMessage) else ""
        rule = self.keywords.match(content)
        if rule is not None:
            return TextReply(rule.reply_text)
        return _default_text(ctx)

    async def fallback(self, ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
        """Anything else: a polite default to fan messages; events and unknowns get `success`."""
        if isinstance(msg, EventMessage):
            log.info("content.event_unhandled", extra={"event": msg.event[:64]})
            return None
        if isinstance(msg, UnknownMessage):
            log.info(
                "content.unknown_message",
                extra={"msg_type": msg.msg_type[:32], "openid": mask_openid(msg.from_user)},
            )
            return None
        return _default_text(ctx)


def _default_text(ctx: WebhookContext) -> Reply | None:
    text = ctx.settings.webhook_default_reply
    return TextReply(text) if text.strip() else None


def register(router: WeChatRouter, *, keywords: KeywordCache) -> None:
    """Routes of the content feature; feature routes (exact/regex text, event keys) win."""
    handlers = ContentHandlers(keywords)
    router.event("subscribe")(handlers.welcome)
    router.message("text")(handlers.keyword_reply)
    router.default(handlers.fallback)
