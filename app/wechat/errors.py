"""WeChat API errors and the one table that classifies every errcode (FACTS §6)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class ErrorKind(StrEnum):
    """What a caller should do about a failed WeChat call."""

    # refresh the access token once (only if it is still the failed one), retry the call once
    TOKEN = "token"  # noqa: S105 - a category name, not a secret
    RETRYABLE = "retryable"  # back off with jitter and retry, keeping client_msg_id
    QUOTA = "quota"  # daily quota gone: stop this API until the Beijing-midnight reset
    RATE = "rate"  # frequency limit: retry after >= 60 s
    PERMANENT = "permanent"  # this recipient/request will never succeed as is: fail, no retry
    CONFIGURATION = "configuration"  # account/ops problem (secret, IP allow-list, template id)
    UNKNOWN = "unknown"  # not in the table: retry a bounded number of times, log loudly


# One table for every caller. Codes and meanings: /work/shared/wechat/FACTS.md §6.
ERROR_TABLE: dict[int, ErrorKind] = {
    # token: invalid / not latest, invalid access_token, expired
    40001: ErrorKind.TOKEN,
    40014: ErrorKind.TOKEN,
    42001: ErrorKind.TOKEN,
    # transient platform failure
    -1: ErrorKind.RETRYABLE,
    # daily quota
    45009: ErrorKind.QUOTA,
    # frequency limits (per minute, CS per-user budget, mass clientmsgid retried < 1 min)
    45011: ErrorKind.RATE,
    45047: ErrorKind.RATE,
    45066: ErrorKind.RATE,
    # permanent for this recipient or this request
    40003: ErrorKind.PERMANENT,  # openid not of this account
    40007: ErrorKind.PERMANENT,  # invalid media_id
    40008: ErrorKind.PERMANENT,  # invalid message type
    40029: ErrorKind.PERMANENT,  # invalid OAuth code
    40033: ErrorKind.PERMANENT,  # \uXXXX in the body
    40163: ErrorKind.PERMANENT,  # OAuth code already used
    41001: ErrorKind.PERMANENT,  # access_token missing (bug)
    42002: ErrorKind.PERMANENT,  # OAuth refresh_token expired
    42003: ErrorKind.PERMANENT,  # OAuth code expired
    43004: ErrorKind.PERMANENT,  # not following
    43019: ErrorKind.PERMANENT,  # blacklisted
    43100: ErrorKind.PERMANENT,  # industry changed too often
    43101: ErrorKind.PERMANENT,  # user refused the subscription message
    44002: ErrorKind.PERMANENT,  # empty POST body
    44003: ErrorKind.PERMANENT,  # empty news message
    44004: ErrorKind.PERMANENT,  # empty text content
    45008: ErrorKind.PERMANENT,  # too many news articles
    45015: ErrorKind.PERMANENT,  # CS window expired / unfollowed
    45065: ErrorKind.PERMANENT,  # mass clientmsgid already used
    45067: ErrorKind.PERMANENT,  # mass clientmsgid too long
    45159: ErrorKind.PERMANENT,  # invalid tag id
    46004: ErrorKind.PERMANENT,  # user does not exist
    47001: ErrorKind.PERMANENT,  # JSON/XML parse error
    47003: ErrorKind.PERMANENT,  # argument invalid (template data)
    50001: ErrorKind.PERMANENT,  # user not authorised for this API
    50002: ErrorKind.PERMANENT,  # user restricted
    50005: ErrorKind.PERMANENT,  # user not following (some APIs)
    63002: ErrorKind.PERMANENT,  # invalid JS-SDK signature
    46003: ErrorKind.PERMANENT,  # no menu exists
    65320: ErrorKind.PERMANENT,  # conditional-menu rule on private attributes
    76003: ErrorKind.PERMANENT,  # getApiQuota: cgi_path is a URL or lacks its leading "/"
    76021: ErrorKind.PERMANENT,  # getApiQuota: no such cgi_path
    # configuration: an operator has to fix something, retrying cannot help
    40002: ErrorKind.CONFIGURATION,  # invalid grant_type
    40013: ErrorKind.CONFIGURATION,  # invalid appid
    41002: ErrorKind.CONFIGURATION,  # appid missing
    40037: ErrorKind.CONFIGURATION,  # template id not in this account
    40125: ErrorKind.CONFIGURATION,  # invalid appsecret
    40164: ErrorKind.CONFIGURATION,  # caller IP not allow-listed
    45064: ErrorKind.CONFIGURATION,  # menu links an unlinked mini program
    45109: ErrorKind.CONFIGURATION,  # API withdrawn
    48001: ErrorKind.CONFIGURATION,  # API not authorised for this account
    48004: ErrorKind.CONFIGURATION,  # API banned
    48006: ErrorKind.CONFIGURATION,  # clear_quota used up
    76022: ErrorKind.CONFIGURATION,  # getApiQuota: the token belongs to another account
}

# How often a caller may retry each kind before giving up (dead-letter).
MAX_ATTEMPTS: dict[ErrorKind, int] = {
    ErrorKind.RETRYABLE: 5,
    ErrorKind.RATE: 3,
    ErrorKind.UNKNOWN: 3,
    ErrorKind.TOKEN: 2,
    ErrorKind.QUOTA: 1,
    ErrorKind.PERMANENT: 1,
    ErrorKind.CONFIGURATION: 1,
}
RETRY_KINDS = frozenset({ErrorKind.RETRYABLE, ErrorKind.RATE, ErrorKind.UNKNOWN})
RATE_RETRY_AFTER_S = 60.0

_SECRET_PARAMS = re.compile(
    r"((?:access_token|secret|refresh_token|code|ticket|appsecret)=)[^&\s#\"']+", re.IGNORECASE
)


def classify(errcode: int) -> ErrorKind:
    """The kind of a WeChat errcode; codes outside the table are UNKNOWN."""
    return ERROR_TABLE.get(errcode, ErrorKind.UNKNOWN)


def redact(text: str) -> str:
    """Hide credentials carried in URLs (access_token, secret, OAuth code...) before logging."""
    return _SECRET_PARAMS.sub(r"\1***", text)


class WeChatError(Exception):
    """Base of every error raised by the WeChat adapter; `kind` tells the caller what to do."""

    kind: ErrorKind = ErrorKind.UNKNOWN

    @property
    def retryable(self) -> bool:
        return self.kind in RETRY_KINDS


class WeChatApiError(WeChatError):
    """WeChat answered with a non-zero errcode."""

    def __init__(
        self, errcode: int, errmsg: str, path: str, *, kind: ErrorKind | None = None
    ) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path
        self.kind = kind or classify(errcode)
        super().__init__(f"WeChat {path} errcode={errcode} ({self.kind}): {redact(errmsg)}")


class WeChatTransportError(WeChatError):
    """No usable answer: timeout, connection failure, HTTP 5xx or a body that is not JSON."""

    kind = ErrorKind.RETRYABLE

    def __init__(self, path: str, reason: str, *, status: int | None = None) -> None:
        self.path = path
        self.status = status
        self.reason = redact(reason)
        where = f" HTTP {status}" if status is not None else ""
        super().__init__(f"WeChat {path}{where}: {self.reason}")


class WeChatConfigurationError(WeChatError):
    """The client itself is misconfigured or a request is invalid before it is sent."""

    kind = ErrorKind.CONFIGURATION


class InvalidRequestError(WeChatError, ValueError):
    """A request the client refuses to send (e.g. a QR scene_str over 64 characters)."""

    kind = ErrorKind.PERMANENT


class TokenUnavailableError(WeChatError):
    """Another process holds the refresh lock and no token appeared within the wait bound."""

    kind = ErrorKind.RETRYABLE


@dataclass(frozen=True, slots=True)
class RetryDecision:
    retry: bool
    delay_s: float


def retry_decision(error: WeChatError, attempt: int, *, base_delay_s: float = 1.0) -> RetryDecision:
    """Should attempt number `attempt` (1-based, the one that just failed) be retried, and when.

    Retryable: exponential 1 s, 2 s, 4 s... (5 tries); rate: after 60 s; unknown: treated as
    retryable at most MAX_ATTEMPTS[UNKNOWN] times. Callers add jitter.
    """
    if error.kind not in RETRY_KINDS or attempt >= MAX_ATTEMPTS[error.kind]:
        return RetryDecision(retry=False, delay_s=0.0)
    if error.kind is ErrorKind.RATE:
        return RetryDecision(retry=True, delay_s=RATE_RETRY_AFTER_S)
    return RetryDecision(retry=True, delay_s=base_delay_s * 2 ** (attempt - 1))
