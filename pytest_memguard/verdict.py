"""Turn a series of retained-memory samples into a shape and a decision.

The rule, also in the README:

* the **noise** of a run is the second-largest fall of retained memory from one call to the
  next (memory that stays never falls: what falls came and went; the largest fall may be a
  one-time event, so it is left out);
* the **tail** is the second half of the measured calls, cut into ``WINDOWS`` equal windows;
* the series **rises** when retained memory went up by more than the noise in every window of
  the tail, and **rises steadily** when it still does without the largest one-call rise of each
  window (a rise made of one step is an event, not a leak: another thread's message, a table
  that doubled);
* a **one-time step** is never counted in the growth: a rise at a single call of at least
  ``STEP_MIN_BYTES`` and ``STEP_FACTOR`` times more than everything else retained (and than the
  noise): CPython's table of interned strings doubling once, in another thread's arena;
* both counters (pymalloc blocks, malloc bytes) are also judged apart: a leak of small objects
  rises in the blocks while a buffer that comes and goes in malloc hides it in the sum;
* a rising series under the bound is given one more run of the same length (a cache may still
  be filling); if it rises steadily at the end, the shape is **growing** and the test fails
  whatever its size, with the rate and the call after which it would cross the bound;
* otherwise the shape is **flat** (growth under ``FLAT_BYTES`` or within the noise) or
  **plateau**, and the test passes when the growth is within ``max_growth_kb``.

``MIN_ITERATIONS`` measured calls make windows of two calls, the fewest in which a steady rise
can be told from one step; settings refuse fewer.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pytest_memguard.result import Shape
from pytest_memguard.units import kib

#: The tail is cut into this many windows; each must gain for the series to count as rising.
WINDOWS = 4
#: Below this final growth (or the run's noise, when larger) a series is called flat.
FLAT_BYTES = 1024
#: Fewest measured calls: their second half makes 4 windows of 2 calls (with 1, a steady rise
#: and one step look the same).
MIN_ITERATIONS = 16
#: A one-time step is at least this large...
STEP_MIN_BYTES = 16 * 1024
#: ...and this many times larger than everything else the run retained.
STEP_FACTOR = 8
#: At most this many one-time steps are taken out of one run.
MAX_STEPS = 3


@dataclass(frozen=True)
class Step:
    """A one-time rise at a single call, not counted in the growth."""

    call: int  # 1-based measured call after which the memory was higher
    size_bytes: int


@dataclass(frozen=True)
class Trend:
    """What the samples say, before any bound is applied."""

    shape: Shape
    growth_bytes: int  # without one-time steps
    rate: float  # bytes per call over the tail; 0 unless growing
    rising: bool  # rises in every window of the tail (worth a longer run)
    noise_bytes: int = 0
    steps: tuple[Step, ...] = ()


def noise(retained: Sequence[int]) -> int:
    """The second-largest fall from one sample to the next (from 0, the baseline, first)."""
    first = second = 0
    previous = 0
    for value in retained:
        fall = previous - value
        if fall > first:
            first, second = fall, first
        elif fall > second:
            second = fall
        previous = value
    return second


def trend(retained: Sequence[int], parts: Sequence[Sequence[int]] = ()) -> Trend:
    """Classify retained bytes per call (relative to the end of warm-up).

    ``parts`` are the counters ``retained`` adds up (pymalloc blocks and malloc bytes, each in
    bytes): a leak of small objects rises in its own counter as steadily as ever while the
    other one moves by a buffer that comes and goes, whose falls would hide it in the sum. The
    series is growing when the sum or one of its parts rises steadily, each against its own
    noise; its growth is always the sum's.
    """
    n = len(retained)
    if n == 0:
        return Trend("flat", 0, 0.0, False)
    floor = noise(retained)
    steps = one_time_steps(retained, floor)
    growth = retained[-1] - sum(s.size_bytes for s in steps)
    rising = _rises(retained, floor, steady=False)
    if rising and _rises(retained, floor, steady=True):
        return Trend("growing", growth, _rate(retained, steps), True, floor, steps)
    for part in parts:
        part_floor = noise(part)
        if _rises(part, part_floor, steady=True):
            part_steps = one_time_steps(part, part_floor)
            return Trend("growing", growth, _rate(part, part_steps), True, floor, steps)
        rising = rising or _rises(part, part_floor, steady=False)
    shape: Shape = "flat" if growth < FLAT_BYTES or growth <= floor else "plateau"
    return Trend(shape, growth, 0.0, rising, floor, steps)


def _rate(series: Sequence[int], steps: Sequence[Step]) -> float:
    """Bytes per call over the tail, without its one-time steps."""
    n = len(series)
    start = n // 2
    before = series[start - 1] if start else 0
    gained = series[-1] - before - sum(s.size_bytes for s in steps if s.call > start)
    return gained / (n - start)


def _rises(retained: Sequence[int], floor: int, *, steady: bool) -> bool:
    """Every window of the tail gains more than ``floor`` (``steady``: without its largest
    one-call rise). Reads the samples in place: it runs inside the measuring loop."""
    n = len(retained)
    start = n // 2
    width = (n - start) // WINDOWS
    if width < 1:
        return False
    previous = retained[start - 1] if start else 0
    for k in range(WINDOWS):
        level = previous
        biggest = 0
        end = n if k == WINDOWS - 1 else start + (k + 1) * width  # the last takes the rest
        for i in range(start + k * width, end):
            biggest = max(biggest, retained[i] - previous)
            previous = retained[i]
        gain = previous - level - (biggest if steady else 0)
        if gain <= floor:
            return False
    return True


def one_time_steps(retained: Sequence[int], floor: int = 0) -> tuple[Step, ...]:
    """Rises at a single call that dwarf everything else retained: events, not growth."""
    growth = retained[-1] if retained else 0
    rises = sorted(
        ((b - a, i + 1) for i, (a, b) in enumerate(zip([0, *retained], retained, strict=False))),
        reverse=True,
    )[:MAX_STEPS]
    steps: list[Step] = []
    for size, call in rises:
        rest = growth - size - sum(s.size_bytes for s in steps)
        if size < STEP_MIN_BYTES or size < STEP_FACTOR * max(rest, floor, FLAT_BYTES):
            break
        steps.append(Step(call, size))
    return tuple(steps)


def extension(
    retained: Sequence[int],
    *,
    iterations: int,
    limit_bytes: int,
    parts: Sequence[Sequence[int]] = (),
) -> int:
    """How many more calls to make before judging: one more run while a rise (in the sum or
    in one of its ``parts``, as :func:`trend` reads them) is unproven and under the bound."""
    n = len(retained)
    if n == 0 or n >= 2 * iterations:
        return 0
    t = trend(retained, parts)
    return iterations if t.rising and t.growth_bytes <= limit_bytes else 0


@dataclass(frozen=True)
class Decision:
    passed: bool
    shape: Shape
    growth_bytes: int
    limit_bytes: int
    rate: float
    calls: int
    crosses_at: int | None  # the call after which a growing series crosses the bound
    noise_bytes: int = 0
    steps: tuple[Step, ...] = ()
    #: Threads the calls started that still ran at the end: the growth was read again once
    #: they ended (see :func:`settled`).
    in_flight: int = 0

    @property
    def reason(self) -> str:
        if self.shape == "growing" and self.crosses_at is None:
            # Not run longer: over the bound either way, and a cache still filling past it
            # looks the same as a leak, so say both facts rather than guess which.
            text = (
                f"retained {kib(self.growth_bytes / 1024)}, over the bound of"
                f" {kib(self.limit_bytes / 1024)}, and still growing at ~{self.rate:,.0f} B/call"
                f" at call {self.calls}"
            )
        elif self.shape == "growing":
            text = (
                f"still growing at ~{self.rate:,.0f} B/call,"
                f" would cross the bound after ~{self.crosses_at:,} calls"
            )
        elif not self.passed:
            text = (
                f"retained {kib(self.growth_bytes / 1024)} over the bound of"
                f" {kib(self.limit_bytes / 1024)}"
            )
        else:
            text = f"{self.shape} at {kib(self.growth_bytes / 1024)}"
        if self.noise_bytes > FLAT_BYTES and self.shape != "growing":
            text += f" (noise {kib(self.noise_bytes / 1024)})"
        if self.in_flight:
            text += (
                f"; read once the {self.in_flight} thread(s) still running after call"
                f" {self.calls} had ended (work in flight, as for the thread count)"
            )
        if self.steps:
            events = ", ".join(f"+{kib(s.size_bytes / 1024)} at call {s.call}" for s in self.steps)
            text += (
                f"; not counted: {events}, a one-time step"
                f" ({STEP_FACTOR}x more than all else retained)"
            )
        return text


def decide(
    retained: Sequence[int], *, limit_bytes: int, parts: Sequence[Sequence[int]] = ()
) -> Decision:
    t = trend(retained, parts)
    calls = len(retained)
    crosses_at: int | None = None
    if t.shape == "growing" and t.growth_bytes <= limit_bytes and t.rate > 0:
        crosses_at = calls + math.ceil((limit_bytes - t.growth_bytes) / t.rate)
    passed = t.shape != "growing" and t.growth_bytes <= limit_bytes
    return Decision(
        passed,
        t.shape,
        t.growth_bytes,
        limit_bytes,
        t.rate,
        calls,
        crosses_at,
        t.noise_bytes,
        t.steps,
    )


def settled(decision: Decision, growth_bytes: int, threads: int) -> Decision:
    """A failed decision read again after the ``threads`` still running at the end of the run
    had ended: what they held was work in flight (a thread per call that ends 0.3 s later
    outlives a run of fast calls). It passes when the memory fell back within the bound; the
    series itself, where the threads' memory hides any slope, is not judged again."""
    if decision.passed or growth_bytes > decision.limit_bytes:
        return decision
    shape: Shape = "flat" if growth_bytes < FLAT_BYTES else "plateau"
    return replace(
        decision,
        passed=True,
        shape=shape,
        growth_bytes=growth_bytes,
        rate=0.0,
        crosses_at=None,
        steps=(),
        in_flight=threads,
    )


