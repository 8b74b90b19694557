"""Built-in replies through POST /wechat: keywords, welcome, default, unknown types."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.content import service
from app.core.db import unit_of_work
from tests.conftest import make_settings
from tests.webhook.signing import deliver, open_reply, post, reply_fields

WELCOME = "欢迎关注测试券商！"
DEFAULT = "您好，消息已收到。"
HEAD = (
    "<xml><ToUserName>gh_0123456789ab</ToUserName><FromUserName>oFan1</FromUserName>"
    "<CreateTime>1700000000</CreateTime>"
)


def text(content: str, msg_id: int) -> str:
    return f"{HEAD}<MsgType>text</MsgType><Content>{content}</Content><MsgId>{msg_id}</MsgId></xml>"


@pytest.fixture
def settings():
    return make_settings(webhook_welcome_text=WELCOME, webhook_default_reply=DEFAULT)


@pytest.fixture
async def keywords(app: FastAPI) -> None:
    async with unit_of_work(app.state.sessionmaker) as session:
        await service.create_keyword_reply(session, keyword="开户", reply_text="开户流程如下")
        await service.create_keyword_reply(
            session, keyword=r"(?i)app\s*下载", reply_text="请在应用商店搜索", match_type="regex"
        )
        await service.create_keyword_reply(
            session, keyword="停用", reply_text="不应出现", is_active=False
        )
    await app.state.keyword_cache.refresh(app.state.sessionmaker)


async def content_of(response: httpx.Response, mode: str = "plain") -> str:
    assert response.status_code == 200
    return reply_fields(open_reply(response, mode))["Content"]  # type: ignore[arg-type]


@pytest.mark.usefixtures("keywords")
class TestKeywordReplies:
    async def test_exact_keyword(self, client: httpx.AsyncClient) -> None:
        assert await content_of(await post(client, deliver(text(" 开户 ", 1)))) == "开户流程如下"

    async def test_regex_keyword_in_safe_mode(self, client: httpx.AsyncClient) -> None:
        response = await post(client, deliver(text("求APP 下载地址", 2), "safe"))
        assert await content_of(response, "safe") == "请在应用商店搜索"

    async def test_inactive_keyword_and_unknown_text_get_the_default(
        self, client: httpx.AsyncClient
    ) -> None:
        assert await content_of(await post(client, deliver(text("停用", 3)))) == DEFAULT
        assert await content_of(await post(client, deliver(text("随便说说", 4)))) == DEFAULT


class TestWelcomeAndDefault:
    async def test_follow_gets_the_welcome(self, client: httpx.AsyncClient) -> None:
        follow = f"{HEAD}<MsgType>event</MsgType><Event>subscribe</Event></xml>"
        assert await content_of(await post(client, deliver(follow))) == WELCOME

    async def test_a_picture_gets_the_default(self, client: httpx.AsyncClient) -> None:
        image = (
            f"{HEAD}<MsgType>image</MsgType><PicUrl>http://x/y.jpg</PicUrl>"
            "<MediaId>m</MediaId><MsgId>5</MsgId></xml>"
        )
        assert await content_of(await post(client, deliver(image))) == DEFAULT

    async def test_unknown_message_type_is_answered_success(
        self, client: httpx.AsyncClient
    ) -> None:
        odd = f"{HEAD}<MsgType>hologram</MsgType><MsgId>6</MsgId></xml>"
        response = await post(client, deliver(odd))
        assert response.status_code == 200
        assert response.content == b"success"

    async def test_a_menu_click_nobody_handles_is_answered_success(
        self, client: httpx.AsyncClient
    ) -> None:
        click = f"{HEAD}<MsgType>event</MsgType><Event>CLICK</Event><EventKey>NOPE</EventKey></xml>"
        response = await post(client, deliver(click))
        assert response.content == b"success"


class TestEmptyTexts:
    @pytest.fixture
    def settings(self):
        return make_settings(webhook_welcome_text=" ", webhook_default_reply="")

    async def test_blank_configured_texts_answer_success(self, client: httpx.AsyncClient) -> None:
        follow = f"{HEAD}<MsgType>event</MsgType><Event>subscribe</Event></xml>"
        assert (await post(client, deliver(follow))).content == b"success"
        assert (await post(client, deliver(text("hi", 7)))).content == b"success"


class TestInlineRoutes:
    """The built-in routes do no I/O, so they run inline (no budget task per message)."""

    async def test_welcome_keyword_news_and_default_routes_run_inline(self, app) -> None:  # type: ignore[no-untyped-def]
        from app.wechat.messages import parse_inbound

        router = app.state.wechat_router
        head = "<xml><ToUserName>gh_1</ToUserName><FromUserName>oFan</FromUserName>"
        bodies = [
            head + "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content>"
            "<MsgId>1</MsgId></xml>",
            head + "<CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event>"
            "</xml>",
            head + "<CreateTime>1</CreateTime><MsgType>image</MsgType><PicUrl>u</PicUrl>"
            "<MediaId>m</MediaId><MsgId>2</MsgId></xml>",
        ]
        for body in bodies:
            resolution = router.resolve(parse_inbound(body.encode()))
            assert resolution is not None
            assert router.runs_inline(resolution), body
