"""Sliding-window failure counters, to slow down password guessing.

``SlidingWindow`` is in-process: each Kastell process counts on its own. That
is the right default for the embedded server (one process) and a sound first
line for several processes (an attacker spread over N processes gets N times
the budget, still a small number). The ``Throttle`` protocol is what the
authenticator needs; a shared backend (a database table or Redis sorted sets
keyed the same way) can implement it later without touching the callers —
it would make the three methods coroutines, and ``Authenticator`` is the only
caller to adapt.

Memory is bounded on purpose, since the keys come from the network: each key
keeps at most ``limit`` timestamps, keys whose last failure left the window are
pruned as new failures arrive, and at most ``max_keys`` keys are tracked (the
least recently hit one is forgotten first). An attacker can therefore flush
old counters by spraying ``max_keys`` distinct keys — the per-IP counter is
what stops that, and the cap is large.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol


class Throttle(Protocol):
    """What the authenticator needs from a failure counter."""

    def hit(self, key: str) -> None:
        """Count one failure for ``key`` now."""

    def blocked(self, key: str) -> float | None:
        """Seconds until ``key`` may try again (> 0), or None when it may try now."""

    def reset(self, key: str) -> None:
        """Forget the failures of ``key`` (after a success)."""


class SlidingWindow:
    """``limit`` failures within ``window`` seconds block a key until the oldest leaves the window."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window <= 0 or max_keys < 1:
            raise ValueError("limit and max_keys must be at least 1 and window positive")
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        # Ordered by last hit, oldest first: pruning stops at the first live key.
        # Plain lists, not deques: a deque allocates a 64-slot block even for one hit.
        self._hits: OrderedDict[str, list[float]] = OrderedDict()

    def hit(self, key: str) -> None:
        now = self._clock()
        self._prune(now)
        times = self._hits.get(key)
        if times is None:
            if len(self._hits) >= self.max_keys:
                self._hits.popitem(last=False)
            times = self._hits[key] = []
        else:
            self._hits.move_to_end(key)
        times.append(now)
        if len(times) > self.limit:
            # Only the newest ``limit`` hits can decide whether the key is blocked.
            del times[: len(times) - self.limit]

    def blocked(self, key: str) -> float | None:
        times = self._hits.get(key)
        if times is None or len(times) < self.limit:
            return None
        remaining = times[0] + self.window - self._clock()
        return remaining if remaining > 0 else None

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)

    def __len__(self) -> int:
        """The number of keys tracked now (for tests and metrics)."""
        return len(self._hits)

    def _prune(self, now: float) -> None:
        horizon = now - self.window
        while self._hits:
            key, times = next(iter(self._hits.items()))
            if times[-1] > horizon:
                return
            del self._hits[key]
