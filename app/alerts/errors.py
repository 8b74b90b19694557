"""Domain errors of the alerts feature (the core handler maps kinds to HTTP statuses)."""

from __future__ import annotations

from typing import Any

from app.core.errors import (
    Conflict,
    Invalid,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unprocessable,
)


class SignatureError(Unauthorized):
    code = "alerts.bad_signature"


class StaleSignatureError(Unauthorized):
    code = "alerts.stale_signature"


class MissingIdempotencyKeyError(Invalid):
    code = "alerts.idempotency_key_required"


class IdempotencyConflictError(Conflict):
    code = "alerts.idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used with a different request body")


class BodyTooLargeError(PayloadTooLarge):
    code = "alerts.body_too_large"


class MalformedRequestError(Unprocessable):
    code = "alerts.malformed"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []


class CustomerTargetUnavailableError(Unprocessable):
    code = "alerts.customer_target_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "customer targets need account binding (issue #5), which is not installed yet"
        )


class UnknownFanError(NotFound):
    code = "alerts.unknown_fan"


class WatchlistFullError(Conflict):
    code = "alerts.watchlist_full"
