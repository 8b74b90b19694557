"""The signed ingest API over HTTP: signatures, idempotency, validation, fan-out."""

from __future__ import annotations

import json

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from app.accounts.models import AccountBinding
from app.core.db import unit_of_work
from app.core.time import FakeClock
from tests.alerts.conftest import PostJson, add_fans, delivery_rows, template_of
from tests.alerts.samples import alert_body, encode, signed_headers

FANS = ["oFanA00001", "oFanB00002", "oFanC00003"]
TARGET = {"kind": "openids", "openids": FANS}


async def _seed(app: FastAPI, openids: list[str] = FANS) -> None:
    async with unit_of_work(app.state.sessionmaker) as session:
        await add_fans(session, openids)


class TestSignature:
    async def test_signed_alert_is_accepted_and_fanned_out(
        self, alerts_app: FastAPI, post_signed: PostJson
    ) -> None:
        await _seed(alerts_app)
        resp = await post_signed("/api/v1/alerts", alert_body("trade_fill", TARGET))
        assert resp.status_code == 201, resp.text
        body = resp.json()
        assert body["recipients"] == 3
        assert (body["type"], body["severity"]) == ("trade_fill", "transactional")
        async with unit_of_work(alerts_app.state.sessionmaker) as session:
            rows = await delivery_rows(session, body["alert_id"])
            template_id, data, url = await template_of(session, rows[0])
        assert [r.openid for r in rows] == sorted(FANS)
        assert {r.status for r in rows} == {"pending"}
        assert template_id == "wxb_trade_fill_v1"
        assert data is not None
        assert data["thing2"] == "贵州茅台(600519)"
        assert url == "http://testserver/h5/account/orders"

    async def test_rotated_secret_is_accepted(
        self, alerts_app: FastAPI, post_signed: PostJson
    ) -> None:
        alerts_app.state.settings = alerts_app.state.settings.model_copy(
            update={"ingest_hmac_secrets": SecretStr("new-secret,test-ingest-secret")}
        )
        resp = await post_signed(
            "/api/v1/alerts", alert_body("announcement", TARGET), secrets=["new-secret"]
        )
        assert resp.status_code == 201, resp.text

    async def test_missing_signature_is_401(self, api: httpx.AsyncClient) -> None:
        raw = encode(alert_body("trade_fill", TARGET))
        resp = await api.post("/api/v1/alerts", content=raw, headers={"Idempotency-Key": "k"})
        assert resp.status_code == 401
        assert resp.json()["error"] == "alerts.bad_signature"

    async def test_tampered_body_is_401(self, api: httpx.AsyncClient, clock: FakeClock) -> None:
        raw = encode(alert_body("trade_fill", TARGET))
        headers = signed_headers(raw, ts=int(clock.timestamp()))
        resp = await api.post(
            "/api/v1/alerts", content=raw.replace(b"100", b"900"), headers=headers
        )
        assert resp.status_code == 401

    async def test_stale_signature_is_401(self, api: httpx.AsyncClient, clock: FakeClock) -> None:
        raw = encode(alert_body("trade_fill", TARGET))
        headers = signed_headers(raw, ts=int(clock.timestamp()) - 301)
        resp = await api.post("/api/v1/alerts", content=raw, headers=headers)
        assert resp.status_code == 401
        assert resp.json()["error"] == "alerts.stale_signature"

    async def test_wrong_secret_is_401(self, api: httpx.AsyncClient, clock: FakeClock) -> None:
        raw = encode(alert_body("trade_fill", TARGET))
        headers = signed_headers(raw, ts=int(clock.timestamp()), secrets=["guess"])
        assert (await api.post("/api/v1/alerts", content=raw, headers=headers)).status_code == 401

    async def test_oversized_body_is_413(self, post_signed: PostJson) -> None:
        resp = await post_signed("/api/v1/alerts", b"{" + b" " * (1024 * 1024 + 1) + b"}")
        assert resp.status_code == 413


