"""Template-send throughput: the product WeChatClient next to bare HTTP loops, in one run.

Targets (each a real server in a subprocess on a free loopback port, 20 ms added latency):
- `sim`:  the in-repo WeChat simulator (`wxbroker sim`), latency set through its admin API;
- `lean`: a minimal aiohttp server answering token and template-send calls, so that the
          client stacks are compared without the simulator's own CPU cost.
Stacks, at concurrency 100/200/500, `BENCH_DURATION_S` seconds each:
- product:       WeChatClient.send_template (Redis token holder + errcode classification)
- aiohttp:       bare aiohttp session loop
- httpx:         bare httpx loop, default transport (httpcore)
- httpx+aiohttp: httpx with the httpx-aiohttp transport
- wechatpy:      wechatpy's synchronous client, one thread, sequential (a few seconds, once)
Run: `.venv/bin/python -m bench.template_send [sim|lean ...]` or `make bench`.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import httpx
import orjson

from bench.common import RESULTS, VENV_BIN, free_port, server

APP_ID = "wxbench0000000001"
APP_SECRET = "bench-app-secret"
TEMPLATE_ID = "bench_price_alert"
OPENID = "oBench000000000000000000001"
LATENCY_MS = 20
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "100,200,500").split(",")]
DURATION_S = float(os.environ.get("BENCH_DURATION_S", "5"))
WECHATPY_S = float(os.environ.get("BENCH_WECHATPY_S", "3"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
SEND_PATH = "/cgi-bin/message/template/send"
DATA = {"thing1": "贵州茅台", "amount2": "¥1688.00", "time3": "2026-01-05 10:00"}

SendOnce = Callable[[], Awaitable[bool]]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


@dataclass
class Measure:
    sends_per_s: float
    errors: int
    cpu_us_per_send: float


@dataclass
class Row:
    target: str
    stack: str
    concurrency: int
    sends_per_s: float
    errors: int
    cpu_us_per_send: float


def template_body() -> bytes:
    return orjson.dumps(
        {
            "touser": OPENID,
            "template_id": TEMPLATE_ID,
            "data": {k: {"value": v} for k, v in DATA.items()},
            "client_msg_id": uuid.uuid4().hex,
        }
    )


# -- targets -------------------------------------------------------------------------------


def sim_env(port: int) -> dict[str, str]:
    return {
        "ENVIRONMENT": "dev",
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": APP_SECRET,
        "WECHAT_TOKEN": "benchToken2024",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }


def prepare_sim(base: str) -> None:
    """Template, fan, no callbacks, no quota or rate limit in the way, 20 ms latency."""
    admin = f"{base}/_admin"
    calls = [
        ("POST", "/reset", {}),  # every cell starts on an empty inbox and dedupe window
        ("POST", "/callback", {"enabled": False, "mode": "plain", "outcomes": {"success": 1.0}}),
        ("POST", "/fans", {"openid": OPENID, "subscribed": True}),
        (
            "POST",
            "/templates",
            {
                "template_id": TEMPLATE_ID,
                "title": "价格提醒",
                "content": "{{thing1.DATA}} {{amount2.DATA}} {{time3.DATA}}",
            },
        ),
        ("POST", "/quota", {"api": "template_send", "daily_limit": 1_000_000_000, "used": 0}),
        ("POST", "/rate", {"template_per_second": 1_000_000}),
        ("POST", "/latency", {"fixed_ms": LATENCY_MS, "jitter_ms": 0, "distribution": "fixed"}),
    ]
    with httpx.Client(timeout=10) as client:
        for method, path, body in calls:
            client.request(method, admin + path, json=body).raise_for_status()


def serve_lean(port: int) -> None:
    """A WeChat stand-in that only costs 20 ms per call: tokens and template sends."""
    from aiohttp import web

    async def token(_request: web.Request) -> web.Response:
        return web.json_response({"access_token": "LEAN_TOKEN", "expires_in": 7200})

    async def send(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(LATENCY_MS / 1000)
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": 1})

    app = web.Application()
    app.router.add_post("/cgi-bin/stable_token", token)
    app.router.add_get("/cgi-bin/token", token)
    app.router.add_post(SEND_PATH, send)
    app.router.add_get("/ready", token)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, backlog=2048)


# -- load loop -----------------------------------------------------------------------------


async def run_load(send_once: SendOnce, concurrency: int, duration_s: float) -> Measure:
    """Warm up one round, then `concurrency` workers send until the deadline.

    Besides sends/s, the client process's CPU time per send is recorded: on a shared machine
    it shows the client stack's own cost even when the server or neighbours limit throughput.
    """
    await asyncio.gather(*(send_once() for _ in range(concurrency)))
    ok = errors = 0
    deadline = time.perf_counter() + duration_s

    async def worker() -> None:
        nonlocal ok, errors
        while time.perf_counter() < deadline:
            if await send_once():
                ok += 1
            else:
                errors += 1

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return Measure(ok / elapsed, errors, cpu * 1e6 / max(ok + errors, 1))


async def fetch_token(base: str) -> str:
    body = {"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET}
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(f"{base}/cgi-bin/stable_token", json=body)
        return str(response.json()["access_token"])


async def bench_product(base: str, concurrency: int) -> Measure:
    from app.core.redis import create_redis
    from app.wechat.client import WeChatClient, WeChatClientConfig
    from app.wechat.errors import WeChatError
    from app.wechat.transport import AiohttpTransport, HttpxTransport

    redis = create_redis(REDIS_URL)
    await redis.flushdb()
    config = WeChatClientConfig(app_id=APP_ID, app_secret=APP_SECRET, base_url=base)
    http = httpx.AsyncClient()
    client = WeChatClient(
        config,
        redis=redis,
        transport=HttpxTransport(http, timeout_s=10, owned=True),
        send_transport=AiohttpTransport(timeout_s=10, max_connections=max(512, concurrency)),
    )

    async def send_once() -> bool:
        try:
            await client.send_template(
                openid=OPENID, template_id=TEMPLATE_ID, data=DATA, client_msg_id=uuid.uuid4().hex
            )
        except WeChatError:
            return False
        return True

    try:
        return await run_load(send_once, concurrency, DURATION_S)
    finally:
        await client.aclose()
        await redis.aclose()


async def bench_aiohttp(base: str, concurrency: int) -> Measure:
    url = f"{base}{SEND_PATH}?access_token={await fetch_token(base)}"
    headers = {"Content-Type": "application/json; charset=utf-8"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send_once() -> bool:
            try:
                async with session.post(url, data=template_body(), headers=headers) as resp:
                    return orjson.loads(await resp.read()).get("errcode", 0) == 0
            except (aiohttp.ClientError, TimeoutError):
                return False

        return await run_load(send_once, concurrency, DURATION_S)


async def bench_httpx(base: str, concurrency: int, *, aiohttp_transport: bool) -> Measure:
    url = f"{base}{SEND_PATH}?access_token={await fetch_token(base)}"
    # httpx's default keep-alive pool (20). A pool keeping all `concurrency` connections alive
    # is far slower still on httpcore 1.0.9 (≈55/s at C=100 here); see docs/wechat-client.md.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=20)
    transport: httpx.AsyncBaseTransport | None = None
    if aiohttp_transport:
        from httpx_aiohttp import AiohttpTransport

        transport = AiohttpTransport(limits=limits)
    headers = {"Content-Type": "application/json; charset=utf-8"}
    async with httpx.AsyncClient(limits=limits, transport=transport, timeout=30) as client:

        async def send_once() -> bool:
            try:
                resp = await client.post(url, content=template_body(), headers=headers)
            except httpx.HTTPError:
                return False
            return orjson.loads(resp.content).get("errcode", 0) == 0

        return await run_load(send_once, concurrency, DURATION_S)


def bench_wechatpy(base: str) -> Measure:
    """wechatpy's synchronous client in one thread: what the product must not do."""
    from wechatpy.client import WeChatClient as SyncClient  # noqa: TID251

    token = asyncio.run(fetch_token(base))
    client = SyncClient(APP_ID, APP_SECRET, access_token=token)
    client.API_BASE_URL = f"{base}/cgi-bin/"
    data = {k: {"value": v} for k, v in DATA.items()}
    ok = errors = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    while time.perf_counter() - started < WECHATPY_S:
        try:
            client.message.send_template(OPENID, TEMPLATE_ID, data)
            ok += 1
        except Exception:
            errors += 1
    cpu = time.process_time() - cpu_started
    return Measure(ok / (time.perf_counter() - started), errors, cpu * 1e6 / max(ok + errors, 1))


