"""`wxbroker staff create` and `wxbroker audit verify` against the test database."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app import cli
from app.core.config import get_settings
from tests.conftest import TEST_DB_NAME, pg_url


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, engine: AsyncEngine, truncate_tables: None) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url(TEST_DB_NAME))
    monkeypatch.setenv("REDIS_URL", "memory://")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(argv)


async def _run_in_thread(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    import asyncio

    return await asyncio.to_thread(run, argv, monkeypatch, stdin)  # the CLI runs its own loop


async def test_bootstrap_an_admin_then_verify_and_catch_tampering(
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
    engine: AsyncEngine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["staff", "create", "--username", "root.admin", "--role", "admin", "--password-stdin"]
    assert await _run_in_thread(argv, monkeypatch, "a long enough passphrase\n") == 0
    assert await _run_in_thread(argv, monkeypatch, "a long enough passphrase\n") == 1  # taken
    assert await _run_in_thread(["audit", "verify"], monkeypatch) == 0
    assert '"ok": true' in capsys.readouterr().out
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text("UPDATE audit_log SET actor_name = 'someone else'"))
    assert await _run_in_thread(["audit", "verify"], monkeypatch) == 1
    assert '"first_bad_seq": 1' in capsys.readouterr().out


async def test_push_drafts_a_broadcast_that_still_needs_approval(
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
    engine: AsyncEngine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = tmp_path / "push.yaml"
    good.write_text(
        "target: {kind: topic, topic: all}\ntitle: 系统维护通知\nbody: 今晚22:00-23:00系统维护\n"
        "category: financial\n",
        encoding="utf-8",
    )
    assert await _run_in_thread(["push", str(good)], monkeypatch) == 0
    assert "awaits approval" in capsys.readouterr().out
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT status, created_by FROM push_draft"))).one()
    assert row.status == "pending_approval"
    assert row.created_by.startswith("cli:")

    bad = tmp_path / "bad.json"
    bad.write_text('{"target": {"kind": "topic", "topic": "all"}}', encoding="utf-8")
    assert await _run_in_thread(["push", str(bad)], monkeypatch) == 2
    assert "not a valid broadcast" in capsys.readouterr().err
