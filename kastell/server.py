"""One process, one asyncio loop: every listener and background worker of Kastell.

``serve(settings)`` opens the core services, starts each configured listener
(logging one line for each), runs the background workers, and waits for
SIGINT/SIGTERM. Shutdown stops accepting, gives in-flight work
``server.shutdown_timeout`` seconds to finish, cancels what is left and closes
the database — every write is one transaction, so cancelling one rolls it back
and never leaves half an item.

Listeners are a table (``HTTP_SERVICES`` below, and one entry per protocol as
their packages land); a service with no implementation yet is named in one log
line instead of being opened.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Coroutine
from contextlib import suppress
from pathlib import Path
from typing import Any

import uvicorn

from kastell.app import Kastell
from kastell.config import SERVICES, Settings
from kastell.directory import ldap
from kastell.listeners import Listener, ListenFunction, ListenSpec
from kastell.mail.transport import run_queue
from kastell.store import fulltext
from kastell.web.app import build_app

log = logging.getLogger("kastell.server")

HTTP_SERVICES = ("http", "https")
# TCP services and the ``listen`` coroutine that serves each (see kastell/listeners.py);
# a protocol package adds its line here when it lands.
TCP_SERVICES: dict[str, str] = {
    "smtp": "kastell.protocols.smtp.server:listen",
    "submission": "kastell.protocols.smtp.server:listen",
    "submissions": "kastell.protocols.smtp.server:listen",
    "lmtp": "kastell.protocols.smtp.server:listen",
    "imap": "kastell.protocols.imap.server:listen",
    "imaps": "kastell.protocols.imap.server:listen",
    "pop3": "kastell.protocols.pop3.server:listen",
    "pop3s": "kastell.protocols.pop3.server:listen",
    "managesieve": "kastell.protocols.managesieve.server:listen",
}
IMPLICIT_TLS = frozenset({"imaps", "pop3s", "submissions"})
# What the running server actually bound, for ``kastell status`` (removed on a clean stop).
STATE_FILE = "server.json"
GC_INTERVAL = 3600.0
FULLTEXT_BATCH = 200
FULLTEXT_IDLE = 2.0
# The indexer yields to mail flow: it waits while the store changed within the
# last FULLTEXT_QUIET seconds, but never longer than FULLTEXT_MAX_DEFER at a time.
FULLTEXT_QUIET = 0.5
FULLTEXT_MAX_DEFER = 30.0


def _available(module_name: str) -> bool:
    """Is this protocol package part of this version? (They land one by one.)"""
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP is inherited by accepted sockets, and only then does asyncio set
    # TCP_NODELAY on them (without it every reply of a line protocol waits ~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


class Server:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app: Kastell | None = None
        self._stoppers: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self._workers: list[asyncio.Task[None]] = []
        self.bound: dict[str, tuple[str, int]] = {}

    async def start(self) -> None:
        self.app = await Kastell.open(self.settings)
        try:
            await self._start_http()
            await self._start_tcp()
            missing = [
                s
                for s in SERVICES
                if s not in HTTP_SERVICES
                and s not in self.bound
                and self.settings.config.listen.endpoint(s) is not None
            ]
            if missing:
                log.info("not yet available in this version: %s", ", ".join(missing))
            self._workers.append(asyncio.create_task(self._collect_blobs(), name="blob-gc"))
            self._workers.append(asyncio.create_task(self._index_text(), name="fulltext-indexer"))
            self._workers.append(asyncio.create_task(run_queue(self.app), name="mail-queue"))
            self._workers.append(asyncio.create_task(ldap.run_worker(self.app), name="ldap-sync"))
        except BaseException:
            await self.stop()
            raise

    async def _start_tcp(self) -> None:
        assert self.app is not None
        for service, target in TCP_SERVICES.items():
            endpoint = self.settings.config.listen.endpoint(service)
            if endpoint is None:
                continue
            module_name, _, function_name = target.partition(":")
            if not _available(module_name):
                continue
            listen: ListenFunction = getattr(importlib.import_module(module_name), function_name)
            sock = _bind(*endpoint)
            spec = ListenSpec(service, sock, self.app.tls_context, service in IMPLICIT_TLS)
            listener = await listen(self.app, spec)
            host, port = sock.getsockname()[:2]
            self.bound[service] = (host, port)
            log.info("%s listening on %s:%d%s", service, host, port, " (TLS)" if spec.implicit_tls else "")
            timeout = self.settings.config.server.shutdown_timeout

            async def _stop(listener: Listener = listener, timeout: float = timeout) -> None:
                await listener.stop(max(0.5, timeout - 0.5))

            self._stoppers.append(_stop)

    async def _start_http(self) -> None:
        assert self.app is not None
        asgi = build_app(self.app)
        for service in HTTP_SERVICES:
            endpoint = self.settings.config.listen.endpoint(service)
            if endpoint is None:
                continue
            host, port = endpoint
            sock = _bind(host, port)
            tls = service == "https"
            config = uvicorn.Config(
                asgi,
                lifespan="off",
                log_config=None,
                access_log=False,
                server_header=False,
                timeout_graceful_shutdown=max(1, int(self.settings.config.server.shutdown_timeout) - 1),
                ssl_certfile=str(self.settings.cert_path) if tls else None,
                ssl_keyfile=str(self.settings.key_path) if tls else None,
            )
            config.load()
            if tls:
                # uvicorn builds its own context from the files; replace it with ours.
                config.ssl = self.app.tls_context
            server = uvicorn.Server(config)
            # startup()/shutdown() are driven by us (one loop, our signal handling), so
            # set up what uvicorn's own serve() would have.
            server.lifespan = config.lifespan_class(config)
            await server.startup(sockets=[sock])
            actual = sock.getsockname()[:2]
            self.bound[service] = (actual[0], actual[1])
            log.info("%s listening on %s:%d%s", service, actual[0], actual[1], " (TLS)" if tls else "")

            async def _stop(server: uvicorn.Server = server, sock: socket.socket = sock) -> None:
                server.should_exit = True
                await server.shutdown(sockets=[sock])

            self._stoppers.append(_stop)

    async def _collect_blobs(self) -> None:
        assert self.app is not None
        grace = self.settings.config.blobs.gc_grace_seconds
        sweeps = 0
        while True:
            await asyncio.sleep(GC_INTERVAL)
            sweeps += 1
            if sweeps % 24 == 0:  # daily: it reads the whole word index
                try:
                    forgotten = await fulltext.prune_vocabulary(self.app.db)
                    if forgotten:
                        log.info("full text: forgot %d words no message has any more", forgotten)
                except Exception:
                    log.exception("pruning the full-text vocabulary failed")
            try:
                removed = await self.app.store.collect_garbage(grace)
                if removed:
                    log.info("blob collector removed %d unreferenced blobs", removed)
            except Exception:
                log.exception("blob collection failed")
            days = self.settings.config.store.tombstone_days
            try:
                if days:
                    pruned = await self.app.store.prune_tombstones(days * 86400)
                    if pruned:
                        log.info("pruned %d tombstones older than %d days", pruned, days)
            except Exception:
                log.exception("pruning tombstones failed")
            try:  # expired vacation/duplicate memory of the rules engine goes with the same hourly sweep
                from kastell.rules.engine import RulesEngine

                forgotten = await RulesEngine(self.app).prune()
                if forgotten:
                    log.info("rules: forgot %d expired vacation/duplicate entries", forgotten)
            except Exception:
                log.exception("pruning the rules' tracking failed")

    async def _index_text(self) -> None:
        """Feed deferred full-text rows into the index (see store/fulltext.py).

        Indexing shares the process (and its GIL) with the protocols, so during a
        burst of deliveries, an import or a pipelined APPEND it waits for a quiet
        moment (searches stay complete meanwhile: they read pending rows too). After
        FULLTEXT_MAX_DEFER seconds of waiting it indexes until nothing is pending,
        so a server that is never quiet still keeps its index current.
        """
        assert self.app is not None
        events = self.app.events
        waiting_since: float | None = None
        draining = False
        while True:
            now = time.monotonic()
            if not draining and now - events.last_publish < FULLTEXT_QUIET:
                waiting_since = now if waiting_since is None else waiting_since
                if now - waiting_since < FULLTEXT_MAX_DEFER:
                    await asyncio.sleep(FULLTEXT_QUIET)
                    continue
                draining = True
            waiting_since = None
            try:
                done = await fulltext.index_pending(self.app.db, FULLTEXT_BATCH)
            except Exception:
                log.exception("full-text indexing failed")
                done = 0
            if done < FULLTEXT_BATCH:
                draining = False
            await asyncio.sleep(0 if done == FULLTEXT_BATCH else FULLTEXT_IDLE)

    async def stop(self) -> None:
        timeout = self.settings.config.server.shutdown_timeout
        for worker in self._workers:
            worker.cancel()
        stoppers = [asyncio.create_task(stop()) for stop in self._stoppers]
        if stoppers:
            done, pending = await asyncio.wait(stoppers, timeout=timeout)
            for task in pending:
                task.cancel()
            for task in done:
                if task.exception() is not None:
                    log.warning("listener shutdown: %s", task.exception())
        for worker in self._workers:
            with suppress(asyncio.CancelledError, Exception):
                await worker
        self._stoppers.clear()
        self._workers.clear()
        if self.app is not None:
            await self.app.close()
            self.app = None


async def serve(settings: Settings, *, on_ready: Callable[[Server], None] | None = None) -> None:
    """Run until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = Server(settings)
    await server.start()
    state = settings.data_dir / STATE_FILE
    _write_state(state, server.bound)
    log.info("kastell ready (data directory %s)", settings.data_dir)
    if on_ready is not None:
        on_ready(server)
    try:
        await stop.wait()
        log.info("shutting down")
    finally:
        state.unlink(missing_ok=True)
        await server.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    log.info("stopped")


