"""HTML of the fan's campaign page (Jinja2, autoescaped) and its OAuth hand-off."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.responses import HTMLResponse

from app.accounts import constants as accounts_constants
from app.accounts.schemas import FanSession
from app.campaigns import texts
from app.campaigns.constants import H5_PREFIX
from app.campaigns.participation import CampaignPage
from app.core.h5 import SCRIPTED_PAGE_CSP, H5Pages

PAGES = H5Pages(Path(__file__).resolve().parent / "templates", csp=SCRIPTED_PAGE_CSP, texts=texts)


def campaign_page(view: CampaignPage, fan: FanSession) -> HTMLResponse:
    data = {
        "csrfHeader": accounts_constants.CSRF_HEADER,
        "csrfToken": fan.csrf_token,
        "drawUrl": f"{H5_PREFIX}/{view.code}/draw",
        "failed": texts.UNAVAILABLE,
    }
    return PAGES.render("campaign.html", view=view, page_data=json.dumps(data))


def message_page(message: str, status_code: int) -> HTMLResponse:
    return PAGES.render("message.html", status_code, title=texts.PAGE_TITLE, message=message)
