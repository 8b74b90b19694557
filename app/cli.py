"""`wxbroker` command line: serve, worker, migrate, dev, sim."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

import uvicorn

from app.core.config import get_settings
from app.core.logging import configure_logging
from app.core.migrate import upgrade_sync

log = logging.getLogger("app.cli")


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
    host, port = args.host or settings.host, args.port or settings.port
    log.info("cli.dev", extra={"url": f"http://{host}:{port}", "phone": f"/_sim/phone"})
    uvicorn.run(
        "app.main:create_app_from_env", factory=True, host=host, port=port, log_config=None
    )
    return 0


def cmd_worker(_args: argparse.Namespace) -> int:
    asyncio.run(_run_worker())
    return 0


async def _run_worker() -> None:
    from app.main import create_app  # noqa: PLC0415 - keeps `wxbroker migrate` light

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


COMMANDS = {
    "serve": cmd_serve,
    "worker": cmd_worker,
    "migrate": cmd_migrate,
    "dev": cmd_dev,
    "sim": cmd_sim,
}
