"""Alerts business rules: ingest, fan-out, ticks, preferences, watchlists, segments."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pydantic
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import idempotency, templates, texts
from app.alerts.constants import (
    CATEGORY_DEFAULTS,
    MAX_WATCHLIST_PER_FAN,
    AlertType,
    Category,
    Severity,
)
from app.alerts.errors import (
    CustomerTargetUnavailableError,
    MalformedRequestError,
    WatchlistFullError,
)
from app.alerts.repository import (
    Audience,
    FanOutRepository,
    PreferenceRepository,
    Rules,
    SegmentRepository,
    WatchlistRepository,
    recipients,
)
from app.alerts.schemas import (
    INGEST_ALERT,
    AlertAccepted,
    AlertBatch,
    BatchAccepted,
    Broadcast,
    BroadcastRequest,
    CustomerTarget,
    OpenidsTarget,
    PreferencesRead,
    PreferencesUpdate,
    SegmentMembers,
    SegmentTarget,
    SegmentUpdated,
    Target,
    Tick,
    TickBatch,
    TicksAccepted,
    TopicTarget,
    WatchlistItemRead,
    WatchlistItemWrite,
    WatchlistPercent,
    WatchlistPrice,
)
from app.core.security import mask_openid
from app.core.time import BEIJING
from app.push import service as push_service

log = logging.getLogger(__name__)

CustomerResolver = Callable[[str], Select[Any]]
# Market alerts without an explicit expiry go stale after this long.
MARKET_DEFAULT_TTL = timedelta(minutes=30)
TICK_ALERT_TTL = timedelta(minutes=10)
QUIET_POLICY = {
    Severity.CRITICAL: "ignore",
    Severity.TRANSACTIONAL: "defer",
    Severity.MARKET: "skip",
    Severity.MARKETING: "skip",
}


@dataclass(frozen=True, slots=True)
class FanOutConfig:
    """What the fan-out needs from settings and the composition root."""

    base_url: str
    template_ids: Mapping[str, str] = field(default_factory=dict)
    # Set by app/main.py once account binding exists: client_id → select of bound openids.
    customer_resolver: CustomerResolver | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """An alert ready to fan out: its rendering, audience and timing."""

    alert_type: AlertType
    payload: dict[str, Any]
    rendered: templates.RenderedTemplate
    audience: Audience
    expires_at: datetime | None
    source: str


# ---- parsing ----


def parse_json(model: Any, body: bytes) -> Any:
    """Validate a raw body against a pydantic model or adapter; errors are 422 problems."""
    try:
        if isinstance(model, pydantic.TypeAdapter):
            return model.validate_json(body)
        return model.model_validate_json(body)
    except pydantic.ValidationError as exc:
        errors: list[dict[str, Any]] = [
            {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        summary = "; ".join(f"{'.'.join(e['loc']) or 'body'}: {e['msg']}" for e in errors[:5])
        raise MalformedRequestError(summary[:500], errors) from None


# ---- fan-out ----


def beijing_hour_and_quiet_ends(now: datetime) -> tuple[int, dict[int, datetime]]:
    """The current Beijing hour and, per hour h, the next h:00 Beijing (when quiet hours end)."""
    local = now.astimezone(BEIJING)
    ends = {}
    for hour in range(24):
        at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
        if at <= local:
            at += timedelta(days=1)
        ends[hour] = at.astimezone(now.tzinfo)
    return local.hour, ends


def _audience(target: Target, config: FanOutConfig) -> Audience:
    if isinstance(target, OpenidsTarget):
        return Audience(openids=target.openids)
    if isinstance(target, SegmentTarget):
        return Audience(segment=target.segment)
    if isinstance(target, CustomerTarget):
        if config.customer_resolver is None:
            raise CustomerTargetUnavailableError()
        return Audience(customer=config.customer_resolver(target.client_id))
    assert isinstance(target, TopicTarget)
    if target.topic.startswith("security:"):
        return Audience(watching=target.topic.removeprefix("security:"))
    if target.topic == "all":
        return Audience(everyone=True)
    return Audience(everyone=True, category=Category(target.topic))


async def fan_out(
    session: AsyncSession,
    prepared: Prepared,
    *,
    now: datetime,
    idempotency_key: str | None,
) -> AlertAccepted:
    """Alert row (with its rendered template) + one INSERT … SELECT of its deliveries (push's
    `insert_deliveries_from_select` over our recipients query), in the caller's transaction."""
    rendered = prepared.rendered
    hour, ends = beijing_hour_and_quiet_ends(now)
    rules = Rules(rendered.category, QUIET_POLICY[rendered.severity], hour, ends)
    alert = await push_service.create_alert(
        session,
        alert_type=prepared.alert_type.value,
        severity=rendered.severity.value,
        payload=prepared.payload,
        idempotency_key=idempotency_key,
        source=prepared.source,
        expires_at=prepared.expires_at,
        template_id=rendered.template_id,
        data=rendered.data,
        url=rendered.url,
    )
    audience = prepared.audience
    count = await push_service.insert_deliveries_from_select(
        session, alert_id=alert.id, recipients=recipients(audience, rules), few=audience.few
    )
    log.info(
        "alerts.fan_out",
        extra={"alert_id": alert.id, "type": alert.type, "recipients": count},
    )
    return AlertAccepted(
        alert_id=alert.id, type=prepared.alert_type, severity=rendered.severity, recipients=count
    )


