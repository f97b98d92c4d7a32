"""One guarded run: measure, decide, and explain a failure; plain data out.

This is what the marker and the fixture share. It never imports pytest: ``reset`` is how the
plugin keeps pytest's own captures out of the numbers.
"""

from __future__ import annotations

import math
import operator
import sys
from array import array
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from pytest_memguard import census, measure, resource_sites, resources, verdict
from pytest_memguard.caches import CacheDropper, HolderSizes, IgnoreList, describe
from pytest_memguard.explain import explain
from pytest_memguard.redact import Secrets
from pytest_memguard.result import MemguardResult, ResourceGrowth, TypeGrowth
from pytest_memguard.retainers import ChainMemo
from pytest_memguard.settings import Settings
from pytest_memguard.units import kib

#: A rising trend is given one more run of the same length before it is called growing.
EXTENSION_FACTOR = 2
#: Calls of the explanation pass (traced, so several times slower): enough for a leak to show
#: its holder, and fewer for a fast leak, whose every call leaves more objects to sort out.
EXPLAIN_CALLS = 50
EXPLAIN_MIN_CALLS = 20
#: What the explanation pass should see retained when the leak rate is known.
EXPLAIN_BYTES = 64 * 1024
#: Growing types a failure message lists (the reports list all the census kept).
SHOWN_TYPES = 5
#: Whether a leak that kept more on every call is traced over one call only (see
#: :func:`explain`). Not on CPython 3.10: a function caches its frame when a call ends, a
#: block that one traced call cannot tell from a leak's (two can: it is made once).
TRACE_ONE_CALL = sys.version_info >= (3, 11)


class Fixtures(Protocol):
    """The fixtures a replay sets up anew for each call (a test replayed with fresh ones)."""

    def release(self) -> None:
        """Tear down those the last call set up: what only they hold is not a leak."""

    def restore(self) -> None:
        """Set them up again, as a call leaves them; nothing if they are set up."""


@dataclass(frozen=True)
class _Run:
    """One guarded run's inputs, shared by its steps (never kept after the run)."""

    fn: Callable[[], object]
    settings: Settings
    reset: Callable[[], None] | None
    warmup_done: int
    seen_warnings: Collection[measure.WarningKey]
    dropper: CacheDropper
    ignore: IgnoreList
    own_threads: Callable[[], Collection[int]] = frozenset
    roots: Sequence[tuple[str, object]] = ()
    count_resources: bool = True
    memo: ChainMemo | None = None
    fixtures: Fixtures | None = None

    def replays(
        self,
        calls: int,
        first: int,
        reason: str,
        raised: list[BaseException],
        *,
        release: bool = True,
    ) -> Callable[[], None]:
        """``calls`` more calls for the explanation pass, numbered on from ``first``; an
        exception of the code is noted with its call and the verdict, and kept in ``raised``.
        With ``release``, the last call's fresh fixtures are torn down after it (see
        :meth:`restored`)."""

        def noted(step: Callable[[], object], what: str) -> None:
            __tracebackhide__ = True
            try:
                step()
            except BaseException as exc:
                raised.append(exc)
                measure.add_note(
                    exc, f"memguard: raised {what} (explaining a failed verdict: {reason})"
                )
                raise

        def run_calls() -> None:
            __tracebackhide__ = True
            for i in range(calls):
                if self.reset is not None:
                    self.reset()
                noted(self.fn, f"on call {first + i + 1}")
            if release and self.fixtures is not None:
                noted(self.fixtures.release, f"tearing down the fixtures of call {first + calls}")
            if self.reset is not None:
                self.reset()  # what the last call's capture holds is not the code's

        return run_calls

    @contextmanager
    def restored(self) -> Iterator[None]:
        """The fixtures set up again after an explanation pass, however it ended."""
        try:
            yield
        finally:
            if self.fixtures is not None:
                self.fixtures.restore()


