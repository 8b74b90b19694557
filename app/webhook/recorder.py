"""Batched, off-request-path recording of every inbound message and event.

The request path only appends to an in-memory deque; a supervisor loop flushes batches in one
transaction each (inbound_event rows plus listeners such as the fan upserts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import unit_of_work
from app.webhook.constants import RECORDER_MAX_BATCH_FAILURES, RECORDER_MAX_BUFFER
from app.webhook.repository import InboundEventRepository
from app.webhook.schemas import InboundRecord

log = logging.getLogger(__name__)

BatchListener = Callable[[AsyncSession, Sequence[InboundRecord]], Awaitable[None]]


class EventRecorder:
    """Bounded buffer: on overflow the oldest records are dropped (and counted, and logged)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        batch_size: int,
        flush_interval_s: float,
        max_buffer: int = RECORDER_MAX_BUFFER,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._batch_size = max(1, batch_size)
        self._interval_s = flush_interval_s
        self._buffer: deque[InboundRecord] = deque(maxlen=max(1, max_buffer))
        self._listeners: list[BatchListener] = []
        self._lock = asyncio.Lock()
        self._failures = 0
        self.dropped = 0
        self.written = 0

    def add_listener(self, listener: BatchListener) -> None:
        """Called inside each batch's transaction, after the inbound_event rows are added."""
        self._listeners.append(listener)

    def record(self, record: InboundRecord) -> None:
        """O(1), no I/O: safe on the request path."""
        if len(self._buffer) == self._buffer.maxlen:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("webhook.recorder.overflow", extra={"dropped": self.dropped})
        self._buffer.append(record)

    @property
    def pending(self) -> int:
        return len(self._buffer)

    async def flush(self) -> int:
        """Write everything buffered, batch by batch; stop at the first failing batch."""
        written = 0
        async with self._lock:
            while self._buffer:
                batch = [
                    self._buffer.popleft() for _ in range(min(self._batch_size, len(self._buffer)))
                ]
                if not await self._write(batch):
                    break
                written += len(batch)
        return written

    async def _write(self, batch: list[InboundRecord]) -> bool:
        try:
            async with unit_of_work(self._sessionmaker) as session:
                await InboundEventRepository(session).add_many(batch)
                for listener in self._listeners:
                    await listener(session, batch)
        except (SQLAlchemyError, OSError):
            return self._keep_failed(batch)
        self._failures = 0
        self.written += len(batch)
        return True

    def _keep_failed(self, batch: list[InboundRecord]) -> bool:
        self._failures += 1
        if self._failures >= RECORDER_MAX_BATCH_FAILURES:
            log.exception("webhook.recorder.batch_dropped", extra={"size": len(batch)})
            self.dropped += len(batch)
            self._failures = 0
            return True  # move on to the next batch
        log.warning(
            "webhook.recorder.flush_failed",
            extra={"size": len(batch), "failures": self._failures},
            exc_info=True,
        )
        # Put it back in front, unless newer records already filled the buffer.
        room = (self._buffer.maxlen or 0) - len(self._buffer)
        kept = batch[-room:] if room > 0 else []
        self.dropped += len(batch) - len(kept)
        self._buffer.extendleft(reversed(kept))
        return False

    async def run(self, stop_event: asyncio.Event) -> None:
        """Supervisor loop: flush every interval until asked to stop, then a final flush."""
        while not stop_event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), self._interval_s)
            await self.flush()
        await self.flush()
