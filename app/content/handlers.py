"""Built-in webhook handlers: welcome on follow, keyword replies (text or article card),
the "最新资讯" menu key, and the default reply."""

from __future__ import annotations

import logging

from app.content import constants as c
from app.content import texts
from app.content.service import KeywordCache, news_reply
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
        if rule is not None and rule.article is not None:
            return news_reply([rule.article])
        if rule is not None and rule.reply_text.strip():
            return TextReply(rule.reply_text)
        return _default_text(ctx)  # no rule, or an article rule whose article was withdrawn

    async def latest_news(self, ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
        """The "最新资讯" menu key: the newest article as a news card."""
        latest = list(self.keywords.latest_articles)
        return news_reply(latest) if latest else TextReply(texts.NO_ARTICLES)

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
    # All four read only settings and the in-process keyword cache (no I/O), so they run
    # inline: no budget task and timer per message on the busiest routes.
    router.event("subscribe", inline=True)(handlers.welcome)
    router.event("click", key=c.LATEST_NEWS_KEY, inline=True)(handlers.latest_news)
    router.message("text", inline=True)(handlers.keyword_reply)
    router.default(handlers.fallback, inline=True)
