"""Settings: env names, dev defaults, refusal of placeholders outside dev."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import REAL_WECHAT_API, Settings

ROOT = Path(__file__).resolve().parents[2]


class TestSettings:
    def test_no_configuration_means_embedded_dev_default(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for name in Settings.model_fields:
            monkeypatch.delenv(name.upper(), raising=False)
        s = Settings(_env_file=None)  # type: ignore[call-arg]
        assert s.is_dev
        assert s.database_url.startswith("sqlite+aiosqlite")
        assert s.redis_url == "memory://"
        assert s.effective_wechat_api_base_url == "http://127.0.0.1:8000/_sim/wechat"
        assert s.worker_in_process
        assert s.simulator_mounted

    def test_production_refuses_placeholder_secrets(self) -> None:
        with pytest.raises(ValidationError) as info:
            Settings(_env_file=None, environment="production")  # type: ignore[call-arg]
        message = str(info.value)
        for name in ("WECHAT_APP_SECRET", "WECHAT_TOKEN", "SECRET_KEY", "INGEST_HMAC_SECRETS"):
            assert name in message
        assert "REDIS_URL" in message

    def test_production_with_real_secrets_uses_real_wechat_api(self) -> None:
        s = Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="production",
            wechat_app_id="wx55aa66bb77cc88dd",
            wechat_app_secret="s3cr3t-value",
            wechat_token="tok3nValue",
            wechat_encoding_aes_key="JbVZg98zFzY8OzY23qPGc0K3Zkny3ZSG3J4rdNlMgOG",
            secret_key="another-secret",
            ingest_hmac_secrets="k1,k2",
            redis_url="redis://127.0.0.1:6379/0",
        )
        assert s.effective_wechat_api_base_url == REAL_WECHAT_API
        assert s.ingest_secrets == ["k1", "k2"]
        assert not s.worker_in_process

    def test_environment_beats_dotenv(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        env_file = tmp_path / ".env"
        env_file.write_text("PORT=9001\nHOST=0.0.0.0\n")
        monkeypatch.setenv("PORT", "9002")
        s = Settings(_env_file=str(env_file))  # type: ignore[call-arg]
        assert s.port == 9002
        assert s.host == "0.0.0.0"

    def test_env_example_lists_every_setting(self) -> None:
        text = (ROOT / ".env.example").read_text()
        documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))
        expected = {name.upper() for name in Settings.model_fields}
        assert documented == expected

    def test_env_example_loads_as_is(self) -> None:
        s = Settings(_env_file=str(ROOT / ".env.example"))  # type: ignore[call-arg]
        assert s.is_dev
        assert s.run_worker_in_process is None
