"""Sessions and CSRF: cookie flags, login CSRF, throttling, logout, CSRF on unsafe requests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.core.config import Settings
from app.core.redis import Redis
from app.ops.constants import CSRF_HEADER, LOGIN_MAX_FAILURES_PER_USER, SESSION_COOKIE, Role
from tests.conftest import make_settings
from tests.ops.conftest import PASSWORD, Staff, login


def _set_cookie(response: httpx.Response, name: str) -> str:
    return next(h for h in response.headers.get_list("set-cookie") if h.startswith(name + "="))


async def _csrf(client: httpx.AsyncClient) -> str:
    return str((await client.get("/api/v1/ops/session/csrf")).json()["csrf_token"])


class TestLogin:
    async def test_session_cookie_is_httponly_and_samesite_lax(
        self, client: httpx.AsyncClient, staff: Staff
    ) -> None:
        token = await _csrf(client)
        response = await client.post(
            "/api/v1/ops/session",
            json={"username": "viewer", "password": PASSWORD},
            headers={CSRF_HEADER: token},
        )
        assert response.status_code == 200
        cookie = _set_cookie(response, SESSION_COOKIE).lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert "secure" not in cookie  # dev over http
        me = await client.get("/api/v1/ops/me")
        assert me.json()["role"] == "viewer"

    async def test_login_without_the_double_submit_token_is_refused(
        self, client: httpx.AsyncClient, staff: Staff
    ) -> None:
        body = {"username": "viewer", "password": PASSWORD}
        missing = await client.post("/api/v1/ops/session", json=body)
        assert missing.status_code == 403
        assert missing.json()["error"] == "ops.csrf"
        await _csrf(client)  # cookie set, but the header carries another value
        wrong = await client.post("/api/v1/ops/session", json=body, headers={CSRF_HEADER: "x" * 32})
        assert wrong.status_code == 403

    async def test_wrong_password_and_unknown_user_look_the_same(
        self, client: httpx.AsyncClient, staff: Staff
    ) -> None:
        for username in ("viewer", "nobody"):
            token = await _csrf(client)
            response = await client.post(
                "/api/v1/ops/session",
                json={"username": username, "password": "wrong password!!"},
                headers={CSRF_HEADER: token},
            )
            assert response.status_code == 401
            assert response.json()["error"] == "ops.bad_credentials"

    async def test_repeated_failures_throttle_even_the_right_password(
        self, client: httpx.AsyncClient, staff: Staff, redis: Redis
    ) -> None:
        for _ in range(LOGIN_MAX_FAILURES_PER_USER):
            token = await _csrf(client)
            await client.post(
                "/api/v1/ops/session",
                json={"username": "operator", "password": "wrong password!!"},
                headers={CSRF_HEADER: token},
            )
        token = await _csrf(client)
        response = await client.post(
            "/api/v1/ops/session",
            json={"username": "operator", "password": PASSWORD},
            headers={CSRF_HEADER: token},
        )
        assert response.status_code == 429
        assert response.json()["error"] == "ops.login_throttled"
        assert await redis.ttl("ops:login:fail:user:operator") > 0
        # Other accounts are unaffected.
        assert await login(client, "viewer")


class TestOutsideDev:
    @pytest.fixture
    def settings(self) -> Settings:
        return make_settings(environment="staging")

    @pytest.fixture
    async def client(self, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app)  # https: Secure cookies come back
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            yield c

    async def test_the_session_cookie_is_secure(
        self, client: httpx.AsyncClient, staff: Staff
    ) -> None:
        token = await _csrf(client)
        response = await client.post(
            "/api/v1/ops/session",
            json={"username": "viewer", "password": PASSWORD},
            headers={CSRF_HEADER: token},
        )
        assert response.status_code == 200
        cookie = _set_cookie(response, SESSION_COOKIE).lower()
        assert "; secure" in cookie
        assert "httponly" in cookie


class TestSession:
    async def test_unsafe_requests_need_the_session_csrf_token(
        self, client: httpx.AsyncClient, staff: Staff
    ) -> None:
        csrf = await login(client, "operator")
        draft = {"target": {"kind": "topic", "topic": "marketing"}, "title": "t", "body": "b"}
        without = await client.post("/api/v1/ops/pushes", json=draft)
        assert without.status_code == 403
        assert without.json()["error"] == "ops.csrf"
        forged = await client.post(
            "/api/v1/ops/pushes", json=draft, headers={CSRF_HEADER: "forged"}
        )
        assert forged.status_code == 403
        ok = await client.post("/api/v1/ops/pushes", json=draft, headers={CSRF_HEADER: csrf})
        assert ok.status_code == 201
        assert (await client.get("/api/v1/ops/pushes")).status_code == 200  # GET needs none

    async def test_logout_ends_the_session(self, client: httpx.AsyncClient, staff: Staff) -> None:
        csrf = await login(client, "viewer")
        token = client.cookies.get(SESSION_COOKIE)
        response = await client.delete("/api/v1/ops/session", headers={CSRF_HEADER: csrf})
        assert response.status_code == 204
        client.cookies.set(SESSION_COOKIE, token or "")  # replaying the old cookie
        assert (await client.get("/api/v1/ops/me")).status_code == 401

    async def test_a_deactivated_user_loses_the_session_at_once(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        console_client: httpx.AsyncClient,
        staff: Staff,
    ) -> None:
        await login(client, "operator")
        admin_csrf = await login(console_client, "admin")
        response = await console_client.patch(
            f"/api/v1/ops/staff/{staff.ids['operator']}",
            json={"is_active": False},
            headers={CSRF_HEADER: admin_csrf},
        )
        assert response.status_code == 200
        assert (await client.get("/api/v1/ops/me")).status_code == 401

    async def test_a_role_change_applies_to_the_live_session(
        self, client: httpx.AsyncClient, console_client: httpx.AsyncClient, staff: Staff
    ) -> None:
        await login(client, "viewer")
        assert (await client.get("/api/v1/ops/staff")).status_code == 403
        admin_csrf = await login(console_client, "admin")
        await console_client.patch(
            f"/api/v1/ops/staff/{staff.ids['viewer']}",
            json={"role": Role.ADMIN.value},
            headers={CSRF_HEADER: admin_csrf},
        )
        assert (await client.get("/api/v1/ops/staff")).status_code == 200

    async def test_the_last_admin_cannot_be_demoted(
        self, client: httpx.AsyncClient, staff: Staff
    ) -> None:
        csrf = await login(client, "admin")
        response = await client.patch(
            f"/api/v1/ops/staff/{staff.ids['admin']}",
            json={"role": "viewer"},
            headers={CSRF_HEADER: csrf},
        )
        assert response.status_code == 403
        assert response.json()["error"] == "ops.not_allowed"

    async def test_login_and_staff_changes_are_audited(
        self, client: httpx.AsyncClient, staff: Staff
    ) -> None:
        csrf = await login(client, "admin")
        await client.post(
            "/api/v1/ops/staff",
            json={"username": "newbie", "display_name": "N", "password": "short", "role": "viewer"},
            headers={CSRF_HEADER: csrf},
        )
        entries = (await client.get("/api/v1/ops/audit")).json()
        actions = [e["action"] for e in entries]
        assert "session.login" in actions
        assert "staff.create" in actions  # the fixture's users
        assert all("password" not in str(e["after"]).lower() for e in entries if e["after"])
        verify = (await client.get("/api/v1/ops/audit/verify")).json()
        assert verify["ok"] is True
