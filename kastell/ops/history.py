"""A short in-memory history of the server's vital signs, for the dashboard's charts.

Every ``interval`` seconds one sample (time, CPU %, memory %, stored bytes,
messages received since the previous sample) is appended to a ring of ``size`` samples (default: one hour at 10 s). It lives
in the process and starts empty after a restart — long-term history is what
``/metrics`` and Prometheus are for; this is the "what is happening right
now" view that needs no monitoring stack.

``start()`` is idempotent and is called on the console's first request, so
a server that nobody administers samples nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import TYPE_CHECKING

import psutil

from kastell.ops import metrics
from kastell.store import stats

if TYPE_CHECKING:
    from kastell.app import Kastell

log = logging.getLogger("kastell.ops")


class HealthHistory:
    def __init__(self, kastell: Kastell, interval: float = 10.0, size: int = 360) -> None:
        self.kastell = kastell
        self.interval = interval
        self.samples: deque[tuple[int, float, float, int, int]] = deque(maxlen=size)
        self._task: asyncio.Task[None] | None = None
        self._received = metrics.received_total()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="health-history")

    async def sample(self) -> None:
        totals = await stats.totals(self.kastell.db)
        memory = psutil.virtual_memory().percent
        received, self._received = metrics.received_total() - self._received, metrics.received_total()
        self.samples.append((int(time.time()), psutil.cpu_percent(None), memory, totals["bytes_used"], received))

    async def _run(self) -> None:
        while True:
            try:
                await self.sample()
            except Exception:  # a failed sample leaves a gap in the chart, never a dead sampler
                log.warning("health sample failed", exc_info=True)
            await asyncio.sleep(self.interval)

    def series(self) -> dict[str, list[float]]:
        """Columns for uPlot: ``time`` (Unix seconds), ``cpu`` and ``memory`` (%), ``stored`` (bytes),
        ``received`` (messages accepted since the sample before)."""
        return {
            "time": [s[0] for s in self.samples],
            "cpu": [s[1] for s in self.samples],
            "memory": [s[2] for s in self.samples],
            "stored": [s[3] for s in self.samples],
            "received": [s[4] for s in self.samples],
        }
