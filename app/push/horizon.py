"""The relay's id horizon: the highest id below which no producer can still commit a row.

Producers take a shared advisory lock (`PRODUCER_LOCK_KEYS`) in a BEFORE STATEMENT trigger of
every INSERT on `delivery`/`cs_message` (migration 0008) and keep it to their commit or
rollback; the ids come from the table's sequence afterwards, row by row. So a producer that got
an id at or below a last value L read from the sequence held the lock when L was read, and
whoever is asked afterwards "who holds the lock?" either sees that producer or it has ended.

The relay samples, at each tick, first L (`last_allocated_id`), then the set H of transactions
holding or awaiting the lock (`advisory_lock_holders`, read live from `pg_locks`). The pair
(L, H) is a *candidate*: once none of H is listed any more, every id up to L belongs to an
ended transaction (committed rows are visible to the relay's next statement, aborted ids never
come back), so the cursor may pass L. H empty: L is proven at once. Nothing here takes the
lock, so producers are never blocked; a busy relay proves the ids of one tick on its next one.

Validity is monotone: a later candidate's H holds every earlier holder still running, so when
it is valid every earlier one is too. Keeping only the few newest candidates therefore loses
intermediate steps, never correctness. A vxid names one transaction for its whole life, so a
transaction still running is always seen; a vxid seen again later only delays a candidate.

Relies on the sequences having no per-backend cache (`CACHE 1`, the default of a serial
column): a cached block would hand out ids below L after L was read, without the lock yet.
Several relays (one per worker process) each keep their own candidates: every proven horizon
is a fact about the database, and the cursor row lock serialises the moves.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_CANDIDATES = 8


@dataclass
class IdHorizon:
    """The horizon of one kind (`delivery` or `cs_message`) as one relay process proves it."""

    max_candidates: int = MAX_CANDIDATES
    proven: int = 0
    candidates: list[tuple[int, frozenset[str]]] = field(default_factory=list)
    since: dict[int, float] = field(default_factory=dict)  # candidate id -> when sampled

    def observe(self, last_id: int, in_flight: Iterable[str], *, at: float | None = None) -> int:
        """Record a sample and return the highest id proven so far.

        `last_id` is the sequence's last value, `in_flight` the lock's holders read *after*
        it (the order is what makes a candidate sound); `at`: when (monotonic seconds).
        """
        at = time.monotonic() if at is None else at
        holders = frozenset(in_flight)
        if last_id < self.proven:  # the sequence was reset (RESTART IDENTITY): start over
            self.proven, self.candidates = 0, []
        for candidate_id, waiting_for in self.candidates:
            if not waiting_for & holders:
                self.proven = max(self.proven, candidate_id)
        if not holders:
            self.proven = max(self.proven, last_id)
        pending = [c for c in self.candidates if c[0] > self.proven]
        if last_id > self.proven and (not pending or last_id > pending[-1][0]):
            if len(pending) >= self.max_candidates:
                pending.pop()  # a fresher sample replaces the newest one: its facts cover it
            pending.append((last_id, holders))
        self.candidates = pending
        self.since = {c[0]: self.since.get(c[0], at) for c in pending}
        return self.proven

    def waiting_s(self, now: float | None = None) -> float:
        """How long the oldest unproven sample has waited for its producers to end (0: none).
        Milliseconds normally; a producer transaction left open holds back every row with a
        higher id, which the relay loop reports (`relay.watch_horizons`)."""
        if not self.candidates:
            return 0.0
        now = time.monotonic() if now is None else now
        return max(0.0, now - self.since[self.candidates[0][0]])

    def blocking(self) -> frozenset[str]:
        """The transactions (vxids) the oldest unproven sample waits for."""
        return self.candidates[0][1] if self.candidates else frozenset()
