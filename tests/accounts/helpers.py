"""Test helpers for binding and the account center: the app wired to its mounted simulators.

`h5_app` is the real app (lifespan, every feature) whose shared HTTP client talks in-process
(ASGI) to the app itself, so the WeChat client reaches the mounted WeChat simulator (OAuth) and
the brokerage gateway the mounted sandbox counter, exactly as in dev mode. The app and the
sandbox run on one FakeClock set to a trading afternoon.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.etree import ElementTree

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts import constants as ac
from app.brokerage import demo_data
from app.brokerage.password import encrypt_password
from app.core.config import Settings
from app.core.db import create_sessionmaker
from app.core.redis import Redis
from app.core.resources import Resources
from app.core.time import FakeClock
from app.main import create_app
from app.simulator.broker_state import BrokerSandbox
from tests.brokerage.sandbox_helpers import TRADING_NOW
from tests.webhook.signing import deliver, open_reply, post, reply_fields

BASE = "http://testserver"
ZHANG, LI, WANG, LIU = demo_data.CUSTOMERS[:4]
ZHANG_CASH, ZHANG_MARGIN = ZHANG.accounts[0], ZHANG.accounts[1]
OPENID_A = "oFanAlpha000000000000000001"
OPENID_B = "oFanBravo000000000000000002"


def sandbox_of(app: FastAPI) -> BrokerSandbox:
    sandbox: BrokerSandbox = app.state.broker_sandbox
    return sandbox


@asynccontextmanager
async def running_app(
    settings: Settings, engine: AsyncEngine, redis: Redis, clock: FakeClock
) -> AsyncIterator[FastAPI]:
    placeholder = httpx.AsyncClient()
    resources = Resources(
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        redis=redis,
        http=placeholder,
        clock=clock,
        owned=False,
    )
    application = create_app(settings, resources)
    await placeholder.aclose()
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url=BASE, timeout=10) as http:
        resources.http = http
        sandbox = sandbox_of(application)
        sandbox.config.clock = clock
        sandbox.outbox._clock = clock
        sandbox.reset()  # rebuild the counter on the test clock
        async with application.router.lifespan_context(application):
            yield application


@pytest.fixture
def clock() -> FakeClock:
    """Overrides the suite's clock: a trading afternoon (Wed 2026-01-07 14:30 Beijing)."""
    return FakeClock(TRADING_NOW)


@pytest.fixture
async def h5_app(
    settings: Settings, engine: AsyncEngine, redis: Redis, clock: FakeClock, truncate_tables: None
) -> AsyncIterator[FastAPI]:
    async with running_app(settings, engine, redis, clock) as application:
        yield application


@asynccontextmanager
async def fan_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A fan's phone browser: its own cookie jar."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE, timeout=10) as c:
        yield c


def _url(location: str) -> str:
    return location.split("#", 1)[0]


async def login(client: httpx.AsyncClient, openid: str, path: str = ac.BIND_PAGE_PATH) -> str:
    """Open `path` without a session and walk WeChat's OAuth as `openid`; returns the page HTML."""
    first = await client.get(path)
    assert first.status_code == 302, first.text
    authorize = _url(first.headers["location"])
    assert "/connect/oauth2/authorize" in authorize
    assert parse_qs(urlsplit(authorize).query)["scope"] == ["snsapi_base"]
    granted = await client.get(f"{authorize}&{urlencode({'openid': openid})}")
    assert granted.status_code == 302, granted.text
    callback = await client.get(granted.headers["location"])
    assert callback.status_code == 303, callback.text
    assert client.cookies.get(ac.SESSION_COOKIE)
    page = await client.get(callback.headers["location"])
    assert page.status_code == 200, page.text
    return page.text


def page_data(html: str) -> dict[str, str]:
    match = re.search(r'data-page="([^"]*)"', html)
    assert match, "no data-page on the binding page"
    data: dict[str, str] = json.loads(unescape(match.group(1)))
    return data


async def csrf_headers(client: httpx.AsyncClient) -> dict[str, str]:
    page = await client.get(ac.BIND_PAGE_PATH)
    data = page_data(page.text)
    return {data["csrfHeader"]: data["csrfToken"]}


async def latest_sms_code(client: httpx.AsyncClient, phone: str) -> str:
    response = await client.get(f"/_sim/broker/_admin/sms/{phone}")
    assert response.status_code == 200, response.text
    code: str = response.json()["latest"]["code"]
    return code


def bind_body(account_no: str, cipher: str, code: str, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "account_no": account_no,
        "encrypted_password": cipher,
        "sms_code": code,
        "consent_privacy": True,
        "consent_financial": True,
        "consent_version": ac.CONSENT_VERSION,
    }
    body.update(overrides)
    return body


async def encrypt(client: httpx.AsyncClient, password: str) -> str:
    key = await client.get("/h5/bind/public-key")
    assert key.status_code == 200, key.text
    return encrypt_password(key.json()["pem"], password)


async def bind(
    client: httpx.AsyncClient,
    account: demo_data.AccountSpec,
    phone: str,
    *,
    password: str | None = None,
    code: str | None = None,
) -> httpx.Response:
    """The page's binding flow: SMS code from the sandbox, password encrypted like WebCrypto."""
    headers = await csrf_headers(client)
    sent = await client.post(
        "/h5/bind/sms-code", json={"account_no": account.account_no}, headers=headers
    )
    assert sent.status_code == 200, sent.text
    sms = code if code is not None else await latest_sms_code(client, phone)
    cipher = await encrypt(client, password if password is not None else account.password)
    return await client.post(
        "/h5/bind/accounts", json=bind_body(account.account_no, cipher, sms), headers=headers
    )


@asynccontextmanager
async def bound_fan(
    app: FastAPI, openid: str, *accounts: tuple[demo_data.AccountSpec, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """A logged-in fan with the given (account, phone) pairs bound through the real flow."""
    async with fan_client(app) as client:
        await login(client, openid)
        for account, phone in accounts:
            response = await bind(client, account, phone)
            assert response.status_code == 201, response.text
            # The counter allows one SMS per account per minute: let the test clock move on.
            app.state.clock.advance(61)
        yield client


def click_xml(openid: str, key: str, create_time: int) -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>"
    )


def text_xml(openid: str, content: str, msg_id: int, create_time: int) -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


async def webhook(app: FastAPI, xml: str) -> dict[str, str]:
    """POST one message as WeChat would (signed at the app's clock); the reply's fields, with
    a news reply's first article flattened in (Title, Description, Url); {} for `success`."""
    clock: FakeClock = app.state.clock
    async with fan_client(app) as wechat:
        response = await post(wechat, deliver(xml, timestamp=str(int(clock.timestamp()))))
    assert response.status_code == 200, response.text
    body = open_reply(response, "plain")
    if body == b"success":
        return {}
    fields = reply_fields(body)
    item = ElementTree.fromstring(body).find("Articles/item")
    if item is not None:
        fields.update({child.tag: child.text or "" for child in item})
    return fields


async def click(app: FastAPI, openid: str, key: str) -> dict[str, str]:
    clock: FakeClock = app.state.clock
    clock.advance(1)  # a new CreateTime, so WeChat's dedupe key differs per click
    return await webhook(app, click_xml(openid, key, int(clock.timestamp())))
