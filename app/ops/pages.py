"""Console pages under /console: static HTML shells whose script calls the ops API.

Pages need a session (anonymous visitors are sent to the login page); what a page may *do* is
decided by the API's role checks, so the pages themselves carry no data and no secrets.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from app.ops.constants import CONSOLE_PREFIX
from app.ops.dependencies import OptionalPrincipalDep

STATIC = Path(__file__).resolve().parent / "static"
PAGES = ("dashboard", "pushes", "account", "fans", "audit", "staff")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
router = APIRouter(prefix=CONSOLE_PREFIX, include_in_schema=False)


def _shell(name: str, page: str) -> HTMLResponse:
    html = (STATIC / name).read_text(encoding="utf-8").replace("__PAGE__", page)
    return HTMLResponse(html, headers=SECURITY_HEADERS)


def _to_login() -> RedirectResponse:
    return RedirectResponse(f"{CONSOLE_PREFIX}/login", status_code=303)


@router.get("/login")
async def login_page() -> Response:
    return _shell("login.html", "login")


@router.get("")
async def console_root(principal: OptionalPrincipalDep) -> Response:
    if principal is None:
        return _to_login()
    return RedirectResponse(f"{CONSOLE_PREFIX}/dashboard", status_code=303)


def _page_route(page: str) -> None:
    async def show(principal: OptionalPrincipalDep) -> Response:
        return _to_login() if principal is None else _shell("console.html", page)

    show.__name__ = f"console_{page}"
    router.add_api_route(f"/{page}", show, methods=["GET"])


for _page in PAGES:
    _page_route(_page)


def static_files() -> StaticFiles:
    """The console's scripts, styles and the vendored Chart.js (no CDN)."""
    return StaticFiles(directory=STATIC)
