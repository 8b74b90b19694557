"""The webhook pipeline: verify → open → dedupe → dispatch within budget → record → reply."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.metrics import WEBHOOK_HANDLER_ERRORS, WEBHOOK_OUTCOMES
from app.core.redis import Redis
from app.core.security import mask_openid
from app.core.time import Clock
from app.webhook import constants as c
from app.webhook.dedupe import DedupeStore
from app.webhook.dispatch import NO_PREFETCH, Resolution
from app.webhook.dispatch import Handler as Handler
from app.webhook.dispatch import Middleware as Middleware
from app.webhook.dispatch import Prefetch as Prefetch
from app.webhook.dispatch import WebhookContext as WebhookContext
from app.webhook.dispatch import WeChatRouter as WeChatRouter
from app.webhook.recorder import EventRecorder
from app.webhook.repository import InboundEventRepository
from app.webhook.schemas import InboundRecord
from app.webhook.verify import Credentials, RequestVerifier
from app.wechat.crypto import MessageCrypto, WeChatCryptoError
from app.wechat.messages import EventMessage, InboundMessage
from app.wechat.replies import SUCCESS, Reply, TextReply

log = logging.getLogger(__name__)

# Label children resolved once: `.labels()` takes a lock and a dict lookup on every call.
REPLIED = WEBHOOK_OUTCOMES.labels("replied")
ANSWERED_SUCCESS = WEBHOOK_OUTCOMES.labels("success")
SUCCESS_BYTES = SUCCESS.encode()
XML_MEDIA_TYPE = "application/xml; charset=utf-8"
TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"


class LateReplySink(Protocol):
    """Delivers a reply that missed the budget as a customer-service message (durable job)."""

    async def __call__(self, *, openid: str, message: dict[str, Any], reason: str) -> object: ...


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    body: bytes
    media_type: str


SUCCESS_ANSWER = WebhookAnswer(SUCCESS_BYTES, TEXT_MEDIA_TYPE)


class WebhookService:
    """One per process; built by the lifespan and reached through `app.state.webhook`."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Redis,
        clock: Clock,
        state: Any,
        router: WeChatRouter,
        recorder: EventRecorder,
        late_reply_sink: LateReplySink | None = None,
    ) -> None:
        self.settings = settings
        self.router = router
        self.recorder = recorder
        self.dedupe = DedupeStore(redis, ttl_s=settings.webhook_dedupe_ttl_s)
        self.verifier = RequestVerifier(
            token=settings.wechat_token.get_secret_value(),
            crypto=_build_crypto(settings),
            window_s=settings.webhook_timestamp_window_s,
            clock=clock,
        )
        self.max_body_bytes = settings.webhook_max_body_bytes
        self._budget_s = settings.webhook_time_budget_s
        self._clock = clock
        self._late_reply_sink = late_reply_sink
        self._late: set[asyncio.Task[None]] = set()
        self._context = WebhookContext(
            settings=settings, sessionmaker=sessionmaker, redis=redis, clock=clock, state=state
        )

    # -- entry points ----------------------------------------------------------------------------

    def verify_url(self, params: Mapping[str, str]) -> str:
        """GET /wechat: the echostr when the signature holds (raises otherwise)."""
        return self.verifier.check_echo(params)

    def authenticate(self, params: Mapping[str, str]) -> Credentials:
        """POST /wechat, before the body is read: signature, timestamp window, mode."""
        return self.verifier.check_query(params)

    async def handle(self, credentials: Credentials, body: bytes) -> WebhookAnswer:
        """Open, dedupe, dispatch and render one authenticated callback."""
        msg = self.verifier.open(credentials, body)
        key = msg.dedupe_key
        resolution = self.router.resolve(msg)  # CPU only: the claim can carry its prefetch
        reads = self.router.prefetch_keys(resolution, msg)
        owned, prefetched = await self.dedupe.claim_reading(key, reads)
        if not owned:
            WEBHOOK_OUTCOMES.labels("duplicate").inc()
            shared = await self.dedupe.wait_for_reply(key, self._budget_s + c.RETRY_WAIT_GRACE_S)
            return self._answer(credentials, shared or b"")
        self.recorder.record(record_of(msg, self._clock.now()))
        xml = b""
        try:
            reply = await self._run_within_budget(msg, resolution, prefetched)
            if reply is not None:
                now = int(self._clock.timestamp())
                rendered = reply.render(
                    to_user=msg.from_user, from_user=msg.to_user, create_time=now
                )
                xml = rendered.encode()
        finally:
            self.dedupe.store_reply(key, xml)
        (REPLIED if xml else ANSWERED_SUCCESS).inc()
        return self._answer(credentials, xml)

    async def drain(self, timeout_s: float = c.LATE_REPLY_DRAIN_S) -> None:
        """Wait for late (overrun) handlers to finish and enqueue their replies."""
        await self.dedupe.drain()
        if self._late:
            _done, pending = await asyncio.wait(set(self._late), timeout=timeout_s)
            for task in pending:
                log.error("webhook.late_reply_abandoned")
                task.cancel()

    # -- steps ---------------------------------------------------------------------------------

    async def _run_within_budget(
        self,
        msg: InboundMessage,
        resolution: Resolution | None,
        prefetched: Mapping[str, bytes | None] = NO_PREFETCH,
    ) -> Reply | None:
        if resolution is None:
            log.info("webhook.unrouted", extra={"msg_type": msg.msg_type})
            return None
        if self.router.runs_inline(resolution):
            return await self._dispatch(resolution, msg, prefetched)
        task = asyncio.create_task(self._dispatch(resolution, msg, prefetched))
        done, _ = await asyncio.wait((task,), timeout=self._budget_s)
        if done:
            return task.result()
        WEBHOOK_OUTCOMES.labels("overrun").inc()
        log.warning(
            "webhook.handler_overrun",
            extra={"route": resolution.route.name, "openid": mask_openid(msg.from_user)},
        )
        # The route's interim text ("正在查询…") now; its real reply follows as a CS message.
        # It is stored under the dedupe key like any reply, so WeChat's retries get the same
        # interim text and never the real answer (which would then reach the fan twice).
        interim = resolution.route.interim
        late = asyncio.create_task(self._deliver_late(task, msg, promised=interim is not None))
        self._late.add(late)
        late.add_done_callback(self._late.discard)
        return None if interim is None else TextReply(interim)

    async def _dispatch(
        self,
        resolution: Resolution,
        msg: InboundMessage,
        prefetched: Mapping[str, bytes | None] = NO_PREFETCH,
    ) -> Reply | None:
        try:
            return await self.router.run(resolution, self._context, msg, prefetched)
        except Exception:  # handler edge: WeChat must get `success`, never a 5xx
            WEBHOOK_HANDLER_ERRORS.labels(resolution.route.name).inc()
            log.exception("webhook.handler_failed", extra={"route": resolution.route.name})
            return None

    async def _deliver_late(
        self, task: asyncio.Task[Reply | None], msg: InboundMessage, *, promised: bool
    ) -> None:
        reply = await task
        if reply is None:
            if not promised:
                return
            # The fan was told "正在查询…": a failed or empty handler still owes a follow-up.
            reply = TextReply(c.INTERIM_FOLLOW_UP_FAILED)
        openid = msg.from_user
        if self._late_reply_sink is None:
            log.error("webhook.late_reply_dropped", extra={"openid": mask_openid(openid)})
            return
        try:
            message = reply.to_custom_message()
            job = await self._late_reply_sink(
                openid=openid, message=message, reason="webhook.overrun"
            )
        except Exception:  # background edge: log loudly, nothing to answer
            log.exception("webhook.late_reply_failed", extra={"openid": mask_openid(openid)})
            return
        log.info("webhook.late_reply_enqueued", extra={"openid": mask_openid(openid), "job": job})

    def _answer(self, credentials: Credentials, xml: bytes) -> WebhookAnswer:
        if not xml:
            return SUCCESS_ANSWER  # `success` is never encrypted (FACTS.md §1.1)
        if not credentials.encrypted:
            return WebhookAnswer(xml, XML_MEDIA_TYPE)
        timestamp = str(int(self._clock.timestamp()))
        envelope = self.verifier.encrypt_reply(
            xml.decode(), timestamp=timestamp, nonce=credentials.nonce
        )
        return WebhookAnswer(envelope.encode(), XML_MEDIA_TYPE)


