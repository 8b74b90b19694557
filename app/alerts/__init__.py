"""Alerts: signed ingest API, alert types and templates, fan preferences, watchlists, fan-out."""
