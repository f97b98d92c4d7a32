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
SITE_SHARE = 0.1
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
    stats = [s for s in after.compare_to(before, "traceback") if s.size_diff > 0]
    # Sites far below the largest are one-off allocations, not where the growth comes from.
    floor = max((s.size_diff for s in stats), default=0) * SITE_SHARE
    lines: list[str] = []
    for stat in stats:
        if stat.size_diff < floor:
            continue
        # Traceback frames run from the oldest to the most recent call.
        frames = [f for f in reversed(stat.traceback) if _visible(f)]
        if not frames:
            continue
        head = frames[0]
        lines.append(
            f"{stat.size_diff / 1024:+,.1f} KiB in {stat.count_diff:+,} blocks at {_where(head)}"
        )
        lines.extend(f"    called from {_where(frame)}" for frame in frames[1:3])
        if sum(1 for line in lines if not line.startswith(" ")) >= TOP_SITES:
            break
    return tuple(secrets.redact(line) for line in lines)


def _where(frame: tracemalloc.Frame) -> str:
    """``file:line``, relative to the working directory or to site-packages when possible."""
    path = frame.filename
    marker = os.sep + "site-packages" + os.sep
    if marker in path:
        path = path.split(marker, 1)[1]
    else:
        try:
            relative = os.path.relpath(path)
        except ValueError:
            relative = path
        if not relative.startswith(".."):
            path = relative
    return f"{path}:{frame.lineno}"
