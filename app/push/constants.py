"""Stream names, Redis keys and the enums of the push pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """Alert severity; also the delivery's lane (its stream)."""

    CRITICAL = "critical"
    TRANSACTIONAL = "transactional"
    MARKET = "market"
    MARKETING = "marketing"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"


class CsStatus(StrEnum):
    """Deferred customer-service replies: no receipt exists, so `sent` is final."""

    PENDING = "pending"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Kind(StrEnum):
    """What a stream entry's ids point at."""

    DELIVERY = "delivery"
    CS = "cs"


STREAM_PREFIX = "push:stream:"
CS_LANE = "cs"
# Read order: critical first, marketing last. Deferred customer-service replies answer a fan
# who is waiting in the chat, so they come right after critical alerts.
LANES: tuple[str, ...] = (
    Severity.CRITICAL.value,
    CS_LANE,
    Severity.TRANSACTIONAL.value,
    Severity.MARKET.value,
    Severity.MARKETING.value,
)
STREAMS: dict[str, str] = {lane: f"{STREAM_PREFIX}{lane}" for lane in LANES}
CS_STREAM = STREAMS[CS_LANE]
GROUP = "push-workers"
ENTRY_FIELD_IDS = b"ids"

DEAD_LETTER_KEY = "push:dead"
RATE_BUCKET_KEY = "push:ratelimit:template"
# Set by whoever hits 45009 for that API; expires at the next Beijing midnight (quota reset).
PAUSE_KEYS: dict[Kind, str] = {Kind.DELIVERY: "push:pause:template", Kind.CS: "push:pause:custom"}
# Created by the reconciler after it re-queued everything Redis held: if it vanishes, Redis
# lost its data (FLUSHALL, failover without persistence) and every queued row must be re-queued.
EPOCH_KEY = "push:epoch"
HEARTBEAT_PREFIX = "push:heartbeat:"
# The worker ends the event detail of both dead-letter paths (retries exhausted; configuration
# errors ops can fix) with this; the dead-letter list (`dead_letters.py`) matches on it.
DEAD_LETTERED = "dead-lettered"
EARLY_RECEIPT_PREFIX = "push:receipt:"

# Producers hold this advisory lock (shared, until commit) from their INSERT on (a statement
# trigger, migration 0008); the relay's cursor only passes ids whose holders it saw end
# (`app.push.horizon`). Nobody takes it exclusively.
PRODUCER_LOCK_KEYS: dict[Kind, int] = {Kind.DELIVERY: 7_260_001, Kind.CS: 7_260_002}

TERMINAL_STATUSES = frozenset(
    {DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.EXPIRED}
)


@dataclass(frozen=True, slots=True)
class PushConfig:
    """Tuning of relay, worker and reconciler (defaults suit one worker host of 2 cores)."""

    relay_batch: int = 20000
    ids_per_entry: int = 50  # one stream entry carries this many ids (fewer XADDs)
    worker_entries: int = 10  # entries read per batch: up to worker_entries * ids_per_entry ids
    concurrency: int = 200  # sends in flight per worker
    batches_in_flight: int = 2  # read/claim/record one batch while another one sends
    send_timeout_s: float = 10.0  # per send, on top of the HTTP client's own timeouts
    send_lease_s: float = 60.0  # a `sending` row older than this is taken over / re-queued
    queue_lease_s: float = 900.0  # a `queued` row older than this is assumed lost in Redis
    block_ms: int | None = 1000
    autoclaim_idle_ms: int = 60_000
    autoclaim_interval_s: float = 10.0
    rate_per_s: float = 0.0  # template sends per second across all workers; 0 = no cap
    rate_burst: int | None = None
    relay_interval_s: float = 0.2  # idle poll
    relay_busy_interval_s: float = 0.05  # poll while producers are active…
    relay_busy_window_s: float = 2.0  # …that is, this long after a tick that moved rows
    relay_proving_interval_s: float = 0.02  # poll while a horizon candidate awaits producers
    # A horizon waiting this long for producer transactions is logged (at most this often):
    # an open producer transaction holds back every row with a higher id.
    horizon_stall_warn_s: float = 30.0
    reconcile_interval_s: float = 15.0
    reconcile_batch: int = 5000
    heartbeat_ttl_s: int = 60
    retry_base_delay_s: float = 1.0
