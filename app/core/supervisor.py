"""Runs long-lived background loops (recorder flush, worker, relay) and stops them cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

LoopFactory = Callable[[asyncio.Event], Awaitable[None]]


class Supervisor:
    """Each loop gets a shared stop event; a loop that crashes is logged and restarted."""

    def __init__(self, restart_delay_s: float = 1.0) -> None:
        self.stop_event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._restart_delay_s = restart_delay_s

    def start(self, name: str, loop: LoopFactory) -> None:
        self._tasks.append(asyncio.create_task(self._run(name, loop), name=name))

    async def _run(self, name: str, loop: LoopFactory) -> None:
        while not self.stop_event.is_set():
            try:
                await loop(self.stop_event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("supervisor.loop_crashed", extra={"loop": name})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop_event.wait(), self._restart_delay_s)
            else:
                return

    async def stop(self, grace_s: float = 10.0) -> None:
        """Ask loops to finish their current batch, then cancel whatever is left."""
        self.stop_event.set()
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(self._tasks, timeout=grace_s)
        for task in pending:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*pending, return_exceptions=True)
        self._tasks.clear()
