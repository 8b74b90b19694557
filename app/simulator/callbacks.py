"""TEMPLATESENDJOBFINISH pushes to the service's webhook, signed like WeChat, off the send path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from dataclasses import dataclass, field

import httpx

from app.core.security import mask_openid
from app.simulator.config import CallbackMode, SimulatorConfig
from app.simulator.signing import CallbackSigner, event_xml

log = logging.getLogger(__name__)

SUCCESS = "success"
USER_BLOCK = "failed:user block"
SYSTEM_FAILED = "failed: system failed"  # sic: WeChat's inconsistent space
OUTCOMES = (SUCCESS, USER_BLOCK, SYSTEM_FAILED)
ATTEMPTS = 3  # WeChat tries a push three times in total


@dataclass
class CallbackSettings:
    enabled: bool
    url: str | None
    mode: CallbackMode
    outcomes: dict[str, float] = field(default_factory=lambda: {SUCCESS: 1.0})
    delay_ms: int = 0

    def choose_outcome(self, rng: random.Random) -> str:
        total = sum(self.outcomes.values())
        if total <= 0:
            return SUCCESS
        roll = rng.random() * total
        for status, weight in self.outcomes.items():
            roll -= weight
            if roll < 0:
                return status
        return next(iter(self.outcomes))

    @property
    def active(self) -> bool:
        return self.enabled and bool(self.url)


@dataclass(frozen=True)
class JobFinish:
    openid: str
    msgid: int
    status: str
    create_time: int
    due: float  # loop time at which to post


class CallbackPoster:
    """A bounded queue drained by a few tasks; each push is signed, maybe encrypted, and POSTed."""

    def __init__(
        self,
        config: SimulatorConfig,
        stats: Counter[str],
        *,
        http: httpx.AsyncClient | None,
        close_http: bool = False,
    ) -> None:
        self._config = config
        self._stats = stats
        self._http = http
        self._owns_http = http is None or close_http
        self._signer = CallbackSigner(
            token=config.token, encoding_aes_key=config.encoding_aes_key, app_id=config.app_id
        )
        self.settings = CallbackSettings(
            enabled=config.callback_enabled,
            url=config.webhook_url,
            mode=config.callback_mode,
            delay_ms=config.callback_delay_ms,
        )
        self._queue: asyncio.Queue[JobFinish] | None = None
        self._workers: list[asyncio.Task[None]] = []

    def enqueue(self, *, openid: str, msgid: int, status: str, create_time: int) -> None:
        if not self.settings.active:
            return
        queue = self._ensure_workers()
        if queue.qsize() >= self._config.callback_queue_limit:
            self._stats["callbacks_dropped"] += 1
            return
        due = asyncio.get_running_loop().time() + self.settings.delay_ms / 1000.0
        queue.put_nowait(JobFinish(openid, msgid, status, create_time, due))

    def _ensure_workers(self) -> asyncio.Queue[JobFinish]:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._workers = [
                asyncio.create_task(self._work(self._queue), name=f"sim-callback-{i}")
                for i in range(self._config.callback_concurrency)
            ]
        return self._queue

    async def join(self) -> None:
        """Wait until every queued push has been attempted (tests await this)."""
        if self._queue is not None:
            await self._queue.join()

    async def aclose(self) -> None:
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers, self._queue = [], None
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _work(self, queue: asyncio.Queue[JobFinish]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            job = await queue.get()
            try:
                wait = job.due - loop.time()
                if wait > 0:
                    await self._config.sleep(wait)
                await self._post(job)
            finally:
                queue.task_done()

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))
        return self._http

    async def _post(self, job: JobFinish) -> None:
        settings = self.settings
        if not settings.url:
            return
        xml = event_xml(
            [
                ("ToUserName", self._config.original_id),
                ("FromUserName", job.openid),
                ("CreateTime", job.create_time),
                ("MsgType", "event"),
                ("Event", "TEMPLATESENDJOBFINISH"),
                ("MsgID", job.msgid),
                ("Status", job.status),
            ]
        )
        signed = self._signer.sign(
            xml,
            to_user=self._config.original_id,
            openid=job.openid,
            mode=settings.mode,
            timestamp=str(int(self._config.clock.timestamp())),
        )
        headers = {"Content-Type": "text/xml; charset=utf-8"}
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = await self._client().post(
                    settings.url, params=signed.params, content=signed.body, headers=headers
                )
            except httpx.HTTPError as exc:
                outcome = f"transport:{type(exc).__name__}"
            else:
                if response.status_code < 500:
                    self._record(job, response.status_code, attempt)
                    return
                outcome = f"http_{response.status_code}"
            log.warning(
                "simulator.callback.retry",
                extra={"openid": mask_openid(job.openid), "attempt": attempt, "outcome": outcome},
            )
        self._stats["callbacks_failed"] += 1

    def _record(self, job: JobFinish, status_code: int, attempt: int) -> None:
        if status_code == 200:
            self._stats["callbacks_sent"] += 1
            return
        self._stats["callbacks_rejected"] += 1
        log.warning(
            "simulator.callback.rejected",
            extra={"openid": mask_openid(job.openid), "status": status_code, "attempt": attempt},
        )
