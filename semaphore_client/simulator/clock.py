"""Clocks for the simulator: the wall clock, or a manual one that tests move by hand."""

from __future__ import annotations

import time
from typing import Protocol

SIM_EPOCH = 1767225600.0
"""2026-01-01T00:00:00Z: where a :class:`ManualClock` starts unless told otherwise."""


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class WallClock:
    """Real time: pipelines advance on their own, scripted durations are real seconds."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """Time that only moves when :meth:`advance` is called: deterministic scenarios."""

    def __init__(self, start: float = SIM_EPOCH) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._now += seconds
        return self._now
