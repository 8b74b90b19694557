"""Response shapes of the push status API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AlertStatusRead(BaseModel):
    alert_id: int
    type: str
    severity: str
    total: int
    counts: dict[str, int]


class DeliveryEventRead(BaseModel):
    from_status: str
    to_status: str
    errcode: int | None
    detail: str | None
    at: datetime


class DeliveryRead(BaseModel):
    id: int
    alert_id: int
    openid: str  # masked
    template_id: str | None  # the alert's when the row has none of its own
    severity: str
    status: str
    attempts: int
    msgid: int | None
    errcode: int | None
    error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    queued_at: datetime | None
    sending_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    expired_at: datetime | None
    history: list[DeliveryEventRead]


class DeadLetterRead(BaseModel):
    """A template send that failed and waits for ops to fix the cause and re-drive it."""

    delivery_id: int
    alert_id: int
    alert_type: str
    openid_masked: str
    template_id: str
    errcode: int | None
    error: str | None
    attempts: int
    failed_at: datetime | None


class DeadLetterPage(BaseModel):
    total: int
    items: list[DeadLetterRead]
