"""app/wechat/replies.py: XML rendering, CDATA safety, limits and customer-service bodies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import xmltodict
from hypothesis import given, settings
from hypothesis import strategies as st

from app.wechat.messages import parse_fields
from app.wechat.replies import (
    MAX_NEWS_ARTICLES,
    SUCCESS,
    Article,
    ImageReply,
    InvalidReplyError,
    NewsReply,
    TextReply,
    TransferCustomerServiceReply,
    cdata,
)

VECTORS = json.loads(Path("/work/shared/wechat/vectors.json").read_text())
OPENID = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"
GH = "gh_0123456789ab"
ADDRESS: dict[str, Any] = {"to_user": OPENID, "from_user": GH, "create_time": 1700000001}

# Characters XML 1.0 can carry; "\r" is left out because XML parsers normalise line ends.
XML_TEXT = st.text(
    st.characters(
        exclude_categories=["Cs"],
        exclude_characters="\r\ufffe\uffff",
        min_codepoint=0x09,
    ).filter(lambda c: c in "\t\n" or c >= " "),
    min_size=1,
).filter(str.strip)


def _parsed(xml: str) -> dict[str, object]:
    return parse_fields(xml.encode())


class TestCdata:
    def test_plain_text_is_wrapped(self) -> None:
        assert cdata("余额") == "<![CDATA[余额]]>"

    def test_terminator_is_split_across_sections(self) -> None:
        assert cdata("a]]>b") == "<![CDATA[a]]]]><![CDATA[>b]]>"

    def test_forbidden_control_characters_are_dropped(self) -> None:
        assert cdata("a\x00b\x1bc\ufffe") == "<![CDATA[abc]]>"


class TestTextReply:
    @pytest.mark.parametrize(
        "case", VECTORS["encrypted_reply"], ids=[c["name"] for c in VECTORS["encrypted_reply"]]
    )
    def test_renders_the_vector_plaintext_exactly(self, case: dict[str, str]) -> None:
        content = _parsed(case["reply_plaintext_xml"])["Content"]
        assert isinstance(content, str)
        rendered = TextReply(content).render(
            to_user=OPENID, from_user=GH, create_time=int(case["timestamp"])
        )
        assert rendered == case["reply_plaintext_xml"]

    def test_fields_parse_back(self) -> None:
        fields = _parsed(TextReply("持仓\n第二行").render(**ADDRESS))
        assert fields == {
            "ToUserName": OPENID,
            "FromUserName": GH,
            "CreateTime": "1700000001",
            "MsgType": "text",
            "Content": "持仓\n第二行",
        }

    def test_content_with_cdata_terminator_survives(self) -> None:
        content = "x]]><Content>evil</Content>]]>"
        rendered = TextReply(content).render(**ADDRESS)
        assert _parsed(rendered)["Content"] == content
        assert xmltodict.parse(rendered)["xml"]["Content"] == content

    @pytest.mark.parametrize("content", ["", "   ", "\x00\x01"])
    def test_empty_content_is_refused(self, content: str) -> None:
        # An empty Content makes WeChat show "service unavailable" to the fan.
        with pytest.raises(InvalidReplyError):
            TextReply(content)

    def test_custom_message(self) -> None:
        assert TextReply("你好").to_custom_message() == {
            "msgtype": "text",
            "text": {"content": "你好"},
        }

    def test_addressing_fields_are_escaped_too(self) -> None:
        rendered = TextReply("ok").render(to_user="o]]>x", from_user=GH, create_time=5)
        assert _parsed(rendered)["ToUserName"] == "o]]>x"

    @settings(max_examples=300, deadline=None)
    @given(XML_TEXT)
    def test_arbitrary_text_round_trips(self, content: str) -> None:
        assert _parsed(TextReply(content).render(**ADDRESS))["Content"] == content


def _articles(count: int) -> list[Article]:
    return [
        Article(
            title=f"标题{i}",
            description=f"desc {i}",
            pic_url=f"https://example.com/{i}.png",
            url=f"https://example.com/a/{i}",
        )
        for i in range(count)
    ]


class TestNewsReply:
    @pytest.mark.parametrize("count", [1, MAX_NEWS_ARTICLES])
    def test_renders_articles(self, count: int) -> None:
        fields = _parsed(NewsReply(_articles(count)).render(**ADDRESS))
        assert (fields["MsgType"], fields["ArticleCount"]) == ("news", str(count))
        articles = fields["Articles"]
        assert isinstance(articles, dict)
        items = articles["item"] if count > 1 else [articles["item"]]
        assert [item["Title"] for item in items] == [f"标题{i}" for i in range(count)]
        assert items[-1]["PicUrl"] == f"https://example.com/{count - 1}.png"
        assert items[-1]["Url"] == f"https://example.com/a/{count - 1}"

    @pytest.mark.parametrize("count", [0, MAX_NEWS_ARTICLES + 1])
    def test_article_count_is_limited(self, count: int) -> None:
        with pytest.raises(InvalidReplyError):
            NewsReply(_articles(count))

    def test_custom_message(self) -> None:
        assert NewsReply(_articles(1)).to_custom_message() == {
            "msgtype": "news",
            "news": {
                "articles": [
                    {
                        "title": "标题0",
                        "description": "desc 0",
                        "url": "https://example.com/a/0",
                        "picurl": "https://example.com/0.png",
                    }
                ]
            },
        }


class TestImageReply:
    def test_renders_media_id(self) -> None:
        fields = _parsed(ImageReply("MEDIA_1").render(**ADDRESS))
        assert (fields["MsgType"], fields["Image"]) == ("image", {"MediaId": "MEDIA_1"})

    def test_media_id_is_required(self) -> None:
        with pytest.raises(InvalidReplyError):
            ImageReply("")

    def test_custom_message(self) -> None:
        assert ImageReply("MEDIA_1").to_custom_message() == {
            "msgtype": "image",
            "image": {"media_id": "MEDIA_1"},
        }


class TestTransferCustomerServiceReply:
    def test_renders_transfer(self) -> None:
        fields = _parsed(TransferCustomerServiceReply().render(**ADDRESS))
        assert fields["MsgType"] == "transfer_customer_service"
        assert fields["ToUserName"] == OPENID

    def test_has_no_customer_service_equivalent(self) -> None:
        with pytest.raises(InvalidReplyError):
            TransferCustomerServiceReply().to_custom_message()


def test_success_is_the_seven_byte_acknowledgement() -> None:
    assert SUCCESS.encode() == b"success"
