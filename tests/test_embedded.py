"""The embedded default (`make run` = `wxbroker dev`) on a machine with nothing configured."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.core.config import Settings

pytestmark = [pytest.mark.embedded, pytest.mark.slow]
WXBROKER = str(Path(sys.executable).parent / "wxbroker")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k.upper() not in {name.upper() for name in Settings.model_fields}
    }
    env.update(extra)
    return env


@contextlib.contextmanager
def embedded_server(workdir: Path) -> Iterator[str]:
    port = _free_port()
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen(
        [WXBROKER, "dev", "--port", str(port)],
        cwd=workdir,
        env=_clean_env(PORT=str(port)),
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError((workdir / "server.log").read_text())
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)  # waiting for a child process to bind, not timing behaviour
        else:
            raise AssertionError(
                "wxbroker dev did not come up:\n" + (workdir / "server.log").read_text()
            )
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


class TestEmbeddedDefault:
    def test_dev_server_starts_with_no_configuration(self, tmp_path: Path) -> None:
        with embedded_server(tmp_path) as base:
            ready = httpx.get(f"{base}/readyz", timeout=5)
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
        assert (tmp_path / "var" / "app.db").exists()

    def test_migrate_creates_the_sqlite_database(self, tmp_path: Path) -> None:
        result = subprocess.run(
            [WXBROKER, "migrate"],
            cwd=tmp_path,
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "var" / "app.db").stat().st_size > 0

    def test_production_mode_refuses_placeholders_at_start(self, tmp_path: Path) -> None:
        result = subprocess.run(
            [WXBROKER, "serve"],
            cwd=tmp_path,
            env=_clean_env(ENVIRONMENT="production"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2
        assert "WECHAT_APP_SECRET" in result.stderr
