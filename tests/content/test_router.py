"""Content ops API: keyword replies and articles CRUD, menu drafts, YAML import/export,
validation; staff roles required; and article replies through POST /wechat."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.content import menus
from app.ops.constants import Role
from tests.content.ops_keys import api_key_headers, audit_entries
from tests.webhook.signing import deliver, open_reply, post, reply_fields

API = "/api/v1/ops/content"
HEAD = (
    "<xml><ToUserName>gh_0123456789ab</ToUserName><FromUserName>oFan1</FromUserName>"
    "<CreateTime>1700000000</CreateTime>"
)


@pytest.fixture
async def ops(app: FastAPI, client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.headers.update(await api_key_headers(app, Role.OPERATOR))
    return client


def text(content: str, msg_id: int) -> str:
    return f"{HEAD}<MsgType>text</MsgType><Content>{content}</Content><MsgId>{msg_id}</MsgId></xml>"


def click(key: str, create_time: int) -> str:
    head = HEAD.replace("1700000000", str(create_time))  # events dedupe on CreateTime
    return f"{head}<MsgType>event</MsgType><Event>CLICK</Event><EventKey>{key}</EventKey></xml>"


async def reply_of(client: httpx.AsyncClient, xml: str) -> dict[str, str]:
    response = await post(client, deliver(xml))
    assert response.status_code == 200
    return reply_fields(open_reply(response, "plain"))


ARTICLE = {
    "title": "三季度市场展望",
    "digest": "研究所解读",
    "cover_url": "https://cdn.example.com/c.jpg",
    "link_url": "https://news.example.com/a/1",
}


class TestAuth:
    async def test_anonymous_callers_are_refused(self, client: httpx.AsyncClient) -> None:
        response = await client.get(f"{API}/keyword-replies")
        assert response.status_code == 401

    async def test_viewers_read_but_do_not_write(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        client.headers.update(await api_key_headers(app, Role.VIEWER))
        assert (await client.get(f"{API}/articles")).status_code == 200
        assert (await client.post(f"{API}/articles", json=ARTICLE)).status_code == 403


class TestKeywordReplies:
    async def test_create_update_and_deactivate(self, ops: httpx.AsyncClient, app: FastAPI) -> None:
        created = await ops.post(
            f"{API}/keyword-replies", json={"keyword": "开户", "reply_text": "请点击菜单开户"}
        )
        assert created.status_code == 201
        rule_id = created.json()["id"]
        patched = await ops.patch(
            f"{API}/keyword-replies/{rule_id}", json={"reply_text": "开户请点击下方菜单"}
        )
        assert patched.json()["reply_text"] == "开户请点击下方菜单"
        await app.state.keyword_cache.refresh(app.state.sessionmaker)
        assert (await reply_of(ops, text("开户", 1)))["Content"] == "开户请点击下方菜单"

        await ops.patch(f"{API}/keyword-replies/{rule_id}", json={"is_active": False})
        listed = (await ops.get(f"{API}/keyword-replies")).json()
        assert [(r["id"], r["is_active"]) for r in listed] == [(rule_id, False)]

    @pytest.mark.parametrize(
        "body",
        [
            {"keyword": "(", "match_type": "regex", "reply_text": "x"},
            {"keyword": "a", "reply_text": " "},
            {"keyword": "a", "article_id": 999},
        ],
    )
    async def test_bad_rules_are_400(self, ops: httpx.AsyncClient, body: dict) -> None:  # type: ignore[type-arg]
        response = await ops.post(f"{API}/keyword-replies", json=body)
        assert response.status_code == 400
        assert response.json()["error"] == "content.invalid_keyword_reply"

    async def test_unknown_rule_is_404(self, ops: httpx.AsyncClient) -> None:
        response = await ops.patch(f"{API}/keyword-replies/77", json={"priority": 1})
        assert response.status_code == 404


class TestAudit:
    async def test_keyword_reply_create_edit_and_disable_are_audited_with_before_and_after(
        self, ops: httpx.AsyncClient, app: FastAPI
    ) -> None:
        created = await ops.post(
            f"{API}/keyword-replies", json={"keyword": "费率", "reply_text": "万三"}
        )
        rule_id = created.json()["id"]
        await ops.patch(f"{API}/keyword-replies/{rule_id}", json={"reply_text": "万二点五"})
        await ops.patch(f"{API}/keyword-replies/{rule_id}", json={"is_active": False})

        entries = await audit_entries(app, "keyword_reply")

        assert [e["action"] for e in entries] == [
            "content.keyword_reply.create",
            "content.keyword_reply.update",
            "content.keyword_reply.update",
        ]
        assert {e["target_id"] for e in entries} == {str(rule_id)}
        assert {e["actor_name"] for e in entries} == {"test-operator"}
        assert entries[0]["before"] is None
        assert entries[0]["after"]["reply_text"] == "万三"
        assert (entries[1]["before"]["reply_text"], entries[1]["after"]["reply_text"]) == (
            "万三",
            "万二点五",
        )
        assert (entries[2]["before"]["is_active"], entries[2]["after"]["is_active"]) == (
            True,
            False,
        )

    async def test_article_create_and_edit_are_audited(
        self, ops: httpx.AsyncClient, app: FastAPI
    ) -> None:
        article = (await ops.post(f"{API}/articles", json=ARTICLE)).json()
        await ops.patch(f"{API}/articles/{article['id']}", json={"title": "四季度市场展望"})

        entries = await audit_entries(app, "article")

        assert [e["action"] for e in entries] == [
            "content.article.create",
            "content.article.update",
        ]
        assert (entries[1]["before"]["title"], entries[1]["after"]["title"]) == (
            "三季度市场展望",
            "四季度市场展望",
        )

    async def test_a_refused_edit_leaves_no_audit_entry_and_no_change(
        self, ops: httpx.AsyncClient, app: FastAPI
    ) -> None:
        created = await ops.post(
            f"{API}/keyword-replies", json={"keyword": "费率", "reply_text": "万三"}
        )
        rule_id = created.json()["id"]
        bad = await ops.patch(
            f"{API}/keyword-replies/{rule_id}", json={"keyword": "(", "match_type": "regex"}
        )
        assert bad.status_code == 400
        assert [e["action"] for e in await audit_entries(app, "keyword_reply")] == [
            "content.keyword_reply.create"
        ]
        assert (await ops.get(f"{API}/keyword-replies/{rule_id}")).json()["keyword"] == "费率"

    async def test_menu_drafts_are_audited(self, ops: httpx.AsyncClient, app: FastAPI) -> None:
        await ops.post(
            f"{API}/menus", json={"definition": menus.builtin_definition(), "note": "v1"}
        )
        entries = await audit_entries(app, "menu_version")
        assert [(e["action"], e["target_id"]) for e in entries] == [
            ("content.menu_version.draft", "1")
        ]


class TestNulls:
    @pytest.mark.parametrize(
        "change", [{"is_active": None}, {"priority": None}, {"keyword": None}, {"reply_text": None}]
    )
    async def test_null_for_a_required_keyword_field_is_400(
        self,
        ops: httpx.AsyncClient,
        change: dict,  # type: ignore[type-arg]
    ) -> None:
        created = await ops.post(
            f"{API}/keyword-replies", json={"keyword": "费率", "reply_text": "万三"}
        )
        response = await ops.patch(f"{API}/keyword-replies/{created.json()['id']}", json=change)
        assert response.status_code == 400
        assert response.json()["error"] == "content.invalid_keyword_reply"

    @pytest.mark.parametrize(
        "change", [{"is_active": None}, {"published_at": None}, {"link_url": None}]
    )
    async def test_null_for_an_article_field_is_400(
        self,
        ops: httpx.AsyncClient,
        change: dict,  # type: ignore[type-arg]
    ) -> None:
        article = (await ops.post(f"{API}/articles", json=ARTICLE)).json()
        response = await ops.patch(f"{API}/articles/{article['id']}", json=change)
        assert response.status_code == 400
        assert response.json()["error"] == "content.invalid_article"

    async def test_null_article_id_turns_a_card_rule_back_into_text(
        self, ops: httpx.AsyncClient
    ) -> None:
        article = (await ops.post(f"{API}/articles", json=ARTICLE)).json()
        created = await ops.post(
            f"{API}/keyword-replies",
            json={"keyword": "展望", "article_id": article["id"], "reply_text": "见文章"},
        )
        response = await ops.patch(
            f"{API}/keyword-replies/{created.json()['id']}", json={"article_id": None}
        )
        assert response.status_code == 200
        assert (response.json()["article_id"], response.json()["reply_text"]) == (None, "见文章")


class TestArticles:
    async def test_an_article_keyword_answers_with_a_news_card(
        self, ops: httpx.AsyncClient, app: FastAPI
    ) -> None:
        article = (await ops.post(f"{API}/articles", json=ARTICLE)).json()
        await ops.post(
            f"{API}/keyword-replies", json={"keyword": "展望", "article_id": article["id"]}
        )
        await app.state.keyword_cache.refresh(app.state.sessionmaker)

        reply = await reply_of(ops, text("展望", 2))

        assert reply["MsgType"] == "news"
        assert reply["ArticleCount"] == "1"
        xml = open_reply(await post(ops, deliver(text("展望", 3))), "plain").decode()
        assert "三季度市场展望" in xml
        assert "https://news.example.com/a/1" in xml

    async def test_a_withdrawn_article_falls_back_to_the_default_reply(
        self, ops: httpx.AsyncClient, app: FastAPI
    ) -> None:
        article = (await ops.post(f"{API}/articles", json=ARTICLE)).json()
        await ops.post(
            f"{API}/keyword-replies", json={"keyword": "展望", "article_id": article["id"]}
        )
        await ops.patch(f"{API}/articles/{article['id']}", json={"is_active": False})
        await app.state.keyword_cache.refresh(app.state.sessionmaker)

        reply = await reply_of(ops, text("展望", 4))

        assert reply["MsgType"] == "text"
        assert reply["Content"] == app.state.settings.webhook_default_reply

    async def test_latest_news_key_answers_with_the_newest_article(
        self, ops: httpx.AsyncClient, app: FastAPI
    ) -> None:
        empty = await reply_of(ops, click("MENU_LATEST_NEWS", 1700000001))
        assert empty["Content"] == "暂无最新资讯，敬请关注。"
        await ops.post(
            f"{API}/articles", json={**ARTICLE, "published_at": "2026-01-01T00:00:00+00:00"}
        )
        newest = {**ARTICLE, "title": "今日要闻", "published_at": "2026-01-02T00:00:00+00:00"}
        await ops.post(f"{API}/articles", json=newest)
        scheduled = {**ARTICLE, "title": "未来文章", "published_at": "2099-01-01T00:00:00+00:00"}
        await ops.post(f"{API}/articles", json=scheduled)
        await app.state.keyword_cache.refresh(app.state.sessionmaker)

        xml = open_reply(
            await post(ops, deliver(click("MENU_LATEST_NEWS", 1700000002))), "plain"
        ).decode()

        assert "今日要闻" in xml
        assert "未来文章" not in xml

    @pytest.mark.parametrize(
        "change", [{"link_url": "javascript:alert(1)"}, {"title": ""}, {"cover_url": "ftp://x"}]
    )
    async def test_bad_articles_are_refused(
        self,
        ops: httpx.AsyncClient,
        change: dict,  # type: ignore[type-arg]
    ) -> None:
        response = await ops.post(f"{API}/articles", json={**ARTICLE, **change})
        assert response.status_code in (400, 422)


class TestMenus:
    async def test_draft_export_import_and_validate(self, ops: httpx.AsyncClient) -> None:
        drafted = await ops.post(
            f"{API}/menus", json={"definition": menus.builtin_definition(), "note": "v1"}
        )
        assert drafted.status_code == 201
        assert drafted.json()["created_by"] == "test-operator"
        exported = await ops.get(f"{API}/menus/1/yaml")
        assert exported.headers["content-type"].startswith("application/yaml")
        imported = await ops.post(f"{API}/menus:import", content=exported.content)
        assert imported.status_code == 201
        assert imported.json()["definition"] == drafted.json()["definition"]
        assert [v["version"] for v in (await ops.get(f"{API}/menus")).json()] == [2, 1]

        check = await ops.post(
            f"{API}/menus:validate",
            json={"definition": {"button": [{"type": "click", "name": "x" * 17, "key": "k"}]}},
        )
        assert check.json()["valid"] is False
        assert "16 bytes" in check.json()["problems"][0]

    async def test_an_invalid_menu_is_400_with_every_problem(self, ops: httpx.AsyncClient) -> None:
        response = await ops.post(f"{API}/menus:import", content=b"button: []\n")
        assert response.status_code == 400
        assert response.json()["error"] == "content.invalid_menu"