def guard(
    fn: Callable[[], object],
    settings: Settings,
    *,
    label: str,
    nodeid: str = "",
    reset: Callable[[], None] | None = None,
    secrets: Callable[[], Secrets] = Secrets,
    warmup_done: int = 0,
    seen_warnings: Collection[measure.WarningKey] = (),
    max_explain_calls: int = EXPLAIN_CALLS,
    steady_explain_calls: int = 0,
    own_threads: Callable[[], Collection[int]] = frozenset,
    roots: Sequence[tuple[str, object]] = (),
    count_resources: bool = True,
    memo: ChainMemo | None = None,
    fixtures: Fixtures | None = None,
) -> MemguardResult:
    """Measure ``fn``, decide, explain a failure, and return the result as plain data.

    ``count_resources=False`` judges memory only: what the counts cost is measured against it
    (``benchmarks/resources.py``).

    ``warmup_done`` counts calls already made (the original test call in marker mode) toward
    the warm-up, and ``seen_warnings`` are the warnings they raised, already shown.
    ``secrets`` is called once the run is over, to redact what is shown. An exception raised
    by ``fn`` while a failure is explained is the test's failure: it propagates, noting the
    call and the verdict it interrupted. ``max_explain_calls`` caps the explanation pass
    (the scan explains dozens of tests, and a steady leak shows its holder in a few calls);
    ``steady_explain_calls``, if set, caps it further for a run whose every measured call kept
    more blocks than the one before: each traced call then gains the holder an item.
    ``own_threads`` gives the native ids of threads that
    work for ``fn`` while it waits (a web driver's worker threads): they disturb nothing.
    ``roots`` are named objects a leak trace may start from (the app a web driver drives);
    ``memo`` keeps the chains to holders for the run's later explanations. ``fixtures``: those
    ``fn`` sets up anew on each call, torn down before an explanation reads what the calls
    kept (they are not the code's), and set up again after it.
    """
    __tracebackhide__ = True
    if settings.disable:
        fn()
        return unmeasured(settings, "not measured (--memguard-disable)", label, nodeid)
    ignore = IgnoreList(settings.ignore)
    run = _Run(
        fn,
        settings,
        reset,
        warmup_done,
        seen_warnings,
        CacheDropper(),
        ignore,
        own_threads,
        roots,
        count_resources,
        memo,
        fixtures,
    )
    samples, disturbed, ignored_kb = _measure(run)
    gone: dict[str, bool] = {}  # what resources.in_flight found, asked once per kind
    decision = _in_flight(
        run,
        samples,
        verdict.decide(samples.retained, limit_bytes=settings.limit_bytes, parts=samples.parts),
        gone,
    )
    per_call = (
        decision.rate
        if decision.shape == "growing"
        else decision.growth_bytes / max(samples.iterations, 1)
    )
    types = tuple(t for t in samples.tracked if not ignore.type(t.name))
    explanation: tuple[str, ...] = ()
    traced = 0  # calls of the explanation pass the types and sites are read over
    first = max(settings.warmup, warmup_done) + samples.iterations  # calls made so far
    if not decision.passed:
        calls = min(explain_calls(per_call, samples.iterations), max_explain_calls)
        lead = 0
        if steady_explain_calls and kept_more_every_call(samples.blocks):
            calls = min(calls, steady_explain_calls)
            if TRACE_ONE_CALL:
                lead = calls - 1  # the types and sites of such a leak show in one traced call
        found, explanation = _explain(run, calls, first, decision.reason, secrets, lead)
        types = found or types
        first += calls
        traced = calls - lead
    counts = _counts(run, samples, first, secrets, gone)
    return MemguardResult(
        passed=decision.passed and all(c.passed for c in counts),
        growth_kb=round(decision.growth_bytes / 1024, 3),
        limit_kb=settings.max_growth_kb,
        iterations=samples.iterations,
        warmup=settings.warmup,
        per_call_bytes=round(per_call, 1),
        shape=decision.shape,
        reason=decision.reason,
        types=types,
        series=array("q", samples.retained),
        nodeid=nodeid,
        label=label,
        explanation=explanation,
        ignored=_ignored(run.dropper, ignore, ignored_kb),
        disturbed=disturbed,
        explain_calls=traced,
        resources=counts,
    )


