"""Push services: deliveries, the CS enqueue used by the webhook, status and history."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from app.core.db import unit_of_work
from app.ops import service as ops_service
from app.ops.constants import Role
from app.ops.schemas import ApiKeyCreate
from app.push import service
from app.push.errors import AlertNotFoundError, DeliveryNotFoundError, InvalidSeverityError
from app.push.models import CsMessage, Delivery
from app.push.worker import run_once
from tests.push.conftest import add_alert, api_error, relay


class BrokenRedis:
    def pipeline(self, transaction: bool = False):
        raise RedisConnectionError("down")


class TestCreateDeliveries:
    async def test_replaying_an_alert_adds_no_second_delivery(self, session):
        alert = await service.create_alert(
            session, alert_type="trade_fill", severity="transactional", payload={}
        )
        recipients = [("o1", {"thing1": "x"}), ("o2", {"thing1": "y"})]
        assert await service.create_deliveries(
            session, alert=alert, template_id="T", recipients=recipients
        ) == 2  # fmt: skip
        assert await service.create_deliveries(
            session, alert=alert, template_id="T", recipients=recipients
        ) == 0  # fmt: skip

    async def test_a_fan_listed_twice_gets_the_first_row_only(self, session):
        alert = await service.create_alert(
            session, alert_type="trade_fill", severity="transactional", payload={}
        )
        recipients = [("o1", {"thing1": "first"}), ("o2", {"thing1": "y"}), ("o1", {"thing1": "2"})]
        assert await service.create_deliveries(
            session, alert=alert, template_id="T", recipients=recipients
        ) == 2  # fmt: skip
        rows = (await session.scalars(select(Delivery).where(Delivery.alert_id == alert.id))).all()
        assert sorted((r.openid, r.data["thing1"]) for r in rows) == [("o1", "first"), ("o2", "y")]

    async def test_a_replay_of_a_committed_alert_adds_only_new_fans(self, sessionmaker):
        async with unit_of_work(sessionmaker) as session:
            alert = await service.create_alert(
                session, alert_type="trade_fill", severity="transactional", payload={}
            )
            await service.create_deliveries(
                session, alert=alert, template_id="T", recipients=[("o1", {"thing1": "x"})]
            )
        async with unit_of_work(sessionmaker) as session:
            again = [("o1", {"thing1": "x"}), ("o2", {"thing1": "y"})]
            added = await service.create_deliveries(
                session, alert=alert, template_id="T", recipients=again
            )
            status = await service.get_alert_status(session, alert.id)
        assert (added, status.total) == (1, 2)

    async def test_unknown_severity_is_refused(self, session):
        with pytest.raises(InvalidSeverityError):
            await service.create_alert(session, alert_type="x", severity="urgent", payload={})


class TestEnqueueCustomerServiceReply:
    async def test_commits_then_queues_the_reply(self, ctx):
        cs_id = await service.enqueue_customer_service_reply(
            ctx.sessionmaker, ctx.redis, openid="o1", message={"msgtype": "text"}, reason="late"
        )
        async with ctx.sessionmaker() as session:
            row = await session.get(CsMessage, cs_id)
        assert (row.status, row.reason) == ("queued", "late")
        assert await ctx.redis.xlen("push:stream:cs") == 1

    async def test_redis_down_leaves_the_reply_for_the_relay(self, ctx, fake_wechat):
        cs_id = await service.enqueue_customer_service_reply(
            ctx.sessionmaker, BrokenRedis(), openid="o1", message={"msgtype": "text"}, reason="r"
        )
        async with ctx.sessionmaker() as session:
            assert (await session.get(CsMessage, cs_id)).status == "pending"
        await relay(ctx)
        await run_once(ctx)
        assert [m["openid"] for m in fake_wechat.custom] == ["o1"]


class TestStatusAndHistory:
    async def test_alert_counts_by_status(self, ctx, fake_wechat):
        fake_wechat.fail("bad", api_error(43004))
        alert_id, _ = await add_alert(ctx.sessionmaker, ["a", "b", "bad"])
        await relay(ctx)
        await run_once(ctx)
        async with ctx.sessionmaker() as session:
            status = await service.get_alert_status(session, alert_id)
        assert status.total == 3
        assert (status.counts["sent"], status.counts["failed"]) == (2, 1)
        assert status.counts["pending"] == 0

    async def test_delivery_history_masks_the_openid(self, ctx):
        _, [delivery_id] = await add_alert(ctx.sessionmaker, ["oAbCdEfGhIjKlMn"])
        await relay(ctx)
        await run_once(ctx)
        async with ctx.sessionmaker() as session:
            read = await service.get_delivery(session, delivery_id)
        assert read.openid == "oAbC***lMn"
        assert [(h.from_status, h.to_status) for h in read.history] == [("sending", "sent")]

    async def test_missing_rows_raise_not_found(self, session):
        with pytest.raises(AlertNotFoundError):
            await service.get_alert_status(session, 999)
        with pytest.raises(DeliveryNotFoundError):
            await service.get_delivery(session, 999)


@pytest.fixture
async def viewer(app, client):
    """The status API is staff-only (issue #8): a viewer API key on the test client."""
    async with unit_of_work(app.state.sessionmaker) as session:
        _, raw = await ops_service.create_api_key(
            session, actor=ops_service.CLI_PRINCIPAL,
            data=ApiKeyCreate(name="push-status", role=Role.VIEWER), now=app.state.clock.now(),
        )  # fmt: skip
    client.headers["X-Api-Key"] = raw
    return client


class TestRouter:
    async def test_status_routes_need_a_staff_key(self, client):
        response = await client.get("/api/v1/alerts/1/status")
        assert response.status_code == 401
        assert "error" in response.json()

    async def test_status_routes(self, viewer, app):
        client = viewer
        async with unit_of_work(app.state.sessionmaker) as session:
            alert = await service.create_alert(
                session, alert_type="ipo", severity="transactional", payload={}
            )
            await service.create_deliveries(
                session, alert=alert, template_id="T", recipients=[("o1", {})]
            )
            alert_id = alert.id
        response = await client.get(f"/api/v1/alerts/{alert_id}/status")
        assert response.status_code == 200
        assert response.json()["counts"]["pending"] == 1
        async with app.state.sessionmaker() as session:
            delivery_id = (await session.scalars(select(Delivery.id))).one()
        response = await client.get(f"/api/v1/deliveries/{delivery_id}")
        assert (response.status_code, response.json()["status"]) == (200, "pending")

    @pytest.mark.parametrize(
        ("path", "status"),
        [
            ("/api/v1/alerts/12345/status", 404),
            ("/api/v1/deliveries/12345", 404),
            ("/api/v1/deliveries/abc", 422),
            ("/api/v1/deliveries/99999999999999999999999", 422),
        ],
    )
    async def test_bad_ids_get_problem_bodies(self, viewer, path, status):
        response = await viewer.get(path)
        assert response.status_code == status
        assert "error" in response.json()