def prepare(alert: Any, *, now: datetime, config: FanOutConfig) -> Prepared:
    """Render one validated ingest alert (any member of schemas.IngestAlert)."""
    alert_type = AlertType(alert.type)
    rendered = templates.render(
        alert_type,
        alert.payload,
        base_url=config.base_url,
        url=str(alert.url) if alert.url else None,
        template_ids=config.template_ids,
    )
    expires_at = alert.expires_at
    if expires_at is None and rendered.severity is Severity.MARKET:
        expires_at = now + MARKET_DEFAULT_TTL
    payload = {
        "payload": alert.payload.model_dump(mode="json"),
        "target": alert.target.model_dump(mode="json"),
    }
    audience = _audience(alert.target, config)
    return Prepared(alert_type, payload, rendered, audience, expires_at, alert.source)


async def ingest_alert(
    session: AsyncSession, *, body: bytes, key: str, now: datetime, config: FanOutConfig
) -> idempotency.Outcome:
    """`POST /api/v1/alerts`: validate, then fan out once per Idempotency-Key."""

    async def work() -> idempotency.Outcome:
        alert = parse_json(INGEST_ALERT, body)
        prepared = prepare(alert, now=now, config=config)
        accepted = await fan_out(session, prepared, now=now, idempotency_key=_alert_key(key, now))
        return idempotency.Outcome(201, accepted.model_dump(mode="json"))

    fingerprint = idempotency.request_hash("alerts", body)
    return await idempotency.run_once(session, key=key, fingerprint=fingerprint, now=now, work=work)


async def ingest_batch(
    session: AsyncSession, *, body: bytes, key: str, now: datetime, config: FanOutConfig
) -> idempotency.Outcome:
    """`POST /api/v1/alerts:batch`: all alerts of the batch commit together or not at all."""

    async def work() -> idempotency.Outcome:
        batch = parse_json(AlertBatch, body)
        prepared = [prepare(a, now=now, config=config) for a in batch.alerts]
        results = [
            await fan_out(session, p, now=now, idempotency_key=_alert_key(key, now, i))
            for i, p in enumerate(prepared)
        ]
        return idempotency.Outcome(201, BatchAccepted(results=results).model_dump(mode="json"))

    fingerprint = idempotency.request_hash("alerts:batch", body)
    return await idempotency.run_once(session, key=key, fingerprint=fingerprint, now=now, work=work)


def _alert_key(key: str, now: datetime, index: int | None = None) -> str:
    """Unique per ingest request: the key may come back after its 24 h retention."""
    suffix = "" if index is None else f"#{index}"
    return f"{key}@{int(now.timestamp())}{suffix}"


