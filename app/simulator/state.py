"""All in-memory state of one simulated WeChat account.

Handlers mutate it without awaiting in between, so the single event loop keeps it consistent
without locks (and no lock is ever held across the injected latency).
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from typing import Any

import httpx

from app.simulator.callbacks import SUCCESS, CallbackPoster
from app.simulator.config import SimulatorConfig
from app.simulator.fans import FanDirectory
from app.simulator.faults import Faults
from app.simulator.limits import PerSecondRate, Quotas
from app.simulator.menus import MenuStore
from app.simulator.oauth import OAuthStore
from app.simulator.qrcodes import QrCodeRegistry
from app.simulator.template_messages import ClientMsgIdWindow, Template, seeded_templates
from app.simulator.tokens import TokenStore

FIRST_MSGID = 3_100_000_000_000
STAT_KEYS = (
    "template_accepted",
    "template_duplicates",
    "template_rejected",
    "token_issued",
    "stable_token_minted",
    "ticket_issued",
    "custom_sent",
    "callbacks_sent",
    "callbacks_failed",
    "callbacks_rejected",
    "callbacks_dropped",
)


class Inbox:
    """What each fan's WeChat would show, in arrival order."""

    def __init__(self) -> None:
        self._by_openid: dict[str, list[dict[str, Any]]] = {}
        self._seq = itertools.count(1)

    def add(self, openid: str, entry: dict[str, Any]) -> dict[str, Any]:
        entry = {"seq": next(self._seq), **entry}
        self._by_openid.setdefault(openid, []).append(entry)
        return entry

    def list(self, openid: str, *, after: int = 0) -> list[dict[str, Any]]:
        return [e for e in self._by_openid.get(openid, []) if e["seq"] > after]

    def total(self) -> int:
        return sum(len(v) for v in self._by_openid.values())


class WeChatSimulator:
    """The simulated platform: tokens, fans, templates, menus, limits, faults, inboxes, stats."""

    def __init__(
        self,
        config: SimulatorConfig,
        *,
        callback_http: httpx.AsyncClient | None = None,
        close_callback_http: bool = False,
    ) -> None:
        self.config = config
        self.clock = config.clock
        self.rng = random.Random(config.seed)
        self._msgids = itertools.count(FIRST_MSGID)  # never reset: old receipts stay unique
        self.stats: Counter[str] = Counter()
        self.callbacks = CallbackPoster(
            config, self.stats, http=callback_http, close_http=close_callback_http
        )
        self.faults = Faults()
        self.reset()

    def reset(self) -> None:
        """Back to the seeded state (credentials and callback transport are kept)."""
        config, clock = self.config, self.clock
        self.tokens = TokenStore(clock, overlap_s=config.token_overlap_s)
        self.quotas = Quotas(clock, template_daily_limit=config.template_daily_limit)
        self.template_rate = PerSecondRate(clock)
        self.fans = FanDirectory(clock, auto_fans=config.auto_fans)
        self.templates: dict[str, Template] = seeded_templates()
        self.dedupe = ClientMsgIdWindow()
        self.unique_client_msg_ids: set[str] = set()
        self.inbox = Inbox()
        self.menus = MenuStore()
        self.qrcodes = QrCodeRegistry()
        self.oauth = OAuthStore()
        self.faults.clear()
        self.faults.latency.fixed_ms = self.faults.latency.jitter_ms = 0.0
        self.faults.latency.distribution = "fixed"
        self.stats.clear()
        self.calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.callbacks.settings.enabled = config.callback_enabled
        self.callbacks.settings.url = config.webhook_url
        self.callbacks.settings.mode = config.callback_mode
        self.callbacks.settings.outcomes = {SUCCESS: 1.0}
        self.callbacks.settings.delay_ms = config.callback_delay_ms

    def next_msgid(self) -> int:
        return next(self._msgids)

    def now(self) -> float:
        return self.clock.timestamp()

    def count_call(self, path: str) -> None:
        self.calls[path] += 1

    def count_error(self, errcode: int | str) -> None:
        self.errors[str(errcode)] += 1

    def snapshot(self) -> dict[str, Any]:
        body: dict[str, Any] = {key: self.stats[key] for key in STAT_KEYS}
        body["template_unique_client_msg_ids"] = len(self.unique_client_msg_ids)
        body["inbox_total"] = self.inbox.total()
        body["calls"] = dict(self.calls)
        body["errors"] = dict(self.errors)
        body["quotas"] = self.quotas.snapshot()
        body["faults_active"] = len(self.faults.rules)
        return body

    async def aclose(self) -> None:
        self.faults.clear()
        await self.callbacks.aclose()
