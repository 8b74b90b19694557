"""Tracked links: redirects with channel and fan reference, recorded clicks, forged refs."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.campaigns import links
from app.campaigns.models import ChannelTouch, Person
from app.core.db import unit_of_work
from app.ops.constants import Role
from tests.campaigns.conftest import make_channel
from tests.content.ops_keys import api_key_headers

FAN = "oFanLinks0000000000000000001"
OPS = "/api/v1/ops/campaigns"


async def create_link(app: FastAPI, client: httpx.AsyncClient, target_url: str) -> dict:  # type: ignore[type-arg]
    async with unit_of_work(app.state.sessionmaker) as session:
        await make_channel(session, "wechat-menu")
    client.headers.update(await api_key_headers(app, Role.OPERATOR))
    response = await client.post(
        f"{OPS}/links",
        json={"channel": "wechat-menu", "target": "open_account", "target_url": target_url},
    )
    assert response.status_code == 201
    return dict(response.json())


def secret(app: FastAPI) -> str:
    return str(app.state.settings.secret_key.get_secret_value())


class TestFanRef:
    def test_round_trip_and_forgery(self) -> None:
        ref = links.fan_ref("s3cret", FAN)
        assert links.read_fan_ref("s3cret", ref) == FAN
        assert links.read_fan_ref("other", ref) is None
        encoded, _, signature = ref.partition(".")
        assert links.read_fan_ref("s3cret", f"{encoded}x.{signature}") is None
        assert links.read_fan_ref("s3cret", None) is None
        assert links.read_fan_ref("s3cret", "no-dot") is None


class TestRedirect:
    async def test_anonymous_click_redirects_with_the_channel(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        link = await create_link(app, client, "https://open.example.com/start?src=wx#top")
        assert link["url"] == f"http://testserver/t/{link['code']}"

        response = await client.get(f"/t/{link['code']}")

        assert response.status_code == 302
        target = urlsplit(response.headers["location"])
        assert (target.netloc, target.path, target.fragment) == (
            "open.example.com",
            "/start",
            "top",
        )
        assert parse_qs(target.query) == {"src": ["wx"], "wxb_channel": ["wechat-menu"]}
        async with app.state.sessionmaker() as session:
            [touch] = list(await session.scalars(select(ChannelTouch)))
        assert (touch.kind, touch.openid) == ("link_click", None)

    async def test_a_fans_link_carries_their_reference_and_touches_them(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        link = await create_link(app, client, "https://app.example.com/download")
        url = links.link_url("http://testserver", link["code"], secret=secret(app), openid=FAN)

        response = await client.get(url)

        query = parse_qs(urlsplit(response.headers["location"]).query)
        assert links.read_fan_ref(secret(app), query["wxb_ref"][0]) == FAN
        async with app.state.sessionmaker() as session:
            person = await session.scalar(select(Person).where(Person.openid == FAN))
            touch = await session.scalar(select(ChannelTouch))
        assert person is not None
        assert person.first_channel_id is not None
        assert touch is not None
        assert touch.openid == FAN

    async def test_a_forged_reference_is_ignored_not_trusted(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        link = await create_link(app, client, "https://app.example.com/download")
        forged = links.fan_ref("not-our-secret", FAN)

        response = await client.get(f"/t/{link['code']}", params={"f": forged})

        assert response.status_code == 302
        assert "wxb_ref" not in response.headers["location"]
        async with app.state.sessionmaker() as session:
            assert await session.scalar(select(Person)) is None

    async def test_unknown_codes_are_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/t/doesnotexist")
        assert response.status_code == 404
        assert response.json()["error"] == "campaigns.link_not_found"

    async def test_targets_must_be_absolute_http_urls(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        async with unit_of_work(app.state.sessionmaker) as session:
            await make_channel(session, "bad-target")
        client.headers.update(await api_key_headers(app, Role.OPERATOR))
        for url in ("javascript:alert(1)", "//evil.example.com/x", "/relative/path"):
            body = {"channel": "bad-target", "target": "other", "target_url": url}
            response = await client.post(f"{OPS}/links", json=body)
            assert response.status_code == 400, url