async def broadcast(
    session: AsyncSession, *, body: bytes, key: str, now: datetime, config: FanOutConfig
) -> idempotency.Outcome:
    """`POST /api/v1/broadcasts`: an ops push to a topic or segment, marketing rules applied."""

    async def work() -> idempotency.Outcome:
        request = parse_json(BroadcastRequest, body)
        payload = {"title": request.title, "body": request.body, "category": request.category}
        rendered = _render_broadcast(request, config)
        prepared = Prepared(
            AlertType.BROADCAST,
            {"payload": payload, "target": request.target.model_dump(mode="json")},
            rendered,
            _audience(request.target, config),
            request.expires_at,
            "ops",
        )
        accepted = await fan_out(session, prepared, now=now, idempotency_key=_alert_key(key, now))
        return idempotency.Outcome(201, accepted.model_dump(mode="json"))

    fingerprint = idempotency.request_hash("broadcasts", body)
    return await idempotency.run_once(session, key=key, fingerprint=fingerprint, now=now, work=work)


def _render_broadcast(
    request: BroadcastRequest, config: FanOutConfig
) -> templates.RenderedTemplate:
    fields = Broadcast(title=request.title, body=request.body, category=request.category)
    rendered = templates.render(
        AlertType.BROADCAST,
        fields,
        base_url=config.base_url,
        url=str(request.url) if request.url else None,
        template_ids=config.template_ids,
    )
    return templates.RenderedTemplate(
        rendered.template_id, rendered.data, rendered.url, Severity.MARKETING, request.category
    )


@dataclass(frozen=True, slots=True)
class BroadcastPreview:
    """What a broadcast would do if sent now (the ops console shows it before approval)."""

    template_id: str
    title: str
    # The card as the fan sees it: the template's lines with the rendered (truncated) values.
    lines: tuple[str, ...]
    data: dict[str, str]
    url: str
    in_target: int  # subscribed fans the target names
    recipients: int  # of those, who would get it now: category switch and quiet hours applied


async def preview_broadcast(
    session: AsyncSession, *, request: BroadcastRequest, now: datetime, config: FanOutConfig
) -> BroadcastPreview:
    """Render a broadcast and count its recipients with the fan-out's own rules; writes nothing."""
    rendered = _render_broadcast(request, config)
    audience = _audience(request.target, config)
    hour, ends = beijing_hour_and_quiet_ends(now)
    everyone = Rules(None, "ignore", hour, ends)
    rules = Rules(rendered.category, QUIET_POLICY[rendered.severity], hour, ends)
    repo = FanOutRepository(session)
    spec = templates.SPECS[AlertType.BROADCAST]
    return BroadcastPreview(
        template_id=rendered.template_id,
        title=spec.title,
        lines=tuple(rendered.data[key] for key in spec.keys),
        data=rendered.data,
        url=rendered.url,
        in_target=await repo.count(recipients(audience, everyone)),
        recipients=await repo.count(recipients(audience, rules)),
    )


# ---- ticks: watchlist thresholds ----


def change_pct(tick: Tick) -> Decimal:
    return ((tick.price - tick.prev_close) / tick.prev_close * 100).quantize(Decimal("0.0001"))


async def ingest_ticks(
    session: AsyncSession, *, body: bytes, key: str, now: datetime, config: FanOutConfig
) -> idempotency.Outcome:
    """`POST /api/v1/ticks`: fire watchlist thresholds, once per crossing."""

    async def work() -> idempotency.Outcome:
        batch = parse_json(TickBatch, body)
        fired: list[AlertAccepted] = []
        for tick in batch.ticks:
            fired += await apply_tick(session, tick, now=now, config=config)
        result = TicksAccepted(ticks=len(batch.ticks), alerts=fired)
        return idempotency.Outcome(202, result.model_dump(mode="json"))

    fingerprint = idempotency.request_hash("ticks", body)
    return await idempotency.run_once(session, key=key, fingerprint=fingerprint, now=now, work=work)


async def apply_tick(
    session: AsyncSession, tick: Tick, *, now: datetime, config: FanOutConfig
) -> list[AlertAccepted]:
    """Re-arm thresholds the price moved back from, then fire every armed one it crosses."""
    repo = WatchlistRepository(session)
    pct = change_pct(tick)
    await repo.rearm(code=tick.security_code, price=tick.price, change_pct=pct)
    fired: list[AlertAccepted] = []
    for rule in ("above", "below", "pct"):
        thresholds = await repo.crossed_thresholds(
            rule, code=tick.security_code, price=tick.price, change_pct=pct
        )
        for threshold in thresholds:
            fired.append(await _fire(session, tick, rule, threshold, now=now, config=config))
    return fired


