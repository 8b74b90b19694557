"""Settings: the only place that reads the environment (and `.env`)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDERS = frozenset({"", "changeme", "change-me", "dev", "devtoken", "placeholder"})
SECRET_FIELDS = (
    "wechat_app_secret",
    "wechat_token",
    "secret_key",
)
REAL_WECHAT_API = "https://api.weixin.qq.com"
# Dev defaults: a made-up account that the in-repo simulator also knows about.
DEV_APP_ID = "wx0000000000dev001"
DEV_ENCODING_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


class Settings(BaseSettings):
    """Root settings; env name = field name upper-cased; environment beats `.env`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    environment: Literal["dev", "staging", "production"] = "dev"
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = ""
    secret_key: SecretStr = SecretStr("changeme")
    log_level: str = "INFO"
    log_json: bool = True

    database_url: str = "sqlite+aiosqlite:///./var/app.db"
    database_pool_size: int = 10
    # "memory://" selects the in-process Redis stand-in (embedded default only).
    redis_url: str = "memory://"

    wechat_app_id: str = DEV_APP_ID
    wechat_app_secret: SecretStr = SecretStr("changeme")
    wechat_token: SecretStr = SecretStr("changeme")
    wechat_encoding_aes_key: SecretStr = SecretStr(DEV_ENCODING_AES_KEY)
    # Empty: the real API outside dev, the simulator mounted under /_sim/wechat in dev.
    wechat_api_base_url: str = ""
    wechat_use_stable_token: bool = True
    wechat_http_timeout_s: float = 5.0

    webhook_max_body_bytes: int = 64 * 1024
    webhook_timestamp_window_s: int = 300
    webhook_time_budget_s: float = 4.0
    webhook_dedupe_ttl_s: int = Field(default=120, ge=30)
    webhook_welcome_text: str = "欢迎关注！点击下方菜单可查询账户、订阅提醒、了解开户与App下载。"
    webhook_default_reply: str = (
        "您好，您的消息已收到。如需查询账户请点击下方菜单，人工服务请拨打客服热线。"
    )
    recorder_flush_interval_s: float = 0.5
    recorder_batch_size: int = 500
    # How often each API process re-reads keyword replies and articles (console edits show up
    # in fans' replies within this time).
    content_keyword_refresh_s: float = Field(default=10.0, gt=0)

    brokerage_api_base_url: str = ""
    brokerage_api_key: SecretStr = SecretStr("")
    brokerage_http_timeout_s: float = 3.0
    # Sandbox counter only: nightly window answered with the "maintenance" error (Beijing time).
    brokerage_sandbox_maintenance_window: str = "23:30-00:30"
    # Empty: the sandbox SMS API under /_sim/broker/sms (dev); the provider's URL otherwise.
    sms_api_base_url: str = ""
    sms_api_key: SecretStr = SecretStr("")
    sms_sign_name: str = "示例证券"
    sms_http_timeout_s: float = 3.0
    ingest_hmac_secrets: SecretStr = SecretStr("changeme")
    # Alert type → WeChat template id (JSON object); unset types use the built-in default ids.
    alert_template_ids: dict[str, str] = Field(default_factory=dict)

    # Push worker (app/push): sends in flight per worker, template sends/s across all workers
    # (0 = no cap), how long a claimed send may take before another worker takes it over, and
    # how long a dead consumer's stream entries sit before XAUTOCLAIM hands them to a live one.
    push_concurrency: int = Field(default=200, ge=1)
    push_rate_per_s: float = Field(default=0.0, ge=0)
    push_send_lease_s: float = Field(default=60.0, gt=0)
    push_autoclaim_idle_ms: int = Field(default=60_000, ge=0)
    push_reconcile_interval_s: float = Field(default=15.0, gt=0)

    # Embedded default: run the worker loops inside the API process.
    run_worker_in_process: bool | None = None
    mount_simulator: bool | None = None

    @model_validator(mode="after")
    def refuse_placeholders_outside_dev(self) -> Self:
        """Outside dev mode a placeholder or missing secret stops start-up."""
        if self.environment == "dev":
            return self
        problems = [
            f"{name.upper()} is missing or still holds a placeholder value"
            for name in (*SECRET_FIELDS, "ingest_hmac_secrets")
            if getattr(self, name).get_secret_value().strip().lower() in PLACEHOLDERS
        ]
        if self.wechat_app_id == DEV_APP_ID:
            problems.append("WECHAT_APP_ID still holds the dev placeholder")
        if self.wechat_encoding_aes_key.get_secret_value() == DEV_ENCODING_AES_KEY:
            problems.append("WECHAT_ENCODING_AES_KEY still holds the dev placeholder")
        if self.redis_url.startswith("memory://"):
            problems.append("REDIS_URL=memory:// (in-process stand-in) is for dev mode only")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def is_dev(self) -> bool:
        return self.environment == "dev"

    @property
    def base_url(self) -> str:
        """Where this service is reachable (for links, OAuth redirects, the simulator)."""
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def effective_wechat_api_base_url(self) -> str:
        if self.wechat_api_base_url:
            return self.wechat_api_base_url.rstrip("/")
        return f"{self.base_url}/_sim/wechat" if self.is_dev else REAL_WECHAT_API

    @property
    def effective_brokerage_api_base_url(self) -> str:
        if self.brokerage_api_base_url:
            return self.brokerage_api_base_url.rstrip("/")
        return f"{self.base_url}/_sim/broker"

    @property
    def effective_sms_api_base_url(self) -> str:
        if self.sms_api_base_url:
            return self.sms_api_base_url.rstrip("/")
        return f"{self.base_url}/_sim/broker/sms"

    @property
    def worker_in_process(self) -> bool:
        return self.is_dev if self.run_worker_in_process is None else self.run_worker_in_process

    @property
    def simulator_mounted(self) -> bool:
        return self.is_dev if self.mount_simulator is None else self.mount_simulator

    @property
    def ingest_secrets(self) -> list[str]:
        raw = self.ingest_hmac_secrets.get_secret_value()
        return [s.strip() for s in raw.split(",") if s.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
