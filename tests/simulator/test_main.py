"""The simulator mounted at /_sim/wechat in the dev app, and `wxbroker sim`'s own app."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.simulator.main import create_sim_app
from app.simulator.state import WeChatSimulator
from tests.conftest import TEST_APP_ID, TEST_APP_SECRET, make_settings
from tests.simulator.conftest import OPENID, TRADE_FILL, trade_fill_data

SIM = "/_sim/wechat"
CREDS = {"grant_type": "client_credential", "appid": TEST_APP_ID, "secret": TEST_APP_SECRET}


class TestDevMount:
    async def test_wechat_paths_stats_and_inbox_under_sim_wechat(
        self, client: httpx.AsyncClient
    ) -> None:
        token = (await client.get(f"{SIM}/cgi-bin/token", params=CREDS)).json()["access_token"]
        listing = await client.get(
            f"{SIM}/cgi-bin/template/get_all_private_template", params={"access_token": token}
        )
        assert listing.json()["errcode"] == 0
        stats = (await client.get(f"{SIM}/stats")).json()
        assert stats["token_issued"] == 1
        assert stats["calls"] == {
            "/cgi-bin/token": 1,
            "/cgi-bin/template/get_all_private_template": 1,
        }
        assert (await client.get(f"{SIM}/inbox/{OPENID}")).json()["messages"] == []

    async def test_template_receipt_reaches_the_apps_own_webhook(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        sim: WeChatSimulator = app.state.wechat_simulator
        assert sim.callbacks.settings.mode == "safe"
        token = (await client.get(f"{SIM}/cgi-bin/token", params=CREDS)).json()["access_token"]
        body = {"touser": OPENID, "template_id": TRADE_FILL, "data": trade_fill_data()}
        sent = await client.post(
            f"{SIM}/cgi-bin/message/template/send", params={"access_token": token}, json=body
        )
        assert sent.json()["errcode"] == 0  # auto_fans is on in dev
        await sim.callbacks.join()
        stats = (await client.get(f"{SIM}/stats")).json()
        assert stats["callbacks_sent"] == 1
        assert stats["callbacks_failed"] == stats["callbacks_rejected"] == 0

    async def test_not_mounted_when_switched_off(self) -> None:
        from app.main import create_app

        application = create_app(make_settings(mount_simulator=False))
        paths = {getattr(route, "path", "") for route in application.routes}
        assert SIM not in paths
        assert not hasattr(application.state, "wechat_simulator")


class TestSimApp:
    async def test_serves_the_wechat_simulator_under_sim_wechat(self) -> None:
        application = create_sim_app(make_settings())
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://sim") as c:
                token = await c.get(f"{SIM}/cgi-bin/token", params=CREDS)
                assert "access_token" in token.json()
                assert (await c.get(f"{SIM}/stats")).json()["token_issued"] == 1
                assert (await c.get("/cgi-bin/token", params=CREDS)).status_code == 404