def _in_flight(
    run: _Run, samples: measure.Samples, decision: verdict.Decision, gone: dict[str, bool]
) -> verdict.Decision:
    """A memory verdict that failed while threads the calls started still ran, read again once
    they are back within their bound, as a failed count is: a thread per call that ends 0.3 s
    later outlives a run of fast calls, and the hundreds still running hold their frames and
    states. ``gone`` keeps the answer for the thread count's own verdict."""
    __tracebackhide__ = True
    threads = samples.counts.of("threads")
    bound = run.settings.bound("threads")
    if decision.passed or not threads or threads[-1] <= bound:
        return decision
    limit = samples.counts.baseline["threads"] + bound
    gone["threads"] = "threads" in resources.in_flight({"threads": limit})
    if not gone["threads"]:
        return decision
    return verdict.settled(decision, measure.retained_now(samples, run.dropper), threads[-1])


def _counts(
    run: _Run,
    samples: measure.Samples,
    first: int,
    secrets: Callable[[], Secrets],
    gone: dict[str, bool],
) -> tuple[ResourceGrowth, ...]:
    """Each count's verdict; the failed ones explained by a pass of their own. ``gone``: the
    kinds already read again after the run (see :func:`_in_flight`)."""
    __tracebackhide__ = True
    settings = run.settings
    decisions = [
        verdict.decide_count(key, series, bound=settings.bound(key))
        for key, series in samples.counts.series.items()
    ]
    if not all(d.passed for d in decisions):
        # What falls back once the calls stop (a thread ending 0.3 s after its call) was in
        # flight, not left open.
        base = samples.counts.baseline
        over = [d for d in decisions if not d.passed and d.key in base]
        ask = {d.key: base[d.key] + d.bound for d in over if d.key not in gone}
        fell = resources.in_flight(ask) if ask else set()
        fell.update(key for key, went in gone.items() if went)
        decisions = [
            verdict.CountDecision(d.key, True, "flat", 0, d.bound, 0.0)
            if not d.passed and d.key in fell
            else d
            for d in decisions
        ]
    failed = tuple(d.key for d in decisions if not d.passed)
    found: dict[str, resource_sites.Found] = {}
    if failed:
        calls = min(samples.iterations, EXPLAIN_MIN_CALLS)
        reason = "; ".join(count_reason(d, "") for d in decisions if not d.passed)
        found = _explain_counts(run, calls, first, reason, failed, secrets)
    out = []
    for d in decisions:
        what = found[d.key] if d.key in found else resource_sites.Found("", ())
        out.append(
            ResourceGrowth(
                key=d.key,
                passed=d.passed,
                shape=d.shape,
                growth=d.growth,
                bound=d.bound,
                per_call=round(d.per_call, 3),
                reason="" if d.passed else count_reason(d, what.what),
                what=what.what,
                explanation=what.lines
                + (("held by:", *(f"  {line}" for line in what.holder)) if what.holder else ()),
                series=array("q", samples.counts.of(d.key)),
            )
        )
    return tuple(out)


def _explain_counts(
    run: _Run,
    calls: int,
    first: int,
    reason: str,
    keys: tuple[str, ...],
    secrets: Callable[[], Secrets],
) -> dict[str, resource_sites.Found]:
    """What the failed counts gained over ``calls`` more calls, and where it was made; as in
    :func:`_explain`, a fault of the explanation never hides the verdict."""
    __tracebackhide__ = True
    raised: list[BaseException] = []
    try:
        with run.restored():
            replays = run.replays(calls, first, reason, raised)
            return resource_sites.explain(replays, keys, secrets())
    except BaseException as exc:
        if not isinstance(exc, Exception) or any(exc is e for e in raised):
            raise
        failed = resource_sites.Found("", (f"(no explanation: {type(exc).__name__})",))
        return dict.fromkeys(keys, failed)
    finally:
        raised.clear()


def count_reason(d: verdict.CountDecision, what: str) -> str:
    """``still growing: +1 file descriptor per call (sqlite3 database /tmp/app.db)``."""
    if d.shape == "growing":
        n = round(d.per_call)
        if n >= 1:  # a background thread may make them a call late: the rate is rounded
            text = f"still growing: +{n} {resources.noun(d.key, n)} per call"
        else:
            text = f"still growing: +1 {resources.noun(d.key, 1)} every ~{d.every} calls"
    else:
        text = (
            f"{d.growth} more {resources.noun(d.key, d.growth)} than after warm-up, over the"
            f" bound of {d.bound} (max_{d.key}={d.bound}; raise it if a pool is meant to keep"
            " them)"
        )
    return f"{text} ({what})" if what else text


