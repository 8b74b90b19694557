"""Domain errors of the push pipeline."""

from __future__ import annotations

from app.core.errors import Conflict, Invalid, NotFound


class AlertNotFoundError(NotFound):
    code = "push.alert_not_found"

    def __init__(self, alert_id: int) -> None:
        super().__init__(f"alert {alert_id} does not exist")


class DeliveryNotFoundError(NotFound):
    code = "push.delivery_not_found"

    def __init__(self, delivery_id: int) -> None:
        super().__init__(f"delivery {delivery_id} does not exist")


class InvalidSeverityError(Invalid):
    code = "push.invalid_severity"

    def __init__(self, severity: str) -> None:
        super().__init__(f"unknown severity {severity!r}")


class NotADeadLetterError(Conflict):
    code = "push.not_a_dead_letter"

    def __init__(self, delivery_id: int) -> None:
        super().__init__(f"delivery {delivery_id} is not dead-lettered (only those re-drive)")


class AlertWithoutTemplateError(Invalid):
    code = "push.alert_without_template"

    def __init__(self, alert_id: int) -> None:
        super().__init__(f"alert {alert_id} has no rendered template to fan out")
