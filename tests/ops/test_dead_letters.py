"""Dead letters in the ops API: the list (viewer, masked, from PostgreSQL), re-drive of one or
all (operator, audited)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.core.db import unit_of_work
from app.ops.constants import API_KEY_HEADER, Role
from app.push.constants import DEAD_LETTER_KEY
from app.push.models import Alert, Delivery
from tests.ops.conftest import Staff
from tests.push.conftest import add_send_outcome

API = "/api/v1/ops"
FAILED_AT = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


async def seed(app: FastAPI) -> dict[str, int]:
    """One dead-lettered delivery (as the worker leaves it), one failed for good, one sent."""
    ids: dict[str, int] = {}
    async with unit_of_work(app.state.sessionmaker) as session:
        alert = Alert(type="ipo_result", severity="transactional", payload={})
        session.add(alert)
        await session.flush()
        for name, status, errcode, detail in (
            ("dead", "failed", 40037, "configuration error: dead-lettered"),
            ("gone", "failed", 43004, "permanent error"),
            ("sent", "sent", None, None),
        ):
            ids[name] = await add_send_outcome(
                session,
                alert_id=alert.id,
                openid=f"oDeadLetter{name}0001",
                status=status,
                at=FAILED_AT,
                errcode=errcode,
                detail=detail,
                template_id="TPL_IPO",
            )
    return ids


def key(staff: Staff, role: Role) -> dict[str, str]:
    return {API_KEY_HEADER: staff.keys[role]}


async def status_of(app: FastAPI, delivery_id: int) -> str:
    async with app.state.sessionmaker() as session:
        return str(await session.scalar(select(Delivery.status).where(Delivery.id == delivery_id)))


async def test_viewers_see_the_dead_letters_masked_with_their_error(
    app: FastAPI, client: httpx.AsyncClient, staff: Staff
) -> None:
    ids = await seed(app)
    body = (await client.get(f"{API}/dead-letters", headers=key(staff, Role.VIEWER))).json()
    assert body["dead_letters"] == 1
    assert body["redis_list"] == 0  # the list lives in Redis; PostgreSQL is what is shown
    [item] = body["items"]
    assert item["delivery_id"] == ids["dead"]
    assert (item["alert_type"], item["template_id"], item["errcode"]) == (
        "ipo_result",
        "TPL_IPO",
        40037,
    )
    assert item["attempts"] == 1
    assert item["error"] == "errcode 40037"
    assert item["failed_at"].startswith("2026-01-05T02:00")
    assert "oDeadLetterdead0001" not in str(body)
    dashboard = (await client.get(f"{API}/dashboard", headers=key(staff, Role.VIEWER))).json()
    assert dashboard["queue"]["dead_letters"] == 1


async def test_an_operator_redrives_one_dead_letter_audited(
    app: FastAPI, client: httpx.AsyncClient, staff: Staff
) -> None:
    ids = await seed(app)
    url = f"{API}/dead-letters/{ids['dead']}/redrive"
    assert (await client.post(url, headers=key(staff, Role.VIEWER))).status_code == 403

    response = await client.post(url, headers=key(staff, Role.OPERATOR))

    assert response.status_code == 200, response.text
    assert response.json() == {"redriven": 1}
    assert await status_of(app, ids["dead"]) == "pending"
    listed = (await client.get(f"{API}/dead-letters", headers=key(staff, Role.VIEWER))).json()
    assert listed["items"] == []
    audit = (await client.get(f"{API}/audit", headers=key(staff, Role.ADMIN))).json()
    entry = next(e for e in audit if e["action"] == "push.dead_letter.redrive")
    assert (entry["target_type"], entry["target_id"]) == ("delivery", str(ids["dead"]))
    assert entry["before"]["errcode"] == 40037
    assert entry["actor_name"] == "operator-key"
    again = await client.post(url, headers=key(staff, Role.OPERATOR))
    assert (again.status_code, again.json()["error"]) == (409, "push.not_a_dead_letter")


async def test_only_dead_letters_redrive_one_by_one(
    app: FastAPI, client: httpx.AsyncClient, staff: Staff
) -> None:
    ids = await seed(app)
    for name in ("gone", "sent"):
        response = await client.post(
            f"{API}/dead-letters/{ids[name]}/redrive", headers=key(staff, Role.OPERATOR)
        )
        assert (response.status_code, response.json()["error"]) == (409, "push.not_a_dead_letter")
    missing = await client.post(
        f"{API}/dead-letters/987654/redrive", headers=key(staff, Role.OPERATOR)
    )
    assert missing.status_code == 404
    assert await status_of(app, ids["gone"]) == "failed"


async def test_redrive_all_reads_postgresql_even_when_the_redis_list_is_empty(
    app: FastAPI, client: httpx.AsyncClient, staff: Staff
) -> None:
    ids = await seed(app)
    assert await app.state.redis.llen(DEAD_LETTER_KEY) == 0
    response = await client.post(f"{API}/dead-letters/redrive", headers=key(staff, Role.OPERATOR))
    assert response.json() == {"redriven": 1}
    assert await status_of(app, ids["dead"]) == "pending"
    assert await status_of(app, ids["gone"]) == "failed"