def _write_state(path: Path, bound: dict[str, tuple[str, int]]) -> None:
    state = {
        "pid": os.getpid(),
        "started": int(time.time()),
        "listeners": {service: f"{host}:{port}" for service, (host, port) in bound.items()},
    }
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(state))
    os.replace(temp, path)


def read_state(data_dir: Path) -> dict[str, Any] | None:
    """The state file of a server running on ``data_dir``, or None when none runs."""
    try:
        state: dict[str, Any] = json.loads((data_dir / STATE_FILE).read_text())
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state


def raise_file_limit(ceiling: int = 1 << 20) -> int:
    """Raise this process's soft limit on open files to its hard limit (at most ``ceiling``).

    Every connection is a file descriptor, and the usual soft limit (1024 under
    systemd) would end a server at about a thousand IDLE clients long before
    memory does. Returns the limit in force.
    """
    try:
        import resource
    except ImportError:  # not a POSIX system
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = ceiling if hard == resource.RLIM_INFINITY else min(hard, ceiling)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            log.warning("could not raise the open-file limit from %d to %d", soft, wanted)
    return soft


def run(settings: Settings) -> None:
    """Run the server on uvloop when it is installed, else on asyncio's own loop."""
    limit = raise_file_limit()
    if 0 < limit < 10_000:
        log.warning("open-file limit is %d: at most about that many connections (raise the hard limit)", limit)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(settings))
    else:
        uvloop.run(serve(settings))
