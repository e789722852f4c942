"""What an operator asks first: is it up, which listeners run, how full are the machine's resources.

``health(kastell)`` is read by ``GET /api/v1/health``, the console's dashboard
and ``kastell status``-like tools. psutil calls are cheap (no sampling
interval: ``cpu_percent(None)`` compares with the previous call), so the
dashboard can poll it.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import psutil

from kastell import __version__
from kastell.config import SERVICES

if TYPE_CHECKING:
    from kastell.app import Kastell

_STARTED = time.time()


def listeners(kastell: Kastell) -> dict[str, dict[str, Any]]:
    """Every configured service: its configured endpoint and whether the running server bound it."""
    from kastell.server import read_state  # here: kastell.server imports the web app, which imports this

    state = read_state(kastell.settings.data_dir) or {}
    bound: dict[str, str] = state.get("listeners", {})
    result: dict[str, dict[str, Any]] = {}
    listen = kastell.settings.config.listen
    for service in SERVICES:
        endpoint = listen.endpoint(service)
        configured = None if endpoint is None else f"{endpoint[0]}:{endpoint[1]}"
        if service in bound:
            status = "listening"
        elif endpoint is None:
            status = "off"
        else:
            status = "not running"
        result[service] = {"configured": configured, "bound": bound.get(service), "status": status}
    return result


def health(kastell: Kastell) -> dict[str, Any]:
    """Version, uptime, CPU, memory, disk (of the data directory) and listener states."""
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(str(kastell.settings.data_dir))
    process = psutil.Process(os.getpid())
    return {
        "status": "ok",
        "version": __version__,
        "uptime_seconds": int(time.time() - _STARTED),
        "cpu": {"percent": psutil.cpu_percent(None), "count": psutil.cpu_count() or 1, "load": list(os.getloadavg())},
        "memory": {"total": memory.total, "available": memory.available, "percent": memory.percent},
        "process": {"rss": process.memory_info().rss, "threads": process.num_threads()},
        "disk": {
            "path": str(kastell.settings.data_dir),
            "total": disk.total,
            "free": disk.free,
            "percent": disk.percent,
        },
        "listeners": listeners(kastell),
    }
