"""Daily API quotas (45009), the per-second template rate (45011) and clear_quota (48006)."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.time import BEIJING, Clock
from app.simulator.errors import WeChatFault
from app.simulator.tokens import beijing_day

TEMPLATE_SEND = "/cgi-bin/message/template/send"
# Admin names for the quota'd APIs (FACTS §5.10 default daily limits).
QUOTA_APIS: dict[str, str] = {
    "template_send": TEMPLATE_SEND,
    "custom_send": "/cgi-bin/message/custom/send",
    "token": "/cgi-bin/token",
    "menu_create": "/cgi-bin/menu/create",
    "qrcode_create": "/cgi-bin/qrcode/create",
    "user_info": "/cgi-bin/user/info",
}
DEFAULT_DAILY_LIMITS: dict[str, int] = {
    TEMPLATE_SEND: 100_000,
    "/cgi-bin/message/custom/send": 500_000,
    "/cgi-bin/token": 2_000,
    "/cgi-bin/menu/create": 1_000,
    "/cgi-bin/qrcode/create": 100_000,
    "/cgi-bin/user/info": 5_000_000,
}
CLEAR_QUOTA_PER_MONTH = 10


def resolve_api(name: str) -> str | None:
    """An admin api name (`template_send`) or a cgi path to the quota'd path, or None."""
    path = QUOTA_APIS.get(name, name)
    return path if path in DEFAULT_DAILY_LIMITS else None


@dataclass
class Quota:
    daily_limit: int
    used: int = 0

    @property
    def remain(self) -> int:
        return max(0, self.daily_limit - self.used)


class Quotas:
    """Per-API daily counters that reset at midnight Beijing time."""

    def __init__(self, clock: Clock, *, template_daily_limit: int) -> None:
        self._clock = clock
        self._quotas = {path: Quota(limit) for path, limit in DEFAULT_DAILY_LIMITS.items()}
        self._quotas[TEMPLATE_SEND] = Quota(template_daily_limit)
        self._day = beijing_day(clock)
        self._clears: list[str] = []

    def _roll_day(self) -> None:
        day = beijing_day(self._clock)
        if day != self._day:
            self._day = day
            for quota in self._quotas.values():
                quota.used = 0

    def consume(self, path: str) -> None:
        """Count one call; 45009 once the day's limit is reached."""
        self._roll_day()
        quota = self._quotas.get(path)
        if quota is None:
            return
        if quota.used >= quota.daily_limit:
            raise WeChatFault(45009)
        quota.used += 1

    def get(self, path: str) -> Quota:
        self._roll_day()
        quota = self._quotas.get(path)
        if quota is None:
            raise WeChatFault(76021)
        return quota

    def configure(self, path: str, *, daily_limit: int | None, used: int | None) -> Quota:
        quota = self.get(path)
        if daily_limit is not None:
            quota.daily_limit = daily_limit
        if used is not None:
            quota.used = used
        return quota

    def clear(self) -> None:
        """clear_quota: zero every counter; at most 10 times a calendar month (48006)."""
        month = self._clock.now().astimezone(BEIJING).strftime("%Y-%m")
        if sum(1 for m in self._clears if m == month) >= CLEAR_QUOTA_PER_MONTH:
            raise WeChatFault(48006)
        self._clears.append(month)
        for quota in self._quotas.values():
            quota.used = 0

    def snapshot(self) -> dict[str, dict[str, int]]:
        self._roll_day()
        return {
            path: {"daily_limit": q.daily_limit, "used": q.used, "remain": q.remain}
            for path, q in self._quotas.items()
        }


class PerSecondRate:
    """A fixed one-second window: more than `limit` sends in the same second get 45011."""

    def __init__(self, clock: Clock, limit: int | None = None) -> None:
        self._clock = clock
        self.limit = limit
        self._second = -1
        self._count = 0

    def hit(self) -> None:
        if not self.limit:
            return
        second = int(self._clock.timestamp())
        if second != self._second:
            self._second, self._count = second, 0
        if self._count >= self.limit:
            raise WeChatFault(45011)
        self._count += 1
