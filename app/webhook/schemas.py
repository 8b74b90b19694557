"""Data the webhook hands to other features (recorded inbound messages and events)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class InboundRecord:
    """One inbound message or event as recorded in `inbound_event` (append-only)."""

    openid: str
    msg_type: str
    event: str | None
    event_key: str | None
    scene: str | None
    msg_id: str | None
    wechat_created_at: datetime
    received_at: datetime

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "openid",
        "msg_type",
        "event",
        "event_key",
        "scene",
        "msg_id",
        "wechat_created_at",
        "received_at",
    )

    def as_tuple(self) -> tuple[object, ...]:
        """Values in COLUMNS order (aware datetimes: PostgreSQL's COPY path)."""
        return (
            self.openid,
            self.msg_type,
            self.event,
            self.event_key,
            self.scene,
            self.msg_id,
            self.wechat_created_at,
            self.received_at,
        )

    def as_row(self) -> dict[str, object]:
        return {
            "openid": self.openid,
            "msg_type": self.msg_type,
            "event": self.event,
            "event_key": self.event_key,
            "scene": self.scene,
            "msg_id": self.msg_id,
            "wechat_created_at": self.wechat_created_at,
            "received_at": self.received_at,
        }
