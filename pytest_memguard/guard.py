"""One guarded run: measure, decide, and explain a failure; plain data out.

This is what the marker and the fixture share. It never imports pytest: ``before_call`` is how
the plugin keeps pytest's own captures out of the numbers.
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_memguard import census, measure, verdict
from pytest_memguard.explain import explain
from pytest_memguard.redact import Secrets
from pytest_memguard.result import MemguardResult
from pytest_memguard.settings import Settings

#: A rising trend is given one more run of the same length before it is called growing.
EXTENSION_FACTOR = 2


def guard(
    fn: Callable[[], object],
    settings: Settings,
    *,
    label: str,
    nodeid: str = "",
    before_call: Callable[[], None] | None = None,
    secrets: Callable[[], Secrets] = Secrets,
    warmup_done: int = 0,
) -> MemguardResult:
    """Measure ``fn`` and return the verdict; a failure carries its explanation.

    ``warmup_done`` counts calls already made (the original test call in marker mode) toward
    the warm-up. ``secrets`` is called once the run is over, to redact what is shown.
    """
    __tracebackhide__ = True
    if settings.disable:
        fn()
        return MemguardResult(
            passed=True,
            growth_kb=0.0,
            limit_kb=settings.max_growth_kb,
            iterations=0,
            warmup=0,
            per_call_bytes=0.0,
            shape="flat",
            reason="not measured (--memguard-disable)",
            nodeid=nodeid,
            label=label,
            measured=False,
        )
    limit = settings.limit_bytes

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
        before_call=before_call,
        census=census.tracked_growth,
        calls_before=warmup_done,
        reemit_warnings=not warmup_done,
    )
    decision = verdict.decide(samples.retained, limit_bytes=limit)
    types = samples.tracked
    explanation: tuple[str, ...] = ()
    if not decision.passed:
        calls = samples.iterations

        def run_calls() -> None:
            for _ in range(calls):
                if before_call is not None:
                    before_call()
                fn()

        try:
            found = explain(run_calls, secrets())
        except Exception as exc:  # explaining must never hide the verdict itself
            explanation = (f"(no explanation: {type(exc).__name__} while explaining)",)
        else:
            types = found.types or types
            explanation = ("allocated at:", *found.sites) if found.sites else ()
    per_call = (
        decision.rate
        if decision.shape == "growing"
        else decision.growth_bytes / max(samples.iterations, 1)
    )
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
        series=samples.retained,
        nodeid=nodeid,
        label=label,
        explanation=explanation,
    )


def failure_message(result: MemguardResult) -> str:
    """The text of a :class:`LeakError`: numbers first, then what grew and where."""
    lines = [
        f"memguard: {result.label}: {result.reason}",
        f"  retained {result.growth_kb:,.1f} KiB (limit {result.limit_kb:,.1f} KiB)"
        f" after {result.iterations} measured calls and {result.warmup} warm-up calls;"
        f" shape {result.shape}, ~{result.per_call_bytes:,.0f} B per call",
    ]
    if result.types:
        lines.append("  top growing types:")
        width = max(len(t.name) for t in result.types[:5])
        for t in result.types[:5]:
            size = f"{t.size_delta / 1024:+9,.1f} KiB"
            lines.append(f"    {t.name:<{width}}  {t.count_delta:+8,} objects  {size}")
    lines.extend(f"  {line}" for line in result.explanation)
    return "\n".join(lines)
