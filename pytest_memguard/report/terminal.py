"""The ``--memguard-report`` table, in the style of pytest's own summaries."""

from __future__ import annotations

from collections.abc import Sequence

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


def verdict_word(result: MemguardResult) -> str:
    if not result.measured:
        return "SKIPPED"
    return "PASSED" if result.passed else "FAILED"


def rows(results: Sequence[MemguardResult]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for r in results:
        top = r.top_type if r.shape != "flat" else None
        out.append(
            (
                r.nodeid if r.label == "test body" or not r.label else f"{r.nodeid} [{r.label}]",
                verdict_word(r),
                f"{r.growth_kb:,.1f} KiB",
                f"{r.limit_kb:,.1f} KiB",
                f"{r.per_call_bytes:,.0f} B",
                r.shape if r.measured else "-",
                f"{top.name} {top.count_delta:+,}" if top else "-",
            )
        )
    return out


def render(results: Sequence[MemguardResult]) -> list[str]:
    """Lines of an aligned table, one row per guarded run, in run order."""
    table = [HEADERS, *rows(results)]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADERS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    failed = sum(1 for r in results if r.measured and not r.passed)
    lines.append(f"{len(results)} guarded, {failed} failed")
    return lines
