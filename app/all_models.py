"""Imports every feature's models so Alembic and tests see all tables."""
