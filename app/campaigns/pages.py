"""HTML of the fan's campaign page (Jinja2, autoescaped) and its OAuth hand-off."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.accounts import constants as accounts_constants
from app.accounts.schemas import FanSession
from app.campaigns import texts
from app.campaigns.constants import H5_PREFIX
from app.campaigns.participation import CampaignPage

TEMPLATES = Path(__file__).resolve().parent / "templates"
ENV = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False
)
ENV.globals.update(texts=texts)
# Ours only: no framing, no third-party scripts, no referrer leak, never cached (fan status).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline';"
        " img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _render(template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    body = ENV.get_template(template).render(**values)
    return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)


def campaign_page(view: CampaignPage, fan: FanSession) -> HTMLResponse:
    data = {
        "csrfHeader": accounts_constants.CSRF_HEADER,
        "csrfToken": fan.csrf_token,
        "drawUrl": f"{H5_PREFIX}/{view.code}/draw",
        "failed": texts.UNAVAILABLE,
    }
    return _render("campaign.html", view=view, page_data=json.dumps(data))


def message_page(message: str, status_code: int) -> HTMLResponse:
    return _render("message.html", status_code, title=texts.PAGE_TITLE, message=message)
