"""Staff password hashing: argon2id (argon2-cffi, RFC 9106 parameters) in PHC string form."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.ops.constants import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from app.ops.errors import WeakPasswordError

_HASHER = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4


def check_password_policy(password: str, *, username: str) -> None:
    """Length 12..256 and not the username; long passphrases beat composition rules."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise WeakPasswordError(
            f"passwords need {MIN_PASSWORD_LENGTH}..{MAX_PASSWORD_LENGTH} characters"
        )
    if username.casefold() in password.casefold():
        raise WeakPasswordError("the password must not contain the username")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Constant-time check; a malformed stored hash counts as a mismatch, never an error."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True after the parameters were raised: the next successful login re-hashes."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """Verified against for unknown usernames so their timing matches real accounts."""
    return _HASHER.hash("not-a-real-password-for-timing")
