"""Configuration of one WeChat simulator instance (account credentials, webhook, knobs)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from app.core.config import Settings
from app.core.time import Clock, SystemClock

CallbackMode = Literal["plain", "compatible", "safe"]
Sleep = Callable[[float], Awaitable[None]]

DEFAULT_ORIGINAL_ID = "gh_0123456789ab"


@dataclass
class SimulatorConfig:
    """What the simulated WeChat knows about the one service account it serves."""

    app_id: str
    app_secret: str
    token: str
    encoding_aes_key: str
    # Where TEMPLATESENDJOBFINISH events go (the service's `/wechat`); None: no callbacks.
    webhook_url: str | None = None
    original_id: str = DEFAULT_ORIGINAL_ID
    # Unknown openids become subscribed fans on first sight (dev); off: 40003 (tests).
    auto_fans: bool = True
    callback_enabled: bool = True
    callback_mode: CallbackMode = "safe"
    callback_delay_ms: int = 0
    template_daily_limit: int = 100_000
    # Seconds a replaced /cgi-bin/token token keeps working (WeChat: "about 5 min", unconfirmed).
    token_overlap_s: int = 0
    # Upper bound of an injected hang, so a forgotten timeout fault never blocks forever.
    max_hang_s: float = 120.0
    callback_concurrency: int = 16
    callback_queue_limit: int = 50_000
    seed: int | None = None
    clock: Clock = field(default_factory=SystemClock)
    sleep: Sleep = asyncio.sleep

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> SimulatorConfig:
        """The account from settings; callbacks go to this service's own `/wechat`."""
        values: dict[str, object] = {
            "app_id": settings.wechat_app_id,
            "app_secret": settings.wechat_app_secret.get_secret_value(),
            "token": settings.wechat_token.get_secret_value(),
            "encoding_aes_key": settings.wechat_encoding_aes_key.get_secret_value(),
            "webhook_url": settings.base_url + "/wechat",
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
