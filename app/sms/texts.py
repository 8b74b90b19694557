"""Wording of the one-time-code SMS as registered with the provider (template "otp").

The provider renders it from the params we send; the sandbox renders it the same way so the
codes it shows read like the real message.
"""

from __future__ import annotations

OTP_TEMPLATE = (
    "【{sign}】您的验证码为{code}，用于{purpose}，{ttl}分钟内有效。如非本人操作，请忽略本短信。"
)

PURPOSE_LABELS = {
    "bind": "绑定证券账户",
    "unbind": "解除账户绑定",
    "verify": "身份验证",
}


def render_otp(*, sign: str, code: str, purpose: str, ttl_minutes: int) -> str:
    label = PURPOSE_LABELS.get(purpose, PURPOSE_LABELS["verify"])
    return OTP_TEMPLATE.format(sign=sign, code=code, purpose=label, ttl=ttl_minutes)