def _measure(run: _Run) -> tuple[measure.Samples, str, float]:
    """The measured series, why it may be disturbed (another thread ran), and the most the
    ignored holders kept, in KiB."""
    __tracebackhide__ = True
    settings = run.settings
    holders = run.ignore.resolve()  # held only for the run, to measure what they keep

    def extend(samples: measure.Samples) -> int:
        more = verdict.extension(
            samples.retained,
            iterations=settings.iterations,
            limit_bytes=settings.limit_bytes,
            parts=samples.parts,
        )
        if more or samples.iterations >= 2 * settings.iterations:
            return more
        # A count rising within its bound may be a pool still filling: one more run.
        for key, series in samples.counts.series.items():
            d = verdict.decide_count(key, series, bound=settings.bound(key))
            if d.shape == "growing" and d.growth <= d.bound:
                return settings.iterations
        return 0

    threads_before = measure.other_threads_cpu()
    samples = measure.measure(
        run.fn,
        measure.Loop(
            warmup=max(settings.warmup - run.warmup_done, 0),
            iterations=settings.iterations,
            max_iterations=settings.iterations * EXTENSION_FACTOR,
            extend=extend,
            reset=run.reset,
            census=census.tracked_growth,
            calls_before=run.warmup_done,
            seen_warnings=run.seen_warnings,
            on_growth=run.dropper,
            ignored_bytes=HolderSizes(holders) if holders else None,
            count_resources=run.count_resources,
            thin=True,
        ),
    )
    threads_after = measure.other_threads_cpu()
    for tid in run.own_threads():
        threads_after.pop(str(tid), None)
    threads = measure.busy_threads(threads_before, threads_after)
    holders.clear()  # no reference to user objects outlives the run
    # Another thread's allocations land in the same counters: say so rather than guess.
    disturbed = (
        f"{threads} other thread(s) ran during the measurement: their allocations count as"
        " retained memory"
        if threads
        else ""
    )
    ignored_kb = (max(samples.ignored_bytes) if samples.ignored_bytes else 0) / 1024
    return samples, disturbed, ignored_kb


def _explain(
    run: _Run,
    calls: int,
    first: int,
    reason: str,
    secrets: Callable[[], Secrets],
    lead: int = 0,
) -> tuple[tuple[TypeGrowth, ...], tuple[str, ...]]:
    """The types and the lines explaining a failed verdict; a fault of the explanation
    itself never hides the verdict, but the code's own exception is the failure. The first
    ``lead`` of the ``calls`` are not traced (see :func:`explain`)."""
    __tracebackhide__ = True
    raised: list[BaseException] = []
    try:
        with run.restored():
            found = explain(
                run.replays(calls - lead, first + lead, reason, raised),
                secrets(),
                calls=calls - lead,
                # The traced call then runs as each of them did: the release after them
                # would be a path run there first, and CPython 3.10 caches a frame per
                # function on its first call, a site as large as a small leak's.
                lead=run.replays(lead, first, reason, raised, release=False) if lead else None,
                lead_calls=lead,
                drop_caches=run.dropper,
                ignore=run.ignore,
                roots=run.roots,
                memo=run.memo,
            )
    except BaseException as exc:
        if not isinstance(exc, Exception) or any(exc is e for e in raised):
            raise  # the code under test raised: that is the failure to show
        return (), (f"(no explanation: {type(exc).__name__} while explaining)",)
    finally:
        raised.clear()
    return tuple(t for t in found.types if not run.ignore.type(t.name)), found.lines()


def explain_calls(per_call_bytes: float, measured: int) -> int:
    """Calls for the explanation pass: enough to retain ``EXPLAIN_BYTES`` at the measured rate,
    within ``EXPLAIN_MIN_CALLS`` and ``EXPLAIN_CALLS``, and never more than were measured."""
    wanted = math.ceil(EXPLAIN_BYTES / per_call_bytes) if per_call_bytes > 0 else EXPLAIN_CALLS
    return max(1, min(measured, EXPLAIN_CALLS, max(EXPLAIN_MIN_CALLS, wanted)))


