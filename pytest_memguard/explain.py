"""Explain a failure: what grew (per type) and where it was allocated.

Runs only after a failed verdict, as a second pass over the same calls, so the detection loop
stays fast. The census costs what the calls leave behind; the container lengths before and
after, and the leak traces, which look at the whole heap, are read in C (see
:mod:`pytest_memguard.retainers`): tenths of a second on a heap of 400,000 objects.
``tracemalloc`` is started for the pass (and its state restored after); frames inside pytest,
pluggy and this plugin are hidden. Values shown in leak traces are redacted before they are
cut; allocation sites are code locations, never rewritten.
"""

from __future__ import annotations

import _thread
import gc
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import compress
from typing import TypeVar

from pytest_memguard import census, resources
from pytest_memguard.caches import IgnoreList
from pytest_memguard.measure import ThreadsGone, frozen_heap
from pytest_memguard.redact import Secrets
from pytest_memguard.result import TypeGrowth
from pytest_memguard.retainers import ChainMemo, Holder, Lengths, added_items, holders, new_items
from pytest_memguard.sites import is_hidden, is_user_file, where

#: Frames tracemalloc keeps per allocation: enough to reach the user's code through a
#: framework (Flask, werkzeug), few enough that each traced allocation stays cheap.
FRAMES = 10
#: Allocation sites shown, largest first.
TOP_SITES = 4
#: Sites retaining less than this share of the largest are one-off allocations, not the leak.
SITE_SHARE = 0.2
#: Frames shown per allocation site: the allocating line and two callers, then the user's own.
SITE_FRAMES = 3
#: Items made during the pass that a container which did not grow must hold to be named.
MIN_REPLACED = 8
#: How long the reads' thread may take to leave the process's thread list once it is done.
THREAD_GONE_SECONDS = 0.5

_T = TypeVar("_T")


@dataclass(frozen=True)
class Explanation:
    types: tuple[TypeGrowth, ...]
    sites: tuple[str, ...]
    holders: tuple[Holder, ...] = ()

    def lines(self) -> tuple[str, ...]:
        """The explanation as report lines: who holds it, then where it was made."""
        out: list[str] = []
        for holder in self.holders:
            out.append("retained via:")
            out.extend(f"  {line}" for line in holder.trace)
        if self.sites:
            out.append("allocated at:")
            out.extend(f"  {line}" for line in self.sites)
        return tuple(out)


