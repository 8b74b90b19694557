"""Content errors."""

from __future__ import annotations

from app.core.errors import Invalid, NotFound


class InvalidKeywordReplyError(Invalid):
    code = "content.invalid_keyword_reply"


class KeywordReplyNotFoundError(NotFound):
    code = "content.keyword_reply_not_found"

    def __init__(self, reply_id: int) -> None:
        super().__init__(f"keyword reply {reply_id} does not exist")
