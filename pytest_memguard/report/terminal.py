"""The ``--memguard-report`` table, in the style of pytest's own summaries.

Node ids, labels and type names are shown with lone surrogates escaped (``\\udcff``), as
pytest shows an undecodable file name, so the table's columns line up and any terminal
encoding can print it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pytest_memguard.baseline import Comparison, baseline_key
from pytest_memguard.files import escape_surrogates
from pytest_memguard.result import MemguardResult

HEADERS = (
    "test",
    "verdict",
    "growth",
    "limit",
    "per call",
    "shape",
    "top growing type",
)
BASELINE_HEADER = "baseline"


def verdict_word(result: MemguardResult) -> str:
    if result.error:
        return "ERROR"
    if not result.measured:
        return "SKIPPED"
    return "PASSED" if result.passed else "FAILED"


def baseline_cell(comparison: Comparison | None) -> str:
    """``+77.3 KiB regressed``, ``-12.0 KiB improved``, ``ok``, ``new``, or ``-`` (not compared).

    Only a change worth acting on shows its size; ``ok`` is within the tolerance either way.
    """
    if comparison is None:
        return "-"
    delta = comparison.delta_kb
    if comparison.status in ("regressed", "improved") and delta is not None:
        return f"{delta:+,.1f} KiB {comparison.status}"
    return comparison.status


def _comparison(result: MemguardResult, deltas: Mapping[str, Comparison]) -> Comparison | None:
    if not result.measured:
        return None
    return deltas.get(baseline_key(result)) or deltas.get(result.nodeid)


def rows(
    results: Sequence[MemguardResult],
    baseline_deltas: Mapping[str, Comparison] | None = None,
) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for r in results:
        top = r.top_type if r.shape != "flat" else None
        row: tuple[str, ...] = (
            _name(r),
            verdict_word(r),
            f"{r.growth_kb:,.1f} KiB",
            f"{r.limit_kb:,.1f} KiB",
            f"{r.per_call_bytes:,.0f} B",
            r.shape if r.measured else "-",
            f"{escape_surrogates(top.name)} {top.count_delta:+,}" if top else "-",
        )
        if baseline_deltas is not None:
            row = (*row[:-1], baseline_cell(_comparison(r, baseline_deltas)), row[-1])
        out.append(row)
    return out


def render(
    results: Sequence[MemguardResult],
    baseline_deltas: Mapping[str, Comparison] | None = None,
    missing: Sequence[str] = (),
) -> list[str]:
    """Lines of an aligned table, one row per guarded run, in the order given.

    With ``baseline_deltas`` (a baseline was given, even if it matched nothing) a "baseline"
    column shows each comparison; ``missing`` lists guarded tests whose results never arrived
    (their xdist worker crashed), so an incomplete report says so instead of looking complete.
    """
    headers: tuple[str, ...] = HEADERS
    if baseline_deltas is not None:
        headers = (*HEADERS[:-1], BASELINE_HEADER, HEADERS[-1])
    table = [headers, *rows(results, baseline_deltas)]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    failed = sum(1 for r in results if r.measured and not r.passed)
    footer = f"{len(results)} guarded, {failed} failed"
    not_judged = sum(1 for r in results if r.error)
    if not_judged:
        footer += f", {not_judged} not judged (raised before a verdict)"
    if baseline_deltas is not None:
        statuses = [c.status for r in results if (c := _comparison(r, baseline_deltas))]
        for status in ("regressed", "improved", "new"):
            if status in statuses:
                footer += f", {statuses.count(status)} {status}"
    if missing:
        footer += f", {len(missing)} missing"
    lines.append(footer)
    lines.extend(missing_lines(missing))
    lines.extend(ignored_lines(results))
    return lines


def _name(result: MemguardResult) -> str:
    """``nodeid`` or ``nodeid [label]``, printable."""
    name = result.nodeid
    if result.label and result.label != "test body":
        name = f"{name} [{result.label}]"
    return escape_surrogates(name)


def ignored_lines(results: Sequence[MemguardResult]) -> list[str]:
    """What each run kept out of its verdict, so that nothing is hidden silently."""
    return [
        f"ignored in {_name(r)}: {escape_surrogates(entry)}" for r in results for entry in r.ignored
    ]


def missing_lines(missing: Sequence[str]) -> list[str]:
    """One line per guarded test whose result never reached the controller."""
    return [
        f"MISSING {escape_surrogates(nodeid)}: no memguard result (its xdist worker crashed"
        " before reporting)"
        for nodeid in missing
    ]
