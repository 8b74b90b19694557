"""HTML of the account detail pages (Jinja2, autoescaped): red for gains, green for losses."""

from __future__ import annotations

from pathlib import Path

from fastapi.responses import HTMLResponse

from app.account_center import formatting as fmt
from app.account_center import texts
from app.account_center.constants import H5_PREFIX, PAGE_OF
from app.account_center.replies import ipo_won_line
from app.account_center.service import QueryResult
from app.accounts import service as accounts_service
from app.accounts.schemas import BindingRead
from app.core.h5 import H5Pages

# No script at all; personal financial data is never cached by the browser or a proxy.
PAGES = H5Pages(
    Path(__file__).resolve().parent / "templates",
    csp=(
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    fmt=fmt,
    texts=texts,
)


def detail_page(result: QueryResult, bindings: list[BindingRead]) -> HTMLResponse:
    page = PAGE_OF[result.kind]
    switch = [
        {
            "label": accounts_service.describe_binding(b),
            "href": f"{H5_PREFIX}/{page}?binding_id={b.id}",
            "current": b.id == result.binding.id,
        }
        for b in bindings
    ]
    return PAGES.render(
        f"{page}.html",
        title=texts.TITLES[result.kind],
        result=result,
        rows=result.data,
        account=accounts_service.describe_binding(result.binding),
        updated=texts.UPDATED_AT.format(time=fmt.hhmm(result.fetched_at)),
        switch=switch if len(switch) > 1 else [],
        ipo_won_line=ipo_won_line,
    )


def message_page(
    title: str, message: str, *, status_code: int = 200, link: tuple[str, str] | None = None
) -> HTMLResponse:
    return PAGES.render("message.html", status_code, title=title, message=message, link=link)
