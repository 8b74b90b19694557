"""Why the webhook refused a request; the endpoint maps each kind to its status."""

from __future__ import annotations

from app.core.errors import Forbidden, Invalid, PayloadTooLarge


class SignatureRejectedError(Forbidden):
    """Missing or wrong `signature` / `msg_signature`."""

    code = "webhook.bad_signature"


class StaleTimestampError(Forbidden):
    """`timestamp` outside the accepted window (replay protection)."""

    code = "webhook.stale_timestamp"


class AppIdMismatchError(Forbidden):
    """The payload decrypted but was encrypted for another app id."""

    code = "webhook.appid_mismatch"


class MalformedRequestError(Invalid):
    """Bad parameters, undecryptable payload or XML that is not a WeChat message."""

    code = "webhook.malformed"


class BodyTooLargeError(PayloadTooLarge):
    code = "webhook.body_too_large"