async def _fire(
    session: AsyncSession,
    tick: Tick,
    rule: str,
    threshold: Decimal,
    *,
    now: datetime,
    config: FanOutConfig,
) -> AlertAccepted:
    payload = _tick_payload(tick, rule, threshold)
    alert_type = AlertType.WATCHLIST_PERCENT if rule == "pct" else AlertType.WATCHLIST_PRICE
    rendered = templates.render(
        alert_type, payload, base_url=config.base_url, template_ids=config.template_ids
    )
    expires_at = tick.at + TICK_ALERT_TTL
    alert = await push_service.create_alert(
        session,
        alert_type=alert_type.value,
        severity=rendered.severity.value,
        payload={"payload": payload.model_dump(mode="json"), "rule": rule},
        source="ticks",
        expires_at=expires_at,
        template_id=rendered.template_id,
        data=rendered.data,
        url=rendered.url,
    )
    watch = WatchlistRepository(session)
    await watch.mark_fired(rule, code=tick.security_code, threshold=threshold, alert_id=alert.id)
    hour, ends = beijing_hour_and_quiet_ends(now)
    rules = Rules(rendered.category, QUIET_POLICY[rendered.severity], hour, ends)
    audience = recipients(Audience(fired_alert=(rule, alert.id)), rules)
    count = await push_service.insert_deliveries_from_select(
        session, alert_id=alert.id, recipients=audience
    )
    return AlertAccepted(
        alert_id=alert.id, type=alert_type, severity=rendered.severity, recipients=count
    )


def _tick_payload(tick: Tick, rule: str, threshold: Decimal) -> WatchlistPrice | WatchlistPercent:
    common = {
        "security_code": tick.security_code,
        "security_name": tick.security_name,
        "price": tick.price,
        "at": tick.at,
    }
    if rule == "pct":
        return WatchlistPercent(**common, change_pct=change_pct(tick), threshold_pct=threshold)
    direction = "up" if rule == "above" else "down"
    return WatchlistPrice(**common, threshold=threshold, direction=direction)


# ---- preferences ----


def _read(openid: str, row: Any) -> PreferencesRead:
    categories = {c: (getattr(row, c.value) if row else on) for c, on in CATEGORY_DEFAULTS.items()}
    return PreferencesRead(
        openid=openid,
        categories=categories,
        quiet_start_hour=row.quiet_start_hour if row else None,
        quiet_end_hour=row.quiet_end_hour if row else None,
    )


async def get_preferences(session: AsyncSession, *, openid: str) -> PreferencesRead:
    return _read(openid, await PreferenceRepository(session).get(openid))


async def update_preferences_from_body(
    session: AsyncSession, *, openid: str, body: bytes
) -> PreferencesRead:
    """The signed API's PUT: quiet hours change only when the body names them."""
    update = parse_json(PreferencesUpdate, body)
    set_quiet = bool({"quiet_start_hour", "quiet_end_hour"} & update.model_fields_set)
    return await update_preferences(session, openid=openid, update=update, set_quiet=set_quiet)


async def update_preferences(
    session: AsyncSession, *, openid: str, update: PreferencesUpdate, set_quiet: bool
) -> PreferencesRead:
    """Switch categories; `set_quiet` also replaces the quiet hours (None clears them)."""
    values: dict[str, Any] = {c.value: on for c, on in update.categories.items()}
    if set_quiet:
        values["quiet_start_hour"] = update.quiet_start_hour
        values["quiet_end_hour"] = update.quiet_end_hour
    repo = PreferenceRepository(session)
    await repo.upsert(openid, values)
    log.info("alerts.preferences_updated", extra={"openid": mask_openid(openid)})
    return _read(openid, await repo.get(openid))


# ---- watchlist ----


