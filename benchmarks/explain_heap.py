#!/usr/bin/env python3
"""What a failure costs: the explanation pass timed on a small and a big heap, holder named or not.

    python benchmarks/explain_heap.py [--objects 0,300000] [--scenarios a,b] [--runs 3]

Each leak of ``benchmarks/corpus`` (and two bounded caches over their bound, whose full cache
no longer grows: ``over_budget_lru`` and ``over_budget_tokens`` below) is guarded in this
process as ``memguard.flask`` guards it, once per heap size, with ``--objects`` extra live
objects held by a module global: instances of a few classes (each referring to its class, as
every instance of a Python class does), their attribute dicts, lists, tuples and strings, the
shapes a real test suite's heap is made of. The table gives, per scenario and heap size, the
objects the gc tracks, the median time of the explanation pass (``guard.explain``, timed from
outside) over ``--runs``, the part of it spent in the guarded calls themselves (replayed under
tracemalloc: the app's time, whatever the heap) and the rest (the analysis: container
lengths, census, allocation sites and leak traces, which is what the heap size costs), and
whether the failure's leak trace names the scenario's holder (a ``├─ .HOLDER`` hop, as
``tests/test_corpus_explained.py`` requires).
"""

from __future__ import annotations

import argparse
import functools
import gc
import itertools
import statistics
import sys
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.corpus import SCENARIOS, bound_kb, holder, load, names_holder  # noqa: E402
from pytest_memguard import guard as guard_module  # noqa: E402
from pytest_memguard.flask import FlaskCall  # noqa: E402
from pytest_memguard.guard import failure_message, guard  # noqa: E402
from pytest_memguard.redact import Secrets  # noqa: E402
from pytest_memguard.settings import Settings  # noqa: E402

BALLAST = "memguard_bench_ballast"


class Node:
    def __init__(self, i: int) -> None:
        self.name = f"node-{i}"
        self.children: list[Node] = []


class Record:
    def __init__(self, i: int) -> None:
        self.i = i
        self.meta = {"id": i, "tag": f"r{i}"}


def ballast(count: int) -> types.ModuleType:
    """A module holding ``count`` live objects of the shapes a loaded test suite has."""
    module = types.ModuleType(BALLAST)
    per = count // 6
    nodes = [Node(i) for i in range(per)]  # + their children lists: 2 objects each
    records = [Record(i) for i in range(per)]  # + their meta dicts: 2 objects each
    pairs = [(i, [i]) for i in range(count - 4 * per)]  # a list per tuple: tracked
    module.__dict__.update(nodes=nodes, records=records, pairs=pairs)
    sys.modules[BALLAST] = module
    return module


#: Over-budget bounded caches: they fill within the measured calls, then only replace entries.
_lru_seq = itertools.count()


@functools.lru_cache(maxsize=512)
def lookup(key: str) -> str:
    return "value-" * 8 + key


def over_budget_lru() -> None:
    for _ in range(4):
        lookup(f"key-{next(_lru_seq)}" * 4)


_tokens: dict[str, str] = {}
_token_seq = itertools.count()


def over_budget_tokens() -> None:
    i = next(_token_seq)
    _tokens[f"token-{i}" * 4] = f"user-{i}" * 3
    while len(_tokens) > 256:
        del _tokens[next(iter(_tokens))]


EXTRA: dict[str, tuple[Callable[[], None], int, str]] = {
    "over_budget_lru": (over_budget_lru, 32, "lookup"),
    "over_budget_tokens": (over_budget_tokens, 16, "_tokens"),
}


@contextmanager
def timed_explanations() -> Iterator[list[float]]:
    """Time ``guard.explain`` from outside, as ``benchmarks/harness.py`` does: ``[total, calls]``,
    where ``calls`` is the time the explanation pass spent in the guarded calls themselves
    (see :func:`replay_timer`)."""
    spent = [0.0, 0.0]
    explain = guard_module.__dict__["explain"]

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        EXPLAINING[:] = [spent]
        try:
            return explain(*args, **kwargs)
        finally:
            EXPLAINING.clear()
            spent[0] += time.perf_counter() - started

    guard_module.__dict__["explain"] = timed
    try:
        yield spent
    finally:
        guard_module.__dict__["explain"] = explain


