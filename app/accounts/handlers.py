"""Webhook routes of the binding feature: the "解绑" text command and the bind prompt."""

from __future__ import annotations

from app.accounts import constants as c
from app.accounts import service, texts
from app.accounts.binding_cache import invalidate_bindings
from app.accounts.schemas import BindingRead
from app.core.db import unit_of_work
from app.webhook.service import WebhookContext, WeChatRouter
from app.wechat.messages import InboundMessage
from app.wechat.replies import Reply, TextReply

MENU_BIND = "MENU_BIND"
UNBIND = r"^\s*(?:解绑|解除绑定)\s*(?:尾号)?\s*(?P<last4>[0-9]{4})?\s*$"
BIND_WORDS = ("绑定", "绑定账户", "绑定账号")


def _list(bindings: list[BindingRead]) -> str:
    return "\n".join(service.describe_binding(b) for b in bindings)


async def on_bind_prompt(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
    """Menu "绑定账户" (CLICK) or the word "绑定": a card opening the binding page."""
    return service.bind_prompt(ctx.settings)


async def on_unbind(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
    """`解绑` unbinds the only account; with several, `解绑 1234` picks one by its last four."""
    last4 = ctx.match.group("last4") if ctx.match else None
    async with unit_of_work(ctx.sessionmaker) as session:
        bindings = await service.list_bindings(session, openid=msg.openid)
        if not bindings:
            return TextReply(texts.UNBIND_NOTHING)
        chosen = _choose(bindings, last4)
        if isinstance(chosen, TextReply):
            return chosen
        result = await service.unbind(
            session,
            openid=msg.openid,
            binding_id=chosen.id,
            reason=c.UnbindReason.TEXT_COMMAND,
            now=ctx.clock.now(),
        )
    await invalidate_bindings(ctx.redis, msg.openid)
    account = service.describe_binding(result.unbound)
    if result.new_default is not None:
        default = service.describe_binding(result.new_default)
        return TextReply(texts.UNBIND_DONE_NEW_DEFAULT.format(account=account, default=default))
    return TextReply(texts.UNBIND_DONE.format(account=account))


def _choose(bindings: list[BindingRead], last4: str | None) -> BindingRead | TextReply:
    if last4 is None:
        if len(bindings) == 1:
            return bindings[0]
        example = bindings[0].account_no_masked[-4:]
        return TextReply(texts.UNBIND_CHOOSE.format(example=example, accounts=_list(bindings)))
    matches = [b for b in bindings if b.account_no_masked.endswith(last4)]
    if not matches:
        return TextReply(texts.UNBIND_NOT_FOUND.format(last4=last4, accounts=_list(bindings)))
    if len(matches) > 1:
        return TextReply(texts.UNBIND_AMBIGUOUS.format(last4=last4))
    return matches[0]


def register(router: WeChatRouter) -> None:
    """Routes of the binding feature."""
    router.event("click", key=MENU_BIND)(on_bind_prompt)
    for word in BIND_WORDS:
        router.text(word)(on_bind_prompt)
    router.text(regex=UNBIND)(on_unbind)
