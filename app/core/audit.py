"""The audit-trail port: how a feature records a staff change without knowing who keeps the log.

The ops feature implements it (`app.ops.dependencies.AuditTrailDep`: the hash-chained
`audit_log`, written in the request's own transaction); other features take it as a keyword
argument, so their services stay free of ops' tables and of HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class AuditTrail(Protocol):
    async def record(
        self,
        action: str,
        *,
        target_type: str,
        target_id: object = None,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one entry (who acted comes from the trail itself) in the caller's transaction."""
        ...
