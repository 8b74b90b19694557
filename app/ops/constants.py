"""Roles, cookie and header names, limits and statuses of the ops feature."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Staff roles, each including the rights of the ones before it."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    APPROVER = "approver"
    ADMIN = "admin"


ROLE_RANK: dict[Role, int] = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.APPROVER: 3, Role.ADMIN: 4}


def role_at_least(role: str, required: Role) -> bool:
    try:
        return ROLE_RANK[Role(role)] >= ROLE_RANK[required]
    except ValueError:
        return False


class DraftStatus(StrEnum):
    """Life of a push draft: approval by a second person, then sent now or at `scheduled_at`."""

    PENDING_APPROVAL = "pending_approval"
    SCHEDULED = "scheduled"  # approved, waiting for its send time
    SENT = "sent"  # the broadcast (alert + deliveries) exists
    REJECTED = "rejected"
    CANCELLED = "cancelled"


OPEN_DRAFT_STATUSES = frozenset({DraftStatus.PENDING_APPROVAL, DraftStatus.SCHEDULED})


class RequestStatus(StrEnum):
    """Life of an approval request for a change other than a push (e.g. a menu publish)."""

    PENDING_APPROVAL = "pending_approval"
    DONE = "done"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"


class RequestKind(StrEnum):
    MENU_PUBLISH = "menu_publish"


API_PREFIX = "/api/v1/ops"
CONSOLE_PREFIX = "/console"
SESSION_COOKIE = "wxb_ops_session"
LOGIN_CSRF_COOKIE = "wxb_ops_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
API_KEY_HEADER = "X-Api-Key"
API_KEY_PREFIX = "wxbk"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

SESSION_TTL_S = 8 * 3600
SESSION_KEY_PREFIX = "ops:session:"
# Login throttling: failures per username and per client address inside a sliding window.
LOGIN_WINDOW_S = 15 * 60
LOGIN_MAX_FAILURES_PER_USER = 5
LOGIN_MAX_FAILURES_PER_IP = 20
THROTTLE_KEY_PREFIX = "ops:login:fail:"

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
USERNAME_PATTERN = r"^[a-z0-9_.-]{3,64}$"

# The audit chain starts from this hash (64 zeros) so the first row has a predecessor too.
GENESIS_HASH = "0" * 64
AUDIT_HEAD_ID = 1

SCHEDULER_INTERVAL_S = 5.0
SCHEDULER_BATCH = 20
# WeChat's default daily template-message quota, used when the live figure is unavailable.
DEFAULT_TEMPLATE_DAILY_QUOTA = 100_000
# WeChat's template-send quota (getApiQuota) is cached in Redis for every API process: the
# dashboard must not spend the quota API's own calls on each page load. A failed call is
# remembered for a shorter time so an outage does not slow every page by the call timeout.
QUOTA_CACHE_KEY = "ops:wechat_quota:template_send"
QUOTA_CACHE_S = 60
QUOTA_FAILURE_CACHE_S = 15
QUOTA_TIMEOUT_S = 1.5
DASHBOARD_DAYS = 14
FAN_SEARCH_LIMIT = 50
DELIVERY_HISTORY_LIMIT = 50
