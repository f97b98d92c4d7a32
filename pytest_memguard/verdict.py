"""Turn a series of retained-memory samples into a shape and a decision.

The rule, also in the README:

* the **tail** is the second half of the measured calls, cut into ``WINDOWS`` equal windows;
* the series is **rising** when retained memory went up in every window of the tail;
* a rising series is given one more run of the same length (a cache may still be filling),
  unless it is already over the bound; if it still rises in every window of the new tail, the
  shape is **growing** and the test fails whatever its size, with the rate and the call after
  which it would cross the bound;
* otherwise the shape is **flat** (final growth under ``FLAT_BYTES``) or **plateau**, and the
  test passes when the final retained growth is within ``max_growth_kb``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Shape = Literal["flat", "plateau", "growing"]

#: The tail is cut into this many windows; each must gain for the series to count as rising.
WINDOWS = 4
#: Below this final growth a series that is not rising is called flat.
FLAT_BYTES = 1024


@dataclass(frozen=True)
class Trend:
    """What the samples say, before any bound is applied."""

    shape: Shape
    growth_bytes: int
    rate: float  # bytes per call over the tail; 0 unless growing
    rising: bool


def trend(retained: Sequence[int]) -> Trend:
    """Classify retained bytes per call (relative to the end of warm-up)."""
    n = len(retained)
    if n == 0:
        return Trend("flat", 0, 0.0, False)
    growth = retained[-1]
    rising, rate = _rising(retained)
    if rising:
        return Trend("growing", growth, rate, True)
    shape: Shape = "flat" if max(growth, 0) < FLAT_BYTES else "plateau"
    return Trend(shape, growth, 0.0, False)


def _rising(retained: Sequence[int]) -> tuple[bool, float]:
    n = len(retained)
    start = n // 2
    width = (n - start) // WINDOWS
    if width < 1:
        return False, 0.0
    edges = [start + k * width for k in range(WINDOWS)] + [n]
    before = retained[start - 1] if start else 0
    levels = [before] + [retained[e - 1] for e in edges[1:]]
    gains = [b - a for a, b in itertools.pairwise(levels)]
    if not all(g > 0 for g in gains):
        return False, 0.0
    return True, (levels[-1] - levels[0]) / (n - start)


def extension(retained: Sequence[int], *, iterations: int, limit_bytes: int) -> int:
    """How many more calls to make before judging: one more run while a rise is unproven."""
    t = trend(retained)
    if not t.rising or len(retained) >= 2 * iterations or t.growth_bytes > limit_bytes:
        return 0
    return iterations


@dataclass(frozen=True)
class Decision:
    passed: bool
    shape: Shape
    growth_bytes: int
    limit_bytes: int
    rate: float
    calls: int
    crosses_at: int | None  # the call after which a growing series crosses the bound

    @property
    def reason(self) -> str:
        if self.shape == "growing":
            if self.crosses_at is None:
                # Not run longer: over the bound either way, and a cache still filling past it
                # looks the same as a leak, so say both facts rather than guess which.
                return (
                    f"retained {_kib(self.growth_bytes)}, over the bound of"
                    f" {_kib(self.limit_bytes)}, and still growing at ~{self.rate:,.0f} B/call"
                    f" at call {self.calls}"
                )
            return (
                f"still growing at ~{self.rate:,.0f} B/call,"
                f" would cross the bound after ~{self.crosses_at:,} calls"
            )
        if not self.passed:
            return f"retained {_kib(self.growth_bytes)} over the bound of {_kib(self.limit_bytes)}"
        return f"{self.shape} at {_kib(self.growth_bytes)}"


def decide(retained: Sequence[int], *, limit_bytes: int) -> Decision:
    t = trend(retained)
    calls = len(retained)
    crosses_at: int | None = None
    if t.shape == "growing" and t.growth_bytes <= limit_bytes and t.rate > 0:
        crosses_at = calls + math.ceil((limit_bytes - t.growth_bytes) / t.rate)
    passed = t.shape != "growing" and t.growth_bytes <= limit_bytes
    return Decision(passed, t.shape, t.growth_bytes, limit_bytes, t.rate, calls, crosses_at)


def _kib(n: float) -> str:
    return f"{n / 1024:,.1f} KiB"
