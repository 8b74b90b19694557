"""Ops test helpers: staff of every role, API keys per role, and a logged-in console client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from app.core.db import unit_of_work
from app.ops import service
from app.ops.constants import CSRF_HEADER, Role
from app.ops.schemas import ApiKeyCreate, StaffCreate

PASSWORD = "correct horse battery staple"
ROLES = [Role.VIEWER, Role.OPERATOR, Role.APPROVER, Role.ADMIN]


@dataclass
class Staff:
    ids: dict[str, int]
    keys: dict[Role, str]


async def add_staff(app: FastAPI, username: str, role: Role) -> int:
    async with unit_of_work(app.state.sessionmaker) as session:
        data = StaffCreate(username=username, display_name=username, password=PASSWORD, role=role)
        user = await service.create_staff(
            session, actor=service.CLI_PRINCIPAL, data=data, now=app.state.clock.now()
        )
        return user.id


@pytest.fixture
async def staff(app: FastAPI) -> Staff:
    """viewer, operator, approver, approver2, admin (password PASSWORD) and a key per role."""
    ids = {role.value: await add_staff(app, role.value, role) for role in ROLES}
    ids["approver2"] = await add_staff(app, "approver2", Role.APPROVER)
    keys = {}
    async with unit_of_work(app.state.sessionmaker) as session:
        for role in ROLES:
            _, raw = await service.create_api_key(
                session,
                actor=service.CLI_PRINCIPAL,
                data=ApiKeyCreate(name=f"{role.value}-key", role=role),
                now=app.state.clock.now(),
            )
            keys[role] = raw
    return Staff(ids=ids, keys=keys)


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> str:
    """Log in like the login page does; returns the session's CSRF token."""
    token = (await client.get("/api/v1/ops/session/csrf")).json()["csrf_token"]
    response = await client.post(
        "/api/v1/ops/session",
        json={"username": username, "password": password},
        headers={CSRF_HEADER: token},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


@pytest.fixture
async def console_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second cookie jar on the same app (another browser)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
