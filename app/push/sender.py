"""One send to WeChat and its classified outcome; never touches the database."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from app.push.repository import Claimed
from app.wechat.errors import ErrorKind, WeChatApiError, WeChatError, WeChatTransportError

TEMPLATE_PATH = "/cgi-bin/message/template/send"
CUSTOM_PATH = "/cgi-bin/message/custom/send"
TIMED_OUT = "send timed out"


class PushWeChat(Protocol):
    """The two WeChatClient methods the worker needs (tests pass a fake with these)."""

    async def send_template(
        self,
        *,
        openid: str,
        template_id: str,
        data: dict[str, str],
        url: str | None = None,
        miniprogram: dict[str, str] | None = None,
        client_msg_id: str | None = None,
    ) -> int: ...

    async def send_custom_message(self, *, openid: str, message: dict[str, Any]) -> None: ...


class OutcomeKind(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # transient: back off and try again (bounded)
    PAUSE = "pause"  # daily quota gone (45009): stop this API until the reset
    FAIL = "fail"  # permanent for this recipient or request


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    msgid: int | None = None
    error: WeChatError | None = None

    @property
    def errcode(self) -> int | None:
        return self.error.errcode if isinstance(self.error, WeChatApiError) else None

    @property
    def error_text(self) -> str | None:
        return str(self.error)[:255] if self.error is not None else None


def outcome_of_error(error: WeChatError) -> Outcome:
    if error.kind is ErrorKind.QUOTA:
        return Outcome(OutcomeKind.PAUSE, error=error)
    if error.kind in (ErrorKind.PERMANENT, ErrorKind.CONFIGURATION):
        return Outcome(OutcomeKind.FAIL, error=error)
    # token errors the client could not cure, rate limits, transport and unknown codes
    return Outcome(OutcomeKind.RETRY, error=error)


def timed_out(*, custom: bool) -> Outcome:
    """The outcome of a send cut at its deadline: a transport error, retried with backoff."""
    return outcome_of_error(
        WeChatTransportError(CUSTOM_PATH if custom else TEMPLATE_PATH, TIMED_OUT)
    )


async def send_template(wechat: PushWeChat, item: Claimed) -> Outcome:
    """Send a delivery's template message; `client_msg_id` = delivery id, so repeats are dropped.

    No timeout here: the worker bounds every send of a batch with one timer
    (`worker.SendDeadlines`); a TimeoutError from below is still a timed-out send."""
    try:
        msgid = await wechat.send_template(
            openid=item.openid,
            template_id=item.template_id,
            data=item.data or {},
            url=item.url,
            client_msg_id=str(item.id),
        )
    except TimeoutError:
        return timed_out(custom=False)
    except WeChatError as exc:
        return outcome_of_error(exc)
    return Outcome(OutcomeKind.SENT, msgid=int(msgid))


async def send_custom(wechat: PushWeChat, item: Claimed) -> Outcome:
    """Send a deferred customer-service reply (no client_msg_id exists for this API); bounded
    like `send_template`."""
    try:
        await wechat.send_custom_message(openid=item.openid, message=item.message or {})
    except TimeoutError:
        return timed_out(custom=True)
    except WeChatError as exc:
        return outcome_of_error(exc)
    return Outcome(OutcomeKind.SENT)
