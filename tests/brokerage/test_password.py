"""Browser-style RSA-OAEP-256 password encryption and the counter's decryption."""

from __future__ import annotations

import base64

import pytest

from app.brokerage.password import PasswordCipherError, PasswordKeyPair, encrypt_password
from tests.brokerage.sandbox_helpers import shared_private_pem


@pytest.fixture(scope="module")
def keypair() -> PasswordKeyPair:
    return PasswordKeyPair.from_pem(shared_private_pem())


class TestPasswordCipher:
    def test_round_trip_including_non_ascii(self, keypair: PasswordKeyPair) -> None:
        cipher = encrypt_password(keypair.public_pem, "密码135246")
        assert keypair.decrypt(cipher) == "密码135246"

    def test_oaep_is_randomised(self, keypair: PasswordKeyPair) -> None:
        assert encrypt_password(keypair.public_pem, "1") != encrypt_password(
            keypair.public_pem, "1"
        )

    def test_another_key_cannot_decrypt(self, keypair: PasswordKeyPair) -> None:
        other = PasswordKeyPair.generate()
        with pytest.raises(PasswordCipherError):
            keypair.decrypt(encrypt_password(other.public_pem, "135246"))

    @pytest.mark.parametrize(
        "bad", ["", "not base64!", base64.b64encode(b"x" * 256).decode(), "A" * 5000]
    )
    def test_garbage_is_refused(self, keypair: PasswordKeyPair, bad: str) -> None:
        with pytest.raises(PasswordCipherError):
            keypair.decrypt(bad)

    def test_key_id_is_stable_for_a_key(self, keypair: PasswordKeyPair) -> None:
        assert PasswordKeyPair.from_pem(shared_private_pem()).key_id == keypair.key_id

    def test_not_a_pem(self) -> None:
        with pytest.raises(PasswordCipherError):
            encrypt_password("-----BEGIN NOTHING-----", "x")
