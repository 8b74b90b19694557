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
from app.webhook.service import Handler, Prefetch, WebhookContext, WeChatRouter
from app.wechat.messages import InboundMessage
from app.wechat.replies import Reply

ANSWERED = (
    errors.NotBoundError,
    errors.CounterMaintenanceError,
    errors.CounterUnavailableError,
    errors.AccountGoneError,
)


def deps_of(ctx: WebhookContext) -> service.QueryDeps:
    return service.QueryDeps(
        gateway=ctx.state.brokerage, redis=ctx.redis, clock=ctx.clock, prefetched=ctx.prefetched
    )


def prefetch(*kinds: QueryKind) -> Prefetch:
    """The keys the webhook reads with its dedupe claim, so a warm click makes no round trip."""

    def keys(msg: InboundMessage) -> list[str]:
        return service.prefetch_keys(msg.openid, kinds)

    return keys


def query_handler(kind: QueryKind) -> Handler:
    """A handler answering one query for the fan who sent the message."""

    async def answer(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
        deps = deps_of(ctx)
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
    deps = deps_of(ctx)
    try:
        result = await service.run_overview(ctx.sessionmaker, openid=msg.openid, deps=deps)
    except ANSWERED as exc:
        return replies.failure_reply(exc, ctx.settings)
    return replies.overview_reply(result)


def register(router: WeChatRouter) -> None:
    """CLICK keys of the account menu and the matching text commands."""
    interim = texts.QUERYING
    overview = prefetch(QueryKind.ASSETS, QueryKind.LIABILITIES)
    router.event("click", key=OVERVIEW_KEY, interim=interim, prefetch=overview)(answer_overview)
    for word in OVERVIEW_WORDS:
        router.text(word, interim=interim, prefetch=overview)(answer_overview)
    handlers = {kind: query_handler(kind) for kind in QueryKind}
    keys = {kind: prefetch(kind) for kind in QueryKind}
    for key, kind in MENU_KEYS.items():
        router.event("click", key=key, interim=interim, prefetch=keys[kind])(handlers[kind])
    for word, kind in TEXT_COMMANDS.items():
        router.text(word, interim=interim, prefetch=keys[kind])(handlers[kind])
