"""Domain errors of the account center (the handlers turn them into polite replies)."""

from __future__ import annotations

from datetime import datetime

from app.core.errors import NotFound, Unavailable


class NotBoundError(NotFound):
    code = "account_center.not_bound"

    def __init__(self) -> None:
        super().__init__("the fan has no active binding")


class CounterMaintenanceError(Unavailable):
    code = "account_center.maintenance"

    def __init__(self, window_end: datetime | None = None) -> None:
        super().__init__("the counter is in maintenance")
        self.window_end = window_end


class CounterUnavailableError(Unavailable):
    code = "account_center.unavailable"

    def __init__(self) -> None:
        super().__init__("the counter is unavailable")


class AccountGoneError(NotFound):
    code = "account_center.account_gone"

    def __init__(self) -> None:
        super().__init__("the counter no longer knows the bound account")
