"""The sliding-window failure counter, on a clock the test moves."""

from __future__ import annotations

import pytest

from kastell.directory.throttle import SlidingWindow, Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_blocks_after_limit_within_window_and_releases_as_hits_age() -> None:
    clock = Clock()
    throttle = SlidingWindow(3, 60, clock=clock)
    for _ in range(2):
        throttle.hit("k")
        clock.now += 10
    assert throttle.blocked("k") is None
    throttle.hit("k")  # third failure at t=1020; the first was at t=1000
    assert throttle.blocked("k") == pytest.approx(40)
    clock.now += 39
    assert throttle.blocked("k") == pytest.approx(1)
    clock.now += 1
    assert throttle.blocked("k") is None  # the first failure left the window
    throttle.hit("k")  # failures at 1010, 1020, 1060: blocked until 1070
    assert throttle.blocked("k") == pytest.approx(10)
    assert throttle.blocked("other") is None


def test_reset_forgets_a_key() -> None:
    throttle = SlidingWindow(1, 60, clock=Clock())
    throttle.hit("k")
    assert throttle.blocked("k") is not None
    throttle.reset("k")
    throttle.reset("never-seen")
    assert throttle.blocked("k") is None


def test_memory_is_bounded() -> None:
    clock = Clock()
    throttle = SlidingWindow(5, 60, max_keys=100, clock=clock)
    for i in range(1000):
        throttle.hit(f"key{i}")
        throttle.hit("hot")  # kept: the most recently hit key is never the one evicted
    assert len(throttle) == 100
    for _ in range(50):
        throttle.hit("hot")
    assert len(throttle._hits["hot"]) == 5  # only the newest ``limit`` timestamps are kept
    assert throttle.blocked("hot") is not None
    clock.now += 61
    throttle.hit("fresh")  # every old key has left the window and is pruned
    assert len(throttle) == 1


def test_it_satisfies_the_protocol_and_refuses_nonsense() -> None:
    throttle: Throttle = SlidingWindow(1, 1)
    assert throttle.blocked("x") is None
    for limit, window in ((0, 1), (1, 0)):
        with pytest.raises(ValueError):
            SlidingWindow(limit, window)