def _item(row: Any) -> WatchlistItemRead:
    return WatchlistItemRead(
        security_code=row.security_code,
        above_price=row.above_price,
        below_price=row.below_price,
        change_pct=row.change_pct,
    )


async def list_watchlist(session: AsyncSession, *, openid: str) -> list[WatchlistItemRead]:
    return [_item(r) for r in await WatchlistRepository(session).list_for_fan(openid)]


async def watch(
    session: AsyncSession, *, openid: str, item: WatchlistItemWrite
) -> list[WatchlistItemRead]:
    """Add a security (or change its thresholds: given ones replace old ones and re-arm)."""
    repo = WatchlistRepository(session)
    existing = {r.security_code for r in await repo.list_for_fan(openid)}
    if item.security_code not in existing and len(existing) >= MAX_WATCHLIST_PER_FAN:
        raise WatchlistFullError(f"at most {MAX_WATCHLIST_PER_FAN} securities per fan")
    values = item.model_dump(exclude={"security_code"}, exclude_none=True)
    await repo.upsert(openid, item.security_code, values)
    return await list_watchlist(session, openid=openid)


async def watch_from_body(
    session: AsyncSession, *, openid: str, security_code: str, body: bytes
) -> list[WatchlistItemRead]:
    """The signed API's PUT: thresholds from the body (may be `{}`), code from the path."""
    fields = parse_json(_WATCH_THRESHOLDS, body or b"{}")
    item = parse_json(WatchlistItemWrite, _json({**fields, "security_code": security_code}))
    return await watch(session, openid=openid, item=item)


_WATCH_THRESHOLDS: pydantic.TypeAdapter[dict[str, Any]] = pydantic.TypeAdapter(dict[str, Any])


def _json(value: dict[str, Any]) -> bytes:
    return pydantic.TypeAdapter(dict[str, Any]).dump_json(value)


async def unwatch(session: AsyncSession, *, openid: str, security_code: str) -> bool:
    return await WatchlistRepository(session).remove(openid, security_code)


# ---- segments ----


async def set_segment_members(
    session: AsyncSession, *, segment: str, body: bytes
) -> SegmentUpdated:
    """Add (or with `replace`, set) a segment's members."""
    request = parse_json(SegmentMembers, body)
    repo = SegmentRepository(session)
    if request.replace:
        await repo.clear(segment)
    await repo.add_members(segment, request.openids)
    return SegmentUpdated(segment=segment, members=await repo.count(segment))


async def update_segment_members(
    session: AsyncSession, *, segment: str, add: Collection[str], remove: Collection[str]
) -> None:
    """Incremental membership change (derived segments from campaigns). Flushes only."""
    repo = SegmentRepository(session)
    if add:
        await repo.add_members(segment, add)
    await repo.remove_members(segment, remove)


async def segment_memberships(
    session: AsyncSession, *, segments: Collection[str], openids: Collection[str]
) -> list[tuple[str, str]]:
    """(segment, openid) pairs: which of these fans are in which of these segments."""
    return await SegmentRepository(session).memberships(segments, openids)


async def segment_sizes(session: AsyncSession, segments: Collection[str]) -> dict[str, int]:
    sizes = await SegmentRepository(session).sizes(segments)
    return {name: sizes.get(name, 0) for name in segments}


async def list_segment_members(
    session: AsyncSession, *, segment: str, limit: int, offset: int
) -> list[str]:
    return await SegmentRepository(session).list_members(segment, limit=limit, offset=offset)


def category_from_word(word: str) -> Category | None:
    value = texts.CATEGORY_WORDS.get(word.strip())
    return Category(value) if value else None


def all_specs() -> Sequence[templates.TemplateSpec]:
    """The template table (for seeding a simulator or listing in docs)."""
    return list(templates.SPECS.values())


def template_catalog(template_ids: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(template id, title, content) of every alert type's template as configured: what the
    account must have in WeChat's template library (the dev simulator is seeded with it)."""
    catalog = {}
    for alert_type, spec in templates.SPECS.items():
        template_id = (template_ids or {}).get(alert_type.value) or spec.default_template_id
        catalog[template_id] = (template_id, spec.title, spec.content())
    return list(catalog.values())