# -- counts: descriptors, threads, tasks, processes ------------------------------------------


@dataclass(frozen=True)
class CountDecision:
    """The verdict on one count (open descriptors, threads...) over the measured calls.

    Counts are exact, and what a call opens and closes again (a thread still exiting, a
    connection the garbage collector closes) only ever adds to them for a while: the
    **level** of a window is its lowest count, so a resource that comes and goes is never
    taken for one that stays. The count is **growing** when the level rises from each window
    of the tail to the next (``WINDOWS`` windows of the second half); the **growth** is the
    level of the last window over the end of warm-up. A count that rose and settled (a pool
    that fills lazily) passes while its growth is within the bound.
    """

    key: str
    passed: bool
    shape: Shape
    growth: int
    bound: int
    per_call: float  # over the tail; 0 unless growing

    @property
    def every(self) -> int:
        """One more every this many calls, for a growing count slower than one per call."""
        return round(1 / self.per_call) if self.per_call > 0 else 0


def count_levels(series: Sequence[int]) -> list[int]:
    """The lowest count of each window of the tail (empty when too few calls)."""
    n = len(series)
    start = n // 2
    width = (n - start) // WINDOWS
    if width < 1:
        return []
    levels = []
    for k in range(WINDOWS):
        end = n if k == WINDOWS - 1 else start + (k + 1) * width
        levels.append(min(series[start + k * width : end]))
    return levels


def decide_count(key: str, series: Sequence[int], *, bound: int) -> CountDecision:
    """Judge the count ``key`` after each measured call, relative to the end of warm-up."""
    levels = count_levels(series)
    if not levels:
        return CountDecision(key, True, "flat", 0, bound, 0.0)
    growth = max(levels[-1], 0)
    growing = all(b > a for a, b in itertools.pairwise(levels)) and growth > 0
    if growing:
        n = len(series)
        width = (n - n // 2) // WINDOWS
        per_call = (levels[-1] - levels[0]) / (width * (WINDOWS - 1))
        return CountDecision(key, False, "growing", max(growth, series[-1]), bound, per_call)
    shape: Shape = "flat" if growth == 0 else "plateau"
    return CountDecision(key, growth <= bound, shape, growth, bound, 0.0)