STACKS: dict[str, Callable[[str, int], Awaitable[Measure]]] = {
    "product": bench_product,
    "aiohttp": bench_aiohttp,
    "httpx": lambda base, c: bench_httpx(base, c, aiohttp_transport=False),
    "httpx+aiohttp": lambda base, c: bench_httpx(base, c, aiohttp_transport=True),
}


def run_target(target: str) -> list[Row]:
    port = free_port()
    base_root = f"http://127.0.0.1:{port}"
    if target == "sim":
        cmd = [str(VENV_BIN / "wxbroker"), "sim", "--port", str(port)]
        base = f"{base_root}/_sim/wechat"  # `wxbroker sim` mounts WeChat where dev does
        ctx = server(cmd, sim_env(port), f"{base}/stats")
    else:
        cmd = [sys.executable, "-m", "bench.template_send", "--serve-lean", str(port)]
        ctx = server(cmd, {}, f"{base_root}/ready")
        base = base_root
    rows: list[Row] = []
    with ctx:
        for concurrency in CONCURRENCY:
            rows.extend(run_cells(target, base, concurrency))
        if target == "sim":
            prepare_sim(base)
        m = bench_wechatpy(base)
        rows.append(Row(target, "wechatpy(sync)", 1, m.sends_per_s, m.errors, m.cpu_us_per_send))
        print(f"  {target:<5} {'wechatpy(sync)':<14} C=1    {m.sends_per_s:>8.0f}/s")
    return rows