def record_of(msg: InboundMessage, received_at: datetime) -> InboundRecord:
    """The `inbound_event` row of a message, values clipped to the column sizes."""
    event = event_key = scene = None
    if isinstance(msg, EventMessage):
        event = msg.event[: c.MAX_EVENT] or None
        event_key = (msg.event_key or "")[: c.MAX_EVENT_KEY] or None
        raw_scene = getattr(msg, "scene", None)
        scene = str(raw_scene)[: c.MAX_SCENE] if raw_scene else None
    raw_id = getattr(msg, "msg_id", None)
    msg_id = str(raw_id)[: c.MAX_MSG_ID] if raw_id not in (None, "") else None
    created = received_at
    with contextlib.suppress(OverflowError, OSError, ValueError):
        created = datetime.fromtimestamp(msg.create_time, UTC)
    return InboundRecord(
        openid=msg.from_user[: c.MAX_OPENID],
        msg_type=msg.msg_type[: c.MAX_MSG_TYPE],
        event=event,
        event_key=event_key,
        scene=scene,
        msg_id=msg_id,
        wechat_created_at=created,
        received_at=received_at,
    )


def create_webhook_service(
    state: Any, *, late_reply_sink: LateReplySink | None = None
) -> WebhookService:
    """The process's webhook service from the lifespan's `app.state` (router already built)."""
    settings: Settings = state.settings
    recorder = EventRecorder(
        state.sessionmaker,
        batch_size=settings.recorder_batch_size,
        flush_interval_s=settings.recorder_flush_interval_s,
    )
    return WebhookService(
        settings=settings,
        sessionmaker=state.sessionmaker,
        redis=state.redis,
        clock=state.clock,
        state=state,
        router=state.wechat_router,
        recorder=recorder,
        late_reply_sink=late_reply_sink,
    )


def _build_crypto(settings: Settings) -> MessageCrypto | None:
    try:
        return MessageCrypto(
            settings.wechat_token.get_secret_value(),
            settings.wechat_encoding_aes_key.get_secret_value(),
            settings.wechat_app_id,
        )
    except WeChatCryptoError:
        # Plaintext mode still works; encrypted callbacks are refused (403) and logged.
        log.error("webhook.bad_encoding_aes_key")
        return None


async def list_records_after(
    session: AsyncSession, after_id: int, *, received_before: datetime, limit: int
) -> list[tuple[int, InboundRecord]]:
    """Recorded messages and events with an id above `after_id`, oldest first, for consumers
    that follow `inbound_event` from a watermark in the worker (off the API processes)."""
    rows = await InboundEventRepository(session).list_after(
        after_id, received_before=received_before, limit=limit
    )
    return [
        (
            row.id,
            InboundRecord(
                openid=row.openid,
                msg_type=row.msg_type,
                event=row.event,
                event_key=row.event_key,
                scene=row.scene,
                msg_id=row.msg_id,
                wechat_created_at=row.wechat_created_at,
                received_at=row.received_at,
            ),
        )
        for row in rows
    ]
