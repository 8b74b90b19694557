"""`wxbroker` commands: what a command sets up around its main coroutine."""

from __future__ import annotations

import argparse
import gc

import pytest

from app import cli


def test_the_worker_runs_with_a_large_young_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, ...]] = []

    async def run_worker() -> None:
        seen.append(gc.get_threshold())

    monkeypatch.setattr(cli, "_run_worker", run_worker)
    before = gc.get_threshold()
    try:
        assert cli.cmd_worker(argparse.Namespace()) == 0
    finally:
        gc.set_threshold(*before)
    assert seen == [cli.WORKER_GC_THRESHOLDS]
    assert cli.WORKER_GC_THRESHOLDS[0] > before[0]
