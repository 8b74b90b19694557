"""The audit log's hash chain: canonical row hashing and verification (pure functions)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.ops.constants import GENESIS_HASH

HASHED_FIELDS = (
    "seq",
    "at",
    "actor",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
    "ip",
    "prev_hash",
)


def _default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def canonical(fields: Mapping[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same bytes on every process and database."""
    body = {name: fields.get(name) for name in HASHED_FIELDS}
    text = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )
    return text.encode("utf-8")


def row_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    reason: str | None = None
    last_hash: str = GENESIS_HASH


def verify_chain(rows: Iterable[Mapping[str, Any]], *, head_hash: str | None = None) -> ChainReport:
    """Walk rows in seq order: seq contiguous from 1, each prev_hash links, each hash recomputes.

    `head_hash` (the stored chain head) also catches rows cut off the end of the log.
    """
    expected_prev, expected_seq, count = GENESIS_HASH, 1, 0
    for row in rows:
        seq = int(row["seq"])
        problem = None
        if seq != expected_seq:
            problem = f"expected seq {expected_seq}, found {seq} (a row was removed or reordered)"
        elif row["prev_hash"] != expected_prev:
            problem = "prev_hash does not link to the previous row"
        elif row_hash(row) != row["hash"]:
            problem = "row content does not match its hash (the row was changed)"
        if problem is not None:
            return ChainReport(False, count, seq, problem, expected_prev)
        expected_prev, expected_seq, count = str(row["hash"]), seq + 1, count + 1
    if head_hash is not None and head_hash != expected_prev:
        return ChainReport(False, count, expected_seq, "chain head does not match the last row")
    return ChainReport(True, count, None, None, expected_prev)