class TestIdempotency:
    async def test_missing_key_is_400(self, post_signed: PostJson) -> None:
        resp = await post_signed("/api/v1/alerts", alert_body("trade_fill", TARGET), key=None)
        assert resp.status_code == 400
        assert resp.json()["error"] == "alerts.idempotency_key_required"

    async def test_same_key_and_body_replays_the_first_result(
        self, alerts_app: FastAPI, post_signed: PostJson
    ) -> None:
        await _seed(alerts_app)
        body = alert_body("trade_fill", TARGET)
        first = await post_signed("/api/v1/alerts", body, key="same")
        second = await post_signed("/api/v1/alerts", body, key="same")
        assert (first.status_code, second.status_code) == (201, 201)
        assert second.json() == first.json()
        assert second.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        async with unit_of_work(alerts_app.state.sessionmaker) as session:
            assert len(await delivery_rows(session, first.json()["alert_id"])) == 3

    async def test_same_key_with_another_body_is_409(self, post_signed: PostJson) -> None:
        first = await post_signed("/api/v1/alerts", alert_body("trade_fill", TARGET), key="k")
        other = await post_signed("/api/v1/alerts", alert_body("dividend", TARGET), key="k")
        assert first.status_code == 201
        assert other.status_code == 409
        assert other.json()["error"] == "alerts.idempotency_key_reused"

    async def test_same_key_on_another_endpoint_is_409(self, post_signed: PostJson) -> None:
        body = {"alerts": [alert_body("trade_fill", TARGET)]}
        assert (await post_signed("/api/v1/alerts:batch", body, key="k")).status_code == 201
        assert (await post_signed("/api/v1/alerts", body, key="k")).status_code == 409

    async def test_key_expires_after_its_retention(
        self, post_signed: PostJson, clock: FakeClock
    ) -> None:
        await post_signed("/api/v1/alerts", alert_body("trade_fill", TARGET), key="k")
        clock.advance(24 * 3600 + 1)
        again = await post_signed("/api/v1/alerts", alert_body("dividend", TARGET), key="k")
        assert again.status_code == 201
        assert again.json()["type"] == "dividend"

    async def test_rejected_request_does_not_burn_the_key(self, post_signed: PostJson) -> None:
        bad = alert_body("trade_fill", TARGET)
        bad["payload"] = {**bad["payload"], "price": "-1"}
        assert (await post_signed("/api/v1/alerts", bad, key="k")).status_code == 422
        good = alert_body("trade_fill", TARGET)
        assert (await post_signed("/api/v1/alerts", good, key="k")).status_code == 201


class TestValidation:
    async def test_invalid_json_is_422_problem(self, post_signed: PostJson) -> None:
        resp = await post_signed("/api/v1/alerts", b"{not json")
        assert resp.status_code == 422
        assert resp.json()["error"] == "alerts.malformed"

    async def test_invalid_payload_names_the_field(self, post_signed: PostJson) -> None:
        body = alert_body("trade_fill", TARGET)
        body["payload"] = {**body["payload"], "quantity": 0}
        resp = await post_signed("/api/v1/alerts", body)
        assert resp.status_code == 422
        assert "quantity" in resp.json()["detail"]

    async def test_non_utf8_body_is_422(self, post_signed: PostJson) -> None:
        assert (await post_signed("/api/v1/alerts", b"\xff\xfe\x00")).status_code == 422

    async def test_customer_target_reaches_the_customers_bound_fans_only(
        self, alerts_app: FastAPI, post_signed: PostJson, clock: FakeClock
    ) -> None:
        await _seed(alerts_app)
        async with unit_of_work(alerts_app.state.sessionmaker) as session:
            for openid, client_id in ((FANS[0], "C1"), (FANS[1], "C2")):
                session.add(
                    AccountBinding(
                        openid=openid,
                        client_id=client_id,
                        account_id=f"A-{client_id}",
                        account_no_masked="****1001",
                        account_type="cash",
                        is_default=True,
                        consent_version="v",
                        consented_at=clock.now(),
                        bound_at=clock.now(),
                    )
                )
        body = alert_body("trade_fill", {"kind": "customer", "client_id": "C1"})
        resp = await post_signed("/api/v1/alerts", body)
        assert resp.status_code == 201, resp.text
        async with unit_of_work(alerts_app.state.sessionmaker) as session:
            rows = await delivery_rows(session, resp.json()["alert_id"])
        assert [r.openid for r in rows] == [FANS[0]]

    async def test_json_array_body_is_422(self, post_signed: PostJson) -> None:
        assert (await post_signed("/api/v1/alerts", b"[1, 2]")).status_code == 422


