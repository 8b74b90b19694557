"""The demo campaign page on the embedded default (`wxbroker dev`: SQLite + the in-process
Redis stand-in): OAuth, 需绑定账户, binding on the sandbox counter, then a real draw."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from app.accounts import constants as ac
from app.brokerage import demo_data
from app.brokerage.password import encrypt_password
from app.campaigns import texts
from tests.test_embedded import embedded_server

pytestmark = [pytest.mark.embedded, pytest.mark.slow]
OPENID = "oEmbeddedDrawFan0000000001"
ZHANG = demo_data.CUSTOMERS[0]
ACCOUNT = ZHANG.accounts[0]


def _login(http: httpx.Client, path: str) -> str:
    """Open `path` without a session, walk the simulated OAuth as OPENID; the page's HTML."""
    first = http.get(path)
    assert first.status_code == 302, first.text
    authorize = first.headers["location"].split("#", 1)[0]
    granted = http.get(f"{authorize}&{urlencode({'openid': OPENID})}")
    assert granted.status_code == 302, granted.text
    callback = http.get(granted.headers["location"])
    assert callback.status_code == 303, callback.text
    page = http.get(callback.headers["location"])
    assert page.status_code == 200, page.text
    return page.text


def _csrf(html: str) -> dict[str, str]:
    match = re.search(r'data-page="([^"]*)"', html)
    assert match
    data = json.loads(unescape(match.group(1)))
    return {data["csrfHeader"]: data["csrfToken"]}


def _bind(http: httpx.Client, headers: dict[str, str]) -> None:
    """The binding page's calls, against the mounted sandbox counter."""
    off = http.post("/_sim/broker/_admin/maintenance", json={"mode": "off"})
    assert off.status_code == 200, off.text  # the wall clock may sit in the nightly window
    sent = http.post("/h5/bind/sms-code", json={"account_no": ACCOUNT.account_no}, headers=headers)
    assert sent.status_code == 200, sent.text
    code = http.get(f"/_sim/broker/_admin/sms/{ZHANG.phone}").json()["latest"]["code"]
    pem = http.get("/h5/bind/public-key").json()["pem"]
    body = {
        "account_no": ACCOUNT.account_no,
        "encrypted_password": encrypt_password(pem, ACCOUNT.password),
        "sms_code": code,
        "consent_privacy": True,
        "consent_financial": True,
        "consent_version": ac.CONSENT_VERSION,
    }
    bound = http.post("/h5/bind/accounts", json=body, headers=headers)
    assert bound.status_code == 201, bound.text


def test_the_demo_campaign_draws_on_sqlite_and_the_redis_stand_in(tmp_path: Path) -> None:
    with embedded_server(tmp_path) as base, httpx.Client(base_url=base, timeout=20) as http:
        html = _login(http, "/h5/campaigns/demo")
        assert "绑定有礼抽奖（演示）" in html
        assert texts.REFUSAL_MESSAGES["not_bound"] in html
        headers = _csrf(html)
        refused = http.post("/h5/campaigns/demo/draw", headers=headers)
        assert refused.status_code == 200, refused.text
        assert refused.json()["outcome"] == "not_eligible"

        _bind(http, _csrf(http.get("/h5/bind").text))
        drawn = http.post("/h5/campaigns/demo/draw", headers=headers)
        assert drawn.status_code == 200, drawn.text
        assert drawn.json()["outcome"] in {"won", "lost"}  # the demo wins 80% of draws
        status = http.get("/h5/campaigns/demo").text
    if drawn.json()["outcome"] == "won":
        assert "奖品将在确认您完成首笔交易后发放" in status
    else:
        assert texts.STATUS_LAST_LOST in status
