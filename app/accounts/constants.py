"""Limits, lifetimes and names of the binding feature."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: Version of the privacy notice and the separate personal-financial-information consent shown
#: on the binding page; a binding records the version the fan agreed to and when.
CONSENT_VERSION = "2026-11-v1"

SESSION_COOKIE = "wxb_h5"
OAUTH_NONCE_COOKIE = "wxb_oauth"
COOKIE_PATH = "/h5"
SESSION_TTL_S = 2 * 3600
OAUTH_STATE_TTL_S = 600
CSRF_HEADER = "X-CSRF-Token"
OAUTH_CALLBACK_PATH = "/h5/oauth/callback"
BIND_PAGE_PATH = "/h5/bind"

MAX_BINDINGS_PER_FAN = 5
# An account that failed verification this often in the window is refused (ours, before the
# counter's own lockout), so credential stuffing across many openids still stops.
ACCOUNT_FAILURE_LOCK_S = 30 * 60
ACCOUNT_FAILURES_BEFORE_LOCK = 5


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `max_hits` per `window_s` seconds for one subject (fixed window in Redis)."""

    name: str
    max_hits: int
    window_s: int


SMS_PER_OPENID = Limit("sms.openid", 5, 10 * 60)
SMS_PER_OPENID_DAY = Limit("sms.openid.day", 15, 24 * 3600)
SMS_PER_ACCOUNT = Limit("sms.account", 3, 10 * 60)
SMS_PER_PHONE = Limit("sms.phone", 5, 3600)
SMS_PER_PHONE_DAY = Limit("sms.phone.day", 10, 24 * 3600)
VERIFY_PER_OPENID = Limit("verify.openid", 10, 3600)
VERIFY_FAILURES_PER_ACCOUNT = Limit(
    "verify.account.failures", ACCOUNT_FAILURES_BEFORE_LOCK, ACCOUNT_FAILURE_LOCK_S
)


class AttemptStep(StrEnum):
    SMS = "sms"
    VERIFY = "verify"


class AttemptOutcome(StrEnum):
    OK = "ok"
    FAILED = "failed"  # the counter refused the credentials or the code
    REFUSED = "refused"  # we refused before asking the counter (limits, consent, lockout)
    ERROR = "error"  # the counter was in maintenance or down


class UnbindReason(StrEnum):
    PAGE = "page"
    TEXT_COMMAND = "text_command"
