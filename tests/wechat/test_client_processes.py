"""OS processes share one access token through Redis: one fetch after expiry, 40001 recovery.

The parent runs the simulator on a loopback port; each child process (this module run with
`python -m`) builds its own WeChatClient on the shared test Redis, then obeys lines on stdin:
`warm` (one send), `go` (N concurrent sends, print a JSON summary and exit).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.redis import Redis, create_redis
from app.wechat.client import WeChatClient, WeChatClientConfig
from app.wechat.errors import WeChatError
from app.wechat.transport import AiohttpTransport, HttpxTransport

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FAN = "oProc0000000000000000000000001"
TEMPLATE = "SimPriceAlert_c2Rz8WcJ0tLg3MnP5qS7uX9zB1dF4"
DATA = {"thing1": "招商银行", "amount2": "¥35.20", "thing3": "高于35元", "time4": "14:02"}
LINE_TIMEOUT_S = 120  # a safety net against a hung child, not a timing assertion


# -- child process -------------------------------------------------------------------------


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _child(
    sim_url: str, redis_url: str, app_id: str, secret: str, calls: int, stable: bool
) -> None:
    redis = create_redis(redis_url)
    config = WeChatClientConfig(
        app_id=app_id, app_secret=secret, base_url=sim_url, use_stable_token=stable, timeout_s=20
    )
    client = WeChatClient(
        config,
        redis=redis,
        transport=HttpxTransport(httpx.AsyncClient(), timeout_s=20, owned=True),
        send_transport=AiohttpTransport(timeout_s=20),
    )

    async def send(tag: str) -> str | None:
        try:
            await client.send_template(
                openid=FAN, template_id=TEMPLATE, data=DATA, client_msg_id=f"{os.getpid()}-{tag}"
            )
        except WeChatError as exc:
            return str(exc)
        return None

    _emit("ready")
    while True:
        command = (await asyncio.to_thread(sys.stdin.readline)).strip()
        if command == "warm":
            _emit(json.dumps({"warm_error": await send("warm")}))
        elif command == "go":
            results = await asyncio.gather(*(send(str(i)) for i in range(calls)))
            errors = [r for r in results if r is not None]
            fetches = client.access_token.fetch_count
            _emit(json.dumps({"ok": calls - len(errors), "errors": errors[:5], "fetches": fetches}))
            break
        else:
            break
    await client.aclose()
    await redis.aclose()


# -- parent --------------------------------------------------------------------------------


class Child:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def say(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{command}\n".encode())
        await self.proc.stdin.drain()

    async def line(self) -> str:
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), LINE_TIMEOUT_S)
        if not raw:
            stderr = await self.proc.stderr.read() if self.proc.stderr else b""
            raise RuntimeError(f"child exited: {stderr.decode()[-2000:]}")
        return raw.decode().strip()

    async def json(self) -> dict[str, Any]:
        return dict(json.loads(await self.line()))


async def spawn(
    count: int, sim_url: str, calls: int, *, stable: bool = False, redis_url: str | None = None
) -> list[Child]:
    """`stable=False` (plain /cgi-bin/token) is the strict case: a second fetch would
    invalidate the first token, so any duplicate fetch shows up as failed sends."""
    from tests.conftest import REDIS_URL, TEST_APP_ID, TEST_APP_SECRET

    mode = "stable" if stable else "plain"
    args = [sim_url, redis_url or REDIS_URL, TEST_APP_ID, TEST_APP_SECRET, str(calls), mode]
    children = []
    for _ in range(count):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.wechat.test_client_processes",
            *args,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        children.append(Child(proc))
    for child in children:
        assert await child.line() == "ready"
    return children


@pytest.fixture
async def sim(wechat_sim_server: Any, wechat_sim_admin: httpx.AsyncClient) -> str:
    fan = {"openid": FAN, "subscribed": True}
    (await wechat_sim_admin.post("/_admin/fans", json=fan)).raise_for_status()
    return str(wechat_sim_server.url)


async def finish(children: list[Child]) -> list[dict[str, Any]]:
    for child in children:
        await child.say("go")
    summaries = [await child.json() for child in children]
    for child in children:
        await asyncio.wait_for(child.proc.wait(), LINE_TIMEOUT_S)
    return summaries


async def stats(admin: httpx.AsyncClient) -> dict[str, Any]:
    return dict((await admin.get("/stats")).json())


class TestTokenRace:
    async def test_four_processes_after_expiry_cause_exactly_one_token_fetch(
        self, sim: str, wechat_sim_admin: httpx.AsyncClient, redis: Redis
    ) -> None:
        children = await spawn(4, sim, calls=50)
        (await wechat_sim_admin.post("/_admin/tokens/expire")).raise_for_status()
        before = (await stats(wechat_sim_admin)).get("token_issued", 0)
        summaries = await finish(children)
        after = await stats(wechat_sim_admin)
        assert [s["ok"] for s in summaries] == [50, 50, 50, 50], summaries
        assert after["token_issued"] - before == 1
        assert sum(s["fetches"] for s in summaries) == 1
        assert after["template_accepted"] == 200

    async def test_two_processes_recover_from_40001_with_one_new_token(
        self, sim: str, wechat_sim_admin: httpx.AsyncClient, redis: Redis
    ) -> None:
        children = await spawn(2, sim, calls=50)
        for child in children:
            await child.say("warm")
            assert (await child.json())["warm_error"] is None
        assert (await stats(wechat_sim_admin))["token_issued"] == 1
        (await wechat_sim_admin.post("/_admin/tokens/revoke")).raise_for_status()
        summaries = await finish(children)
        after = await stats(wechat_sim_admin)
        assert [s["ok"] for s in summaries] == [50, 50], summaries
        assert after["token_issued"] == 2
        assert after["errors"].get("40001", 0) >= 1  # the stale token really was rejected


class TestRedisDownAcrossProcesses:
    async def test_each_process_falls_back_to_its_own_token(
        self, sim: str, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        closed_port = "redis://127.0.0.1:1/0"
        children = await spawn(2, sim, calls=20, stable=True, redis_url=closed_port)
        summaries = await finish(children)
        assert [s["ok"] for s in summaries] == [20, 20], summaries
        assert [s["fetches"] for s in summaries] == [1, 1]


if __name__ == "__main__":
    sim_url, redis_url, app_id, secret, calls, mode = sys.argv[1:7]
    asyncio.run(_child(sim_url, redis_url, app_id, secret, int(calls), mode == "stable"))
