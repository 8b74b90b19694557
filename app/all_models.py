"""Imports every feature's models so Alembic and tests see all tables."""

# ruff: noqa: F401
import app.accounts.models
import app.alerts.models
import app.campaigns.models
import app.content.models
import app.fans.models
import app.ops.models
import app.push.models
import app.webhook.models
