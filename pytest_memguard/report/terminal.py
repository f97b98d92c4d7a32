"""The ``--memguard-report`` table, in the style of pytest's own summaries.

Node ids, labels and type names are shown with lone surrogates escaped (``\\udcff``), as
pytest shows an undecodable file name, so the table's columns line up and any terminal
encoding can print it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pytest_memguard.baseline import Comparison, comparison_of
from pytest_memguard.files import escape_surrogates
from pytest_memguard.result import MemguardResult
from pytest_memguard.units import kib

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
STATUS_HEADER = "status"
RESOURCES_HEADER = "resources"
#: Columns left out, in this order, while the table is wider than the terminal; the test, its
#: verdict and its growth always stay.
DROP_ORDER = (
    "top growing type",
    "limit",
    "per call",
    "shape",
    STATUS_HEADER,
    BASELINE_HEADER,
    RESOURCES_HEADER,
)
#: The test column is shortened from the middle, down to this many characters.
MIN_NAME = 24
GAP = "  "


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
        return f"{kib(delta, sign=True)} {comparison.status}"
    return comparison.status


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
            kib(r.growth_kb),
            kib(r.limit_kb),
            f"{r.per_call_bytes:,.0f} B",
            r.shape if r.measured else "-",
            f"{escape_surrogates(top.name)} {top.count_delta:+,}" if top else "-",
        )
        if baseline_deltas is not None:
            row = (*row[:-1], baseline_cell(comparison_of(r, baseline_deltas)), row[-1])
        out.append(row)
    return out


def resources_cell(result: MemguardResult) -> str:
    """The counts that grew or failed, e.g. ``fds +200 growing, threads +2``; ``-`` otherwise."""
    cells = [
        f"{r.key} {r.growth:+,}{' growing' if r.shape == 'growing' else ''}"
        + ("" if r.passed else " FAILED")
        for r in result.resources
        if r.growth or not r.passed
    ]
    return ", ".join(cells) or "-"


def status_cell(result: MemguardResult) -> str:
    """The HTTP status codes a web driver saw, e.g. ``200`` or ``200,404``; ``-`` otherwise."""
    return ",".join(str(code) for code in sorted(result.statuses)) or "-"


def fit(table: list[tuple[str, ...]], width: int | None) -> tuple[list[tuple[str, ...]], list[str]]:
    """The table with columns left out (``DROP_ORDER``) and the test names shortened from the
    middle until its lines fit in ``width``; also the headers that were left out."""
    dropped: list[str] = []

    def wide(rows: list[tuple[str, ...]]) -> bool:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        return width is not None and sum(widths) + len(GAP) * (len(widths) - 1) > width

    for header in DROP_ORDER:
        if not wide(table):
            break
        if header in table[0]:
            index = table[0].index(header)
            table = [row[:index] + row[index + 1 :] for row in table]
            dropped.append(header)
    if width is not None and wide(table):
        others = max(len(row[0]) for row in table) - _excess(table, width)
        table = [(_shorten(row[0], max(MIN_NAME, others)), *row[1:]) for row in table]
    return table, dropped


def _excess(table: list[tuple[str, ...]], width: int) -> int:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return sum(widths) + len(GAP) * (len(widths) - 1) - width


def _shorten(text: str, size: int) -> str:
    """``text`` cut from the middle to ``size`` characters: both ends of a node id say most."""
    if len(text) <= size:
        return text
    keep = size - 3
    return f"{text[: keep - keep // 2]}...{text[len(text) - keep // 2 :]}"


def render(
    results: Sequence[MemguardResult],
    baseline_deltas: Mapping[str, Comparison] | None = None,
    missing: Sequence[str] = (),
    width: int | None = None,
) -> list[str]:
    """Lines of an aligned table, one row per guarded run, in the order given.

    With ``baseline_deltas`` (a baseline was given, even if it matched nothing) a "baseline"
    column shows each comparison; a "status" column shows the HTTP status codes of web driver
    runs; a "resources" column the counts (descriptors, threads...) that grew or failed;
    ``missing`` lists guarded tests whose results never arrived (their xdist worker crashed),
    so an incomplete report says so instead of looking complete. With ``width`` (the
    terminal's), the table is made to fit it (see :func:`fit`).
    """
    headers: tuple[str, ...] = HEADERS
    if baseline_deltas is not None:
        headers = (*HEADERS[:-1], BASELINE_HEADER, HEADERS[-1])
    table = [headers, *rows(results, baseline_deltas)]
    if any(r.statuses for r in results):
        at = headers.index("shape") + 1
        cells = [STATUS_HEADER, *(status_cell(r) for r in results)]
        table = [(*row[:at], cell, *row[at:]) for row, cell in zip(table, cells, strict=True)]
    if any(resources_cell(r) != "-" for r in results):
        at = headers.index("shape") + 1
        cells = [RESOURCES_HEADER, *(resources_cell(r) for r in results)]
        table = [(*row[:at], cell, *row[at:]) for row, cell in zip(table, cells, strict=True)]
    table, dropped = fit(table, width)
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = [
        GAP.join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    failed = sum(1 for r in results if r.measured and not r.passed)
    footer = f"{len(results)} guarded, {failed} failed"
    not_judged = sum(1 for r in results if r.error)
    if not_judged:
        footer += f", {not_judged} not judged (raised before a verdict)"
    if baseline_deltas is not None:
        statuses = [c.status for r in results if (c := comparison_of(r, baseline_deltas))]
        for status in ("regressed", "improved", "new"):
            if status in statuses:
                footer += f", {statuses.count(status)} {status}"
    if missing:
        footer += f", {len(missing)} missing"
    lines.append(footer)
    if dropped:
        lines.append(
            f"(left out to fit {width} columns: {', '.join(dropped)}; see --memguard-json)"
        )
    lines.extend(missing_lines(missing))
    lines.extend(ignored_lines(results))
    return lines


def _name(result: MemguardResult) -> str:
    """``nodeid`` or ``nodeid [label]``, printable."""
    return escape_surrogates(result.name)


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
