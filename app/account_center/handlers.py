"""Webhook routes of the account center: menu CLICK keys and text commands → query replies.

Every route declares an interim text: when the counter is slower than the webhook's time budget,
the fan gets "正在查询，请稍候…" as the passive reply at the deadline, and whatever the handler
returns follows once as a customer-service message (the webhook's late-reply path).
"""

from __future__ import annotations

from app.account_center import errors, replies, service, texts
from app.account_center.constants import (
    MENU_KEYS,
    OVERVIEW_KEY,
    OVERVIEW_WORDS,
    TEXT_COMMANDS,
    QueryKind,
)
from app.webhook.service import Handler, WebhookContext, WeChatRouter
from app.wechat.messages import InboundMessage
from app.wechat.replies import Reply

ANSWERED = (
    errors.NotBoundError,
    errors.CounterMaintenanceError,
    errors.CounterUnavailableError,
    errors.AccountGoneError,
)


def query_handler(kind: QueryKind) -> Handler:
    """A handler answering one query for the fan who sent the message."""

    async def answer(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
        deps = service.QueryDeps(gateway=ctx.state.brokerage, redis=ctx.redis, clock=ctx.clock)
        try:
            result = await service.run_query(
                ctx.sessionmaker, kind=kind, openid=msg.openid, deps=deps
            )
        except ANSWERED as exc:
            return replies.failure_reply(exc, ctx.settings)
        return replies.query_reply(result, ctx.settings)

    answer.__qualname__ = f"answer_{kind}"
    return answer


async def answer_overview(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
    """账户总览: assets (+ debt for a margin account)."""
    deps = service.QueryDeps(gateway=ctx.state.brokerage, redis=ctx.redis, clock=ctx.clock)
    try:
        result = await service.run_overview(ctx.sessionmaker, openid=msg.openid, deps=deps)
    except ANSWERED as exc:
        return replies.failure_reply(exc, ctx.settings)
    return replies.overview_reply(result)


def register(router: WeChatRouter) -> None:
    """CLICK keys of the account menu and the matching text commands."""
    interim = texts.QUERYING
    router.event("click", key=OVERVIEW_KEY, interim=interim)(answer_overview)
    for word in OVERVIEW_WORDS:
        router.text(word, interim=interim)(answer_overview)
    handlers = {kind: query_handler(kind) for kind in QueryKind}
    for key, kind in MENU_KEYS.items():
        router.event("click", key=key, interim=interim)(handlers[kind])
    for word, kind in TEXT_COMMANDS.items():
        router.text(word, interim=interim)(handlers[kind])
