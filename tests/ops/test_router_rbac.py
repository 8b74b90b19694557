"""RBAC over every ops endpoint: a table of routes × roles generated from the app's own routes.

Every route under /api/v1/ops (any feature's), and every other route guarded by
app.ops.dependencies, is called anonymously and with an API key of each role. A new endpoint is
covered automatically; one under /api/v1/ops without a role check fails this test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.main import create_app
from app.ops.constants import API_KEY_HEADER, ROLE_RANK, Role
from app.ops.dependencies import required_role_for
from tests.conftest import make_settings
from tests.ops.conftest import ROLES, Staff

# The only ops endpoints anyone may call: the login form's CSRF token and the login itself.
PUBLIC = {("GET", "/api/v1/ops/session/csrf"), ("POST", "/api/v1/ops/session")}
OPS_PREFIX = "/api/v1/ops"


def _required(dependant: Dependant, method: str) -> Role | None:
    found = [required_role_for(d.call, method) for d in _walk(dependant)]
    roles = [r for r in found if r is not None]
    return max(roles, key=lambda r: ROLE_RANK[r]) if roles else None


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    for dep in dependant.dependencies:
        yield dep
        yield from _walk(dep)


def _endpoints(app: FastAPI) -> Iterator[tuple[str, set[str], Dependant]]:
    """(path, methods, dependant with router-level dependencies) of every API route.

    FastAPI ≥ 0.160 keeps included routers lazily: their effective routes (full path, the
    include_router(dependencies=...)) live in route contexts, not in `app.routes`.
    """
    iterate = getattr(fastapi_routing, "_iter_routes_with_context", None)
    if iterate is None:  # older FastAPI: app.routes is already flat
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield route.path, set(route.methods), route.dependant
        return
    for route, context in iterate(app.routes):
        if context is not None and context.dependant is not None:
            yield context.path, set(context.methods), context.dependant
        elif isinstance(route, APIRoute):
            yield route.path, set(route.methods), route.dependant


def _table(app: FastAPI) -> list[tuple[str, str, Role | None]]:
    rows = []
    for path, methods, dependant in _endpoints(app):
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            role = _required(dependant, method)
            if path.startswith(OPS_PREFIX) or role is not None:
                rows.append((method, path, role))
    return rows


TABLE = _table(create_app(make_settings(mount_simulator=False)))


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "987654", path)  # no such row: nothing is changed


def test_the_table_covers_the_ops_api_and_the_push_status_routes() -> None:
    paths = {p for _, p, _ in TABLE}
    assert "/api/v1/ops/pushes/{draft_id}/approve" in paths
    assert "/api/v1/alerts/{alert_id}/status" in paths
    assert "/api/v1/deliveries/{delivery_id}" in paths
    assert len(TABLE) >= 30


@pytest.mark.parametrize(("method", "path", "role"), TABLE, ids=[f"{m} {p}" for m, p, _ in TABLE])
def test_every_ops_route_declares_a_role(method: str, path: str, role: Role | None) -> None:
    assert role is not None or (method, path) in PUBLIC, f"{method} {path} has no role check"


@pytest.fixture
async def raw_client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c  # type: ignore[misc]


GUARDED = [row for row in TABLE if row[2] is not None]


async def _check_route(
    client: httpx.AsyncClient, staff: Staff, method: str, path: str, required: Role
) -> list[str]:
    url = _concrete(path)
    body = {} if method in ("POST", "PUT", "PATCH") else None
    problems = []
    anonymous = await client.request(method, url, json=body)
    if anonymous.status_code != 401 or _error(anonymous) != "ops.unauthenticated":
        problems.append(f"anonymous got {anonymous.status_code}")
    for role in ROLES:
        response = await client.request(
            method, url, json=body, headers={API_KEY_HEADER: staff.keys[role]}
        )
        denied = response.status_code == 403 and _error(response) == "ops.role_required"
        if ROLE_RANK[role] < ROLE_RANK[required] and not denied:
            problems.append(f"{role} (below {required}) got {response.status_code}")
        if ROLE_RANK[role] >= ROLE_RANK[required] and (denied or response.status_code == 401):
            problems.append(f"{role} (at least {required}) was refused")
    return [f"{method} {path}: {p}" for p in problems]


async def test_routes_admit_exactly_the_roles_at_or_above_their_own(
    raw_client: httpx.AsyncClient, staff: Staff
) -> None:
    """The table: every guarded route × (anonymous, viewer, operator, approver, admin)."""
    problems: list[str] = []
    for method, path, required in GUARDED:
        assert required is not None
        problems += await _check_route(raw_client, staff, method, path, required)
    assert problems == []


def _error(response: httpx.Response) -> str | None:
    try:
        return response.json().get("error")
    except ValueError:
        return None


async def test_a_revoked_or_malformed_key_is_unauthenticated(
    raw_client: httpx.AsyncClient, staff: Staff
) -> None:
    admin_key = staff.keys[Role.ADMIN]
    keys = (
        await raw_client.get("/api/v1/ops/api-keys", headers={API_KEY_HEADER: admin_key})
    ).json()
    viewer_key_id = next(k["id"] for k in keys if k["name"] == "viewer-key")
    revoked = await raw_client.delete(
        f"/api/v1/ops/api-keys/{viewer_key_id}", headers={API_KEY_HEADER: admin_key}
    )
    assert revoked.status_code == 200
    for key in (staff.keys[Role.VIEWER], admin_key[:-2] + "xx", "wxbk_nope", "garbage"):
        response = await raw_client.get("/api/v1/ops/me", headers={API_KEY_HEADER: key})
        assert response.status_code == 401


async def test_console_pages_send_anonymous_visitors_to_the_login_page(
    raw_client: httpx.AsyncClient, staff: Staff
) -> None:
    for page in ("", "/dashboard", "/pushes", "/account", "/fans", "/audit", "/staff"):
        response = await raw_client.get(f"/console{page}")
        assert response.status_code == 303
        assert response.headers["location"] == "/console/login"
        shown = await raw_client.get(
            f"/console{page}", headers={API_KEY_HEADER: staff.keys[Role.VIEWER]}
        )
        assert shown.status_code in (200, 303)
    login = await raw_client.get("/console/login")
    assert login.status_code == 200
    assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
