#!/usr/bin/env python3
"""Check the leak corpus's ground truth independently of the plugin, with ``tracemalloc``.

Each scenario runs in a fresh child process, so no scenario sees another's heap and results do
not depend on order. The child starts ``tracemalloc`` before Flask is imported, imports the
module, calls ``reset()``, builds the app and a Flask test client and replays ``SCENARIO``
(Basic Auth header built by hand; rotating credentials called with the call index, a list of
pairs cycled). After ``--warmup`` calls it runs ``gc.collect()`` and reads the traced total
(the baseline), then reads it again after ``--calls / 2``, ``3 * --calls / 4`` and ``--calls``
more calls. A leak keeps growing after the first half, in both quarters of the second half; a
clean app does not. Requiring both quarters keeps a one-off step (CPython resizing its
interned-string dict once, say) from passing for a slope. Prints a table and exits 1 if any
scenario disagrees with its ``GROUND_TRUTH``.

The readings are ``tracemalloc.get_traced_memory()`` totals, not filtered snapshots: a full
``gc.collect()`` empties CPython's free lists, and totals cannot be fooled by blocks that a
free list hands out again under their first owner's trace (a leaked 2-tuple can reuse a block
traced to ``tracemalloc.py`` itself, so filtering that file out hides the leak).

Run from anywhere: ``python benchmarks/corpus_check.py [--calls N] [--jobs J] [--top K] [names]``.
"""

from __future__ import annotations

import argparse
import base64
import gc
import itertools
import json
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.corpus import SCENARIOS, load

#: Growth in bytes per call, in each quarter of the second half, at or above which it is a leak.
#: The smallest leaks in the corpus retain ~60-70 B/call; clean apps stay under ~15 B/call
#: (Jinja recompiles put fresh ``visit_*`` names in CPython's bounded method cache until full).
LEAK_BYTES_PER_CALL = 32.0


def basic_header(user: str, password: str) -> str:
    """The ``Authorization`` value for HTTP Basic Auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def make_caller(module: ModuleType) -> Callable[[], None]:
    """Return a function that sends the scenario's next request and checks its status."""
    scenario: dict[str, Any] = module.SCENARIO
    client = module.create_app().test_client()
    paths = scenario["path"]
    path_cycle = itertools.cycle([paths] if isinstance(paths, str) else list(paths))
    auth = scenario.get("auth")
    auth_cycle = itertools.cycle(auth) if isinstance(auth, list) else None
    base_headers = dict(scenario.get("headers") or {})
    method = scenario.get("method", "GET")
    expect = scenario.get("expect_status", 200)
    counter = itertools.count()

    def call() -> None:
        i = next(counter)
        if callable(auth):
            creds = auth(i)
        elif auth_cycle is not None:
            creds = next(auth_cycle)
        else:
            creds = auth
        headers = dict(base_headers)
        if creds is not None:
            headers["Authorization"] = basic_header(*creds)
        response = client.open(next(path_cycle), method=method, headers=headers)
        status = response.status_code
        response.close()
        if status != expect:
            raise AssertionError(f"{module.__name__}: call {i} got {status}, expected {expect}")

    return call


def traced_now() -> int:
    """Bytes traced after a full collection (which also empties the free lists)."""
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def top_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, k: int) -> list[str]:
    """The ``k`` source lines whose traced size grew most (attribution is only a hint)."""
    return [str(stat) for stat in after.compare_to(before, "lineno")[:k]]


