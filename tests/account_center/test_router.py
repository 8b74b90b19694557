"""H5 detail pages: OAuth-protected, the fan's own accounts only (IDOR), polite failures."""

from __future__ import annotations

import base64

from fastapi import FastAPI

from app.account_center import formatting as fmt
from app.brokerage.fake import InMemoryBrokerageGateway
from app.core.time import FakeClock
from tests.accounts.helpers import (
    LI,
    OPENID_A,
    OPENID_B,
    ZHANG,
    ZHANG_CASH,
    ZHANG_MARGIN,
    bound_fan,
    fan_client,
    login,
    sandbox_of,
)

PAGES = ("positions", "orders", "fund-flows", "ipo")


class TestPages:
    async def test_opening_a_page_goes_through_oauth_and_back(self, h5_app: FastAPI) -> None:
        async with bound_fan(h5_app, OPENID_A, (ZHANG_CASH, ZHANG.phone)) as client:
            client.cookies.clear()
            page = await login(client, OPENID_A, path="/h5/account/positions")
        assert "<title>我的持仓</title>" in page
        assert "普通账户 ****1001" in page

    async def test_positions_page_colours_gains_red_and_losses_green(
        self, h5_app: FastAPI, clock: FakeClock
    ) -> None:
        async with bound_fan(h5_app, OPENID_A, (ZHANG_CASH, ZHANG.phone)) as client:
            response = await client.get("/h5/account/positions")
        positions = await InMemoryBrokerageGateway(clock=clock).get_positions(
            client_id=ZHANG.client_id, account_id=ZHANG_CASH.account_id
        )
        html = response.text
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert ".up { color: #e4393c; }" in html
        assert ".down { color: #1a9e4b; }" in html
        for p in positions:
            cell = f'<td class="pnl {fmt.trend(p.pnl_amount)}">{fmt.pnl(p.pnl_amount)}'
            assert cell in html
        assert any(p.pnl_amount > 0 for p in positions)
        assert any(p.pnl_amount < 0 for p in positions)

    async def test_every_page_renders_for_every_bound_account(self, h5_app: FastAPI) -> None:
        pairs = ((ZHANG_CASH, ZHANG.phone), (ZHANG_MARGIN, ZHANG.phone))
        async with bound_fan(h5_app, OPENID_A, *pairs) as client:
            ids = [b["id"] for b in (await client.get("/h5/bind/accounts")).json()]
            for binding_id in ids:
                for page in PAGES:
                    response = await client.get(f"/h5/account/{page}?binding_id={binding_id}")
                    assert response.status_code == 200, (page, response.text)
                    assert "数据更新于" in response.text
                    assert "切换账户" in response.text

    async def test_unbound_fan_is_invited_to_bind(self, h5_app: FastAPI) -> None:
        async with fan_client(h5_app) as client:
            await login(client, OPENID_B)
            response = await client.get("/h5/account/ipo")
        assert response.status_code == 200
        assert "您尚未绑定证券账户" in response.text
        assert 'href="/h5/bind"' in response.text

    async def test_maintenance_is_a_polite_page(self, h5_app: FastAPI) -> None:
        async with bound_fan(h5_app, OPENID_A, (ZHANG_CASH, ZHANG.phone)) as client:
            sandbox_of(h5_app).set_maintenance("on")
            response = await client.get("/h5/account/orders")
        assert response.status_code == 503
        assert "例行维护" in response.text

    async def test_unknown_page_and_bad_ids_are_4xx(self, h5_app: FastAPI) -> None:
        async with bound_fan(h5_app, OPENID_A, (ZHANG_CASH, ZHANG.phone)) as client:
            unknown = await client.get("/h5/account/secrets")
            bad = await client.get("/h5/account/positions?binding_id=abc")
            negative = await client.get("/h5/account/positions?binding_id=-1")
        assert unknown.status_code == 404
        assert bad.status_code == 422
        assert negative.status_code == 422


class TestIdor:
    async def test_another_fans_binding_id_is_not_found_on_every_page(
        self, h5_app: FastAPI
    ) -> None:
        async with bound_fan(h5_app, OPENID_A, (LI.accounts[0], LI.phone)) as victim:
            victim_id = (await victim.get("/h5/bind/accounts")).json()[0]["id"]
        async with bound_fan(h5_app, OPENID_B, (ZHANG_CASH, ZHANG.phone)) as attacker:
            for page in PAGES:
                response = await attacker.get(f"/h5/account/{page}?binding_id={victim_id}")
                assert response.status_code == 404, page
                assert "****2001" not in response.text
                assert LI.accounts[0].account_id not in response.text
            own = await attacker.get("/h5/account/ipo")
        assert "****1001" in own.text
        assert "****2001" not in own.text

    async def test_counter_references_in_the_url_are_ignored(self, h5_app: FastAPI) -> None:
        async with bound_fan(h5_app, OPENID_B, (ZHANG_CASH, ZHANG.phone)) as attacker:
            query = f"client_id={LI.client_id}&account_id={LI.accounts[0].account_id}"
            response = await attacker.get(f"/h5/account/ipo?{query}&openid={OPENID_A}")
        assert response.status_code == 200
        assert "****1001" in response.text
        assert "****2001" not in response.text

    async def test_a_forged_session_for_another_openid_is_refused(self, h5_app: FastAPI) -> None:
        async with bound_fan(h5_app, OPENID_A, (LI.accounts[0], LI.phone)):
            pass
        async with fan_client(h5_app) as attacker:
            await login(attacker, OPENID_B)
            cookie = attacker.cookies.get("wxb_h5")
            assert cookie
            _, mac = cookie.split(".")
            forged = (
                base64.urlsafe_b64encode(f'{{"o":"{OPENID_A}","s":"x","exp":9999999999}}'.encode())
                .decode()
                .rstrip("=")
            )
            attacker.cookies.clear()
            response = await attacker.get(
                "/h5/account/ipo", headers={"Cookie": f"wxb_h5={forged}.{mac}"}
            )
        assert response.status_code == 302  # not a session: back to OAuth
        assert "****2001" not in response.text
