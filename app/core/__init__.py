"""Cross-cutting infrastructure: settings, database, Redis, logging, errors, security."""
