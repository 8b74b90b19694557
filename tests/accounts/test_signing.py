"""Signed tokens: genuine and fresh only, and bound to their purpose."""

from __future__ import annotations

from app.accounts import signing

SECRET = "s3cret"


def test_round_trip() -> None:
    token = signing.sign(SECRET, "state", {"n": "abc"}, expires_at=200)
    assert signing.verify(SECRET, "state", token, now=100) == {"n": "abc", "exp": 200}


def test_expired_wrong_purpose_wrong_secret_and_tampering_are_refused() -> None:
    token = signing.sign(SECRET, "state", {"n": "abc"}, expires_at=200)
    body, mac = token.split(".")
    assert signing.verify(SECRET, "state", token, now=200) is None
    assert signing.verify(SECRET, "session", token, now=100) is None
    assert signing.verify("other", "state", token, now=100) is None
    assert signing.verify(SECRET, "state", body[:-2] + "xx." + mac, now=100) is None


def test_garbage_is_refused_without_errors() -> None:
    for token in (None, "", "a", "a.b.c", "!!!.???", "x" * 5000, "e30.AAAA"):
        assert signing.verify(SECRET, "state", token, now=0) is None
