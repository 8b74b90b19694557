"""HTML of the binding pages (Jinja2, autoescaped), and the cookies the H5 flow sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.accounts import constants as c
from app.accounts import texts
from app.accounts.schemas import BindingView, FanSession, OAuthStart
from app.core.config import Settings
from app.core.h5 import SCRIPTED_PAGE_CSP, H5Pages

PAGES = H5Pages(Path(__file__).resolve().parent / "templates", csp=SCRIPTED_PAGE_CSP, texts=texts)


def html(template: str, **values: Any) -> HTMLResponse:
    return PAGES.render(template, **values)


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
