"""Helpers shared by the benchmarks: free ports, server processes, wrk runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout_s: float = 30.0, method: str = "GET") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.request(method, url, timeout=1.0).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not come up")


@dataclass
class Figure:
    name: str
    value: str
    target: str
    ok: bool

    def line(self, value_width: int = 40) -> str:
        mark = "OK  " if self.ok else "MISS"
        return f"  [{mark}] {self.name:<46} {self.value:<{value_width}} target {self.target}"


@dataclass
class Report:
    """One benchmark module's figures against their targets (and notes), printed as they come
    and again as a summary, which `finish` also writes to a results file."""

    title: str
    value_width: int = 40
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def figure(self, name: str, value: str, target: str, ok: bool) -> None:
        self.figures.append(Figure(name, value, target, ok))
        print(self.figures[-1].line(self.value_width), flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  {text}", flush=True)

    def finish(self, out: Path) -> None:
        lines = [f.line(self.value_width) for f in self.figures]
        print(f"\n{self.title}:")
        for line in lines:
            print(line)
        out.write_text("\n".join([*self.notes, *lines]) + "\n")


@contextlib.contextmanager
def process(
    cmd: list[str], env: dict[str, str], log_path: Path, *, stop_timeout_s: float = 15.0
) -> Iterator[subprocess.Popen[bytes]]:
    """`cmd` in its own process group (output appended to `log_path`), stopped on exit:
    SIGTERM to the group, SIGKILL after `stop_timeout_s`."""
    log = log_path.open("ab")
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=stop_timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@contextlib.contextmanager
def server(
    cmd: list[str], env: dict[str, str], ready_url: str, method: str = "GET"
) -> Iterator[subprocess.Popen[bytes]]:
    log_path = RESULTS / f"server-{Path(cmd[0]).name}-{os.getpid()}.log"
    with process(cmd, {**os.environ, **env}, log_path) as proc:
        wait_ready(ready_url, method=method)
        yield proc


@dataclass
class WrkResult:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int

    def row(self) -> str:
        latency = f"{self.p50_ms:>9.2f} {self.p99_ms:>9.2f}"
        return f"{self.name:<34} {self.rps:>10.0f} {latency} {self.errors:>7}"


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(
    name: str,
    url: str,
    script: Path,
    args: list[str],
    *,
    connections: int = 64,
    duration_s: int = 10,
    threads: int = 2,
) -> WrkResult:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (make bench installs it from Debian)")
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s}s",
        "--latency",
        "-s",
        str(script),
        url,
        "--",
        *args,
    ]
    out = subprocess.run(
        cmd, capture_output=True, text=True, check=True, timeout=duration_s + 60
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s|m)\b", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", out)
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(g) for g in sock.groups())
    return WrkResult(name, rps, _ms(*p50.groups()), _ms(*p99.groups()), errors)  # type: ignore[union-attr]


def database_url(admin_url: str, name: str, driver: str = "postgresql+asyncpg") -> str:
    """The URL of database `name` on the admin URL's server, for `driver`."""
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", f"{driver}://", 1)
    return f"{base}/{name}"


async def recreate_database(admin_url: str, name: str) -> None:
    """Drop `name` (closing its connections) and create it empty."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def recreate_migrated_database(admin_url: str, name: str) -> None:
    """`recreate_database`, then the migrations to head, in this process."""
    from app.core.db import create_engine
    from app.core.migrate import run_on_engine

    await recreate_database(admin_url, name)
    engine = create_engine(database_url(admin_url, name))
    await run_on_engine(engine, "upgrade", "head")
    await engine.dispose()


async def fresh_migrated_database(admin_url: str, name: str, env: dict[str, str]) -> None:
    """Drop and recreate `name`, then `wxbroker migrate` it with the bench's environment."""
    await recreate_database(admin_url, name)
    proc = await asyncio.create_subprocess_exec(
        str(VENV_BIN / "wxbroker"), "migrate", env={**os.environ, **env}, cwd=ROOT
    )
    if await proc.wait() != 0:
        raise RuntimeError("migration failed")
