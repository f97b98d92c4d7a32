"""One guarded run: measure, decide, and explain a failure; plain data out.

This is what the marker and the fixture share. It never imports pytest: ``reset`` is how the
plugin keeps pytest's own captures out of the numbers.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Collection

from pytest_memguard import census, measure, verdict
from pytest_memguard.caches import CacheDropper, HolderSizes, IgnoreList, describe
from pytest_memguard.explain import explain
from pytest_memguard.redact import Secrets
from pytest_memguard.result import MemguardResult
from pytest_memguard.settings import Settings

#: A rising trend is given one more run of the same length before it is called growing.
EXTENSION_FACTOR = 2
#: Calls of the explanation pass (traced, so several times slower): enough for a leak to show
#: its holder, and fewer for a fast leak, whose every call leaves more objects to sort out.
EXPLAIN_CALLS = 50
EXPLAIN_MIN_CALLS = 20
#: What the explanation pass should see retained when the leak rate is known.
EXPLAIN_BYTES = 64 * 1024


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
) -> MemguardResult:
    """Measure ``fn`` and return the verdict; a failure carries its explanation.

    ``warmup_done`` counts calls already made (the original test call in marker mode) toward
    the warm-up, and ``seen_warnings`` are the warnings they raised, already shown.
    ``secrets`` is called once the run is over, to redact what is shown. An exception raised
    by ``fn`` while a failure is explained is the test's failure: it propagates, noting the
    call and the verdict it interrupted.
    """
    __tracebackhide__ = True
    if settings.disable:
        fn()
        return unmeasured(settings, "not measured (--memguard-disable)", label, nodeid)
    limit = settings.limit_bytes
    dropper = CacheDropper()
    ignore = IgnoreList(settings.ignore)
    holders = ignore.resolve()  # held only for the run, to measure what they keep

    threads_before = measure.other_threads_cpu()

    def extend(samples: measure.Samples) -> int:
        return verdict.extension(
            samples.retained, iterations=settings.iterations, limit_bytes=limit
        )

    samples = measure.measure(
        fn,
        warmup=max(settings.warmup - warmup_done, 0),
        iterations=settings.iterations,
        max_iterations=settings.iterations * EXTENSION_FACTOR,
        extend=extend,
        reset=reset,
        census=census.tracked_growth,
        calls_before=warmup_done,
        seen_warnings=seen_warnings,
        on_growth=dropper,
        ignored_bytes=HolderSizes(holders) if holders else None,
    )
    ignored_kb = (max(samples.ignored_bytes) if samples.ignored_bytes else 0) / 1024
    threads = measure.busy_threads(threads_before, measure.other_threads_cpu())
    holders.clear()  # no reference to user objects outlives the run
    decision = verdict.decide(samples.retained, limit_bytes=limit)
    types = tuple(t for t in samples.tracked if not ignore.type(t.name))
    explanation: tuple[str, ...] = ()
    disturbed = ""
    calls = 0  # of the explanation pass, run only after a failed verdict
    if threads:
        # Another thread's allocations land in the same counters: say so rather than guess.
        disturbed = (
            f"{threads} other thread(s) ran during the measurement: their allocations count as"
            " retained memory"
        )
    per_call = (
        decision.rate
        if decision.shape == "growing"
        else decision.growth_bytes / max(samples.iterations, 1)
    )
    if not decision.passed:
        calls = explain_calls(per_call, samples.iterations)

        first = max(settings.warmup, warmup_done) + samples.iterations  # calls made so far

        def run_calls() -> None:
            __tracebackhide__ = True
            for i in range(calls):
                if reset is not None:
                    reset()
                try:
                    fn()
                except BaseException as exc:
                    app_errors.append(exc)
                    measure.add_note(
                        exc,
                        f"memguard: raised on call {first + i + 1} (explaining a failed"
                        f" verdict: {decision.reason})",
                    )
                    raise
            if reset is not None:
                reset()  # what the last call's capture holds is not the code's

        app_errors: list[BaseException] = []
        try:
            found = explain(run_calls, secrets(), calls=calls, drop_caches=dropper, ignore=ignore)
        except BaseException as exc:
            if not isinstance(exc, Exception) or any(exc is e for e in app_errors):
                raise  # the code under test raised: that is the failure to show
            # A fault of the explanation itself must never hide the verdict.
            explanation = (f"(no explanation: {type(exc).__name__} while explaining)",)
        else:
            types = tuple(t for t in found.types if not ignore.type(t.name)) or types
            explanation = found.lines()
        finally:
            app_errors.clear()
    return MemguardResult(
        passed=decision.passed,
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
        ignored=_ignored(dropper, ignore, ignored_kb),
        disturbed=disturbed,
        explain_calls=calls,
    )


def explain_calls(per_call_bytes: float, measured: int) -> int:
    """Calls for the explanation pass: enough to retain ``EXPLAIN_BYTES`` at the measured rate,
    within ``EXPLAIN_MIN_CALLS`` and ``EXPLAIN_CALLS``, and never more than were measured."""
    wanted = math.ceil(EXPLAIN_BYTES / per_call_bytes) if per_call_bytes > 0 else EXPLAIN_CALLS
    return max(1, min(measured, EXPLAIN_CALLS, max(EXPLAIN_MIN_CALLS, wanted)))


def _ignored(dropper: CacheDropper, ignore: IgnoreList, ignored_kb: float) -> tuple[str, ...]:
    """What was kept out of this verdict, so that nothing is hidden silently."""
    entries = [describe(name) for name in dropper.names()]
    entries.extend(f"{holder} (ignore=): up to +{ignored_kb:,.1f} KiB" for holder in ignore.holders)
    entries.extend(f"type {name} (ignore=)" for name in ignore.types)
    return tuple(entries)


def failure_message(result: MemguardResult) -> str:
    """The text of a :class:`LeakError`: numbers first, then what grew and where."""
    lines = [
        f"memguard: {result.label}: {result.reason}",
        f"  retained {result.growth_kb:,.1f} KiB (limit {result.limit_kb:,.1f} KiB)"
        f" after {result.iterations} measured calls and {result.warmup} warm-up calls;"
        f" shape {result.shape}, ~{result.per_call_bytes:,.0f} B per call",
    ]
    if result.types:
        over = result.explain_calls
        lines.append(f"  top growing types{f' over {over} more calls' if over else ''}:")
        width = max(len(t.name) for t in result.types[:5])
        for t in result.types[:5]:
            size = f"{t.size_delta / 1024:+9,.1f} KiB"
            tracked = "" if t.tracked_delta is None else f" ({t.tracked_delta:+,} gc-tracked)"
            lines.append(f"    {t.name:<{width}}  {t.count_delta:+8,} objects{tracked}  {size}")
    lines.extend(f"  {line}" for line in result.explanation)
    if result.disturbed:
        lines.append(f"  note: measurement disturbed: {result.disturbed}")
    return "\n".join(lines)


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
