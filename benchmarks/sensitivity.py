#!/usr/bin/env python3
"""How small a steady leak the verdict catches, and at how few calls: measured, not guessed.

    python benchmarks/sensitivity.py [--trials 20] [--quick]

Each row is a leak pattern replayed ``--trials`` times, each time into a fresh container, through
the same measuring loop and verdict as ``guard()`` (``measure.measure`` with the known-cache
dropper, the extension to ``EXTENSION_FACTOR`` times the calls, ``verdict.decide``), without the
explanation pass a failure would add. The first table runs the default settings (200 measured
calls after 20 warm-up calls) on leaks from a 1 KiB buffer per call down to one small string
every 40 calls; the second runs the steady ~66 B/call leak of issue 10 (a list of 100-byte
strings) and a clean call at every iteration count from the minimum the settings accept.

"B/call" is what the pattern really keeps per call (``sys.getsizeof`` of the kept object, plus
the list slot, divided by how often it keeps one); "counted" is the rate the verdict measured
(64 bytes per pymalloc block, large buffers exactly; median of the failing runs). A pattern is
caught when the verdict fails it; a clean call must never be. Exits 1 when a pattern the
README's rule promises to catch (marked ``must``) is not caught every time, or a clean call
fails once.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_memguard import measure, verdict
from pytest_memguard.caches import CacheDropper
from pytest_memguard.guard import EXTENSION_FACTOR
from pytest_memguard.settings import DEFAULT_ITERATIONS, DEFAULT_WARMUP

LIMIT_BYTES = 64 * 1024
STRING = 100  # characters of the strings: a 149-byte str object


@dataclass(frozen=True)
class Pattern:
    name: str
    make: Callable[[list[object]], Callable[[], None]]  # a call that keeps into the list
    per_call: float  # bytes really kept per call
    must: bool  # the README's rule promises to catch it at the default settings


def every(
    k: int, make_object: Callable[[int], object]
) -> Callable[[list[object]], Callable[[], None]]:
    def make(kept: list[object]) -> Callable[[], None]:
        n = [0]

        def call() -> None:
            n[0] += 1
            if n[0] % k == 0:
                kept.append(make_object(n[0]))

        return call

    return make


def text(i: int) -> str:
    return "x" * (STRING - 3) + f"{i % 1000:03d}"


def kept_bytes(obj: object, k: int) -> float:
    return (sys.getsizeof(obj) + 8) / k  # the object and its slot in the list


def pattern(name: str, k: int, make_object: Callable[[int], object], *, must: bool) -> Pattern:
    """Keep ``make_object(n)`` on every ``k``-th call."""
    return Pattern(name, every(k, make_object), kept_bytes(make_object(1), k), must)


def patterns() -> list[Pattern]:
    return [
        pattern("1 KiB bytes each call", 1, lambda i: bytes(1024), must=True),
        pattern("100-char str each call", 1, text, must=True),
        pattern("int each call", 1, lambda i: 10**6 + i, must=True),
        *(
            pattern(f"100-char str every {k} calls", k, text, must=k <= 25)
            for k in (2, 5, 10, 25, 40)
        ),
        Pattern("None each call (list slot)", every(1, lambda i: None), 8.0, must=False),
    ]


def judge(fn: Callable[[], None], *, iterations: int, warmup: int) -> verdict.Decision:
    """The verdict ``guard()`` would reach, without its explanation pass."""

    def extend(samples: measure.Samples) -> int:
        return verdict.extension(
            samples.retained, iterations=iterations, limit_bytes=LIMIT_BYTES, parts=samples.parts
        )

    samples = measure.measure(
        fn,
        measure.Loop(
            warmup=warmup,
            iterations=iterations,
            max_iterations=iterations * EXTENSION_FACTOR,
            extend=extend,
            on_growth=CacheDropper(),
            thin=True,  # as guard() runs it: these calls are fast, so every third is sampled
        ),
    )
    return verdict.decide(samples.retained, limit_bytes=LIMIT_BYTES, parts=samples.parts)


def caught(
    make: Callable[[list[object]], Callable[[], None]], trials: int, iterations: int
) -> tuple[int, float]:
    """How many of ``trials`` runs failed, and the median rate the failures measured."""
    failed: list[float] = []
    for _ in range(trials):
        kept: list[object] = []
        decision = judge(make(kept), iterations=iterations, warmup=DEFAULT_WARMUP)
        if not decision.passed:
            failed.append(decision.rate)
        del kept
        gc.collect()
    return len(failed), statistics.median(failed) if failed else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="runs per row (default 20)")
    parser.add_argument("--quick", action="store_true", help="3 trials, fewer iteration counts")
    args = parser.parse_args()
    trials = 3 if args.quick else args.trials
    if trials < 1:
        parser.error("--trials must be at least 1")
    started = time.perf_counter()
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {trials} trials per row,"
        f" bound {LIMIT_BYTES // 1024} KiB"
    )
    bad = []

    print(
        f"\nsteady leaks at the default settings ({DEFAULT_ITERATIONS} calls, warm-up"
        f" {DEFAULT_WARMUP}, up to {EXTENSION_FACTOR * DEFAULT_ITERATIONS} when rising)"
    )
    print(f"{'leak':<32} {'B/call':>7}  {'counted':>7}  {'caught':>7}  rule")
    smallest = None
    for p in patterns():
        hits, rate = caught(p.make, trials, DEFAULT_ITERATIONS)
        rule = "must" if p.must else "-"
        print(f"{p.name:<32} {p.per_call:7.1f}  {rate:7.1f}  {hits:>3}/{trials:<3}  {rule}")
        if p.must and hits < trials:
            bad.append(f"{p.name}: caught {hits}/{trials}")
        if hits == trials and (smallest is None or p.per_call < smallest[1]):
            smallest = (p.name, p.per_call)
    if smallest:
        name, per_call = smallest
        print(f"smallest steady leak caught {trials}/{trials}: {per_call:.1f} B/call ({name})")

    counts = [verdict.MIN_ITERATIONS, 17, 20, 24, 32, 40, 48, 64, 100, DEFAULT_ITERATIONS]
    if args.quick:
        counts = [verdict.MIN_ITERATIONS, 24, 40, 48]
    leak = patterns()[1]
    print(f"\nfew calls: {leak.name} (~{leak.per_call:.0f} B/call real) and a clean call")
    print(f"{'iterations':>10}  {'leak caught':>11}  {'clean failed':>12}")
    for n in counts:
        hits, _ = caught(leak.make, trials, n)
        alarms, _ = caught(lambda kept: lambda: None, trials, n)
        print(f"{n:>10}  {hits:>7}/{trials:<3}  {alarms:>8}/{trials:<3}")
        if hits < trials:
            bad.append(f"{leak.name} at iterations={n}: caught {hits}/{trials}")
        if alarms:
            bad.append(f"clean call at iterations={n}: failed {alarms}/{trials}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    for line in bad:
        print(f"MISSED: {line}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
