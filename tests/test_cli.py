"""`wxbroker` commands: what a command sets up around its main coroutine."""

from __future__ import annotations

import argparse
import asyncio
import gc

import pytest

from app import cli


def test_the_worker_runs_on_uvloop_with_a_large_young_generation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[int, ...]] = []
    loops: list[str] = []

    async def run_worker() -> None:
        seen.append(gc.get_threshold())
        loops.append(type(asyncio.get_running_loop()).__module__)

    monkeypatch.setattr(cli, "_run_worker", run_worker)
    before = gc.get_threshold()
    try:
        assert cli.cmd_worker(argparse.Namespace()) == 0
    finally:
        gc.set_threshold(*before)
    assert seen == [cli.WORKER_GC_THRESHOLDS]
    assert loops == ["uvloop"]
    assert cli.WORKER_GC_THRESHOLDS[0] > before[0]
