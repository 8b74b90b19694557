"""Ops console and ops API: staff, roles, API keys, audit log, push approval, dashboard."""
