"""Baselines: tolerance parsing, comparison, and files that fail loudly and helpfully."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import result

from pytest_memguard.baseline import (
    DEFAULT_TOLERANCE,
    Baseline,
    BaselineEntry,
    BaselineError,
    Tolerance,
    baseline_key,
    compare,
    existing_baseline,
    load_baseline,
    parse_tolerance,
    python_minor,
    save_baseline,
)
from pytest_memguard.files import ReportPathError
from pytest_memguard.result import TypeGrowth

META = {"python": "3.11", "python_implementation": "CPython", "platform": "linux"}


def baseline(**tests: float) -> Baseline:
    return Baseline(
        "memguard-baseline.json",
        META,
        {f"tests/test_a.py::{name}": BaselineEntry(kb) for name, kb in tests.items()},
    )


# -- tolerance ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fraction", "absolute_kb"),
    [
        ("10%+4KiB", 0.10, 4.0),
        ("10% + 4 KiB", 0.10, 4.0),
        ("4KiB + 10%", 0.10, 4.0),
        ("10%", 0.10, 0.0),
        ("4KiB", 0.0, 4.0),
        ("4kb", 0.0, 4.0),
        ("4KB", 0.0, 4.0),
        ("4 kib", 0.0, 4.0),
        ("2.5%", 0.025, 0.0),
        (".5%", 0.005, 0.0),
        ("0%", 0.0, 0.0),
        ("512B", 0.0, 0.5),
        ("1MiB", 0.0, 1024.0),
        ("1 mb + 50 %", 0.5, 1024.0),
        ("  25%+8KiB  ", 0.25, 8.0),
    ],
)
def test_parse_tolerance_accepts(text: str, fraction: float, absolute_kb: float) -> None:
    tolerance = parse_tolerance(text)
    assert tolerance.fraction == pytest.approx(fraction)
    assert tolerance.absolute_kb == pytest.approx(absolute_kb)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("10", "has no unit"),
        ("ten%", "cannot read 'ten%'"),
        ("-5%", "cannot read '-5%'"),
        ("10%+", "a part is empty"),
        ("+4KiB", "a part is empty"),
        ("10%+5%", "two percentages"),
        ("4KiB+8KiB", "two sizes"),
        ("10%+4KiB+1KiB", "at most one percentage and one size"),
        ("4 parsecs", "unknown unit 'parsecs'"),
        ("%", "cannot read '%'"),
        ("10 % 4 KiB", "cannot read"),
    ],
)
def test_parse_tolerance_rejects(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match="invalid memguard tolerance") as info:
        parse_tolerance(text)
    message = str(info.value)
    assert problem in message
    assert repr(text) in message
    assert "'10% + 4KiB'" in message


def test_default_tolerance_and_its_text() -> None:
    assert (DEFAULT_TOLERANCE.fraction, DEFAULT_TOLERANCE.absolute_kb) == (0.10, 4.0)
    assert str(DEFAULT_TOLERANCE) == "10% + 4 KiB"
    assert str(parse_tolerance("12.5%")) == "12.5%"
    assert str(parse_tolerance("2KiB")) == "2 KiB"
    assert str(parse_tolerance("0%")) == "0%"
    assert parse_tolerance(str(DEFAULT_TOLERANCE)) == DEFAULT_TOLERANCE


def test_allowed_is_baseline_times_one_plus_pct_plus_abs() -> None:
    assert DEFAULT_TOLERANCE.allowed_kb(100.0) == pytest.approx(114.0)
    assert DEFAULT_TOLERANCE.allowed_kb(0.0) == pytest.approx(4.0)
    assert DEFAULT_TOLERANCE.allowed_kb(-50.0) == pytest.approx(4.0)  # freed memory counts as 0
    assert Tolerance(0.5, 0.0).allowed_kb(10.0) == pytest.approx(15.0)


# -- compare -----------------------------------------------------------------------------


def test_compare_regressed_message() -> None:
    comparison = compare(baseline(test_x=3.1), result(growth_kb=80.4))
    assert comparison.status == "regressed"
    assert comparison.regressed
    assert comparison.baseline_kb == 3.1
    assert comparison.current_kb == 80.4
    assert comparison.delta_kb == pytest.approx(77.3)
    assert comparison.allowed_kb == pytest.approx(3.1 * 1.1 + 4)
    assert comparison.message == (
        "regressed: 3.1 KiB -> 80.4 KiB (baseline: Python 3.11, linux; "
        "tolerance 10% + 4 KiB; allowed up to 7.4 KiB)"
    )


def test_compare_ok_within_tolerance() -> None:
    comparison = compare(baseline(test_x=100.0), result(growth_kb=113.9))
    assert comparison.status == "ok"
    assert not comparison.regressed
    assert comparison.message.startswith("ok: 100.0 KiB -> 113.9 KiB (baseline: Python 3.11")


def test_compare_just_over_tolerance_regresses() -> None:
    assert compare(baseline(test_x=100.0), result(growth_kb=114.1)).status == "regressed"


def test_compare_improved_needs_a_drop_beyond_the_margin() -> None:
    assert compare(baseline(test_x=100.0), result(growth_kb=86.5)).status == "ok"
    improved = compare(baseline(test_x=100.0), result(growth_kb=80.0))
    assert improved.status == "improved"
    assert improved.message.startswith("improved: 100.0 KiB -> 80.0 KiB")
    # A tiny baseline cannot "improve": the drop is inside the absolute slack.
    assert compare(baseline(test_x=3.0), result(growth_kb=0.0)).status == "ok"


def test_compare_new_test() -> None:
    comparison = compare(baseline(test_other=1.0), result(growth_kb=5.0))
    assert comparison.status == "new"
    assert comparison.baseline_kb is None
    assert comparison.delta_kb is None
    assert comparison.message == (
        "new: 5.0 KiB (not in the baseline; baseline: Python 3.11, linux; tolerance 10% + 4 KiB)"
    )


def test_compare_custom_tolerance_in_message() -> None:
    comparison = compare(baseline(test_x=10.0), result(growth_kb=12.0), parse_tolerance("5%"))
    assert comparison.status == "regressed"
    assert "tolerance 5%; allowed up to 10.5 KiB" in comparison.message


def test_compare_names_newly_growing_types() -> None:
    base = Baseline(
        "b.json",
        META,
        {"tests/test_a.py::test_x": BaselineEntry(1.0, (TypeGrowth("dict", 1, 100),))},
    )
    current = result(
        growth_kb=50.0,
        types=(TypeGrowth("Session", 10, 40000), TypeGrowth("dict", 5, 500)),
    )
    comparison = compare(base, current)
    assert comparison.new_types == ("Session",)
    assert comparison.message.endswith("newly growing: Session)")
    assert comparison.to_dict()["new_types"] == ["Session"]


def test_comparison_to_dict() -> None:
    data = compare(baseline(test_x=3.1), result(growth_kb=80.4)).to_dict()
    assert list(data) == [
        "status",
        "baseline_kb",
        "current_kb",
        "delta_kb",
        "allowed_kb",
        "tolerance",
        "new_types",
        "message",
    ]
    assert data["status"] == "regressed"
    assert data["delta_kb"] == 77.3
    assert data["tolerance"] == "10% + 4 KiB"
    json.dumps(data, allow_nan=False)


def test_labelled_blocks_have_their_own_keys() -> None:
    assert baseline_key(result(label="test body")) == "tests/test_a.py::test_x"
    assert baseline_key(result(label="")) == "tests/test_a.py::test_x"
    assert baseline_key(result(label="run(parse)")) == "tests/test_a.py::test_x [run(parse)]"


def test_describe_unknown_environment() -> None:
    assert Baseline("b.json", {}, {}).describe() == "Python unknown, unknown platform"
    pypy = Baseline("b.json", {"python": "3.10", "python_implementation": "PyPy"}, {})
    assert pypy.describe() == "PyPy 3.10, unknown platform"


# -- python mismatch ---------------------------------------------------------------------


def test_python_mismatch() -> None:
    base = baseline()
    assert base.python_mismatch("3.11") is None
    assert base.python_mismatch("3.11.9") is None
    warning = base.python_mismatch("3.12.1")
    assert warning is not None
    assert "Python 3.11" in warning
    assert "Python 3.12" in warning
    assert "memguard-baseline.json" in warning
    assert "--memguard-save-baseline memguard-baseline.json" in warning
    assert Baseline("b.json", {}, {}).python_mismatch("3.12") is None


def test_python_minor() -> None:
    assert python_minor("3.11.9") == "3.11"
    assert python_minor("3.13") == "3.13"
    assert python_minor("3.12.0 (main, Oct  2 2023) [GCC 12.2.0]") == "3.12"


# -- save / load -------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    types = tuple(TypeGrowth(f"T{i}", i, 100 * i) for i in range(8))
    results = [
        result("tests/test_b.py::test_z", 7.25, types=types),
        result("tests/test_a.py::test_y", 1.0),
        result("tests/test_a.py::test_y", 2.0, label="run(parse)"),
        result("tests/test_a.py::test_off", 0.0, measured=False),
    ]
    save_baseline(path, results, metadata={"python": "3.11.7", "plugin_version": "0.1.0"})
    text = path.read_text(encoding="utf-8")
    assert text.startswith("{")  # JSON, never pickle
    assert text.endswith("}\n")
    data = json.loads(text)
    assert list(data) == ["version", "metadata", "tests"]
    assert data["version"] == 1
    assert data["metadata"]["python"] == "3.11"
    assert data["metadata"]["plugin_version"] == "0.1.0"
    assert {"python_implementation", "platform"} <= set(data["metadata"])
    assert list(data["tests"]) == [
        "tests/test_a.py::test_y",
        "tests/test_a.py::test_y [run(parse)]",
        "tests/test_b.py::test_z",
    ]
    entry = data["tests"]["tests/test_b.py::test_z"]
    assert entry["growth_kb"] == 7.25
    assert len(entry["types"]) == 5
    assert entry["types"][0] == {"name": "T0", "size_delta": 0, "count_delta": 0}

    loaded = load_baseline(path)
    assert loaded.path == str(path)
    assert loaded.python == "3.11"
    z = loaded.get("tests/test_b.py::test_z")
    assert z is not None
    assert z.growth_kb == 7.25
    assert [t.name for t in z.types] == ["T0", "T1", "T2", "T3", "T4"]
    assert compare(loaded, results[0]).status == "ok"
    assert compare(loaded, results[2]).baseline_kb == 2.0


def test_save_merges_into_the_existing_baseline(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    first = save_baseline(path, [result("t::a", 1.0), result("t::b", 2.0)], metadata=META)
    assert (first.measured, first.kept, first.previous) == (2, 0, None)
    saved = save_baseline(
        path, [result("t::b", 5.0), result("t::c", 0.0, measured=False)], metadata=META
    )
    assert (saved.measured, saved.kept) == (1, 1)
    assert saved.previous is not None
    assert saved.previous.tests["t::b"].growth_kb == 2.0
    loaded = load_baseline(path)
    assert {k: v.growth_kb for k, v in loaded.tests.items()} == {"t::a": 1.0, "t::b": 5.0}


def test_save_into_an_empty_file_starts_a_new_baseline(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_text("")
    saved = save_baseline(path, [result("t::a", 1.0)], metadata=META)
    assert (saved.kept, saved.previous) == (0, None)
    assert list(load_baseline(path).tests) == ["t::a"]


@pytest.mark.parametrize(
    "content", ["{truncated", '{"version": 2, "tests": {}}', '{"name": "my-package"}']
)
def test_save_never_replaces_a_file_it_cannot_merge(tmp_path: Path, content: str) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(content)
    with pytest.raises(BaselineError) as info:
        save_baseline(path, [result("t::a", 1.0)], metadata=META)
    assert "move the file away or delete it, then save again" in str(info.value)
    assert path.read_text() == content
    assert existing_baseline(tmp_path / "new.json") is None


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "baseline.json"
    save_baseline(path, [result(growth_kb=1.0)], metadata=META)
    before = path.read_text()

    def broken(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(ReportPathError):
        save_baseline(path, [result(growth_kb=99.0)], metadata=META)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["baseline.json"]


def test_save_to_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReportPathError, match="is a directory"):
        save_baseline(tmp_path, [result()], metadata=META)


def load_error(path: Path) -> str:
    with pytest.raises(BaselineError) as info:
        load_baseline(path)
    message = str(info.value)
    assert str(path) in message
    assert isinstance(info.value, ValueError)
    return message


def test_missing_baseline(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    message = load_error(path)
    assert "does not exist" in message
    assert f"create it with --memguard-save-baseline {path}" in message


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{truncated", "it is not JSON"),
        ("[1, 2]", "it is not a memguard baseline (a JSON list)"),
        ('"text"', "it is not a memguard baseline (a JSON string)"),
        ('{"tests": {}}', 'no "version" or "tests"'),
        ('{"version": 1}', 'no "version" or "tests"'),
        ('{"version": 2, "tests": {}}', "format version 2, this pytest-memguard reads version 1"),
        ('{"version": "1", "tests": {}}', 'format version "1"'),
        ('{"version": 1, "metadata": [], "tests": {}}', '"metadata" must be an object'),
        ('{"version": 1, "tests": []}', '"tests" must be an object'),
        ('{"version": 1, "tests": {"t": 3}}', 'tests["t"] must be an object'),
        ('{"version": 1, "tests": {"t": {}}}', 'tests["t"].growth_kb must be a finite number'),
        (
            '{"version": 1, "tests": {"t": {"growth_kb": "3"}}}',
            'tests["t"].growth_kb must be a finite number',
        ),
        (
            '{"version": 1, "tests": {"t": {"growth_kb": true}}}',
            'tests["t"].growth_kb must be a finite number',
        ),
        (
            '{"version": 1, "tests": {"t": {"growth_kb": 1, "types": {}}}}',
            'tests["t"].types must be a list',
        ),
        (
            '{"version": 1, "tests": {"t": {"growth_kb": 1, "types": [{"name": "x"}]}}}',
            'tests["t"].types[0] must be an object',
        ),
        ('{"version": true, "tests": {}}', "format version true, this"),
        ('{"version": 1.0, "tests": {}}', "format version 1.0, this"),
        ('{"version": 1, "tests": {"t": {"growth_kb": 1e999}}}', "growth_kb must be a finite"),
        (
            '{"version": 1, "tests": {"t": {"growth_kb": ' + "9" * 401 + "}}}",
            "growth_kb must be a finite number of KiB from -1,073,741,824 to 1,073,741,824",
        ),
        (
            '{"version": 1, "tests": {"t": {"growth_kb": 1, "types": [{"name": "x",'
            ' "size_delta": 9223372036854775808, "count_delta": 1}]}}}',
            "(at most 64-bit)",
        ),
        (
            '{"version": 1, "tests": {"t": {"growth_kb": 1, "types": [{"name": "x",'
            ' "size_delta": 1.0, "count_delta": 1}]}}}',
            'tests["t"].types[0] must be an object',
        ),
        (
            '{"version": ' + '"' + "v" * 500 + '"' + ', "tests": {}}',
            'format version "' + "v" * 36 + "..., this",  # cut short
        ),
    ],
)
def test_corrupt_baseline(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(content)
    message = load_error(path)
    assert problem in message
    assert f"delete it and save a new one with --memguard-save-baseline {path}" in message


def test_a_baseline_path_that_is_not_a_file_asks_for_one(tmp_path: Path) -> None:
    message = load_error(tmp_path)
    assert "it is a directory, not a file; give the path of a baseline file" in message


def test_the_largest_legal_numbers_load(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    types = [{"name": "x", "size_delta": 2**63 - 1, "count_delta": -(2**63 - 1)}]
    path.write_text(
        json.dumps({"version": 1, "tests": {"t": {"growth_kb": -(1024**3), "types": types}}})
    )
    entry = load_baseline(path).tests["t"]
    assert (entry.growth_kb, entry.types[0].size_delta) == (-(1024.0**3), 2**63 - 1)


def test_odd_metadata_reads_as_unknown_in_messages() -> None:
    junk = Baseline(
        "b.json", {"python": "3" * 500, "platform": ["linux"], "python_implementation": 3}
    )
    assert junk.describe() == "Python unknown, unknown platform"
    assert junk.python_mismatch("3.11.2") is None
    odd = Baseline("b.json", {"python": "3.9\udcff", "python_implementation": "PyPy"})
    assert odd.describe() == "PyPy 3.9, unknown platform"


def test_a_key_with_a_surrogate_pair_matches_after_a_round_trip(tmp_path: Path) -> None:
    split = result("t.py::test_x", 1.0, label="run(f\ud83d\ude00\udcff)")  # two code points
    path = tmp_path / "b.json"
    save_baseline(path, [split], metadata=META)
    loaded = load_baseline(path)
    assert list(loaded.tests) == ["t.py::test_x [run(f\U0001f600\udcff)]"]
    assert compare(loaded, split).status == "ok"


def test_too_deep_baseline(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"version": 1, "tests": ' + "[" * 100 + "]" * 100 + "}")
    assert "nested too deeply" in load_error(path)


def test_too_large_baseline(tmp_path: Path) -> None:
    path = tmp_path / "large.json"
    with open(path, "w") as handle:
        handle.write('{"version": 1, "tests": {}, "pad": "')
        handle.write("x" * (16 * 1024 * 1024))
        handle.write('"}')
    message = load_error(path)
    assert "too large" in message
    assert "--memguard-save-baseline" in message


def test_baseline_with_integer_growth_loads(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text('{"version": 1, "tests": {"t": {"growth_kb": 3}}}')
    loaded = load_baseline(path)
    assert loaded.tests == {"t": BaselineEntry(3.0)}
    assert loaded.metadata == {}


def test_identical_negative_runs_are_ok_not_improved() -> None:
    # A run that freed memory (e.g. a cache emptied) has a negative growth; the same number
    # again is noise, not an improvement, and the allowance stays at least the absolute part.
    assert DEFAULT_TOLERANCE.floor_kb(-16.0) == pytest.approx(-16.0 - 1.6 - 4.0)
    assert DEFAULT_TOLERANCE.allowed_kb(-16.0) == pytest.approx(4.0)
