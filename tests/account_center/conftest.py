"""Fixtures of the account-center tests (the binding tests' app and clock)."""

from tests.accounts.helpers import clock, h5_app  # noqa: F401 - pytest fixtures