def measure(name: str, warmup: int, calls: int, top: int = 0) -> dict[str, Any]:
    """Replay scenario ``name`` in this process and return truth, measurements and verdict.

    ``tracemalloc`` should be tracing since before Flask was imported: the free of a block
    allocated before tracing began is invisible to it, so a container built untraced and
    resized later (CPython's interned-string dict, say) would look like growth.
    """
    if not tracemalloc.is_tracing():
        tracemalloc.start(1)
    module = load(name)
    first_line = (module.__doc__ or "").strip().splitlines()[0]
    truth = module.GROUND_TRUTH
    if not first_line.startswith(f"{truth.upper()}:"):
        raise AssertionError(f"{name}: GROUND_TRUTH={truth!r} but docstring says {first_line!r}")
    module.reset()
    started = time.perf_counter()
    call = make_caller(module)
    half, three_quarters = calls // 2, calls * 3 // 4
    for _ in range(warmup):
        call()
    base = traced_now()
    for _ in range(half):
        call()
    mid = traced_now()
    before = tracemalloc.take_snapshot() if top else None
    for _ in range(three_quarters - half):
        call()
    late = traced_now()
    for _ in range(calls - three_quarters):
        call()
    end = traced_now()
    after = tracemalloc.take_snapshot() if top else None
    del call
    module.reset()
    slopes = ((late - mid) / (three_quarters - half), (end - late) / (calls - three_quarters))
    return {
        "name": name,
        "truth": truth,
        "half": mid - base,
        "end": end - base,
        "per_call": (end - mid) / (calls - half),
        "quarter_slopes": slopes,
        "verdict": "leak" if min(slopes) >= LEAK_BYTES_PER_CALL else "clean",
        "seconds": time.perf_counter() - started,
        "top": top_growth(before, after, top) if before and after else [],
    }


def measure_in_child(name: str, warmup: int, calls: int, top: int) -> dict[str, Any]:
    """Run :func:`measure` for ``name`` in a fresh interpreter and return its row."""
    command = [sys.executable, __file__, "--child", name, f"--warmup={warmup}"]
    command += [f"--calls={calls}", f"--top={top}"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{name}: child failed ({done.returncode}):\n{done.stderr}")
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("names", nargs="*", help="scenarios to check (default: all)")
    parser.add_argument("--calls", type=int, default=1000, help="measured calls (default 1000)")
    parser.add_argument("--warmup", type=int, default=50, help="warm-up calls (default 50)")
    parser.add_argument("--jobs", type=int, default=2, help="child processes at once (default 2)")
    parser.add_argument("--top", type=int, default=0, help="show the K lines that grew most")
    parser.add_argument("--child", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        tracemalloc.start(1)
        print(json.dumps(measure(args.child, args.warmup, args.calls, args.top)))
        return 0
    names = args.names or SCENARIOS
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    half = args.calls // 2
    print(
        f"{'scenario':<28} {'truth':<6} {f'KiB@{half}':>10} {f'KiB@{args.calls}':>10} "
        f"{'B/call':>8} {'verdict':<7} {'agrees':<6} {'secs':>5}  note"
    )
    disagreements = 0
    total = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = pool.map(
            lambda name: measure_in_child(name, args.warmup, args.calls, args.top), names
        )
        for name, row in zip(names, rows, strict=True):
            agrees = row["verdict"] == row["truth"]
            disagreements += not agrees
            low, high = sorted(row["quarter_slopes"])
            note = (
                f"one-off step ({high:.0f} vs {low:.0f} B/call)"
                if high >= 4 * max(low, LEAK_BYTES_PER_CALL)
                else ""
            )
            print(
                f"{name:<28} {row['truth']:<6} {row['half'] / 1024:>10.1f} "
                f"{row['end'] / 1024:>10.1f} {row['per_call']:>8.1f} {row['verdict']:<7} "
                f"{'yes' if agrees else 'NO':<6} {row['seconds']:>5.1f}  {note}",
                flush=True,
            )
            for line in row["top"]:
                print(f"    {line}")
    print(
        f"{len(names) - disagreements}/{len(names)} agree "
        f"(leak = growth of >= {LEAK_BYTES_PER_CALL:g} B/call in both quarters from call {half} "
        f"to {args.calls}, after {args.warmup} warm-up calls); {time.perf_counter() - total:.1f} s"
    )
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
