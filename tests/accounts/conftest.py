"""Fixtures of the binding tests (shared with the account-center tests)."""

from tests.accounts.helpers import clock, h5_app  # noqa: F401 - pytest fixtures
