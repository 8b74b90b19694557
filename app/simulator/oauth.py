"""OAuth2 web authorisation: one-time codes, per-user tokens and refresh tokens (FACTS §5.7)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from app.simulator.errors import WeChatFault

CODE_TTL_S = 300
TOKEN_TTL_S = 7200
REFRESH_TTL_S = 30 * 24 * 3600
SCOPES = frozenset({"snsapi_base", "snsapi_userinfo"})


@dataclass
class OAuthCode:
    openid: str
    scope: str
    issued_at: float
    used: bool = False


@dataclass
class OAuthGrant:
    openid: str
    scope: str
    access_token: str
    expires_at: float
    refresh_token: str
    refresh_expires_at: float


class OAuthStore:
    def __init__(self) -> None:
        self._codes: dict[str, OAuthCode] = {}
        self._grants: dict[str, OAuthGrant] = {}  # by access_token
        self._refresh: dict[str, OAuthGrant] = {}  # by refresh_token

    def issue_code(self, openid: str, scope: str, now: float) -> str:
        code = secrets.token_urlsafe(24)
        self._codes[code] = OAuthCode(openid, scope, now)
        return code

    def exchange(self, code: str | None, now: float) -> OAuthGrant:
        """Code → grant: 40029 unknown, 40163 already used, 42003 older than 5 minutes."""
        entry = self._codes.get(code or "")
        if entry is None:
            raise WeChatFault(40029)
        if entry.used:
            raise WeChatFault(40163)
        if now - entry.issued_at >= CODE_TTL_S:
            raise WeChatFault(42003)
        entry.used = True
        grant = OAuthGrant(
            openid=entry.openid,
            scope=entry.scope,
            access_token=secrets.token_urlsafe(64),
            expires_at=now + TOKEN_TTL_S,
            refresh_token=secrets.token_urlsafe(64),
            refresh_expires_at=now + REFRESH_TTL_S,
        )
        self._grants[grant.access_token] = grant
        self._refresh[grant.refresh_token] = grant
        return grant

    def refresh(self, refresh_token: str | None, now: float) -> OAuthGrant:
        grant = self._refresh.get(refresh_token or "")
        if grant is None:
            raise WeChatFault(40030)
        if now >= grant.refresh_expires_at:
            raise WeChatFault(42002)
        self._grants.pop(grant.access_token, None)
        grant.access_token, grant.expires_at = secrets.token_urlsafe(64), now + TOKEN_TTL_S
        self._grants[grant.access_token] = grant
        return grant

    def check(self, access_token: str | None, openid: str | None, now: float) -> OAuthGrant:
        if not access_token:
            raise WeChatFault(41001)
        grant = self._grants.get(access_token)
        if grant is None:
            raise WeChatFault(40001)
        if now >= grant.expires_at:
            raise WeChatFault(42001)
        if openid != grant.openid:
            raise WeChatFault(40003)
        return grant
