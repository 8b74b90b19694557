"""The H5 binding flow end to end: OAuth on the WeChat simulator, page, SMS and the sandbox."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import select

from app.accounts import constants as ac
from app.accounts import service
from app.accounts.models import AccountBinding
from tests.accounts.helpers import (
    LI,
    LIU,
    OPENID_A,
    OPENID_B,
    WANG,
    ZHANG,
    ZHANG_CASH,
    ZHANG_MARGIN,
    bind,
    bind_body,
    bound_fan,
    csrf_headers,
    encrypt,
    fan_client,
    latest_sms_code,
    login,
    sandbox_of,
)


async def _bindings(app: FastAPI, openid: str) -> list[AccountBinding]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(select(AccountBinding).where(AccountBinding.openid == openid))
        return list(rows)


async def _attempts(app: FastAPI, openid: str) -> list[dict[str, object]]:
    async with app.state.sessionmaker() as session:
        return await service.list_attempts(session, openid=openid)


class TestOAuthEntry:
    async def test_bind_page_without_session_redirects_to_snsapi_base(
        self, h5_app: FastAPI
    ) -> None:
        async with fan_client(h5_app) as client:
            page = await login(client, OPENID_A)
        assert "绑定证券账户" in page
        assert "个人信息保护告知" in page
        assert ac.CONSENT_VERSION in page

    async def test_callback_with_forged_state_is_refused(self, h5_app: FastAPI) -> None:
        async with fan_client(h5_app) as client:
            first = await client.get("/h5/bind")
            assert first.status_code == 302
            response = await client.get("/h5/oauth/callback?code=abc&state=forged.state")
        assert response.status_code == 403
        assert "微信授权失败" in response.text
        assert ac.SESSION_COOKIE not in client.cookies

    async def test_state_replayed_from_another_browser_is_refused(self, h5_app: FastAPI) -> None:
        async with fan_client(h5_app) as victim, fan_client(h5_app) as attacker:
            first = await victim.get("/h5/bind")
            authorize = first.headers["location"].split("#")[0]
            granted = await victim.get(f"{authorize}&openid={OPENID_A}")
            # The attacker's browser never got the nonce cookie that goes with this state.
            response = await attacker.get(granted.headers["location"])
        assert response.status_code == 403
        assert ac.SESSION_COOKIE not in attacker.cookies

    async def test_expired_state_is_refused(self, h5_app: FastAPI) -> None:
        async with fan_client(h5_app) as client:
            first = await client.get("/h5/bind")
            authorize = first.headers["location"].split("#")[0]
            granted = await client.get(f"{authorize}&openid={OPENID_A}")
            h5_app.state.clock.advance(ac.OAUTH_STATE_TTL_S + 1)
            response = await client.get(granted.headers["location"])
        assert response.status_code == 403

    async def test_refused_authorisation_gets_a_polite_page(self, h5_app: FastAPI) -> None:
        async with fan_client(h5_app) as client:
            first = await client.get("/h5/bind")
            authorize = first.headers["location"].split("#")[0]
            refused = await client.get(f"{authorize}&openid={OPENID_A}&refuse=1")
            response = await client.get(refused.headers["location"])
        assert response.status_code == 403
        assert "请从公众号菜单重新进入" in response.text

    async def test_api_without_session_is_401(self, h5_app: FastAPI) -> None:
        async with fan_client(h5_app) as client:
            response = await client.get("/h5/bind/accounts")
            forged = await client.get(
                "/h5/bind/accounts", headers={"Cookie": f"{ac.SESSION_COOKIE}=eyJvIjoieCJ9.AAAA"}
            )
        assert response.status_code == 401
        assert response.json()["error"] == "accounts.session_required"
        assert forged.status_code == 401

    async def test_post_without_csrf_token_is_403(self, h5_app: FastAPI) -> None:
        async with fan_client(h5_app) as client:
            await login(client, OPENID_A)
            response = await client.post(
                "/h5/bind/sms-code", json={"account_no": ZHANG_CASH.account_no}
            )
        assert response.status_code == 403
        assert response.json()["error"] == "accounts.csrf"


class TestBinding:
    async def test_bind_end_to_end_stores_only_masked_number_and_references(
        self, h5_app: FastAPI
    ) -> None:
        async with fan_client(h5_app) as client:
            await login(client, OPENID_A)
            response = await bind(client, ZHANG_CASH, ZHANG.phone)
            listed = await client.get("/h5/bind/accounts")
        assert response.status_code == 201, response.text
        assert response.json()["message"] == "绑定成功：普通账户 ****1001"
        assert [b["account_no_masked"] for b in listed.json()] == ["****1001"]
        assert "account_id" not in listed.json()[0]
        [row] = await _bindings(h5_app, OPENID_A)
        assert (row.client_id, row.account_id) == (ZHANG.client_id, ZHANG_CASH.account_id)
        assert row.account_no_masked == "****1001"
        assert row.is_default
        assert row.consent_version == ac.CONSENT_VERSION
        assert row.consented_at == h5_app.state.clock.now()
        stored = " ".join(str(v) for v in vars(row).values())
        assert ZHANG_CASH.account_no not in stored
        assert ZHANG_CASH.password not in stored
        attempts = await _attempts(h5_app, OPENID_A)
        assert [(a["step"], a["outcome"]) for a in attempts] == [("sms", "ok"), ("verify", "ok")]

    async def test_password_is_never_logged(self, h5_app: FastAPI, caplog) -> None:  # type: ignore[no-untyped-def]
        caplog.set_level("DEBUG")
        async with fan_client(h5_app) as client:
            await login(client, OPENID_A)
            await bind(client, ZHANG_CASH, ZHANG.phone, password="999999")
            h5_app.state.clock.advance(61)
            await bind(client, ZHANG_CASH, ZHANG.phone)
        assert ZHANG_CASH.password not in caplog.text
        assert "999999" not in caplog.text
        assert ZHANG_CASH.account_no not in caplog.text

    async def test_second_account_is_not_default_until_chosen(self, h5_app: FastAPI) -> None:
        pairs = ((ZHANG_CASH, ZHANG.phone), (ZHANG_MARGIN, ZHANG.phone))
        async with bound_fan(h5_app, OPENID_A, *pairs) as client:
            listed = (await client.get("/h5/bind/accounts")).json()
            assert [(b["account_no_masked"], b["is_default"]) for b in listed] == [
                ("****1001", True),
                ("****1002", False),
            ]
            headers = await csrf_headers(client)
            margin_id = listed[1]["id"]
            chosen = await client.post(f"/h5/bind/accounts/{margin_id}/default", headers=headers)
        assert chosen.status_code == 200
        assert [(b["account_no_masked"], b["is_default"]) for b in chosen.json()] == [
            ("****1002", True),
            ("****1001", False),
        ]

    async def test_unbind_from_the_page_promotes_the_other_account(self, h5_app: FastAPI) -> None:
        pairs = ((ZHANG_CASH, ZHANG.phone), (ZHANG_MARGIN, ZHANG.phone))
        async with bound_fan(h5_app, OPENID_A, *pairs) as client:
            listed = (await client.get("/h5/bind/accounts")).json()
            headers = await csrf_headers(client)
            response = await client.delete(f"/h5/bind/accounts/{listed[0]['id']}", headers=headers)
        assert response.status_code == 200
        assert [(b["account_no_masked"], b["is_default"]) for b in response.json()] == [
            ("****1002", True)
        ]
        history = await _bindings(h5_app, OPENID_A)
        assert sorted(r.unbind_reason or "" for r in history) == ["", "page"]

    async def test_binding_the_same_account_twice_is_a_conflict(self, h5_app: FastAPI) -> None:
        async with bound_fan(h5_app, OPENID_A, (LI.accounts[0], LI.phone)) as client:
            again = await bind(client, LI.accounts[0], LI.phone)
        assert again.status_code == 409
        assert again.json()["error"] == "accounts.already_bound"

    async def test_an_account_bound_by_another_fan_is_refused(self, h5_app: FastAPI) -> None:
        async with bound_fan(h5_app, OPENID_A, (LI.accounts[0], LI.phone)):
            pass
        async with fan_client(h5_app) as other:
            await login(other, OPENID_B)
            response = await bind(other, LI.accounts[0], LI.phone)
        assert response.status_code == 409
        assert response.json()["detail"].startswith("该账户已绑定其他微信号")


class TestBindingFailures:
    async def test_wrong_password_says_how_many_tries_are_left(self, h5_app: FastAPI) -> None:
        async with fan_client(h5_app) as client:
            await login(client, OPENID_A)
            response = await bind(client, WANG.accounts[0], WANG.phone, password="000001")
        assert response.status_code == 401
        assert response.json() == {
            "error": "accounts.bad_credentials",
            "detail": "资金账号或交易密码错误，还可尝试4次。",
        }
        assert await _bindings(h5_app, OPENID_A) == []
        [_, verify] = await _attempts(h5_app, OPENID_A)
        assert (verify["outcome"], verify["reason"]) == ("failed", "accounts.bad_credentials")

    async def test_wrong_sms_code_is_refused(self, h5_app: FastAPI) -> None:
        async with fan_client(h5_app) as client:
            await login(client, OPENID_A)
            response = await bind(client, WANG.accounts[0], WANG.phone, code="000000")
        assert response.status_code == 401
        assert response.json()["detail"] == "短信验证码错误或已失效，请重新获取。"

    async def test_locked_account_is_explained(self, h5_app: FastAPI) -> None:
        async with fan_client(h5_app) as client:
            await login(client, OPENID_A)
            headers = await csrf_headers(client)
            response = await client.post(
                "/h5/bind/sms-code",
                json={"account_no": LIU.accounts[0].account_no},
                headers=headers,
            )
        assert response.status_code == 403
        assert response.json()["error"] == "accounts.locked"
        assert "营业部" in response.json()["detail"]
        [attempt] = await _attempts(h5_app, OPENID_A)
        assert (attempt["step"], attempt["outcome"]) == ("sms", "failed")

    async def test_repeated_wrong_passwords_lock_the_account_for_everyone(
        self, h5_app: FastAPI
    ) -> None:
        account = WANG.accounts[0]
        async with fan_client(h5_app) as client:
            await login(client, OPENID_A)
            headers = await csrf_headers(client)
            body = {"account_no": account.account_no}
            assert (await client.post("/h5/bind/sms-code", json=body, headers=headers)).is_success
            code = await latest_sms_code(client, WANG.phone)
            errors = []
            for _ in range(ac.ACCOUNT_FAILURES_BEFORE_LOCK):
                cipher = await encrypt(client, "000001")
                response = await client.post(
                    "/h5/bind/accounts",
                    json=bind_body(account.account_no, cipher, code),
                    headers=headers,
                )
                errors.append(response.json()["error"])
        assert errors == ["accounts.bad_credentials"] * 4 + ["accounts.locked"]
        asked = sandbox_of(h5_app).requests["sms_code"]
        async with fan_client(h5_app) as other:
            await login(other, OPENID_B)
            headers = await csrf_headers(other)
            refused = await other.post(
                "/h5/bind/sms-code", json={"account_no": account.account_no}, headers=headers
            )
        assert refused.status_code == 403
        assert refused.json()["error"] == "accounts.locked"
        assert "分钟后再试" in refused.json()["detail"]
        assert sandbox_of(h5_app).requests["sms_code"] == asked  # refused before the counter

    async def test_sms_bombing_one_account_is_rate_limited(self, h5_app: FastAPI) -> None:
        async with fan_client(h5_app) as client:
            await login(client, OPENID_A)
            headers = await csrf_headers(client)
            body = {"account_no": WANG.accounts[0].account_no}
            statuses = []
            for _ in range(ac.SMS_PER_ACCOUNT.max_hits + 1):
                response = await client.post("/h5/bind/sms-code", json=body, headers=headers)
                statuses.append(response.status_code)
                h5_app.state.clock.advance(61)  # past the counter's own resend interval
        assert statuses == [200] * ac.SMS_PER_ACCOUNT.max_hits + [429]
        assert "操作过于频繁" in response.json()["detail"]
        outcomes = [a["outcome"] for a in await _attempts(h5_app, OPENID_A)]
        assert outcomes[-1] == "refused"

    async def test_one_fan_probing_many_accounts_is_rate_limited(self, h5_app: FastAPI) -> None:
        accounts = [a.account_no for c in (ZHANG, LI, WANG) for a in c.accounts]
        async with fan_client(h5_app) as client:
            await login(client, OPENID_A)
            headers = await csrf_headers(client)
            statuses = []
            for n in [*accounts, *accounts][: ac.SMS_PER_OPENID.max_hits + 1]:
                response = await client.post(
                    "/h5/bind/sms-code", json={"account_no": n}, headers=headers
                )
                statuses.append(response.status_code)
                h5_app.state.clock.advance(61)  # past the counter's own resend interval
        assert statuses[-1] == 429
        assert statuses.count(429) == 1

    async def test_one_phone_is_protected_across_its_accounts(self, h5_app: FastAPI) -> None:
        sandbox_of(h5_app).gateway.sms_resend = sandbox_of(h5_app).gateway.sms_resend * 0
        async with fan_client(h5_app) as a, fan_client(h5_app) as b:
            await login(a, OPENID_A)
            await login(b, OPENID_B)
            sent = []
            for n in range(ac.SMS_PER_PHONE.max_hits + 1):
                client, account = ((a, ZHANG_CASH), (b, ZHANG_MARGIN))[n % 2]
                headers = await csrf_headers(client)
                response = await client.post(
                    "/h5/bind/sms-code", json={"account_no": account.account_no}, headers=headers
                )
                sent.append(response.status_code)
                h5_app.state.clock.advance(61)
        assert sent[-1] == 429
        assert response.json()["error"] == "accounts.rate_limited"

    async def test_maintenance_is_explained_politely(self, h5_app: FastAPI) -> None:
        async with fan_client(h5_app) as client:
            await login(client, OPENID_A)
            headers = await csrf_headers(client)
            sandbox_of(h5_app).set_maintenance("on")
            response = await client.post(
                "/h5/bind/sms-code", json={"account_no": ZHANG_CASH.account_no}, headers=headers
            )
            key = await client.get("/h5/bind/public-key")
        assert response.status_code == 503
        assert response.json()["error"] == "accounts.maintenance"
        assert "维护" in response.json()["detail"]
        assert key.status_code == 503
        [attempt] = await _attempts(h5_app, OPENID_A)
        assert attempt["outcome"] == "error"

    async def test_consent_is_required_and_versioned(self, h5_app: FastAPI) -> None:
        async with fan_client(h5_app) as client:
            await login(client, OPENID_A)
            headers = await csrf_headers(client)
            await client.post(
                "/h5/bind/sms-code", json={"account_no": ZHANG_CASH.account_no}, headers=headers
            )
            code = await latest_sms_code(client, ZHANG.phone)
            cipher = await encrypt(client, ZHANG_CASH.password)
            no_consent = await client.post(
                "/h5/bind/accounts",
                json=bind_body(ZHANG_CASH.account_no, cipher, code, consent_financial=False),
                headers=headers,
            )
            old = await client.post(
                "/h5/bind/accounts",
                json=bind_body(ZHANG_CASH.account_no, cipher, code, consent_version="2020-01"),
                headers=headers,
            )
        assert no_consent.status_code == 400
        assert no_consent.json()["error"] == "accounts.consent_required"
        assert old.status_code == 409
        assert old.json()["error"] == "accounts.consent_outdated"

    async def test_garbage_input_is_422_never_500(self, h5_app: FastAPI) -> None:
        async with fan_client(h5_app) as client:
            await login(client, OPENID_A)
            headers = await csrf_headers(client)
            bad_no = await client.post(
                "/h5/bind/sms-code", json={"account_no": "12ab"}, headers=headers
            )
            not_json = await client.post("/h5/bind/accounts", content=b"\xff\x00", headers=headers)
            bad_cipher = await client.post(
                "/h5/bind/accounts",
                json=bind_body(ZHANG_CASH.account_no, "not-base64!!", "123456"),
                headers=headers,
            )
        assert bad_no.status_code == 422
        assert not_json.status_code == 422
        assert bad_cipher.status_code in (400, 401)
        assert "not-base64" not in bad_cipher.text


class TestIdor:
    async def test_a_fan_cannot_touch_another_fans_binding(self, h5_app: FastAPI) -> None:
        async with bound_fan(h5_app, OPENID_A, (LI.accounts[0], LI.phone)) as owner:
            victim_id = (await owner.get("/h5/bind/accounts")).json()[0]["id"]
        async with fan_client(h5_app) as attacker:
            await login(attacker, OPENID_B)
            headers = await csrf_headers(attacker)
            make_default = await attacker.post(
                f"/h5/bind/accounts/{victim_id}/default", headers=headers
            )
            unbind = await attacker.delete(f"/h5/bind/accounts/{victim_id}", headers=headers)
            listed = await attacker.get("/h5/bind/accounts")
        assert make_default.status_code == 404
        assert unbind.status_code == 404
        assert listed.json() == []
        [row] = await _bindings(h5_app, OPENID_A)
        assert row.unbound_at is None


async def test_session_cookie_is_httponly_and_scoped(h5_app: FastAPI) -> None:
    async with fan_client(h5_app) as client:
        first = await client.get("/h5/bind")
        authorize = first.headers["location"].split("#")[0]
        granted = await client.get(f"{authorize}&openid={OPENID_A}")
        callback = await client.get(granted.headers["location"])
    cookie = next(
        v for k, v in callback.headers.multi_items() if k == "set-cookie" and "wxb_h5=" in v
    )
    assert "HttpOnly" in cookie
    assert "Path=/h5" in cookie
    assert "SameSite=lax" in cookie
