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
from app.core.security import sha1_signature
from tests.alerts.samples import alert_body, encode, signed_headers

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


def _subscribe(base: str, openid: str) -> None:
    """A signed plaintext follow, as WeChat would POST it (dev token: the placeholder)."""
    ts, nonce = str(int(time.time())), "20260101"
    signature = sha1_signature("changeme", ts, nonce)
    body = (
        f"<xml><ToUserName>gh_dev</ToUserName><FromUserName>{openid}</FromUserName>"
        f"<CreateTime>{ts}</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>"
    )
    response = httpx.post(
        f"{base}/wechat",
        params={"signature": signature, "timestamp": ts, "nonce": nonce},
        content=body.encode(),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert "欢迎关注" in response.text


def _inbox(base: str, openid: str, deadline_s: float) -> list[dict[str, object]]:
    # The worker runs in the server process: poll its visible outcome, bounded.
    deadline = time.monotonic() + deadline_s
    while True:
        messages: list[dict[str, object]] = httpx.get(
            f"{base}/_sim/wechat/inbox/{openid}", timeout=5
        ).json()["messages"]
        if messages or time.monotonic() > deadline:
            return messages
        time.sleep(0.2)


class TestEmbeddedDefault:
    def test_dev_server_starts_with_no_configuration(self, tmp_path: Path) -> None:
        with embedded_server(tmp_path) as base:
            # Every loop starts at once on SQLite: readiness may lag liveness briefly.
            deadline = time.monotonic() + 30
            ready = httpx.get(f"{base}/readyz", timeout=5)
            while ready.status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
                ready = httpx.get(f"{base}/readyz", timeout=5)
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
        assert (tmp_path / "var" / "app.db").exists()

    def test_an_alert_reaches_a_fan_through_the_in_process_worker(self, tmp_path: Path) -> None:
        """One push on SQLite + the in-process Redis stand-in: relay, worker, simulator."""
        openid = "oEmbeddedFan0000000000000001"
        with embedded_server(tmp_path) as base:
            _subscribe(base, openid)
            # The recorder writes the follow into `fan` off the request path: until it has,
            # the alert finds no subscribed recipient. Post again (new key) until it does.
            deadline = time.monotonic() + 15
            recipients, attempt = 0, 0
            while recipients == 0 and time.monotonic() < deadline:
                attempt += 1
                target = {"kind": "openids", "openids": [openid]}
                body = encode(alert_body("trade_fill", target))
                headers = signed_headers(
                    body, ts=int(time.time()), key=f"embedded-{attempt}", secrets=["changeme"]
                )
                response = httpx.post(
                    f"{base}/api/v1/alerts", content=body, headers=headers, timeout=10
                )
                assert response.status_code == 201, response.text
                recipients = response.json()["recipients"]
                if recipients == 0:
                    time.sleep(0.1)  # a subprocess: poll its visible state, bounded
            assert recipients == 1
            messages = _inbox(base, openid, deadline_s=30)
        assert len(messages) == 1, (tmp_path / "server.log").read_text()[-3000:]
        assert "贵州茅台" in str(messages[0])

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