EXPLAINING: list[list[float]] = []


def replay_timer(fn: Callable[[], object]) -> Callable[[], None]:
    """``fn``, adding its time to the explanation's ``calls`` while an explanation runs."""

    def call() -> None:
        if not EXPLAINING:
            fn()
            return
        started = time.perf_counter()
        try:
            fn()
        finally:
            EXPLAINING[0][1] += time.perf_counter() - started

    return call


def run_one(name: str) -> tuple[float, float, bool, str]:
    """Guard one scenario; return the explanation's time, the part of it spent in the calls,
    whether it named the holder, and the failure message."""
    if name in EXTRA:
        fn, bound, held_by = EXTRA[name]
        lookup.cache_clear()
        _tokens.clear()
        label = name
        call: Callable[[], object] = fn
        secrets: Callable[[], Secrets] = Secrets
    else:
        module = load(name)
        module.reset()
        kwargs = dict(module.SCENARIO)
        flask_call = FlaskCall(module.create_app(), **kwargs)
        call, label, secrets = flask_call, flask_call.label, flask_call.secrets
        bound = bound_kb(module)
        held_by = holder(module) or ""
    settings = Settings(max_growth_kb=bound)
    with timed_explanations() as spent:
        result = guard(replay_timer(call), settings, label=label, secrets=secrets)
    if name not in EXTRA:
        module.reset()
    message = failure_message(result)
    return spent[0], spent[1], not result.passed and names_holder(message, held_by), message


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--objects", default="0,300000", help="extra live objects, per row")
    parser.add_argument("--scenarios", default="", help="comma-separated names (default: all)")
    parser.add_argument("--runs", type=int, default=3, help="runs per cell; the median is shown")
    parser.add_argument("--show", action="store_true", help="print each failure message")
    args = parser.parse_args(argv)
    leaks = [n for n in SCENARIOS if load(n).GROUND_TRUTH == "leak"] + list(EXTRA)
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()] or leaks
    sizes = [int(n) for n in args.objects.split(",")]
    print(
        f"{'scenario':<28} {'extra objects':>13} {'gc objects':>11} {'explain s':>10}"
        f" {'calls s':>8} {'analysis s':>10} held"
    )
    worst: dict[int, float] = {}
    slowest: dict[int, float] = {}
    named: dict[int, int] = {}
    for size in sizes:
        heap = ballast(size)
        gc.collect()
        tracked = len(gc.get_objects())
        for name in names:
            times, calls, held = [], [], []
            for _ in range(args.runs):
                seconds, in_calls, ok, message = run_one(name)
                times.append(seconds)
                calls.append(in_calls)
                held.append(ok)
            if args.show:
                print(message)
            median = statistics.median(times)
            analysis = statistics.median(t - c for t, c in zip(times, calls, strict=True))
            worst[size] = max(worst.get(size, 0.0), median)
            slowest[size] = max(slowest.get(size, 0.0), analysis)
            named[size] = named.get(size, 0) + all(held)
            print(
                f"{name:<28} {size:>13,} {tracked:>11,} {median:>10.3f}"
                f" {statistics.median(calls):>8.3f} {analysis:>10.3f}"
                f" {'yes' if all(held) else 'NO'}"
            )
        del sys.modules[BALLAST]
        del heap
        gc.collect()
    print()
    for size in sizes:
        print(
            f"{size:>9,} extra objects: slowest explanation {worst[size]:.3f} s"
            f" (analysis without the calls: {slowest[size]:.3f} s),"
            f" holder named {named[size]}/{len(names)}"
        )
    return 0 if all(named[size] == len(names) for size in sizes) else 1


if __name__ == "__main__":
    sys.exit(main())