def kept_more_every_call(blocks: Sequence[int]) -> bool:
    """Whether every measured call left more pymalloc blocks than the one before; never true
    of a thinned run, whose calls not sampled read as the last sample."""
    return bool(blocks) and all(map(operator.lt, (0, *blocks), blocks))


def _ignored(dropper: CacheDropper, ignore: IgnoreList, ignored_kb: float) -> tuple[str, ...]:
    """What was kept out of this verdict, so that nothing is hidden silently."""
    entries = [describe(name) for name in dropper.names()]
    entries.extend(
        f"{holder} (ignore=): up to {kib(ignored_kb, sign=True)}" for holder in ignore.holders
    )
    entries.extend(f"type {name} (ignore=)" for name in ignore.types)
    return tuple(entries)


def failure_message(result: MemguardResult) -> str:
    """The text of a :class:`LeakError`: numbers first, then what grew and where; each failed
    count (descriptors, threads...) has its own verdict line."""
    lines = [] if result.memory_passed else _memory_lines(result)
    for count in result.failed_resources:
        lines.append(f"memguard: {result.label}: {count.reason}")
        lines.append(
            f"  {count.growth:+,} {resources.noun(count.key, count.growth)} over"
            f" {result.iterations} measured calls (bound {count.bound}, max_{count.key})"
        )
        lines.extend(f"  {line}" for line in count.explanation)
    if result.disturbed and result.memory_passed:
        lines.append(f"  note: measurement disturbed: {result.disturbed}")
    return "\n".join(lines)


def _memory_lines(result: MemguardResult) -> list[str]:
    lines = [
        f"memguard: {result.label}: {result.reason}",
        f"  retained {result.growth_kb:,.1f} KiB (limit {result.limit_kb:,.1f} KiB)"
        f" after {result.iterations} measured calls and {result.warmup} warm-up calls;"
        f" shape {result.shape}, ~{result.per_call_bytes:,.0f} B per call",
    ]
    if result.types:
        over = result.explain_calls
        more = f" over {over} more call{'s' if over != 1 else ''}" if over else ""
        lines.append(f"  top growing types{more}:")
        shown = result.types[:SHOWN_TYPES]
        width = max(len(t.name) for t in shown)
        for t in shown:
            size = f"{t.size_delta / 1024:+9,.1f} KiB"
            tracked = "" if t.tracked_delta is None else f" ({t.tracked_delta:+,} gc-tracked)"
            lines.append(f"    {t.name:<{width}}  {t.count_delta:+8,} objects{tracked}  {size}")
    lines.extend(f"  {line}" for line in result.explanation)
    if result.rejudged:
        lines.append(f"  {result.rejudged}")
    if result.disturbed:
        lines.append(f"  note: measurement disturbed: {result.disturbed}")
    return lines


#: The exception's text in a not-judged result is cut here (after redaction).
ERROR_TEXT = 160


def not_judged(
    exc: BaseException, settings: Settings, label: str, nodeid: str, secrets: Secrets
) -> MemguardResult:
    """The result of a run that raised before its verdict: listed in every report with the
    exception and the call that raised it, so that no guarded test is silently absent."""
    try:
        text = secrets.redact(str(exc)).strip().splitlines()
    except Exception:  # a broken __str__: the type and the call still say enough
        text = []
    first = text[0] if text else ""
    if len(first) > ERROR_TEXT:
        first = first[: ERROR_TEXT - 3] + "..."
    where = measure.raised_on(exc)
    reason = f"not judged: {type(exc).__name__}{f': {first}' if first else ''}" + (
        f" (raised on {where})" if where else ""
    )
    return unmeasured(settings, reason, label, nodeid, error=True)


def unmeasured(
    settings: Settings, reason: str, label: str, nodeid: str, *, error: bool = False
) -> MemguardResult:
    """A result with no numbers: the run was switched off, or raised before its verdict."""
    return MemguardResult(
        passed=not error,
        growth_kb=0.0,
        limit_kb=settings.max_growth_kb,
        iterations=0,
        warmup=0,
        per_call_bytes=0.0,
        shape="flat",
        reason=reason,
        nodeid=nodeid,
        label=label,
        measured=False,
        error=error,
    )
