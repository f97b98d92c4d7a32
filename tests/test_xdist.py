"""End to end under pytest-xdist: workers report, the controller merges and writes (issue 4).

Run in subprocesses: xdist starts its workers as processes of their own either way.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import CLEAN
from test_reports_e2e import RING  # keeps BUFFERS x 16 KiB once warm: a plateau

pytest.importorskip("xdist")

FAST = "--memguard-iterations=50"

BLOCKS = """
import pytest

def test_two_blocks(memguard):
    memguard.run(lambda: None)
    kept = []
    memguard.run(lambda: kept.append(bytes(4096)), max_growth_kb=16)

_keep = []

@pytest.mark.memguard
def test_body_leak():
    _keep.append(bytes(2048))

@pytest.mark.parametrize("n", range(4))
@pytest.mark.memguard
def test_many(n):
    assert n < 4
"""

CRASH = """
import os, pytest

@pytest.mark.memguard
def test_a_guarded():
    pass

def test_b_crash():
    if not os.path.exists("crashed"):  # once: the replacement worker then runs on
        open("crashed", "w").close()
        os._exit(1)
"""


def verdicts(path: Path) -> list[tuple[object, ...]]:
    """What must not depend on how tests were spread over processes, in report order."""
    report = json.loads(path.read_text())
    return [(t["nodeid"], t["label"], t["passed"], t["shape"]) for t in report["tests"]]


def test_xdist_gives_the_same_verdicts_and_complete_files_as_a_serial_run(
    sub, pytester: pytest.Pytester
) -> None:
    files = {"test_clean": CLEAN, "test_plateau": RING, "test_blocks": BLOCKS}
    common = [FAST, "--memguard-report"]
    serial = sub(
        *common, "--memguard-json=serial.json", "--memguard-save-baseline=sb.json", **files
    )
    parallel = sub(
        *common,
        "-n",
        "2",
        "-v",
        "--memguard-json=xdist.json",
        "--memguard-html=xdist.html",
        "--memguard-save-baseline=xb.json",
        "--junitxml=junit.xml",
    )
    for result in (serial, parallel):
        result.assert_outcomes(passed=6, failed=2)
    assert "[gw0]" in parallel.stdout.str()
    assert "[gw1]" in parallel.stdout.str()  # both workers ran tests

    expected = verdicts(pytester.path / "serial.json")
    assert len(expected) == 9  # one entry per guarded block: test_two_blocks has two
    assert verdicts(pytester.path / "xdist.json") == expected
    assert [v[2] for v in expected].count(False) == 2  # the body leak and the 4 KiB block

    serial_keys = json.loads((pytester.path / "sb.json").read_text())["tests"].keys()
    assert json.loads((pytester.path / "xb.json").read_text())["tests"].keys() == serial_keys

    html = (pytester.path / "xdist.html").read_text()
    table = [line for line in parallel.stdout.lines if "::" in line and "KiB" in line]
    for nodeid, label, *_ in expected:
        assert nodeid in html
        assert any(nodeid in line and (label == "test body" or label in line) for line in table)
    parallel.stdout.fnmatch_lines(["9 guarded, 2 failed"])

    guarded = {
        case.get("name"): {p.get("name") for p in case.iter("property")}
        for case in ET.parse(pytester.path / "junit.xml").iter("testcase")
    }
    assert len(guarded) == 8
    for name, properties in guarded.items():
        assert {"memguard_growth_kb", "memguard_limit_kb", "memguard_shape"} <= properties, name


def test_a_crashed_worker_is_reported_missing_not_a_controller_crash(
    sub, pytester: pytest.Pytester
) -> None:
    result = sub(
        FAST,
        "-n",
        "2",
        "--dist",
        "loadfile",  # the guarded test and the crash run on the same worker, in order
        "--memguard-report",
        "--memguard-json=out.json",
        test_crash=CRASH,
        test_clean=CLEAN,
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*worker 'gw*' crashed while running 'test_crash.py::test_b_crash'*",
            "*= memguard report =*",
            "test_clean.py::test_clean*PASSED*",
            "1 guarded, 0 failed, 1 missing",
            "MISSING test_crash.py::test_a_guarded: no memguard result*worker crashed*",
        ]
    )
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output
    report = json.loads((pytester.path / "out.json").read_text())
    assert [t["nodeid"] for t in report["tests"]] == ["test_clean.py::test_clean"]
    assert report["metadata"]["missing"] == ["test_crash.py::test_a_guarded"]


def test_baseline_gate_under_xdist(
    sub, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"test_plateau": RING, "test_clean": CLEAN}
    sub(FAST, "-n", "2", "--memguard-save-baseline=base.json", **files).assert_outcomes(passed=2)
    # Pretend it was recorded on another Python: one warning, not one per worker.
    path = pytester.path / "base.json"
    baseline = json.loads(path.read_text())
    assert sorted(baseline["tests"]) == [
        "test_clean.py::test_clean",
        "test_plateau.py::test_cache",
    ]
    baseline["metadata"]["python"] = "2.7"
    path.write_text(json.dumps(baseline))

    monkeypatch.setenv("BUFFERS", "10")  # a ~160 KiB plateau, under the 1000 KiB bound
    result = sub(
        FAST,
        "-n",
        "2",
        "--memguard-baseline=base.json",
        "--memguard-report",
        "--memguard-json=o.json",
    )
    result.assert_outcomes(passed=1, failed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*LeakError: memguard: test body: regressed: * KiB -> * KiB (baseline: Python 2.7, *",
            "*MemguardBaselineWarning: memguard baseline *base.json was recorded on Python 2.7*",
            "*= memguard report =*",
            "test_plateau.py::test_cache*PASSED*plateau*+* KiB regressed*",
        ]
    )
    assert result.stdout.str().count("was recorded on Python 2.7") == 1
    statuses = {
        t["nodeid"]: t["baseline"]["status"]
        for t in json.loads((pytester.path / "o.json").read_text())["tests"]
    }
    assert statuses["test_plateau.py::test_cache"] == "regressed"


def test_damaged_worker_output_costs_those_entries_not_the_run() -> None:
    from pytest_memguard.result import MemguardResult
    from pytest_memguard.xdist import WORKEROUTPUT_KEY, pack, unpack

    good = MemguardResult(True, 0.1, 64.0, 50, 20, 1.0, "flat", "flat", nodeid="t.py::t")
    payload = pack([good])
    assert json.loads(json.dumps(payload)) == payload  # plain data: execnet can send it
    assert unpack({WORKEROUTPUT_KEY: payload}) == ([good], 0)
    assert unpack({WORKEROUTPUT_KEY: [*payload, {"nope": 1}, "x"]}) == ([good], 2)
    assert unpack({WORKEROUTPUT_KEY: "garbage"}) == ([], 1)
    assert unpack({}) == ([], 0)  # a worker that ran no guarded test
    assert unpack(None) == ([], 0)


def test_worker_output_carries_lone_surrogates_as_plain_ascii_text() -> None:
    from pytest_memguard.result import MemguardResult
    from pytest_memguard.xdist import WORKEROUTPUT_KEY, pack, unpack

    odd = MemguardResult(
        True, 0.1, 64.0, 50, 20, 1.0, "flat", "flat", nodeid="t\udce9.py::t", label="run(f\udcff)"
    )
    payload = pack([odd])
    for text in payload:
        assert isinstance(text, str)
        text.encode("utf-8")  # what execnet does with every str; a lone surrogate would raise
    assert unpack({WORKEROUTPUT_KEY: payload}) == ([odd], 0)