class TestBatch:
    async def test_batch_fans_out_every_alert(
        self, alerts_app: FastAPI, post_signed: PostJson
    ) -> None:
        await _seed(alerts_app)
        body = {
            "alerts": [
                alert_body("trade_fill", TARGET),
                alert_body("security_login", {"kind": "openids", "openids": FANS[:1]}),
            ]
        }
        resp = await post_signed("/api/v1/alerts:batch", body)
        assert resp.status_code == 201, resp.text
        results = resp.json()["results"]
        assert [r["recipients"] for r in results] == [3, 1]
        assert [r["severity"] for r in results] == ["transactional", "critical"]

    async def test_one_bad_alert_rejects_the_whole_batch(self, post_signed: PostJson) -> None:
        bad = alert_body("trade_fill", TARGET)
        bad["payload"] = {**bad["payload"], "side": "hold"}
        resp = await post_signed("/api/v1/alerts:batch", {"alerts": [bad]})
        assert resp.status_code == 422
        assert "alerts.0" in resp.json()["detail"]


class TestBroadcastAndSegments:
    async def test_broadcast_reaches_only_opted_in_segment_members(
        self, alerts_app: FastAPI, post_signed: PostJson
    ) -> None:
        await _seed(alerts_app)
        seg = await post_signed(
            "/api/v1/segments/vip/members", {"openids": FANS[:2]}, method="PUT", key=None
        )
        assert seg.json() == {"segment": "vip", "members": 2}
        opt_in = await post_signed(
            f"/api/v1/fans/{FANS[0]}/preferences",
            {"categories": {"marketing": True}},
            method="PUT",
            key=None,
        )
        assert opt_in.json()["categories"]["marketing"] is True
        body = {"target": {"kind": "segment", "segment": "vip"}, "title": "新功能上线", "body": "x"}
        resp = await post_signed("/api/v1/broadcasts", body)
        assert resp.status_code == 201, resp.text
        assert resp.json()["severity"] == "marketing"
        async with unit_of_work(alerts_app.state.sessionmaker) as session:
            rows = await delivery_rows(session, resp.json()["alert_id"])
        assert [r.openid for r in rows] == [FANS[0]]


class TestFanApi:
    async def test_watchlist_put_get_delete(self, post_signed: PostJson) -> None:
        fan = FANS[0]
        put = await post_signed(
            f"/api/v1/fans/{fan}/watchlist/600519", {"above_price": "1800"}, method="PUT", key=None
        )
        assert put.status_code == 200, put.text
        assert put.json()[0]["security_code"] == "600519"
        got = await post_signed(f"/api/v1/fans/{fan}/watchlist", b"", method="GET", key=None)
        assert json.loads(got.text)[0]["above_price"] == "1800.0000"
        deleted = await post_signed(
            f"/api/v1/fans/{fan}/watchlist/600519", b"", method="DELETE", key=None
        )
        assert deleted.status_code == 204
        got = await post_signed(f"/api/v1/fans/{fan}/watchlist", b"", method="GET", key=None)
        assert got.json() == []

    async def test_fan_api_needs_a_signature(self, api: httpx.AsyncClient) -> None:
        resp = await api.get(f"/api/v1/fans/{FANS[0]}/preferences")
        assert resp.status_code == 401
