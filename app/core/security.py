"""Masking of personal data, constant-time comparison and signing helpers."""

from __future__ import annotations

import hashlib
import hmac


def mask_openid(openid: str | None) -> str:
    """`oAbCdE…Yz0`-style: enough to correlate logs, not enough to identify a fan."""
    if not openid:
        return ""
    if len(openid) <= 8:
        return openid[:2] + "***"
    return f"{openid[:4]}***{openid[-3:]}"


def mask_account_no(account_no: str | None) -> str:
    """Keep the last four digits, as brokerage apps show them: `****6789`."""
    if not account_no:
        return ""
    return "****" + account_no[-4:] if len(account_no) > 4 else "****"


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_id_no(id_no: str | None) -> str:
    if not id_no:
        return ""
    return f"{id_no[:3]}***********{id_no[-2:]}" if len(id_no) > 5 else "***"


MASKERS = {
    "openid": mask_openid,
    "unionid": mask_openid,
    "phone": mask_phone,
    "account_no": mask_account_no,
    "id_no": mask_id_no,
    "name": mask_name,
}


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def sha1_signature(*parts: str) -> str:
    """WeChat's signature: sha1 over the lexicographically sorted parts, lowercase hex."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()  # noqa: S324


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
