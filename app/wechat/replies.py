"""Passive replies to WeChat callbacks (FACTS.md §1.1) and their customer-service equivalents."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SUCCESS = "success"
# FACTS.md §1.1 says 1 article when answering a user message and up to 8 otherwise; we enforce
# the upper bound here and leave the per-context choice to the handler.
MAX_NEWS_ARTICLES = 8

# Characters XML 1.0 cannot carry at all, even inside CDATA; WeChat would reject the whole reply.
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class InvalidReplyError(ValueError):
    """A reply WeChat would refuse (empty text, too many articles, ...)."""


def xml_safe(text: str) -> str:
    """Drop characters XML 1.0 forbids (NUL, most C0 controls, U+FFFE/U+FFFF, lone surrogates)."""
    return _XML_FORBIDDEN.sub("", text)


def cdata(text: str) -> str:
    """A CDATA section holding `text`; a `]]>` inside is split across two sections."""
    return "<![CDATA[" + xml_safe(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _head(to_user: str, from_user: str, create_time: int, msg_type: str) -> str:
    return (
        f"<xml>\n<ToUserName>{cdata(to_user)}</ToUserName>\n"
        f"<FromUserName>{cdata(from_user)}</FromUserName>\n"
        f"<CreateTime>{int(create_time)}</CreateTime>\n"
        f"<MsgType>{cdata(msg_type)}</MsgType>\n"
    )


@dataclass(frozen=True, slots=True)
class TextReply:
    content: str

    def __post_init__(self) -> None:
        # An empty Content makes WeChat tell the fan the account is out of service.
        if not xml_safe(self.content).strip():
            raise InvalidReplyError("text reply needs non-empty content")

    def render(self, *, to_user: str, from_user: str, create_time: int) -> str:
        head = _head(to_user, from_user, create_time, "text")
        return f"{head}<Content>{cdata(self.content)}</Content>\n</xml>"

    def to_custom_message(self) -> dict[str, Any]:
        return {"msgtype": "text", "text": {"content": xml_safe(self.content)}}


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    description: str = ""
    pic_url: str = ""
    url: str = ""

    def render(self) -> str:
        return (
            f"<item>\n<Title>{cdata(self.title)}</Title>\n"
            f"<Description>{cdata(self.description)}</Description>\n"
            f"<PicUrl>{cdata(self.pic_url)}</PicUrl>\n"
            f"<Url>{cdata(self.url)}</Url>\n</item>\n"
        )

    def to_custom_article(self) -> dict[str, str]:
        return {
            "title": self.title,
            "description": self.description,
            "url": self.url,
            "picurl": self.pic_url,
        }


@dataclass(frozen=True, slots=True)
class NewsReply:
    articles: list[Article]

    def __post_init__(self) -> None:
        if not 1 <= len(self.articles) <= MAX_NEWS_ARTICLES:
            raise InvalidReplyError(f"news reply needs 1 to {MAX_NEWS_ARTICLES} articles")

    def render(self, *, to_user: str, from_user: str, create_time: int) -> str:
        head = _head(to_user, from_user, create_time, "news")
        items = "".join(article.render() for article in self.articles)
        return (
            f"{head}<ArticleCount>{len(self.articles)}</ArticleCount>\n"
            f"<Articles>\n{items}</Articles>\n</xml>"
        )

    def to_custom_message(self) -> dict[str, Any]:
        articles = [article.to_custom_article() for article in self.articles]
        return {"msgtype": "news", "news": {"articles": articles}}


@dataclass(frozen=True, slots=True)
class ImageReply:
    media_id: str

    def __post_init__(self) -> None:
        if not self.media_id:
            raise InvalidReplyError("image reply needs a media_id")

    def render(self, *, to_user: str, from_user: str, create_time: int) -> str:
        head = _head(to_user, from_user, create_time, "image")
        return f"{head}<Image>\n<MediaId>{cdata(self.media_id)}</MediaId>\n</Image>\n</xml>"

    def to_custom_message(self) -> dict[str, Any]:
        return {"msgtype": "image", "image": {"media_id": self.media_id}}


@dataclass(frozen=True, slots=True)
class TransferCustomerServiceReply:
    """Hands the conversation to the human customer-service system (no content of its own)."""

    def render(self, *, to_user: str, from_user: str, create_time: int) -> str:
        return _head(to_user, from_user, create_time, "transfer_customer_service") + "</xml>"

    def to_custom_message(self) -> dict[str, Any]:
        # There is no customer-service message that transfers a session: the hand-over only
        # exists as a passive reply, so a late transfer cannot be delivered.
        raise InvalidReplyError("a transfer to customer service only exists as a passive reply")


Reply = TextReply | NewsReply | ImageReply | TransferCustomerServiceReply
