"""`wxbroker` command line: serve, worker, migrate, dev, sim, audit verify, staff create,
menu push | import | export, push (draft a broadcast)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import getpass
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import uvicorn

from app.core.config import get_settings
from app.core.db import create_engine, create_sessionmaker, unit_of_work
from app.core.errors import AppError
from app.core.logging import configure_logging
from app.core.migrate import upgrade_sync
from app.core.time import SystemClock

log = logging.getLogger("app.cli")
T = TypeVar("T")


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except ValueError as exc:  # pydantic ValidationError is a ValueError
        sys.stderr.write(f"wxbroker: configuration refused:\n{exc}\n")
        return 2
    configure_logging(settings.log_level, settings.log_json)
    handler = COMMANDS[args.command]
    return handler(args)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wxbroker", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API (uvicorn)")
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    sub.add_parser("worker", help="run the push worker (queue consumers, relay, reconciler)")
    sub.add_parser("migrate", help="upgrade the database to the newest revision")
    dev = sub.add_parser("dev", help="embedded all-in-one: migrate, API + worker + simulators")
    dev.add_argument("--host")
    dev.add_argument("--port", type=int)
    sim = sub.add_parser("sim", help="run the WeChat simulator and sandbox brokerage alone")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8900)
    audit = sub.add_parser("audit", help="audit log tools")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", help="recompute the audit log's hash chain; exit 1 if broken")
    staff = sub.add_parser("staff", help="ops staff accounts")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    create = staff_sub.add_parser("create", help="create a staff member (bootstrap the admin)")
    create.add_argument("--username", required=True)
    create.add_argument("--display-name")
    create.add_argument(
        "--role", choices=["viewer", "operator", "approver", "admin"], required=True
    )
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin, not a prompt"
    )
    push = sub.add_parser(
        "push", help="draft an ops broadcast from a JSON/YAML file (approved in the console)"
    )
    push.add_argument("file", type=argparse.FileType("r", encoding="utf-8"))
    menu = sub.add_parser("menu", help="custom menu versions (validate and publish to WeChat)")
    menu_sub = menu.add_subparsers(dest="menu_command", required=True)
    push = menu_sub.add_parser(
        "push", help="validate and publish a version (default: the published one again)"
    )
    push.add_argument("--version", type=int, help="the menu version to publish")
    push.add_argument("--builtin", action="store_true", help="publish the built-in menu (v1)")
    menu_import = menu_sub.add_parser("import", help="store a YAML file as a new draft version")
    menu_import.add_argument("file", type=argparse.FileType("rb"))
    menu_export = menu_sub.add_parser("export", help="print a version as YAML")
    menu_export.add_argument("--version", type=int, help="default: the published version")
    return parser


def cmd_migrate(_args: argparse.Namespace) -> int:
    settings = get_settings()
    upgrade_sync(settings.database_url)
    log.info("cli.migrated")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = get_settings()
    uvicorn.run(
        "app.main:create_app_from_env",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
    )
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    settings = get_settings()
    if not settings.is_dev:
        sys.stderr.write("wxbroker dev is the embedded default; unset ENVIRONMENT or use serve\n")
        return 2
    upgrade_sync(settings.database_url)
    asyncio.run(_with_sessionmaker(_seed_dev_demo))
    host, port = args.host or settings.host, args.port or settings.port
    log.info("cli.dev", extra={"url": f"http://{host}:{port}", "phone_page": "/_sim/phone"})
    uvicorn.run("app.main:create_app_from_env", factory=True, host=host, port=port, log_config=None)
    return 0


async def _seed_dev_demo(sessionmaker: Any) -> None:
    """Demo data of the embedded default: a lottery campaign at /h5/campaigns/demo."""
    from app.campaigns import campaigns

    async with unit_of_work(sessionmaker) as session:
        await campaigns.ensure_demo_campaign(session, now=SystemClock().now())


# The push worker allocates hundreds of objects per send (request, response, rows, outcomes)
# that live for a batch: at CPython's default thresholds (700, 10, 10) they survive young
# collections and full collections ran every ~0.7 s, 13 % of the worker's CPU in the item-3
# bench (1.54 of 11.9 s, 3,985 collections). With a 50,000-object young generation they die
# by reference count first: 4 collections, 0.04 s, and 10-15 % less CPU per send. Cycles
# wait for a collection a little longer; peak RSS is unchanged (bench item 3).
WORKER_GC_THRESHOLDS = (50_000, 20, 100)


def cmd_worker(_args: argparse.Namespace) -> int:
    gc.set_threshold(*WORKER_GC_THRESHOLDS)
    with asyncio.Runner(loop_factory=worker_loop_factory()) as runner:
        runner.run(_run_worker())
    return 0


def worker_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (uvicorn[standard] brings it; `serve` and `sim` already run on
    it through uvicorn), else asyncio's default loop. Every send of the worker is a few loop
    callbacks (connection readable, response parsed, task resumed)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] installs it on Linux
        return None
    return uvloop.new_event_loop


async def _run_worker() -> None:
    from app.main import create_app

    settings = get_settings().model_copy(update={"run_worker_in_process": True})
    app = create_app(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with app.router.lifespan_context(app):
        log.info("worker.started")
        await stop.wait()
        log.info("worker.stopping")  # lifespan exit: finish the batch, start no other


def cmd_sim(args: argparse.Namespace) -> int:
    uvicorn.run(
        "app.simulator.main:create_sim_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        log_config=None,
    )
    return 0


def cmd_audit(_args: argparse.Namespace) -> int:
    from app.ops import commands

    report = asyncio.run(_with_sessionmaker(commands.verify_audit))
    sys.stdout.write(
        json.dumps(
            {
                "ok": report.ok,
                "rows": report.rows,
                "first_bad_seq": report.first_bad_seq,
                "reason": report.reason,
            }
        )
        + "\n"
    )
    return 0 if report.ok else 1


def cmd_staff(args: argparse.Namespace) -> int:
    from app.ops import commands
    from app.ops.constants import Role

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != password:
            sys.stderr.write("wxbroker: the passwords differ\n")
            return 2

    async def create(sessionmaker: Any) -> int:
        return await commands.create_staff(
            sessionmaker,
            username=args.username,
            display_name=args.display_name or args.username,
            password=password,
            role=Role(args.role),
            clock=SystemClock(),
        )

    try:
        staff_id = asyncio.run(_with_sessionmaker(create))
    except AppError as exc:
        sys.stderr.write(f"wxbroker: {exc.detail}\n")
        return 1
    sys.stdout.write(f"created staff user {args.username} (id {staff_id}, role {args.role})\n")
    return 0


def cmd_menu(args: argparse.Namespace) -> int:
    from app.content import commands

    settings = get_settings()
    actor = f"cli:{getpass.getuser()}"
    try:
        if args.menu_command == "push":
            row = asyncio.run(
                commands.push_menu(
                    settings, version=args.version, builtin=args.builtin, actor=actor
                )
            )
            sys.stdout.write(f"published menu version {row.version}\n")
        elif args.menu_command == "import":
            with args.file as source:
                text = source.read()
            row = asyncio.run(commands.import_menu(settings, text=text, actor=actor))
            sys.stdout.write(f"stored draft menu version {row.version}\n")
        else:
            sys.stdout.write(asyncio.run(commands.export_menu(settings, version=args.version)))
    except AppError as exc:
        sys.stderr.write(f"wxbroker: {exc.detail}\n")
        return 1
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    import yaml
    from pydantic import ValidationError

    from app.ops import commands
    from app.ops.schemas import DraftCreate

    with args.file as source:
        text = source.read()
    try:
        data = DraftCreate.model_validate(yaml.safe_load(text))  # YAML is a superset of JSON
    except (yaml.YAMLError, ValidationError) as exc:
        sys.stderr.write(f"wxbroker: {args.file.name} is not a valid broadcast:\n{exc}\n")
        return 2

    async def create(sessionmaker: Any) -> int:
        return await commands.create_push_draft(
            sessionmaker, data=data, os_user=getpass.getuser(), clock=SystemClock()
        )

    try:
        draft_id = asyncio.run(_with_sessionmaker(create))
    except AppError as exc:
        sys.stderr.write(f"wxbroker: {exc.detail}\n")
        return 1
    sys.stdout.write(f"push draft {draft_id} awaits approval in the console\n")
    return 0


async def _with_sessionmaker(work: Callable[[Any], Awaitable[T]]) -> T:
    settings = get_settings()
    engine = create_engine(settings.database_url, pool_size=2)
    try:
        return await work(create_sessionmaker(engine))
    finally:
        await engine.dispose()


COMMANDS = {
    "serve": cmd_serve,
    "worker": cmd_worker,
    "migrate": cmd_migrate,
    "dev": cmd_dev,
    "sim": cmd_sim,
    "audit": cmd_audit,
    "staff": cmd_staff,
    "menu": cmd_menu,
    "push": cmd_push,
}
