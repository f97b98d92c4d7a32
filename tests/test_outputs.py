"""The run's files as the controller writes them: all of them, atomically, or a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import result

from pytest_memguard.baseline import DEFAULT_TOLERANCE, load_baseline
from pytest_memguard.report import outputs
from pytest_memguard.report.outputs import baseline_deltas, first_clash, write_outputs

RESULTS = [result("test_a.py::test_a", 3.0), result("test_b.py::test_b", 12.0)]


def outputs_of(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    return {
        "json": (tmp_path / "report.json", "--memguard-json"),
        "html": (tmp_path / "report.html", "--memguard-html"),
        "save-baseline": (tmp_path / "baseline.json", "--memguard-save-baseline"),
    }


def test_every_file_is_written(tmp_path: Path) -> None:
    written = write_outputs(
        outputs_of(tmp_path), RESULTS, version="9.9", baseline=None, tolerance=DEFAULT_TOLERANCE
    )
    assert (written.notes, written.errors) == ([], [])
    report = json.loads((tmp_path / "report.json").read_text())
    assert [t["nodeid"] for t in report["tests"]] == [r.nodeid for r in RESULTS]
    assert "test_b.py::test_b" in (tmp_path / "report.html").read_text()
    assert len(load_baseline(tmp_path / "baseline.json").tests) == 2


def test_a_run_stopped_early_writes_reports_but_keeps_the_old_baseline(tmp_path: Path) -> None:
    old = tmp_path / "baseline.json"
    old.write_text("previous baseline")
    written = write_outputs(
        outputs_of(tmp_path),
        RESULTS[:1],
        version="9.9",
        baseline=None,
        tolerance=DEFAULT_TOLERANCE,
        stopped="the run stopped early (KeyboardInterrupt)",
    )
    assert old.read_text() == "previous baseline"
    assert written.errors == []
    assert "baseline not saved" in written.notes[0]
    assert "KeyboardInterrupt" in written.notes[0]
    assert (tmp_path / "report.json").exists()


def test_an_unwritable_file_is_an_error_naming_its_option(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    written = write_outputs(
        {"json": (blocked / "report.json", "ini memguard_json")},
        RESULTS,
        version="9.9",
        baseline=None,
        tolerance=DEFAULT_TOLERANCE,
    )
    assert len(written.errors) == 1
    assert written.errors[0].startswith("ERROR: memguard: ini memguard_json: ")


def test_deltas_compare_measured_results_to_the_baseline(tmp_path: Path) -> None:
    write_outputs(
        {"save-baseline": (tmp_path / "b.json", "--memguard-save-baseline")},
        RESULTS,
        version="9.9",
        baseline=None,
        tolerance=DEFAULT_TOLERANCE,
    )
    baseline = load_baseline(tmp_path / "b.json")
    assert baseline_deltas(None, DEFAULT_TOLERANCE, RESULTS) is None
    grown = [result("test_a.py::test_a", 300.0)]
    deltas = baseline_deltas(baseline, DEFAULT_TOLERANCE, grown)
    assert deltas is not None
    assert [c.status for c in deltas.values()] == ["regressed"]


def test_a_save_keeps_the_entries_of_tests_this_run_did_not_measure(tmp_path: Path) -> None:
    save = {"save-baseline": (tmp_path / "b.json", "--memguard-save-baseline")}
    write_outputs(save, RESULTS, version="9.9", baseline=None, tolerance=DEFAULT_TOLERANCE)
    written = write_outputs(
        save,
        [result("test_a.py::test_a", 5.0), result("test_c.py::test_c", 1.0, measured=False)],
        version="9.9",
        baseline=None,
        tolerance=DEFAULT_TOLERANCE,
    )
    assert written.errors == []
    assert written.notes == [
        "memguard: kept 1 baseline entry for tests not measured in this run"
        f" ({tmp_path / 'b.json'}); delete the file and save again to drop them"
    ]
    tests = load_baseline(tmp_path / "b.json").tests
    assert {k: v.growth_kb for k, v in tests.items()} == {
        "test_a.py::test_a": 5.0,
        "test_b.py::test_b": 12.0,
    }


def test_a_run_that_measured_nothing_does_not_touch_the_baseline(tmp_path: Path) -> None:
    old = tmp_path / "b.json"
    old.write_text("anything")
    written = write_outputs(
        {"save-baseline": (old, "ini memguard_save_baseline")},
        [result(measured=False)],
        version="9.9",
        baseline=None,
        tolerance=DEFAULT_TOLERANCE,
    )
    assert written.errors == []
    assert "no guarded test was measured in this run" in written.notes[0]
    assert written.notes[0].startswith("memguard: ini memguard_save_baseline: baseline not saved")
    assert old.read_text() == "anything"


def test_a_bug_while_rendering_costs_that_file_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "report.json").write_text("old report")

    def broken(*args: object, **kwargs: object) -> str:
        raise KeyError("boom")

    monkeypatch.setattr(outputs, "render_json", broken)
    written = write_outputs(
        outputs_of(tmp_path), RESULTS, version="9.9", baseline=None, tolerance=DEFAULT_TOLERANCE
    )
    assert written.errors == [
        f"ERROR: memguard: --memguard-json: {tmp_path / 'report.json'} was not written (KeyError:"
        " 'boom'); the previous file, if any, was left unchanged; please report this as a"
        " pytest-memguard bug"
    ]
    assert (tmp_path / "report.json").read_text() == "old report"
    assert (tmp_path / "report.html").exists()
    assert (tmp_path / "baseline.json").exists()


def test_first_clash_names_the_two_options_and_allows_listed_pairs(tmp_path: Path) -> None:
    files = [
        ("json", tmp_path / "r.json", "--memguard-json"),
        ("baseline", tmp_path / "b.json", "ini memguard_baseline"),
        ("save-baseline", tmp_path / "x" / ".." / "b.json", "--memguard-save-baseline"),
    ]
    assert first_clash(files) == (
        "ini memguard_baseline",
        "--memguard-save-baseline",
        tmp_path / "b.json",
    )
    assert first_clash(files, allowed=[frozenset(("baseline", "save-baseline"))]) is None
