"""Request dependencies of the content ops API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

OPS_ACTOR_HEADER = "X-Ops-Actor"
DEFAULT_ACTOR = "ops-api"


def ops_actor(request: Request) -> str:
    """Who acts: the authenticated staff member once issue #8's auth sets
    `request.state.ops_actor`, else the `X-Ops-Actor` header (recorded, not trusted)."""
    actor = getattr(request.state, "ops_actor", None) or request.headers.get(OPS_ACTOR_HEADER)
    return str(actor or DEFAULT_ACTOR)[:64]


OpsActorDep = Annotated[str, Depends(ops_actor)]
