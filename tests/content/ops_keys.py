"""Ops API keys for feature tests whose routes sit behind `require_staff()` (issue #8), and the
audit entries those routes write."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.core.db import unit_of_work
from app.ops import service as ops_service
from app.ops.constants import Role
from app.ops.schemas import ApiKeyCreate, Principal


async def api_key_headers(app: FastAPI, role: Role = Role.OPERATOR) -> dict[str, str]:
    """`X-Api-Key` headers of a fresh key with `role` (created as the CLI would)."""
    actor = Principal(ref="cli:test", name="test", role=Role.ADMIN, via="cli")
    async with unit_of_work(app.state.sessionmaker) as session:
        _, raw = await ops_service.create_api_key(
            session,
            actor=actor,
            data=ApiKeyCreate(name=f"test-{role.value}", role=role),
            now=app.state.clock.now(),
        )
    return {"X-Api-Key": raw}


async def audit_entries(app: FastAPI, target_type: str) -> list[dict]:  # type: ignore[type-arg]
    admin = await api_key_headers(app, Role.ADMIN)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        response = await c.get(
            "/api/v1/ops/audit", params={"target_type": target_type}, headers=admin
        )
    assert response.status_code == 200, response.text
    return list(reversed(response.json()))  # oldest first
