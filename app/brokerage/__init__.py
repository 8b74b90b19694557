"""Brokerage counter adapter: gateway Protocol, httpx client, in-memory fake, demo data."""
