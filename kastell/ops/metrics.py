"""The Prometheus registry of one Kastell process and the metric helpers protocols use.

Every metric is named ``kastell_*``. Protocol packages count through the
helpers below (``connection_opened``/``closed``, ``command``) instead of
making their own metrics, so that names and labels stay uniform:

    from kastell.ops import metrics
    metrics.connection_opened("imap")
    metrics.command("imap", "FETCH", "ok", seconds)

Store and directory sizes are gauges refreshed by ``refresh(kastell)`` right
before each scrape: they come from aggregate queries (async), which a
synchronous prometheus collector could not run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest

from kastell.store import stats

if TYPE_CHECKING:
    from kastell.app import Kastell

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)  # process_cpu_seconds_total, process_resident_memory_bytes, ...

CONNECTIONS = Gauge("kastell_connections", "open client connections", ["protocol"], registry=REGISTRY)
CONNECTIONS_TOTAL = Counter(
    "kastell_connections_accepted", "client connections accepted", ["protocol"], registry=REGISTRY
)
COMMANDS = Counter(
    "kastell_commands", "protocol commands handled", ["protocol", "command", "status"], registry=REGISTRY
)
COMMAND_SECONDS = Histogram(
    "kastell_command_seconds",
    "time to handle one protocol command",
    ["protocol"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "kastell_http_requests", "HTTP requests of the admin API and console", ["area", "status"], registry=REGISTRY
)
HTTP_SECONDS = Histogram("kastell_http_request_seconds", "admin API and console latency", ["area"], registry=REGISTRY)
AUDIT_EVENTS = Counter("kastell_audit_events", "administrative changes recorded", ["action"], registry=REGISTRY)
STORE_BYTES = Gauge("kastell_store_bytes", "bytes of all mailboxes (store quota counters)", registry=REGISTRY)
STORE_ITEMS = Gauge("kastell_store_items", "items in all mailboxes", registry=REGISTRY)
DIRECTORY_OBJECTS = Gauge("kastell_directory_objects", "directory objects by kind", ["kind"], registry=REGISTRY)
SUBSCRIBERS = Gauge("kastell_change_subscribers", "clients waiting for mailbox changes", registry=REGISTRY)
MESSAGES_RECEIVED = Counter(
    "kastell_messages_received",
    "messages accepted (a 2xx answer to DATA) over smtp, submission(s) and lmtp",
    ["protocol"],
    registry=REGISTRY,
)
_received = 0  # the same, summed over protocols, for the dashboard's throughput chart
DELIVERIES = Counter(
    "kastell_deliveries",
    "delivery attempts per recipient: local (into a mailbox) and remote (from the queue), by result",
    ["where", "result"],
    registry=REGISTRY,
)
RULE_ACTIONS = Counter(
    "kastell_rule_actions", "actions of users' rules at delivery (Sieve, out-of-office, forwarding)", ["action"],
    registry=REGISTRY,
)  # fmt: skip
for _where, _result in (("local", "delivered"), ("local", "deferred"), ("local", "failed"),
                        ("remote", "delivered"), ("remote", "deferred"), ("remote", "failed")):  # fmt: skip
    DELIVERIES.labels(_where, _result)

# Protocols that are always shown, at 0, so dashboards need no "absent" special case.
for _protocol in ("imap", "pop3", "smtp", "lmtp", "submission", "http"):
    CONNECTIONS.labels(_protocol)
    CONNECTIONS_TOTAL.labels(_protocol)
for _protocol in ("smtp", "lmtp", "submission"):
    MESSAGES_RECEIVED.labels(_protocol)


def connection_opened(protocol: str) -> None:
    CONNECTIONS.labels(protocol).inc()
    CONNECTIONS_TOTAL.labels(protocol).inc()


def connection_closed(protocol: str) -> None:
    CONNECTIONS.labels(protocol).dec()


def message_received(protocol: str) -> None:
    global _received
    MESSAGES_RECEIVED.labels(protocol).inc()
    _received += 1


def received_total() -> int:
    """Messages accepted by this process since it started (every SMTP-family protocol)."""
    return _received


def command(protocol: str, name: str, status: str, seconds: float | None = None) -> None:
    """One handled command; ``name`` must come from a fixed set (an unknown verb: "other")."""
    COMMANDS.labels(protocol, name[:32], status).inc()
    if seconds is not None:
        COMMAND_SECONDS.labels(protocol).observe(seconds)


async def refresh(kastell: Kastell) -> None:
    """Bring the store and directory gauges up to date (called before a scrape)."""
    counts = await stats.totals(kastell.db)
    STORE_BYTES.set(counts["bytes_used"])
    STORE_ITEMS.set(counts["items"])
    for kind in ("organisations", "domains", "accounts", "groups"):
        DIRECTORY_OBJECTS.labels(kind).set(counts[kind])
    SUBSCRIBERS.set(kastell.events.subscriber_count())


async def exposition(kastell: Kastell) -> bytes:
    """The text format of every metric, fresh."""
    await refresh(kastell)
    return generate_latest(REGISTRY)
