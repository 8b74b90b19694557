"""HMAC signature verification of the ingest API."""

from __future__ import annotations

import pytest

from app.alerts import signing
from app.alerts.errors import SignatureError, StaleSignatureError

BODY = b'{"hello": "world"}'
NOW = 1_767_600_000


class TestVerify:
    def test_valid_signature_passes(self) -> None:
        header = signing.signature_header(["s1"], NOW, BODY)
        assert signing.verify(header, BODY, secrets=["s1"], now=NOW) == NOW

    def test_any_active_secret_passes_during_rotation(self) -> None:
        header = signing.signature_header(["old"], NOW, BODY)
        assert signing.verify(header, BODY, secrets=["new", "old"], now=NOW) == NOW

    def test_sender_may_sign_with_several_secrets(self) -> None:
        header = signing.signature_header(["retired", "new"], NOW, BODY)
        assert signing.verify(header, BODY, secrets=["new"], now=NOW) == NOW

    def test_retired_secret_fails(self) -> None:
        header = signing.signature_header(["retired"], NOW, BODY)
        with pytest.raises(SignatureError):
            signing.verify(header, BODY, secrets=["new"], now=NOW)

    def test_tampered_body_fails(self) -> None:
        header = signing.signature_header(["s1"], NOW, BODY)
        with pytest.raises(SignatureError):
            signing.verify(header, BODY + b" ", secrets=["s1"], now=NOW)

    def test_tampered_timestamp_fails(self) -> None:
        header = signing.signature_header(["s1"], NOW, BODY).replace(f"t={NOW}", f"t={NOW + 1}")
        with pytest.raises(SignatureError):
            signing.verify(header, BODY, secrets=["s1"], now=NOW)

    @pytest.mark.parametrize("skew", [301, -301, 86_400])
    def test_stale_or_future_timestamp_fails(self, skew: int) -> None:
        header = signing.signature_header(["s1"], NOW - skew, BODY)
        with pytest.raises(StaleSignatureError):
            signing.verify(header, BODY, secrets=["s1"], now=NOW)

    @pytest.mark.parametrize("skew", [300, -300, 0])
    def test_timestamp_within_tolerance_passes(self, skew: int) -> None:
        header = signing.signature_header(["s1"], NOW - skew, BODY)
        assert signing.verify(header, BODY, secrets=["s1"], now=NOW) == NOW - skew

    def test_uppercase_hex_is_accepted(self) -> None:
        header = f"t={NOW},v1={signing.sign('s1', NOW, BODY).upper()}"
        assert signing.verify(header, BODY, secrets=["s1"], now=NOW) == NOW

    def test_unknown_schemes_are_ignored(self) -> None:
        header = signing.signature_header(["s1"], NOW, BODY) + ",v2=abc"
        assert signing.verify(header, BODY, secrets=["s1"], now=NOW) == NOW


class TestParseHeader:
    @pytest.mark.parametrize(
        "header",
        [
            None,
            "",
            "garbage",
            f"t={NOW}",
            "v1=" + "a" * 64,
            f"t=abc,v1={'a' * 64}",
            f"t={NOW},v1=short",
            f"t={NOW},t={NOW},v1={'a' * 64}",
            f"t=-5,v1={'a' * 64}",
            "t=" + "9" * 40 + ",v1=" + "a" * 64,
            f"t={NOW}," + ",".join(["v1=" + "a" * 64] * 9),
            "x" * 5000,
        ],
    )
    def test_malformed_headers_are_bad_signatures(self, header: str | None) -> None:
        with pytest.raises(SignatureError):
            signing.parse_header(header)

    def test_whitespace_around_pairs_is_tolerated(self) -> None:
        parsed = signing.parse_header(f" t={NOW} , v1={'A' * 64} ")
        assert parsed.timestamp == NOW
        assert parsed.signatures == ("a" * 64,)
