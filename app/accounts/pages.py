"""HTML of the binding pages (Jinja2, autoescaped), and the cookies the H5 flow sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.accounts import constants as c
from app.accounts import texts
from app.accounts.schemas import BindingView, FanSession, OAuthStart
from app.core.config import Settings

TEMPLATES = Path(__file__).resolve().parent / "templates"
ENV = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False
)
# The pages are ours only: no framing (clickjacking), no third-party scripts, no referrer leak.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline';"
        " img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def html(template: str, **values: Any) -> HTMLResponse:
    body = ENV.get_template(template).render(texts=texts, **values)
    return HTMLResponse(body, headers=SECURITY_HEADERS)


def bind_page(fan: FanSession, bindings: list[BindingView]) -> HTMLResponse:
    data = {
        "csrfHeader": c.CSRF_HEADER,
        "csrfToken": fan.csrf_token,
        "consentVersion": c.CONSENT_VERSION,
        "consentRequired": texts.CONSENT_REQUIRED,
    }
    return html(
        "bind.html",
        bindings=bindings,
        consent_version=c.CONSENT_VERSION,
        page_data=json.dumps(data),
    )


def message_page(title: str, message: str, status_code: int) -> HTMLResponse:
    page = html("message.html", title=title, message=message)
    page.status_code = status_code
    return page


def _secure(settings: Settings) -> bool:
    return settings.base_url.startswith("https://")


def oauth_redirect(start: OAuthStart, settings: Settings) -> Response:
    """Send the fan to WeChat's authorize page, remembering the nonce in a short cookie."""
    response = RedirectResponse(start.authorize_url, status_code=302)
    response.set_cookie(
        c.OAUTH_NONCE_COOKIE,
        start.nonce,
        max_age=c.OAUTH_STATE_TTL_S,
        path=c.COOKIE_PATH,
        httponly=True,
        secure=_secure(settings),
        samesite="lax",
    )
    return response


def session_redirect(location: str, session_cookie: str, settings: Settings) -> Response:
    response = RedirectResponse(location, status_code=303)
    response.set_cookie(
        c.SESSION_COOKIE,
        session_cookie,
        max_age=c.SESSION_TTL_S,
        path=c.COOKIE_PATH,
        httponly=True,
        secure=_secure(settings),
        samesite="lax",
    )
    response.delete_cookie(c.OAUTH_NONCE_COOKIE, path=c.COOKIE_PATH)
    return response
