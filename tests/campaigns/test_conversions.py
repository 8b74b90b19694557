"""Signed conversion ingest: signature and Idempotency-Key, duplicates, and linking events to
fans through openid, fan reference, unionid, phone hash and account reference."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns import attribution, conversions, links
from app.campaigns.models import ConversionEvent, Person
from app.core.db import unit_of_work
from app.core.security import timestamped_signature_header
from tests.campaigns.conftest import T0, make_channel, record
from tests.conftest import make_settings

URL = "/api/v1/conversions"
SECRET = "test-ingest-secret"
FAN = "oFanConversion00000000000001"
PHONE = hashlib.sha256(b"13800138000").hexdigest()
FAN_SECRET = make_settings().secret_key.get_secret_value()


def event(event_id: str, kind: str = "account_opened", **ids: str) -> dict[str, Any]:
    return {"event_id": event_id, "kind": kind, "occurred_at": T0.isoformat(), **ids}


async def send(
    client: httpx.AsyncClient,
    app: FastAPI,
    events: list[dict[str, Any]],
    *,
    secret: str = SECRET,
    key: str | None = "k-1",
) -> httpx.Response:
    raw = json.dumps({"events": events}).encode()
    ts = int(app.state.clock.timestamp())
    headers = {"X-Broker-Signature": timestamped_signature_header([secret], ts, raw)}
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post(URL, content=raw, headers=headers)


class TestIngestApi:
    async def test_signed_events_are_accepted_and_replays_are_duplicates(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        batch = [event("e1", openid=FAN), event("e2", "app_activated", phone_hash=PHONE)]
        first = await send(client, app, batch)
        again = await send(client, app, batch, key="k-2")

        assert first.status_code == 202
        assert first.json() == {"accepted": 2, "duplicates": 0, "linked_to_fans": 1}
        assert again.json() == {"accepted": 0, "duplicates": 2, "linked_to_fans": 0}

    async def test_a_wrong_secret_is_401_and_stores_nothing(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        response = await send(client, app, [event("e1", openid=FAN)], secret="forged")
        assert response.status_code == 401
        assert response.json()["error"] == "campaigns.bad_signature"
        async with app.state.sessionmaker() as session:
            assert list(await session.scalars(select(ConversionEvent))) == []

    async def test_missing_idempotency_key_is_400(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        response = await send(client, app, [event("e1", openid=FAN)], key=None)
        assert response.status_code == 400

    @pytest.mark.parametrize(
        "bad",
        [
            event("e1"),  # no identifier at all
            event("e1", "followed", openid=FAN),  # follows come from WeChat only
            event("e1", phone_hash="13800138000"),  # a phone number, not its hash
            {**event("e1", openid=FAN), "occurred_at": "2026-03-01T02:00:00"},  # naive time
            event("e1", fan_ref="forged.ref"),  # a reference we did not sign
        ],
    )
    async def test_bad_events_are_400(
        self, app: FastAPI, client: httpx.AsyncClient, bad: dict[str, Any]
    ) -> None:
        response = await send(client, app, [bad])
        assert response.status_code == 400
        assert response.json()["error"] == "campaigns.invalid_conversion"

    async def test_a_body_that_is_not_json_is_400(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        raw = b"\xff{not json"
        ts = int(app.state.clock.timestamp())
        headers = {
            "X-Broker-Signature": timestamped_signature_header([SECRET], ts, raw),
            "Idempotency-Key": "k",
        }
        assert (await client.post(URL, content=raw, headers=headers)).status_code == 400


async def ingest(session: AsyncSession, *events: dict[str, Any]) -> conversions.ConversionsAccepted:
    body = json.dumps({"events": list(events)}).encode()
    return await conversions.ingest_conversions(session, body=body, secret=FAN_SECRET, now=T0)


async def persons(session: AsyncSession) -> list[Person]:
    return list(await session.scalars(select(Person).order_by(Person.id)))


class TestLinking:
    async def test_identifiers_meeting_in_one_event_merge_their_persons(
        self, session: AsyncSession
    ) -> None:
        await attribution.apply_inbound_records(session, [record(FAN, "subscribe")])
        await ingest(session, event("app-1", "app_activated", phone_hash=PHONE))
        assert len(await persons(session)) == 2  # the fan, and an unknown app user

        result = await ingest(session, event("acct-1", openid=FAN, phone_hash=PHONE))

        assert result.linked_to_fans == 1
        [person] = await persons(session)
        assert (person.openid, person.phone_hash) == (FAN, PHONE)
        kinds = {e.kind for e in await session.scalars(select(ConversionEvent))}
        assert kinds == {"followed", "app_activated", "account_opened"}

    async def test_a_fan_reference_from_a_tracked_link_names_the_fan(
        self, session: AsyncSession
    ) -> None:
        ref = links.fan_ref(FAN_SECRET, FAN)
        result = await ingest(session, event("acct-2", fan_ref=ref, account_ref="C0001"))
        assert result.linked_to_fans == 1
        [person] = await persons(session)
        assert (person.openid, person.account_ref) == (FAN, "C0001")

    async def test_later_events_find_the_person_by_any_known_identifier(
        self, session: AsyncSession
    ) -> None:
        await ingest(session, event("a", "app_activated", unionid="uUnion0001", phone_hash=PHONE))
        await ingest(session, event("b", "first_trade", phone_hash=PHONE, account_ref="C0002"))
        [person] = await persons(session)
        assert (person.unionid, person.account_ref) == ("uUnion0001", "C0002")

    async def test_conflicting_identifiers_are_not_merged(self, session: AsyncSession) -> None:
        other = "oOtherFan000000000000000002"
        await ingest(session, event("x1", "app_activated", openid=FAN, unionid="uUnionA001"))
        await ingest(session, event("x2", "app_activated", openid=other, unionid="uUnionB001"))

        await ingest(session, event("x3", openid=FAN, unionid="uUnionB001"))

        assert [(p.openid, p.unionid) for p in await persons(session)] == [
            (FAN, "uUnionA001"),
            (other, "uUnionB001"),
        ]

    async def test_a_conversion_with_a_channel_is_a_touch(self, session: AsyncSession) -> None:
        await make_channel(session, "app-store")
        await ingest(session, event("c1", "app_activated", phone_hash=PHONE, channel="app-store"))
        [person] = await persons(session)
        assert person.first_channel_id is not None
        assert person.first_touch_at == T0


class TestConcurrentIngest:
    async def test_two_requests_for_one_new_person_end_in_one_person(
        self, app: FastAPI, truncate_tables: None
    ) -> None:
        import asyncio

        async def one(event_id: str) -> None:
            async with unit_of_work(app.state.sessionmaker) as session:
                await ingest(session, event(event_id, "app_activated", phone_hash=PHONE))

        await asyncio.gather(one("r1"), one("r2"))

        async with app.state.sessionmaker() as session:
            assert len(await persons(session)) == 1
            assert len(list(await session.scalars(select(ConversionEvent)))) == 2
