"""Four-eyes for menu publication (the success path runs in the browser test)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.content import service as content_service
from app.core.db import unit_of_work
from app.ops.constants import CSRF_HEADER
from tests.ops.conftest import Staff, login

MENU = {"button": [{"type": "click", "name": "账户", "key": "ACCOUNT"}]}


async def draft_version(app: FastAPI) -> int:
    async with unit_of_work(app.state.sessionmaker) as session:
        row = await content_service.draft_menu_version(
            session,
            definition=MENU,
            created_by="t",
            base_url="http://testserver",
            now=app.state.clock.now(),
        )
        return row.version


async def test_the_requester_cannot_approve_and_an_unknown_version_is_refused(
    app: FastAPI, client: httpx.AsyncClient, console_client: httpx.AsyncClient, staff: Staff
) -> None:
    version = await draft_version(app)
    csrf = await login(client, "approver")
    unknown = await client.post(
        "/api/v1/ops/menu-publications", json={"menu_version": 999}, headers={CSRF_HEADER: csrf}
    )
    assert unknown.status_code == 404
    created = await client.post(
        "/api/v1/ops/menu-publications", json={"menu_version": version}, headers={CSRF_HEADER: csrf}
    )
    assert created.status_code == 201
    request_id = created.json()["id"]
    own = await client.post(
        f"/api/v1/ops/menu-publications/{request_id}/approve", headers={CSRF_HEADER: csrf}
    )
    assert own.status_code == 403
    assert own.json()["error"] == "ops.four_eyes"
    other_csrf = await login(console_client, "approver2")
    rejected = await console_client.post(
        f"/api/v1/ops/menu-publications/{request_id}/reject", headers={CSRF_HEADER: other_csrf}
    )
    assert rejected.json()["status"] == "rejected"
    late = await console_client.post(
        f"/api/v1/ops/menu-publications/{request_id}/approve", headers={CSRF_HEADER: other_csrf}
    )
    assert late.status_code == 409
