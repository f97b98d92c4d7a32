#!/usr/bin/env python3
"""What ``ignore=`` costs on a big holder: one guarded run with and without it, printed as a table.

    python benchmarks/ignore_cost.py [--entries 10000] [--runs 3]

The holder is a dict of ``--entries`` tokens that gains one more on every call (a cache the
user ignores on purpose). ``ignore=`` sizes it after every measured call: by what it gained
(``HolderSizes``), not whole again, which on 10,000 entries made one run take tens of seconds.
The "whole" row sizes it whole after every call, as before, for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_memguard.caches import counted_size
from pytest_memguard.guard import guard
from pytest_memguard.settings import Settings

MODULE = "memguard_ignore_bench"


def holder(entries: int) -> tuple[dict[str, str], Callable[[], None]]:
    """A module global of ``entries`` tokens and a call that adds one."""
    import types

    module = types.ModuleType(MODULE)
    module.TOKENS = {f"token-{n:08d}": f"user-{n}" for n in range(entries)}  # type: ignore[attr-defined]
    sys.modules[MODULE] = module
    tokens: dict[str, str] = module.TOKENS  # type: ignore[attr-defined]

    def call() -> None:
        tokens[f"token-{len(tokens):08d}"] = "user"

    return tokens, call


def timed(entries: int, ignore: tuple[str, ...], whole: bool) -> tuple[float, str]:
    tokens, call = holder(entries)
    settings = Settings(ignore=ignore, max_growth_kb=1_000_000)
    started = time.perf_counter()
    if whole:  # the old way: the whole holder sized after every call
        for _ in range(settings.warmup + settings.iterations):
            call()
            counted_size([tokens])
        shape = "-"
    else:
        shape = guard(call, settings, label="bench").shape
    return time.perf_counter() - started, shape


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = (
        ("no ignore=", (), False),
        ("ignore= (by what it gained)", (f"{MODULE}:TOKENS",), False),
        ("whole holder sized per call", (), True),
    )
    print(
        f"a {args.entries:,}-entry dict gaining one entry per call, 220 calls;"
        f" median of {args.runs}"
    )
    print(f"{'mode':<30} {'seconds':>8} {'shape':<8}")
    for name, ignore, whole in rows:
        results = [timed(args.entries, ignore, whole) for _ in range(args.runs)]
        print(f"{name:<30} {statistics.median(r[0] for r in results):8.3f} {results[-1][1]:<8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
