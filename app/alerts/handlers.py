"""Fan text commands: watchlist ("自选 600519", "取消自选 600519"), topics, quiet hours."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from app.alerts import service, texts
from app.alerts.constants import MAX_WATCHLIST_PER_FAN
from app.alerts.errors import WatchlistFullError
from app.alerts.schemas import PreferencesUpdate, WatchlistItemRead, WatchlistItemWrite
from app.core.db import unit_of_work
from app.webhook.service import WebhookContext, WeChatRouter
from app.wechat.messages import InboundMessage
from app.wechat.replies import Reply, TextReply

CODE = r"(?P<code>[0-9]{5,6})"
RULE = r"(?:(?P<rule>高于|低于|涨跌)\s*(?P<value>[0-9]+(?:\.[0-9]+)?)\s*%?)?"
WATCH = rf"^\s*(?:加)?自选\s*{CODE}\s*{RULE}\s*$"
UNWATCH = rf"^\s*(?:取消自选|删除自选)\s*{CODE}\s*$"
LIST = r"^\s*(?:我的)?自选\s*$"
TOPIC = r"^\s*(?P<verb>订阅|退订|取消订阅)\s*(?P<word>\S*)\s*$"
QUIET = r"^\s*免打扰\s*(?:(?P<start>[0-9]{1,2})\s*[-~至到]\s*(?P<end>[0-9]{1,2}))?\s*$"
QUIET_OFF = r"^\s*(?:关闭免打扰|取消免打扰)\s*$"
RULE_FIELDS = {"高于": "above_price", "低于": "below_price", "涨跌": "change_pct"}


def _group(ctx: WebhookContext, name: str) -> str:
    return (ctx.match.group(name) if ctx.match else None) or ""


def _plain(value: Decimal) -> str:
    """1800.0000 → "1800", 1800.5000 → "1800.5" (never "1.8E+3")."""
    return f"{value.normalize():f}"


def _rule_text(item: WatchlistItemRead) -> str:
    parts = []
    if item.above_price is not None:
        parts.append(texts.WATCH_RULE_ABOVE.format(price=_plain(item.above_price)))
    if item.below_price is not None:
        parts.append(texts.WATCH_RULE_BELOW.format(price=_plain(item.below_price)))
    if item.change_pct is not None:
        parts.append(texts.WATCH_RULE_PCT.format(pct=_plain(item.change_pct)))
    return "，".join(parts)


def _watch_request(code: str, rule: str, value: str) -> WatchlistItemWrite | None:
    if not rule:
        return WatchlistItemWrite(security_code=code)
    try:
        number = Decimal(value)
        return WatchlistItemWrite.model_validate({"security_code": code, RULE_FIELDS[rule]: number})
    except (InvalidOperation, ValueError):
        return None


async def on_watch(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
    """`自选 600519 [高于|低于|涨跌 N]`: add the security and optionally a threshold."""
    code = _group(ctx, "code")
    request = _watch_request(code, _group(ctx, "rule"), _group(ctx, "value"))
    if request is None:
        return TextReply(texts.WATCH_BAD_COMMAND)
    try:
        async with unit_of_work(ctx.sessionmaker) as session:
            items = await service.watch(session, openid=msg.openid, item=request)
    except WatchlistFullError:
        return TextReply(texts.WATCH_FULL.format(limit=MAX_WATCHLIST_PER_FAN))
    if not _group(ctx, "rule"):
        return TextReply(texts.WATCH_ADDED.format(code=code))
    item = next(i for i in items if i.security_code == code)
    return TextReply(texts.WATCH_ALERT_SET.format(code=code, rule=_rule_text(item)))


async def on_unwatch(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
    code = _group(ctx, "code")
    async with unit_of_work(ctx.sessionmaker) as session:
        removed = await service.unwatch(session, openid=msg.openid, security_code=code)
    template = texts.WATCH_REMOVED if removed else texts.WATCH_NOT_FOUND
    return TextReply(template.format(code=code))


async def on_list(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
    async with unit_of_work(ctx.sessionmaker) as session:
        items = await service.list_watchlist(session, openid=msg.openid)
    if not items:
        return TextReply(texts.WATCH_LIST_EMPTY)
    lines = [f"{i.security_code} {_rule_text(i)}".strip() for i in items]
    return TextReply("\n".join([texts.WATCH_LIST_HEADER, *lines]))


async def on_topic(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
    """`订阅 新股` / `退订 活动`: switch one category."""
    category = service.category_from_word(_group(ctx, "word"))
    if category is None:
        return TextReply(texts.SUBSCRIBE_BAD_COMMAND)
    on = _group(ctx, "verb") == "订阅"
    update = PreferencesUpdate(categories={category: on})
    async with unit_of_work(ctx.sessionmaker) as session:
        await service.update_preferences(session, openid=msg.openid, update=update, set_quiet=False)
    name = texts.CATEGORY_NAMES[category.value]
    return TextReply((texts.SUBSCRIBED if on else texts.UNSUBSCRIBED).format(name=name))


async def on_quiet(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
    """`免打扰 22-8`: quiet hours, Beijing time, whole hours."""
    start, end = _group(ctx, "start"), _group(ctx, "end")
    if not start or int(start) > 23 or int(end) > 23 or int(start) == int(end):
        return TextReply(texts.QUIET_BAD_COMMAND)
    update = PreferencesUpdate(quiet_start_hour=int(start), quiet_end_hour=int(end))
    async with unit_of_work(ctx.sessionmaker) as session:
        await service.update_preferences(session, openid=msg.openid, update=update, set_quiet=True)
    return TextReply(texts.QUIET_SET.format(start=int(start), end=int(end)))


async def on_quiet_off(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
    async with unit_of_work(ctx.sessionmaker) as session:
        await service.update_preferences(
            session, openid=msg.openid, update=PreferencesUpdate(), set_quiet=True
        )
    return TextReply(texts.QUIET_CLEARED)


def register(router: WeChatRouter) -> None:
    """Text routes of the alerts feature (anchored regexes, so they never shadow keywords)."""
    router.text(regex=UNWATCH)(on_unwatch)
    router.text(regex=LIST)(on_list)
    router.text(regex=WATCH)(on_watch)
    router.text(regex=TOPIC)(on_topic)
    router.text(regex=QUIET_OFF)(on_quiet_off)
    router.text(regex=QUIET)(on_quiet)
