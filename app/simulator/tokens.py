"""Access tokens (/cgi-bin/token, /cgi-bin/stable_token) and JS-SDK tickets, WeChat-style."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from app.core.time import BEIJING, Clock
from app.simulator.errors import WeChatFault

TOKEN_TTL_S = 7200
STABLE_ROLL_S = 300  # the platform rolls a stable token 5 min before it expires
FORCE_REFRESH_MIN_GAP_S = 30
FORCE_REFRESH_PER_DAY = 20


@dataclass
class IssuedToken:
    value: str
    kind: str  # "token" | "stable"
    expires_at: float
    # When a newer token replaced this one, it works until this moment, then answers 40001.
    replaced_until: float | None = None

    def expires_in(self, now: float) -> int:
        return max(0, int(self.expires_at - now))


def beijing_day(clock: Clock) -> str:
    return clock.now().astimezone(BEIJING).date().isoformat()


def _new_token() -> str:
    # Real tokens are ~140 printable characters; clients must reserve >= 512.
    return secrets.token_urlsafe(105)


class TokenStore:
    """Every token the simulated platform has issued and still remembers."""

    def __init__(self, clock: Clock, *, overlap_s: int) -> None:
        self._clock = clock
        self.overlap_s = overlap_s
        self._tokens: dict[str, IssuedToken] = {}
        self._latest_plain: IssuedToken | None = None
        self._stable: IssuedToken | None = None
        self._force_refreshes: list[float] = []
        self._force_day = ""
        self._ticket: IssuedToken | None = None

    def issue_plain(self) -> IssuedToken:
        """`/cgi-bin/token`: always a new token; the previous one stops working (after overlap)."""
        now = self._clock.timestamp()
        previous = self._latest_plain
        if previous is not None:
            self._retire(previous, until=now + self.overlap_s)
        token = IssuedToken(_new_token(), "token", now + TOKEN_TTL_S)
        self._tokens[token.value] = token
        self._latest_plain = token
        self._prune(now)
        return token

    @property
    def current_stable(self) -> IssuedToken | None:
        return self._stable

    def issue_stable(self, *, force_refresh: bool) -> IssuedToken:
        """`/cgi-bin/stable_token`: the same token while valid; rolled 5 min before expiry."""
        now = self._clock.timestamp()
        current = self._stable
        if force_refresh:
            self._count_force_refresh(now)
            if current is not None:
                self._retire(current, until=now)
        elif current is not None and current.expires_at - now > STABLE_ROLL_S:
            return current
        token = IssuedToken(_new_token(), "stable", now + TOKEN_TTL_S)
        self._tokens[token.value] = token
        self._stable = token
        self._prune(now)
        return token

    def _count_force_refresh(self, now: float) -> None:
        day = beijing_day(self._clock)
        if day != self._force_day:
            self._force_day, self._force_refreshes = day, []
        if self._force_refreshes and now - self._force_refreshes[-1] < FORCE_REFRESH_MIN_GAP_S:
            raise WeChatFault(45011, "force_refresh at most once per 30 s")
        if len(self._force_refreshes) >= FORCE_REFRESH_PER_DAY:
            raise WeChatFault(45009, "force_refresh at most 20 times a day")
        self._force_refreshes.append(now)

    def _retire(self, token: IssuedToken, *, until: float) -> None:
        if until <= self._clock.timestamp():
            self._tokens.pop(token.value, None)
        else:
            token.replaced_until = until

    def _prune(self, now: float) -> None:
        stale = [
            t.value
            for t in self._tokens.values()
            if t.replaced_until is not None and t.replaced_until <= now
        ]
        for value in stale:
            del self._tokens[value]

    def check(self, value: str | None) -> IssuedToken:
        """Validate an `access_token` query value like WeChat: 41001, 40001 or 42001."""
        if not value:
            raise WeChatFault(41001)
        token = self._tokens.get(value)
        now = self._clock.timestamp()
        if token is None or (token.replaced_until is not None and token.replaced_until <= now):
            raise WeChatFault(40001)
        if now >= token.expires_at:
            raise WeChatFault(42001)
        return token

    def revoke_all(self) -> int:
        """Forget every token: callers see 40001 until they fetch a new one."""
        count = len(self._tokens)
        self._tokens.clear()
        self._latest_plain = self._stable = self._ticket = None
        return count

    def expire_all(self) -> int:
        """Let every token run out now: callers see 42001."""
        now = self._clock.timestamp()
        for token in self._tokens.values():
            token.expires_at = min(token.expires_at, now)
        if self._ticket is not None:
            self._ticket.expires_at = min(self._ticket.expires_at, now)
        return len(self._tokens)

    def jsapi_ticket(self) -> IssuedToken:
        """`/cgi-bin/ticket/getticket`: the same ticket while it is valid."""
        now = self._clock.timestamp()
        if self._ticket is None or now >= self._ticket.expires_at:
            self._ticket = IssuedToken(secrets.token_urlsafe(64), "jsapi", now + TOKEN_TTL_S)
        return self._ticket
