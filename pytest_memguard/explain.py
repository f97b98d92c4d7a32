"""Explain a failure: what grew (per type) and where it was allocated.

Runs only after a failed verdict, as a second pass over the same calls, so the detection loop
stays fast. ``tracemalloc`` is started for the pass (and its state restored after); frames
inside pytest, pluggy and this plugin are hidden; every line is redacted.
"""

from __future__ import annotations

import gc
import os
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

from pytest_memguard import census
from pytest_memguard.redact import Secrets
from pytest_memguard.result import TypeGrowth

FRAMES = 8
TOP_SITES = 5
_HIDDEN = (
    os.sep + "_pytest" + os.sep,
    os.sep + "pluggy" + os.sep,
    os.sep + "pytest_memguard" + os.sep,
    os.sep + "pympler" + os.sep,
    os.sep + "objgraph",
    "<frozen ",
    os.sep + "tracemalloc.py",
)


@dataclass(frozen=True)
class Explanation:
    types: tuple[TypeGrowth, ...]
    sites: tuple[str, ...]


def explain(run_calls: Callable[[], None], secrets: Secrets) -> Explanation:
    """Re-run the calls under tracemalloc, between two full censuses; restores tracemalloc.

    The censuses run untraced and the snapshots are reduced to text before the second census,
    so neither tool's own bookkeeping shows up as growth.
    """
    sites: tuple[str, ...] = ()

    def traced() -> None:
        nonlocal sites
        was_tracing = tracemalloc.is_tracing()
        if not was_tracing:
            tracemalloc.start(FRAMES)
        try:
            gc.collect()
            before = tracemalloc.take_snapshot()
            run_calls()
            gc.collect()
            after = tracemalloc.take_snapshot()
        finally:
            if not was_tracing:
                tracemalloc.stop()
        sites = _sites(before, after, secrets=secrets)

    types = census.full_census(traced)
    return Explanation(types, sites)


def _visible(frame: tracemalloc.Frame) -> bool:
    return not any(part in frame.filename for part in _HIDDEN)


def _sites(
    before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, *, secrets: Secrets
) -> tuple[str, ...]:
    stats = after.compare_to(before, "traceback")
    lines: list[str] = []
    for stat in stats:
        if stat.size_diff <= 0 or len(lines) >= TOP_SITES * 4:
            continue
        frames = [f for f in stat.traceback if _visible(f)]
        if not frames:
            continue
        # tracemalloc lists the most recent frame first
        head = frames[0]
        lines.append(
            f"{stat.size_diff / 1024:+,.1f} KiB in {stat.count_diff:+,} blocks"
            f" at {head.filename}:{head.lineno}"
        )
        for frame in frames[1:3]:
            lines.append(f"    called from {frame.filename}:{frame.lineno}")
        if sum(1 for line in lines if not line.startswith(" ")) >= TOP_SITES:
            break
    return tuple(secrets.redact(line) for line in lines)
