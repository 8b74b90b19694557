"""Fans' H5 pages: Jinja2 (autoescaped) with the security headers every page shares.

Ours only: no framing (clickjacking), no referrer leak, never cached (personal or per-fan data).
Each feature renders its own templates and chooses its Content-Security-Policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

# Pages with their own inline script (binding form, draw button), no third-party sources.
SCRIPTED_PAGE_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class H5Pages:
    """The templates of one feature's pages, rendered with `csp` and the shared headers."""

    def __init__(self, templates: Path, *, csp: str, **globals_: Any) -> None:
        self.env = Environment(
            loader=FileSystemLoader(templates),
            autoescape=select_autoescape(["html"]),
            auto_reload=False,
        )
        self.env.globals.update(globals_)
        self.headers = {
            "Content-Security-Policy": csp,
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        }

    def render(self, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        body = self.env.get_template(template).render(**values)
        return HTMLResponse(body, status_code=status_code, headers=self.headers)
