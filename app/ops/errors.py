"""Domain errors of the ops feature (mapped to problem bodies by core.errors)."""

from __future__ import annotations

from app.core.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized


class NotAuthenticatedError(Unauthorized):
    code = "ops.unauthenticated"


class BadCredentialsError(Unauthorized):
    code = "ops.bad_credentials"

    def __init__(self) -> None:
        super().__init__("wrong username or password")


class LoginThrottledError(TooManyRequests):
    code = "ops.login_throttled"

    def __init__(self) -> None:
        super().__init__("too many failed logins; try again later")


class RoleRequiredError(Forbidden):
    code = "ops.role_required"

    def __init__(self, required: str) -> None:
        super().__init__(f"this needs the {required} role")


class CsrfError(Forbidden):
    code = "ops.csrf"

    def __init__(self) -> None:
        super().__init__("missing or wrong CSRF token")


class FourEyesError(Forbidden):
    code = "ops.four_eyes"

    def __init__(self) -> None:
        super().__init__("the author of a change cannot approve it; a second approver must")


class NotAllowedError(Forbidden):
    code = "ops.not_allowed"


class StaffNotFoundError(NotFound):
    code = "ops.staff_not_found"

    def __init__(self, staff_id: int) -> None:
        super().__init__(f"staff user {staff_id} not found")


class UsernameTakenError(Conflict):
    code = "ops.username_taken"

    def __init__(self, username: str) -> None:
        super().__init__(f"username {username!r} is taken")


class WeakPasswordError(Invalid):
    code = "ops.weak_password"


class ApiKeyNotFoundError(NotFound):
    code = "ops.api_key_not_found"

    def __init__(self, key_id: int) -> None:
        super().__init__(f"API key {key_id} not found")


class DraftNotFoundError(NotFound):
    code = "ops.draft_not_found"

    def __init__(self, draft_id: int) -> None:
        super().__init__(f"push draft {draft_id} not found")


class DraftStateError(Conflict):
    code = "ops.draft_state"


class InvalidDraftError(Invalid):
    code = "ops.invalid_draft"


class ApprovalRequestNotFoundError(NotFound):
    code = "ops.request_not_found"

    def __init__(self, request_id: int) -> None:
        super().__init__(f"approval request {request_id} not found")


class RequestStateError(Conflict):
    code = "ops.request_state"


class FanNotFoundError(NotFound):
    code = "ops.fan_not_found"

    def __init__(self, fan_id: int) -> None:
        super().__init__(f"fan {fan_id} not found")


class InvalidQueryError(Invalid):
    code = "ops.invalid_query"
