"""Idempotency-Key handling: the same key and body replay the first result; another body → 409.

Keys are stored in PostgreSQL (`ingest_request`) inside the request's own transaction, so a key
exists exactly when its work was committed. A request that fails (4xx) commits nothing and may be
retried with the same key. Keys are kept `IDEMPOTENCY_TTL_S` (24 h) and then purged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts.constants import IDEMPOTENCY_TTL_S
from app.alerts.errors import IdempotencyConflictError, MissingIdempotencyKeyError
from app.alerts.repository import IngestRequestRepository
from app.core.db import unit_of_work
from app.core.time import Clock

log = logging.getLogger(__name__)
PURGE_INTERVAL_S = 3600.0

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,100}$")


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def validate_key(key: str | None) -> str:
    if key is None or not KEY_PATTERN.match(key):
        raise MissingIdempotencyKeyError(
            "Idempotency-Key header required: 1-100 printable ASCII characters"
        )
    return key


def request_hash(scope: str, body: bytes) -> str:
    """The endpoint is part of the hash: one key on two endpoints is a conflict too."""
    return hashlib.sha256(scope.encode() + b"\n" + body).hexdigest()


async def run_once(
    session: AsyncSession,
    *,
    key: str,
    fingerprint: str,
    now: datetime,
    work: Callable[[], Awaitable[Outcome]],
) -> Outcome:
    """Run `work` for a new key, or replay what its first request answered.

    The key is checked before `work` validates the body: a reused key with another body is a
    409 even when that body is also invalid.
    """
    repo = IngestRequestRepository(session)
    expires_at = now + timedelta(seconds=IDEMPOTENCY_TTL_S)
    if await repo.claim(key=key, request_hash=fingerprint, now=now, expires_at=expires_at):
        outcome = await work()
        await repo.complete(key=key, status_code=outcome.status_code, response=outcome.body)
        return outcome
    stored = await repo.get(key)
    if stored is None or stored.request_hash != fingerprint:
        raise IdempotencyConflictError()
    return Outcome(stored.status_code, dict(stored.response), replayed=True)


async def purge_expired(session: AsyncSession, *, now: datetime) -> int:
    """Delete keys past their retention; returns how many."""
    return await IngestRequestRepository(session).purge_expired(now=now)


async def run_purge_loop(
    stop_event: asyncio.Event,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    interval_s: float = PURGE_INTERVAL_S,
) -> None:
    """Worker loop: purge expired keys now, then every `interval_s`, until asked to stop."""
    while not stop_event.is_set():
        async with unit_of_work(sessionmaker) as session:
            purged = await purge_expired(session, now=clock.now())
        if purged:
            log.info("alerts.idempotency.purged", extra={"count": purged})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), interval_s)
