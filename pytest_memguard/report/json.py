"""The JSON report: every guarded test's numbers, in a stable, versioned shape for CI tools.

The schema is documented in ``docs/json-report.md``; ``version`` changes only when a
field is removed or changes meaning, so consumers can rely on it.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone

from pytest_memguard.baseline import Comparison, comparison_of
from pytest_memguard.files import dumps_json
from pytest_memguard.result import MemguardResult

REPORT_VERSION = 1

#: Test fields in the order they are written; fields added to the result later follow, sorted.
TEST_FIELDS = (
    "nodeid",
    "label",
    "passed",
    "measured",
    "growth_kb",
    "limit_kb",
    "iterations",
    "warmup",
    "per_call_bytes",
    "shape",
    "reason",
    "error",
    "statuses",
    "types",
    "series",
    "series_kb",
    "explanation",
    "ignored",
    "baseline",
    "disturbed",
    "explain_calls",
    "rejudged",
    "scan",
    "scan_seconds",
    "resources",
)


def run_metadata(plugin_version: str) -> dict[str, object]:
    """Where and when the run happened: enough to tell why two reports' numbers differ."""
    return {
        "plugin": "pytest-memguard",
        "plugin_version": plugin_version,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": sys.platform,
        "platform_detail": platform.platform(),
        "machine": platform.machine(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def baseline_field(
    result: MemguardResult, baseline_deltas: Mapping[str, Comparison] | None
) -> dict[str, object] | None:
    """The result's baseline comparison as JSON, or None when it was not compared.

    Looked up in ``baseline_deltas`` by baseline key (node id and label), then by node id.
    """
    found = comparison_of(result, baseline_deltas)
    return found.to_dict() if found is not None else None


def result_record(
    result: MemguardResult, baseline_deltas: Mapping[str, Comparison] | None = None
) -> dict[str, object]:
    """One entry of ``tests``: ``result.to_dict()`` plus ``series_kb`` and ``baseline``."""
    data = result.to_dict()
    data["series_kb"] = [round(b / 1024, 3) for b in result.series]
    data["baseline"] = baseline_field(result, baseline_deltas)
    ordered = {key: data[key] for key in TEST_FIELDS if key in data}
    ordered.update({key: data[key] for key in sorted(data) if key not in ordered})
    return ordered


def render_json(
    results: Sequence[MemguardResult],
    *,
    metadata: Mapping[str, object],
    baseline_deltas: Mapping[str, Comparison] | None = None,
) -> str:
    """The whole report as text: ``{"version", "metadata", "summary", "tests"}``, indent 2.

    Values that JSON cannot hold (NaN, lone surrogates in a node id)
    are made safe rather than failing the run at its very end.
    """
    measured = [r for r in results if r.measured]
    document = {
        "version": REPORT_VERSION,
        "metadata": dict(metadata),
        "summary": {
            "total": len(results),
            "passed": sum(1 for r in measured if r.passed),
            "failed": sum(1 for r in measured if not r.passed),
            "not_measured": len(results) - len(measured),
            "not_judged": sum(1 for r in results if r.error),
            "regressed": sum(
                1
                for r in results
                if (b := baseline_field(r, baseline_deltas)) and b.get("status") == "regressed"
            ),
        },
        "tests": [result_record(r, baseline_deltas) for r in results],
    }
    return dumps_json(document)
