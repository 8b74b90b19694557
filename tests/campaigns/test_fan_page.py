"""The fans' campaign page /h5/campaigns/{code}: OAuth, the fan's status, every draw outcome,
CSRF, IDOR (the openid comes from the session only) and one tap at a time."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app.accounts import constants as ac
from app.campaigns import constants as c
from app.campaigns import links, participation, texts
from app.campaigns.abuse import add_to_blacklist
from app.campaigns.models import Campaign, PrizeAward
from app.core.db import unit_of_work
from app.core.redis import create_redis
from app.ops.constants import Role
from tests.accounts import helpers
from tests.accounts.helpers import fan_client, login
from tests.campaigns.conftest import make_channel
from tests.campaigns.fan_page_support import (
    PAGE,
    add_signal,
    create_around_now,
    decisions_of,
    draw,
    fan_on_page,
    now_of,
    session_cookie,
    sessionmaker_of,
    set_awarded,
    set_campaign,
)
from tests.campaigns.lottery_support import bind, convert
from tests.content.ops_keys import api_key_headers

clock = helpers.clock  # a trading afternoon (FakeClock)
h5_app = helpers.h5_app  # the real app, OAuth through its mounted WeChat simulator

FAN_A = "oCampaignFanA000000000001"
FAN_B = "oCampaignFanB000000000002"
D = c.DrawDecisionKind


class TestCampaignPage:
    async def test_without_session_it_goes_through_snsapi_base_and_comes_back(
        self, h5_app: FastAPI
    ) -> None:
        await create_around_now(h5_app)
        async with fan_client(h5_app) as client:
            html = await login(client, FAN_A, f"{PAGE}/spring")  # asserts snsapi_base
        assert "春季开户礼" in html
        assert "活动时间：" in html
        assert "（北京时间）" in html
        assert "现金红包" in html
        assert "价值¥88.00" in html
        assert "共10份" in html
        assert "余量充足" in html
        assert "每人每天最多抽奖3次" in html
        assert texts.RULE_NO_FOLLOW in html
        assert texts.STATUS_DRAWS_LEFT.format(n=3) in html
        assert 'id="draw">抽奖' in html  # enabled

    async def test_a_code_with_a_dot_survives_the_oauth_round_trip(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app, code="spring.2026")
        async with fan_client(h5_app) as client:
            html = await login(client, FAN_A, f"{PAGE}/spring.2026")
        assert "春季开户礼" in html

    @pytest.mark.parametrize("code", ["nope", "BAD!code", "a" * 60, "a..b", "x", "Spring"])
    async def test_unknown_or_malformed_code_is_a_chinese_404_page(
        self, h5_app: FastAPI, code: str
    ) -> None:
        async with fan_client(h5_app) as client:
            response = await client.get(f"{PAGE}/{code}")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert texts.NOT_FOUND in response.text

    async def test_unbound_fan_is_told_why_and_where_to_bind(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app, eligibility=["bound_customer"])
        async with fan_client(h5_app) as client:
            html = await login(client, FAN_A, f"{PAGE}/spring")
        assert "参与条件：已在本公众号绑定证券账户的客户" in html
        assert texts.STATUS_NOT_ELIGIBLE in html
        assert texts.REFUSAL_MESSAGES["not_bound"] in html
        assert f'href="{ac.BIND_PAGE_PATH}"' in html
        assert 'id="draw" disabled' in html

    @pytest.mark.parametrize(
        ("shift", "message"),
        [
            ({"days": 1}, texts.REFUSAL_MESSAGES["not_started"]),
            ({"days": -30}, texts.REFUSAL_MESSAGES["ended"]),
        ],
    )
    async def test_outside_the_window_says_so(
        self, h5_app: FastAPI, shift: dict[str, int], message: str
    ) -> None:
        now = now_of(h5_app)
        start = now + timedelta(**shift)
        await create_around_now(h5_app, starts_at=start, ends_at=start + timedelta(days=7))
        async with fan_client(h5_app) as client:
            html = await login(client, FAN_A, f"{PAGE}/spring")
        assert texts.STATUS_NOT_OPEN in html
        assert message in html
        assert 'id="draw" disabled' in html

    async def test_a_closed_campaign_says_so(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app)
        await set_campaign(h5_app, "spring", is_active=False)
        async with fan_client(h5_app) as client:
            html = await login(client, FAN_A, f"{PAGE}/spring")
        assert texts.REFUSAL_MESSAGES["closed"] in html

    @pytest.mark.parametrize(
        ("awarded", "bucket"),
        [(0, "充足"), (5, "较少"), (9, "即将发完"), (10, "已发完")],
    )
    async def test_stock_is_shown_roughly_never_as_a_count(
        self, h5_app: FastAPI, awarded: int, bucket: str
    ) -> None:
        await create_around_now(h5_app)
        await set_awarded(h5_app, "cash", awarded)
        async with fan_client(h5_app) as client:
            html = await login(client, FAN_A, f"{PAGE}/spring")
        assert f"余量{bucket}" in html
        assert f"{10 - awarded}份" not in html.replace("共10份", "")

    async def test_a_winner_sees_the_prize_and_the_pending_payout(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app, payout_after="first_trade", payout_hold_hours=24)
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            assert (await draw(client, headers))["outcome"] == "won"
            html = (await client.get(f"{PAGE}/spring")).text
        assert texts.STATUS_WON.format(prize="现金红包") in html
        assert "奖品将在确认您完成首笔交易24小时后发放。" in html
        assert 'id="draw" disabled' in html

    @pytest.mark.parametrize("status", ["review", "payable", "paid", "void"])
    async def test_a_winner_sees_where_the_award_stands(self, h5_app: FastAPI, status: str) -> None:
        await create_around_now(h5_app)
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            await draw(client, headers)
            async with unit_of_work(sessionmaker_of(h5_app)) as session:
                await session.execute(update(PrizeAward).values(status=status))
            html = (await client.get(f"{PAGE}/spring")).text
        assert texts.AWARD_STATUS[status] in html

    async def test_a_loser_sees_the_draws_left_today(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app, win_probability="0")
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            await draw(client, headers)
            html = (await client.get(f"{PAGE}/spring")).text
        assert texts.STATUS_LAST_LOST + texts.STATUS_DRAWS_LEFT.format(n=2) in html

    async def test_the_page_is_never_cached_or_framed(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app)
        async with fan_on_page(h5_app, FAN_A) as (client, _):
            response = await client.get(f"{PAGE}/spring")
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-frame-options"] == "DENY"


class TestDrawOutcomes:
    async def test_a_win_names_the_prize_and_the_payout_rule(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app, payout_after="first_trade")
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            body = await draw(client, headers)
        assert body["outcome"] == "won"
        assert body["title"] == "恭喜中奖"
        assert body["prize"] == "现金红包"
        assert body["message"] == "恭喜您获得「现金红包」！奖品将在确认您完成首笔交易后发放。"
        assert body["can_draw"] is False
        [decision] = await decisions_of(h5_app)
        assert (decision.openid, decision.decision) == (FAN_A, D.WON)
        assert decision.reason.startswith("won cash")

    async def test_a_loss_says_so_and_how_many_draws_are_left(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app, win_probability="0")
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            body = await draw(client, headers)
        assert body["outcome"] == "lost"
        assert body["message"] == texts.DRAW_MESSAGES["lost"] + "今日还可抽奖2次"
        assert body["can_draw"] is True
        assert [d.reason for d in await decisions_of(h5_app)] == ["not drawn (win probability)"]

    async def test_an_unbound_fan_is_not_eligible_and_gets_the_bind_link(
        self, h5_app: FastAPI
    ) -> None:
        await create_around_now(h5_app, eligibility=["bound_customer"])
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            body = await draw(client, headers)
            await bind(sessionmaker_of(h5_app), FAN_A, "C-FAN-A")
            after = await draw(client, headers)
        assert body["outcome"] == "not_eligible"
        assert body["message"] == texts.REFUSAL_MESSAGES["not_bound"]
        assert body["link"] == {"href": ac.BIND_PAGE_PATH, "label": texts.BIND_LINK}
        assert after["outcome"] == "won"
        reasons = [d.reason for d in await decisions_of(h5_app)]
        assert reasons[0] == "not eligible: bound customers only"

    @pytest.mark.parametrize(
        ("rule", "refusal"),
        [("account_opened_in_window", "no_account_in_window"), ("first_trade", "no_first_trade")],
    )
    async def test_other_unmet_rules_are_explained(
        self, h5_app: FastAPI, rule: str, refusal: str
    ) -> None:
        await create_around_now(h5_app, eligibility=[rule])
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            body = await draw(client, headers)
        assert body["outcome"] == "not_eligible"
        assert body["message"] == texts.REFUSAL_MESSAGES[refusal]
        assert body["link"] is None

    async def test_before_the_start_and_after_the_end(self, h5_app: FastAPI) -> None:
        now = now_of(h5_app)
        await create_around_now(h5_app, "early", starts_at=now + timedelta(hours=1))
        await create_around_now(
            h5_app, "late", starts_at=now - timedelta(days=9), ends_at=now - timedelta(days=1)
        )
        async with fan_on_page(h5_app, FAN_A, "early") as (client, headers):
            early = await draw(client, headers, "early")
            late = await draw(client, headers, "late")
        assert (early["outcome"], early["message"]) == (
            "not_open",
            texts.REFUSAL_MESSAGES["not_started"],
        )
        assert (late["outcome"], late["message"]) == ("not_open", texts.REFUSAL_MESSAGES["ended"])
        assert {d.reason for d in await decisions_of(h5_app)} == {"outside the campaign window"}

    async def test_a_closed_campaign(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app)
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            await set_campaign(h5_app, "spring", is_active=False)
            body = await draw(client, headers)
        assert (body["outcome"], body["message"]) == ("not_open", texts.REFUSAL_MESSAGES["closed"])
        assert [d.reason for d in await decisions_of(h5_app)] == ["campaign closed"]

    async def test_a_winner_drawing_again_is_told_already_won(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app)
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            await draw(client, headers)
            again = await draw(client, headers)
        assert again["outcome"] == "already_won"
        assert again["title"] == "已参与"
        assert again["message"] == texts.DRAW_MESSAGES["already_won"]

    async def test_the_same_person_through_a_second_openid_is_told_already_won(
        self, h5_app: FastAPI
    ) -> None:
        await create_around_now(h5_app)
        await bind(sessionmaker_of(h5_app), FAN_A, "C-SAME")
        await bind(sessionmaker_of(h5_app), FAN_B, "C-SAME")
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            assert (await draw(client, headers))["outcome"] == "won"
        async with fan_on_page(h5_app, FAN_B) as (client, headers):
            html = (await client.get(f"{PAGE}/spring")).text
            body = await draw(client, headers)
        assert texts.STATUS_WON.format(prize="现金红包") in html  # the person's award
        assert body["outcome"] == "already_won"

    async def test_sold_out(self, h5_app: FastAPI) -> None:
        prizes = [{"code": "cash", "name": "现金红包", "value": "88.00", "inventory": 1}]
        await create_around_now(h5_app, prizes=prizes)
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            await draw(client, headers)
        async with fan_on_page(h5_app, FAN_B) as (client, headers):
            body = await draw(client, headers)
        assert (body["outcome"], body["can_draw"]) == ("sold_out", False)
        assert body["message"] == texts.DRAW_MESSAGES["sold_out"]

    async def test_the_daily_draw_limit_is_explained(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app, win_probability="0", person_draws_per_day=1)
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            first = await draw(client, headers)
            second = await draw(client, headers)
            html = (await client.get(f"{PAGE}/spring")).text
        assert (first["outcome"], first["can_draw"]) == ("lost", False)
        assert first["message"] == texts.DRAW_MESSAGES["lost"]
        assert second["outcome"] == "rate_limited"
        assert second["message"] == texts.REFUSAL_MESSAGES["person_limit"]
        assert texts.REFUSAL_MESSAGES["person_limit"] in html
        assert 'id="draw" disabled' in html
        assert "per person per day" in (await decisions_of(h5_app))[-1].reason

    async def test_a_busy_scene_asks_to_try_later(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app, win_probability="0", scene_draws_per_hour=1)
        for fan in (FAN_A, FAN_B):
            await add_signal(h5_app, fan, follow_scene="stall-7")
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            await draw(client, headers)
        async with fan_on_page(h5_app, FAN_B) as (client, headers):
            body = await draw(client, headers)
        assert body["outcome"] == "rate_limited"
        assert body["can_draw"] is True
        assert body["message"] == texts.REFUSAL_MESSAGES["scene_limit"]

    async def test_a_blacklisted_fan_is_told_neutrally(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app)
        async with unit_of_work(sessionmaker_of(h5_app)) as session:
            await add_to_blacklist(
                session,
                kind=c.BlacklistKind.OPENID,
                value=FAN_A,
                reason="bonus hunter",
                actor="ops1",
                now=now_of(h5_app),
            )
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            html = (await client.get(f"{PAGE}/spring")).text
            body = await draw(client, headers)
        assert (body["outcome"], body["message"]) == ("blocked", texts.BLOCKED)
        for word in ("黑名单", "风险", "作弊", "bonus"):
            assert word not in body["message"]
            assert word not in html
        assert texts.BLOCKED in html
        assert (await decisions_of(h5_app))[-1].reason == "blacklisted openid: bonus hunter"

    async def test_a_high_risk_score_is_blocked_with_the_same_neutral_words(
        self, h5_app: FastAPI
    ) -> None:
        await create_around_now(h5_app)
        now = now_of(h5_app)
        await add_signal(
            h5_app,
            FAN_A,
            followed_at=now - timedelta(minutes=3),
            follow_scene="farm",
            risk_score=50,
            risk_reason="follow burst",
        )
        await convert(sessionmaker_of(h5_app), FAN_A, "account_opened", now - timedelta(minutes=5))
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            body = await draw(client, headers)
        assert (body["outcome"], body["message"]) == ("blocked", texts.BLOCKED)
        assert (await decisions_of(h5_app))[-1].reason.startswith("risk 100")

    async def test_a_risky_win_is_held_for_review(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app)
        now = now_of(h5_app)
        await convert(sessionmaker_of(h5_app), FAN_A, "account_opened", now - timedelta(minutes=5))
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            body = await draw(client, headers)
            html = (await client.get(f"{PAGE}/spring")).text
        assert body["outcome"] == "review"
        assert body["message"] == texts.REVIEW_MESSAGE.format(prize="现金红包")
        assert texts.AWARD_STATUS["review"] in html

    async def test_an_unknown_campaign_is_a_chinese_404_problem(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app)
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            unknown = await client.post(f"{PAGE}/nope/draw", headers=headers)
            malformed = await client.post(f"{PAGE}/BAD!/draw", headers=headers)
        for response in (unknown, malformed):
            assert response.status_code == 404
            assert response.json() == {
                "error": "campaigns.campaign_not_found",
                "detail": texts.NOT_FOUND,
            }

    async def test_redis_down_is_a_polite_503_not_a_500(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app)
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            working = h5_app.state.redis
            h5_app.state.redis = create_redis("redis://127.0.0.1:1/0")  # nobody listens
            try:
                drawn = await client.post(f"{PAGE}/spring/draw", headers=headers)
                page = await client.get(f"{PAGE}/spring")
            finally:
                await h5_app.state.redis.aclose()
                h5_app.state.redis = working
        assert drawn.status_code == 503
        assert drawn.json() == {"error": "campaigns.draw_unavailable", "detail": texts.UNAVAILABLE}
        assert page.status_code == 503
        assert texts.UNAVAILABLE in page.text


class TestSessionCsrfAndIdor:
    async def test_no_session_is_401_with_chinese_detail(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app)
        async with fan_client(h5_app) as client:
            response = await client.post(f"{PAGE}/spring/draw", json={"openid": FAN_A})
        assert response.status_code == 401
        assert response.json()["error"] == "accounts.session_required"
        assert await decisions_of(h5_app) == []

    @pytest.mark.parametrize("token", [None, "", "forged-token"])
    async def test_a_draw_without_the_pages_csrf_token_is_403(
        self, h5_app: FastAPI, token: str | None
    ) -> None:
        await create_around_now(h5_app)
        async with fan_on_page(h5_app, FAN_A) as (client, _):
            headers = {} if token is None else {ac.CSRF_HEADER: token}
            response = await client.post(f"{PAGE}/spring/draw", headers=headers)
        assert response.status_code == 403
        assert response.json()["error"] == "accounts.csrf"
        assert await decisions_of(h5_app) == []

    async def test_an_openid_in_the_query_or_body_is_ignored(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app)
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            response = await client.post(
                f"{PAGE}/spring/draw",
                params={"openid": FAN_B},
                json={"openid": FAN_B},
                headers=headers,
            )
        assert response.status_code == 200
        assert [d.openid for d in await decisions_of(h5_app)] == [FAN_A]

    async def test_the_page_shows_only_the_sessions_fan(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app)
        async with fan_on_page(h5_app, FAN_B) as (client, headers):
            assert (await draw(client, headers))["outcome"] == "won"
        async with fan_on_page(h5_app, FAN_A) as (client, _):
            html = (await client.get(f"{PAGE}/spring", params={"openid": FAN_B})).text
        assert texts.STATUS_WON.format(prize="现金红包") not in html
        assert texts.STATUS_ELIGIBLE in html

    async def test_a_tampered_session_cookie_is_refused(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app)
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            body, mac = session_cookie(client).split(".")
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            payload["o"] = FAN_B
            forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
            client.cookies.set(ac.SESSION_COOKIE, f"{forged}.{mac}", path=ac.COOKIE_PATH)
            response = await client.post(f"{PAGE}/spring/draw", headers=headers)
            page = await client.get(f"{PAGE}/spring")
        assert response.status_code == 401
        assert page.status_code == 302  # back through OAuth, never FAN_B's page
        assert await decisions_of(h5_app) == []

    async def test_one_fans_csrf_token_does_not_work_with_another_fans_session(
        self, h5_app: FastAPI
    ) -> None:
        await create_around_now(h5_app)
        async with (
            fan_on_page(h5_app, FAN_A) as (_, headers_a),
            fan_on_page(h5_app, FAN_B) as (client_b, _),
        ):
            response = await client_b.post(f"{PAGE}/spring/draw", headers=headers_a)
        assert response.status_code == 403
        assert await decisions_of(h5_app) == []


class TestOneTapAtATime:
    async def test_a_double_click_draws_once(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app, win_probability="0")
        async with fan_on_page(h5_app, FAN_A) as (client, headers):
            first, second = await asyncio.gather(
                client.post(f"{PAGE}/spring/draw", headers=headers),
                client.post(f"{PAGE}/spring/draw", headers=headers),
            )
            later = await draw(client, headers)
        outcomes = sorted([first.json()["outcome"], second.json()["outcome"]])
        assert outcomes == ["busy", "lost"]
        busy = next(r.json() for r in (first, second) if r.json()["outcome"] == "busy")
        assert busy["message"] == texts.BUSY
        assert later["outcome"] == "lost"  # the lock is released after each draw
        assert len(await decisions_of(h5_app)) == 2


class TestOpsLinksToThePage:
    async def test_the_ops_api_gives_the_page_url(self, h5_app: FastAPI) -> None:
        await create_around_now(h5_app)
        headers = await api_key_headers(h5_app, Role.VIEWER)
        async with fan_client(h5_app) as ops:
            read = await ops.get("/api/v1/ops/campaigns/lottery/spring", headers=headers)
        assert read.json()["page_url"] == f"{h5_app.state.settings.base_url}{PAGE}/spring"

    async def test_a_tracked_link_to_the_page_leads_into_oauth_then_the_page(
        self, h5_app: FastAPI
    ) -> None:
        await create_around_now(h5_app)
        page_url = f"{h5_app.state.settings.base_url}{PAGE}/spring"
        async with unit_of_work(sessionmaker_of(h5_app)) as session:
            await make_channel(session, "spring-poster")
            link = await links.create_link(
                session,
                channel_code="spring-poster",
                target=c.LinkTarget.OTHER,
                target_url=page_url,
                now=now_of(h5_app),
            )
        async with fan_client(h5_app) as client:
            clicked = await client.get(f"/t/{link.code}")
            assert clicked.status_code == 302
            assert clicked.headers["location"].startswith(f"{page_url}?wxb_channel=spring-poster")
            html = await login(
                client,
                FAN_A,
                clicked.headers["location"].removeprefix(h5_app.state.settings.base_url),
            )
        assert "春季开户礼" in html


def _campaign(**values: object) -> Campaign:
    defaults: dict[str, object] = {
        "eligibility": [],
        "win_probability": Decimal(1),
        "person_draws_per_day": 3,
        "payout_after": None,
        "payout_hold_hours": 0,
    }
    defaults.update(values)
    return Campaign(**defaults)


class TestWording:
    @pytest.mark.parametrize(
        ("values", "rule"),
        [
            ({}, "奖品将在中奖确认后发放"),
            ({"payout_hold_hours": 48}, "奖品将在中奖48小时后发放"),
            ({"payout_after": "account_opened"}, "奖品将在确认您开立证券账户后发放"),
            (
                {"payout_after": "first_trade", "payout_hold_hours": 24},
                "奖品将在确认您完成首笔交易24小时后发放",
            ),
        ],
    )
    def test_payout_rule(self, values: dict[str, object], rule: str) -> None:
        assert participation.payout_rule(_campaign(**values)) == rule

    def test_odds_are_stated_when_not_every_draw_wins(self) -> None:
        rules = participation.rules_of(_campaign(win_probability=Decimal("0.25")))
        assert "每次抽奖的中奖机会为25%，奖品发完即止" in rules
        assert texts.RULE_EVERYONE in rules

    def test_every_rule_is_spelled_out(self) -> None:
        rules = participation.rules_of(
            _campaign(eligibility=["bound_customer", "account_opened_in_window", "first_trade"])
        )
        assert rules[0] == (
            "参与条件：已在本公众号绑定证券账户的客户，且在活动期间内新开立证券账户，且已完成首笔交易"
        )
        assert texts.RULE_WHILE_STOCKS_LAST in rules