def explain(
    run_calls: Callable[[], None],
    secrets: Secrets,
    *,
    calls: int,
    lead: Callable[[], None] | None = None,
    lead_calls: int = 0,
    drop_caches: Callable[[], None] = lambda: None,
    ignore: IgnoreList | None = None,
    roots: Sequence[tuple[str, object]] = (),
    memo: ChainMemo | None = None,
) -> Explanation:
    """Re-run the calls under tracemalloc with the heap frozen; restores both.

    What grew is what the calls left alive: the gc-tracked objects they made (the heap is
    frozen, so ``gc.get_objects()`` returns only those) and what old containers gained, followed
    through objects allocated during the pass (tracemalloc knows every one). The holders are
    the containers that gained items, then those that hold items made during the pass without
    having grown: a bounded cache that filled during the measured calls and now evicts an
    old entry for each new one keeps the memory over the bound, yet gains nothing. ``roots``
    are named objects a leak trace may start from besides the modules (a driven app);
    ``memo`` has the chains to holders traced earlier in the run (see ``ChainMemo``).

    ``lead`` makes ``lead_calls`` more calls first, untraced: a holder must gain an item on two
    calls to be told from a container that changed once, but the types and the sites of a
    leak that keeps more on every call are as plain in one traced call, which costs ~10 times
    an untraced one. What the lead calls made is frozen with the rest before tracing starts.
    """
    __tracebackhide__ = True
    ignore = ignore if ignore is not None else IgnoreList()
    skipped = {id(x) for x in ignore.resolve()}
    lengths = Lengths()
    drop_caches()
    gc.collect()  # a full collection: old garbage would make the heap's reads cost more
    threads = ThreadsGone()
    was_tracing = tracemalloc.is_tracing()
    made: list[object] = []
    grown: list[tuple[int, object]] = []
    replaced: list[tuple[int, object]] = []
    # A holder gains an item on at least one call in ten (a leak every 10th call); a container
    # that gained once or twice is churn.
    min_added = max(2, (lead_calls + calls) // 10)
    # A full cache that keeps the memory over the bound holds many entries, all of them new
    # once the pass has cycled through it; smaller containers that changed are per-call state.
    min_new = max(min_added, MIN_REPLACED)
    try:
        lengths.take(min_items=min_new)
        with frozen_heap() as froze:
            if lead is not None:
                lead()
                gc.collect()
            if not was_tracing:
                tracemalloc.start(FRAMES)
            before = tracemalloc.take_snapshot()
            if froze:
                gc.freeze()  # nor are the lead calls' objects or the snapshot what the calls made
            run_calls()
            gc.collect()
            threads()  # the event loop threads of async views end: not holders either
            drop_caches()  # known caches are not the leak: not in the sites, not holders
            # CPython's type attribute cache keeps the names it looked up (a failed import
            # per request looks one up), as the measuring loop knows: not an allocation site.
            sys._clear_type_cache()
            gc.collect()
            if froze:
                made = gc.get_objects()
        after = tracemalloc.take_snapshot()
        left = _shallow(lambda: _left_by_pass(lengths, made, min_new, min_added, skipped))
    finally:
        if not was_tracing:
            tracemalloc.stop()
        made.clear()
        lengths.clear()
    grown, replaced, retained, held = left.grown, left.replaced, left.retained, left.held
    # Over one traced call, a leak keeps one object where the call also left others alive in
    # place of older ones (a context's state, a value a ContextVar caches): no count tells
    # them apart, what the holders gained does.
    types = census.retained_types(
        held if calls == 1 and held else retained, min_count=min(calls, 2)
    )
    retained.clear()
    held.clear()
    sites = _sites(before, after, calls, left.held_traces)
    del before, after, left
    found = holders(
        [(added, holder) for added, holder in grown if added >= min_added],
        secrets=secrets,
        ignored=ignore.holder,
        replaced=replaced,
        roots=roots,
        memo=memo,
    )
    grown.clear()
    replaced.clear()
    return Explanation(types, sites, found)


@dataclass
class _Left:
    """What the pass left: the containers that grew, those that replaced items without
    growing, every object it left alive, those of them the holders' growth keeps, and where
    those were allocated."""

    grown: list[tuple[int, object]]
    replaced: list[tuple[int, object]]
    retained: list[object]
    held: list[object]
    held_traces: set[tracemalloc.Traceback]


def _left_by_pass(
    lengths: Lengths, made: list[object], min_new: int, min_added: int, skipped: set[int]
) -> _Left:
    """Read what the pass left. Runs while tracemalloc still traces: whether an untracked
    object is new is a question to it, and so is where an object was allocated."""
    grown = lengths.grown(skip=lambda holder: id(holder) in skipped)
    replaced = lengths.replaced(
        min_new=min_new, is_new=_allocated_in_pass, skip=lambda holder: id(holder) in skipped
    )
    gained: list[object] = []
    growth: list[object] = []  # of those, what the holders named (as in ``holders``) gained
    for added, holder in grown:
        items = added_items(holder, added)
        gained.extend(items)
        if added >= min_added:
            growth.extend(items)
    for _, holder in replaced:
        fresh = new_items(holder, _allocated_in_pass)[1]
        gained.extend(fresh)
        growth.extend(fresh)
    retained = census.new_objects(made, gained, _allocated_in_pass)
    held = census.held_by(growth, made, _allocated_in_pass)
    gained.clear()
    growth.clear()
    # As for the sites: what pytest, pluggy or this plugin made alone (the fixtures and the
    # request of a replay with fresh fixtures) is not what grew.
    retained = list(compress(retained, map(_made_by_visible_code, retained)))
    held = list(compress(held, map(_made_by_visible_code, held)))
    traces = {t for obj in held if (t := tracemalloc.get_object_traceback(obj)) is not None}
    return _Left(grown, replaced, retained, held, traces)


def _shallow(work: Callable[[], _T]) -> _T:
    """``work()`` run in a new thread, whose stack is one frame deep, while the caller waits.

    tracemalloc reads the line number of each of its ``FRAMES`` frames on every allocation it
    traces: from a test's stack (pytest, pluggy, the scan: long functions) that costs ~10 us an
    allocation, from a fresh thread's ~1 us, and the reads after the pass allocate an iterator
    per full container (thousands). The work runs no user code. It is a bare thread
    (``threading`` never lists it), gone from ``/proc/self/task`` too when this returns: a
    thread count read next (the next test's baseline) must not see it. Interrupted (the scan's
    deadline), the caller still waits for it: the work reads the caller's lists.
    """
    before = resources.count_threads()
    done = _thread.allocate_lock()
    done.acquire()
    out: list[_T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            out.append(work())
        except BaseException as exc:  # raised again in the caller's thread
            failed.append(exc)
        finally:
            done.release()

    try:
        _thread.start_new_thread(run, ())
    except RuntimeError:  # no thread to be had (a process at its limit): read from here
        return work()
    try:
        done.acquire()
    except BaseException:
        done.acquire()
        raise
    finally:
        _thread_gone(before)
    if failed:
        raise failed.pop()
    return out.pop()


def _thread_gone(before: int) -> None:
    """Wait until the process runs no more threads than ``before`` (a thread that released
    its lock still has to exit), for at most ``THREAD_GONE_SECONDS``."""
    deadline = time.monotonic() + THREAD_GONE_SECONDS
    while resources.count_threads() > before and time.monotonic() < deadline:
        time.sleep(0.0002)


def _made_by_visible_code(obj: object) -> bool:
    traceback = tracemalloc.get_object_traceback(obj)
    return traceback is None or any(map(_visible, traceback))


def _allocated_in_pass(obj: object) -> bool:
    """Made while tracemalloc traced the pass (or, if it already ran, since it started)."""
    return tracemalloc.get_object_traceback(obj) is not None


def _visible(frame: tracemalloc.Frame) -> bool:
    return not is_hidden(frame.filename)


def _sites(
    before: tracemalloc.Snapshot,
    after: tracemalloc.Snapshot,
    calls: int,
    held: AbstractSet[tracemalloc.Traceback] = frozenset(),
) -> tuple[str, ...]:
    # Traceback frames run from the oldest to the most recent call. Allocations made only by
    # pytest, pluggy or this plugin (the fixtures of the last replay) are never shown, nor do
    # they set the bar for the others. What the pass allocated itself (its list of the objects
    # the calls left, the first snapshot) is never a site, even where a user's line called it
    # (``memguard.run``): tracemalloc's filters match the allocating frame. What a driver made
    # for the calls (an Authorization header the app keeps) is still shown.
    own = tuple(
        tracemalloc.Filter(False, code.co_filename)  # as the frames name them
        for code in (explain.__code__, tracemalloc.take_snapshot.__code__)
    )
    before, after = before.filter_traces(own), after.filter_traces(own)
    # Tracebacks that differ only below the frames shown are one site: summed, not repeated.
    sites: dict[tuple[tuple[tracemalloc.Frame, ...], tracemalloc.Frame | None], _Site] = {}
    for stat in after.compare_to(before, "traceback"):
        frames = [f for f in reversed(stat.traceback) if _visible(f)]
        if stat.size_diff <= 0 or not frames:
            continue
        shown = tuple(frames[:SITE_FRAMES])
        mine = next((f for f in frames if _is_user_code(f)), None)
        mine = None if mine in shown else mine
        site = sites.setdefault((shown, mine), _Site(shown, mine))
        site.size += stat.size_diff
        site.count += stat.count_diff
        site.held = site.held or stat.traceback in held
    # A site where what the holders gained was made comes first; then one that kept a block
    # per call or more, then by size: over a short pass a one-off allocation (a cached frame, a
    # lazily made table, a context's state made anew by each call) can outweigh a steady leak.
    ranked = sorted(sites.values(), key=lambda s: (s.held, s.count >= calls, s.size), reverse=True)
    # Sites far below the first (where the holders' gain was made, else the largest that kept
    # a block per call, if one did) are one-off allocations, not where the growth comes from.
    floor = ranked[0].size * SITE_SHARE if ranked else 0
    lines: list[str] = []
    for site in ranked:
        if site.size < floor:
            continue
        head, *callers = site.frames
        lines.append(f"{site.size / 1024:+,.1f} KiB in {site.count:+,} blocks at {_where(head)}")
        lines.extend(f"    called from {_where(frame)}" for frame in callers)
        if site.mine is not None:
            lines.append(f"    from your code at {_where(site.mine)}")
        if sum(1 for line in lines if not line.startswith(" ")) >= TOP_SITES:
            break
    return tuple(lines)  # file:line only: code locations are never redacted


@dataclass
class _Site:
    """One allocation site as shown: its frames, the user's own beyond them, what it kept."""

    frames: tuple[tracemalloc.Frame, ...]
    mine: tracemalloc.Frame | None
    size: int = 0
    count: int = 0
    held: bool = False  # what the holders gained was made here


def _is_user_code(frame: tracemalloc.Frame) -> bool:
    return is_user_file(frame.filename)


def _where(frame: tracemalloc.Frame) -> str:
    return where(frame.filename, frame.lineno)
