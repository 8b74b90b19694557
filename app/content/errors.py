"""Content errors."""

from __future__ import annotations

from collections.abc import Sequence

from app.core.errors import Conflict, Invalid, NotFound, Unavailable


class InvalidKeywordReplyError(Invalid):
    code = "content.invalid_keyword_reply"


class KeywordReplyNotFoundError(NotFound):
    code = "content.keyword_reply_not_found"

    def __init__(self, reply_id: int) -> None:
        super().__init__(f"keyword reply {reply_id} does not exist")


class MenuValidationError(Invalid):
    """A menu WeChat would refuse; `problems` lists every violation found."""

    code = "content.invalid_menu"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class MenuVersionNotFoundError(NotFound):
    code = "content.menu_version_not_found"

    def __init__(self, version: int | None = None) -> None:
        what = f"menu version {version}" if version is not None else "a published menu version"
        super().__init__(f"{what} does not exist")


class MenuVersionStateError(Conflict):
    code = "content.menu_version_state"


class MenuPublishError(Unavailable):
    """WeChat refused or could not be reached; the version keeps its previous status."""

    code = "content.menu_publish_failed"


class InvalidArticleError(Invalid):
    code = "content.invalid_article"


class ArticleNotFoundError(NotFound):
    code = "content.article_not_found"

    def __init__(self, article_id: int) -> None:
        super().__init__(f"article {article_id} does not exist")
