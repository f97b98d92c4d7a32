"""The JSON report: stable schema, round trip, baseline field, and safe for odd values."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from pytest_memguard.baseline import Baseline, BaselineEntry, Comparison, baseline_key, compare
from pytest_memguard.report.json import TEST_FIELDS, render_json, run_metadata
from pytest_memguard.result import MemguardResult, TypeGrowth

SCHEMA = Path(__file__).parent.parent / "docs" / "json-report.md"

REQUIRED = {
    "nodeid",
    "passed",
    "growth_kb",
    "limit_kb",
    "iterations",
    "warmup",
    "per_call_bytes",
    "shape",
    "types",
    "series",
    "explanation",
    "baseline",
}


def leaky() -> MemguardResult:
    return MemguardResult(
        passed=False,
        growth_kb=80.4,
        limit_kb=64.0,
        iterations=4,
        warmup=2,
        per_call_bytes=411.6,
        shape="growing",
        reason="retained memory grew in every window",
        types=(TypeGrowth("Session", 4, 2048, "objgraph"), TypeGrowth("dict", 4, 1024)),
        series=(512, 1024, 1536, 2048),
        nodeid="tests/test_client.py::test_session",
        label="test body",
        explanation=("Session objects are kept alive by:", "  -> dict _SESSIONS"),
    )


def fine() -> MemguardResult:
    return MemguardResult(
        passed=True,
        growth_kb=0.0,
        limit_kb=64.0,
        iterations=3,
        warmup=1,
        per_call_bytes=0.0,
        shape="flat",
        reason="flat",
        series=(0, 0, 0),
        nodeid="tests/test_api.py::test_ok",
    )


def unmeasured() -> MemguardResult:
    return MemguardResult(
        passed=True,
        growth_kb=0.0,
        limit_kb=64.0,
        iterations=0,
        warmup=0,
        per_call_bytes=0.0,
        shape="flat",
        reason="not measured (--memguard-disable)",
        nodeid="tests/test_api.py::test_off",
        measured=False,
    )


def render(
    *results: MemguardResult, baseline_deltas: Mapping[str, Comparison] | None = None
) -> dict[str, Any]:
    text = render_json(
        results, metadata={"plugin_version": "0.1.0"}, baseline_deltas=baseline_deltas
    )
    data = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
    assert isinstance(data, dict)
    return data


def test_document_shape() -> None:
    data = render(leaky(), fine(), unmeasured())
    assert list(data) == ["version", "metadata", "summary", "tests"]
    assert data["version"] == 1
    assert data["metadata"] == {"plugin_version": "0.1.0"}
    assert data["summary"] == {
        "total": 3,
        "passed": 1,
        "failed": 1,
        "not_measured": 1,
        "not_judged": 0,
        "regressed": 0,
    }
    tests = data["tests"]
    assert isinstance(tests, list)
    assert [t["nodeid"] for t in tests] == [
        "tests/test_client.py::test_session",
        "tests/test_api.py::test_ok",
        "tests/test_api.py::test_off",
    ]


def test_test_entry_keys_and_order() -> None:
    data = render(leaky())
    entry = data["tests"][0]
    assert set(entry) >= REQUIRED
    assert list(entry) == list(TEST_FIELDS)
    assert entry["types"] == [
        {
            "name": "Session",
            "count_delta": 4,
            "size_delta": 2048,
            "source": "objgraph",
            "tracked_delta": None,
        },
        {
            "name": "dict",
            "count_delta": 4,
            "size_delta": 1024,
            "source": "pympler",
            "tracked_delta": None,
        },
    ]
    assert entry["series"] == [512, 1024, 1536, 2048]
    assert entry["series_kb"] == [0.5, 1.0, 1.5, 2.0]
    assert entry["explanation"] == ["Session objects are kept alive by:", "  -> dict _SESSIONS"]
    assert entry["baseline"] is None
    assert entry["shape"] == "growing"
    assert entry["passed"] is False


def test_round_trip_through_result_from_dict() -> None:
    original = leaky()
    entry = render(original)["tests"][0]
    fields = {k: v for k, v in entry.items() if k not in ("series_kb", "baseline")}
    assert MemguardResult.from_dict(fields) == original


def test_output_is_stable_and_indented() -> None:
    metadata = {"plugin_version": "0.1.0", "created": "2025-01-01T00:00:00+00:00"}
    first = render_json([leaky(), fine()], metadata=metadata)
    second = render_json([leaky(), fine()], metadata=metadata)
    assert first == second
    assert first.startswith('{\n  "version": 1,\n  "metadata": {\n    "plugin_version"')
    assert first.endswith("}\n")


def test_baseline_field_when_compared() -> None:
    base = Baseline(
        "b.json",
        {"python": "3.11", "platform": "linux"},
        {"tests/test_client.py::test_session": BaselineEntry(3.1)},
    )
    results = [leaky(), fine()]
    deltas = {baseline_key(r): compare(base, r) for r in results}
    data = render(*results, baseline_deltas=deltas)
    leak_entry, fine_entry = data["tests"]
    assert leak_entry["baseline"]["status"] == "regressed"
    assert leak_entry["baseline"]["baseline_kb"] == 3.1
    assert leak_entry["baseline"]["delta_kb"] == 77.3
    assert leak_entry["baseline"]["message"].startswith("regressed: 3.1 KiB -> 80.4 KiB")
    assert fine_entry["baseline"]["status"] == "new"
    assert fine_entry["baseline"]["baseline_kb"] is None
    assert data["summary"]["regressed"] == 1


def test_values_json_cannot_hold_are_made_safe() -> None:
    odd = dataclasses.replace(leaky(), growth_kb=math.inf, per_call_bytes=math.nan)
    entry = render(odd)["tests"][0]
    assert entry["growth_kb"] is None
    assert entry["per_call_bytes"] is None


def test_non_ascii_is_kept_readable() -> None:
    result = dataclasses.replace(fine(), nodeid="tests/test_ü.py::test_ß")
    assert "test_ü.py::test_ß" in render_json([result], metadata={})


def test_run_metadata() -> None:
    meta = run_metadata("1.2.3")
    assert meta["plugin_version"] == "1.2.3"
    assert {
        "python",
        "python_version",
        "python_implementation",
        "platform",
        "platform_detail",
        "machine",
        "created",
    } <= set(meta)
    assert meta["python"] == "{}.{}".format(*__import__("sys").version_info[:2])
    created = datetime.fromisoformat(str(meta["created"]))
    assert created.utcoffset() == timedelta(0)
    assert abs(datetime.now(timezone.utc) - created) < timedelta(minutes=1)
    json.dumps(meta)


def test_schema_doc_mentions_every_field() -> None:
    text = SCHEMA.read_text(encoding="utf-8")
    for key in (*TEST_FIELDS, "version", "metadata", "summary"):
        assert f"`{key}`" in text or f"`{key}[]`" in text, key


def test_lone_surrogates_are_json_escapes_that_read_back() -> None:
    odd = replace(fine(), nodeid="test_caf\udce9.py::t", label="run(f\udcff)")
    text = render_json([odd], metadata={"baseline": "b\udcff.json"})
    text.encode("utf-8")
    data = json.loads(text)
    assert data["tests"][0]["nodeid"] == "test_caf\udce9.py::t"
    assert data["metadata"]["baseline"] == "b\udcff.json"