def run_cells(target: str, base: str, concurrency: int) -> list[Row]:
    """Median of ROUNDS per stack, the stack order rotated each round: neighbours on a shared
    machine drift, and interleaved rounds expose every stack to the same drift."""
    rounds: dict[str, list[Row]] = {}
    only = os.environ.get("BENCH_STACKS")  # e.g. "product,aiohttp" for a quick comparison
    names = [n for n in STACKS if not only or n in only.split(",")]
    for round_no in range(ROUNDS):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            if target == "sim":
                prepare_sim(base)
            m = asyncio.run(STACKS[name](base, concurrency))
            row = Row(target, name, concurrency, m.sends_per_s, m.errors, m.cpu_us_per_send)
            print(
                f"  {target:<5} {name:<14} C={concurrency:<4} {m.sends_per_s:>8.0f}/s "
                f"{m.cpu_us_per_send:>6.0f} us cpu/send  err={m.errors}"
            )
            rounds.setdefault(name, []).append(row)
    return [
        Row(
            target,
            name,
            concurrency,
            statistics.median(r.sends_per_s for r in rows),
            sum(r.errors for r in rows),
            statistics.median(r.cpu_us_per_send for r in rows),
        )
        for name, rows in rounds.items()
    ]


def report(rows: list[Row]) -> str:
    present = [name for name in STACKS if any(r.stack == name for r in rows)]
    lines = [
        f"Template sends/s (median of {ROUNDS}), {LATENCY_MS} ms added latency, "
        f"{DURATION_S:.0f} s per cell; 'cpu' = client-process CPU per send",
        f"{'target':<6} {'C':>4} "
        + " ".join(f"{name:>14}" for name in present)
        + f" {'product/aiohttp':>16}",
    ]
    for target in dict.fromkeys(r.target for r in rows):
        for concurrency in CONCURRENCY:
            cells = {
                r.stack: r for r in rows if r.target == target and r.concurrency == concurrency
            }
            if not cells:
                continue
            ratio = cells["product"].sends_per_s / max(cells["aiohttp"].sends_per_s, 1e-9)
            shown = [name for name in STACKS if name in cells]
            values = " ".join(f"{cells[name].sends_per_s:>14.0f}" for name in shown)
            lines.append(f"{target:<6} {concurrency:>4} {values} {ratio:>15.0%}")
            cpu = " ".join(f"{cells[name].cpu_us_per_send:>11.0f} us" for name in shown)
            lines.append(f"{'':<6} {'cpu':>4} {cpu}")
        sync = [r for r in rows if r.target == target and r.stack == "wechatpy(sync)"]
        if sync:
            lines.append(
                f"{target:<6} wechatpy synchronous client, one thread: {sync[0].sends_per_s:.0f}/s"
            )
    errors = sum(r.errors for r in rows)
    lines.append(f"errors across all cells: {errors}")
    return "\n".join(lines)


def main(targets: list[str] | None = None) -> None:
    RESULTS.mkdir(exist_ok=True)
    rows: list[Row] = []
    for target in targets or ["sim", "lean"]:
        rows.extend(run_target(target))
    text = report(rows)
    print(text)
    (RESULTS / "template_send.txt").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-lean":
        serve_lean(int(sys.argv[2]))
    else:
        main(sys.argv[1:] or None)
