"""End to end: the JSON and HTML reports, the baseline gate and JUnit properties (issue 4)."""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import CLEAN, LEAKY, SETTLED_SHAPES

from pytest_memguard.report.json import TEST_FIELDS

FAST = "--memguard-iterations=50"

#: A test that keeps BUFFERS buffers of 16 KiB once warm, then nothing more: a plateau of
#: BUFFERS x 16 KiB, far under its 1000 KiB bound. BUFFERS=0 (the default) keeps nothing.
RING = """
import os, pytest
BUFFERS = int(os.environ.get("BUFFERS", "0"))
keep = []
calls = [0]

@pytest.mark.memguard(max_growth_kb=1000)
def test_cache():
    calls[0] += 1
    if calls[0] > 25 and len(keep) < BUFFERS:
        keep.append(bytes(16384))
"""

PARAM = """
import pytest

@pytest.mark.parametrize("x", [1], ids=["<script>alert(1)</script>"])
@pytest.mark.memguard
def test_param(x):
    assert x == 1
"""


def read_json(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def entries_of(report: dict[str, object]) -> list[dict[str, object]]:
    tests = report["tests"]
    assert isinstance(tests, list)
    return tests


def write_baseline(path: Path, tests: dict[str, float], **metadata: object) -> None:
    document = {
        "version": 1,
        "metadata": {"python": "3.11", "platform": "linux", **metadata},
        "tests": {nodeid: {"growth_kb": kb, "types": []} for nodeid, kb in tests.items()},
    }
    path.write_text(json.dumps(document), encoding="utf-8")


# --- JSON -------------------------------------------------------------------------------------


def test_json_report_lists_every_guarded_test_with_the_documented_fields(
    run, pytester: pytest.Pytester
) -> None:
    # The canonical leak needs the default 200 calls to show; FAST elsewhere.
    result = run("--memguard-json=out.json", test_leak=LEAKY, test_clean=CLEAN, test_plain="")
    result.assert_outcomes(failed=1, passed=1)
    report = read_json(pytester.path / "out.json")
    assert list(report) == ["version", "metadata", "summary", "tests"]
    assert report["version"] == 1
    metadata = report["metadata"]
    assert isinstance(metadata, dict)
    assert metadata["plugin"] == "pytest-memguard"
    assert {"plugin_version", "python", "python_implementation", "platform", "created"} <= set(
        metadata
    )
    assert report["summary"] == {
        "total": 2,
        "passed": 1,
        "failed": 1,
        "not_measured": 0,
        "not_judged": 0,
        "regressed": 0,
    }
    tests = entries_of(report)
    assert [t["nodeid"] for t in tests] == ["test_clean.py::test_clean", "test_leak.py::test_leaky"]
    for entry in tests:
        assert set(entry) >= set(TEST_FIELDS)  # fields may be added within a version
        assert entry["baseline"] is None  # no baseline given
        assert isinstance(entry["series"], list)
        assert len(entry["series"]) == entry["iterations"]
    clean, leaky = tests
    assert (clean["passed"], clean["limit_kb"]) == (True, 64.0)
    assert clean["shape"] in SETTLED_SHAPES
    assert (leaky["passed"], leaky["shape"]) == (False, "growing")
    assert leaky["explanation"], "a failure carries its explanation"
    assert any(t["name"] == "str" for t in leaky["types"])  # type: ignore[union-attr]


def test_report_paths_from_ini_are_relative_to_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nconsole_output_style = classic\nmemguard_iterations = 50\n"
        "memguard_json = reports/ini.json\nmemguard_html = reports/ini.html\n"
        "memguard_save_baseline = reports/base.json\n"
    )
    (pytester.path / "reports").mkdir()
    pytester.makepyfile(test_clean=CLEAN)
    tests = pytester.mkdir("sub")
    (tests / "test_sub.py").write_text(PARAM.replace("test_param", "test_sub"))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tests)  # run from a subdirectory: the ini paths still point next to the ini
        result = pytester.runpytest("-p", "no:cacheprovider", str(pytester.path))
    result.assert_outcomes(passed=2)
    reports = pytester.path / "reports"
    assert len(entries_of(read_json(reports / "ini.json"))) == 2
    assert "test_clean.py::test_clean" in (reports / "ini.html").read_text()
    assert set(read_json(reports / "base.json")["tests"]) == {  # type: ignore[arg-type]
        "test_clean.py::test_clean",
        "sub/test_sub.py::test_sub[<script>alert(1)</script>]",
    }


def test_command_line_paths_override_the_ini(run, pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmemguard_json = from-ini.json\n")
    pytester.makepyfile(test_clean=CLEAN)
    result = pytester.runpytest("-p", "no:cacheprovider", FAST, "--memguard-json", "cli.json")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "cli.json").is_file()
    assert not (pytester.path / "from-ini.json").exists()


def test_no_files_without_the_options_or_under_collect_only(run, pytester: pytest.Pytester) -> None:
    run(FAST, test_clean=CLEAN).assert_outcomes(passed=1)
    run("--collect-only", "--memguard-json=c.json", "--memguard-save-baseline=b.json")
    assert sorted(p.name for p in pytester.path.iterdir() if p.suffix in (".json", ".html")) == []


# --- HTML -------------------------------------------------------------------------------------


def test_html_report_is_written_and_escapes_test_ids(run, pytester: pytest.Pytester) -> None:
    run(FAST, "--memguard-html", "report.html", test_param=PARAM).assert_outcomes(passed=1)
    page = (pytester.path / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "test_param[&lt;script&gt;alert(1)&lt;/script&gt;]" in page
    assert "<script>alert(1)" not in page


# --- credentials --------------------------------------------------------------------------------

FLASK_LEAK = """
from flask import Flask, request

PASSWORD = "s3" + "cret"  # never written out whole in this file, so output cannot quote it
_log = []
app = Flask(__name__)

@app.get("/")
def index():
    auth = request.authorization
    for _ in range(10):  # the canonical leak, ten times over so 50 calls show it
        _log.append(f"{auth.username}:{auth.password}")
    return "ok"

def test_login(memguard):
    memguard.flask(app, "/", auth=("alice", PASSWORD), expect_status=200)
"""


def test_credentials_never_reach_any_report(run, pytester: pytest.Pytester) -> None:
    result = run(
        FAST,
        "--memguard-json=out.json",
        "--memguard-html=out.html",
        "--junitxml=junit.xml",
        "--memguard-report",
        "--tb=long",
        "-rA",
        test_flask=FLASK_LEAK,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*LeakError: memguard: flask GET /: *still growing*"])
    report = read_json(pytester.path / "out.json")
    assert entries_of(report)[0]["explanation"], "the explanation is there, redacted"
    outputs = {
        "terminal": result.stdout.str() + result.stderr.str(),
        "json": (pytester.path / "out.json").read_text(),
        "html": (pytester.path / "out.html").read_text(),
        "junit": (pytester.path / "junit.xml").read_text(),
    }
    token = base64.b64encode(b"alice:s3cret").decode()
    for name, text in outputs.items():
        assert "flask GET /" in text, name  # the report is about this test
        for secret in ("s3cret", token, "alice:s3cret"):
            assert secret not in text, f"{secret!r} in {name}"


# --- JUnit XML ----------------------------------------------------------------------------------


def test_junit_xml_carries_memguard_properties(run, pytester: pytest.Pytester) -> None:
    result = run("--junitxml=junit.xml", test_leak=LEAKY, test_clean=CLEAN, test_plain="")
    result.assert_outcomes(failed=1, passed=1)
    cases = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in ET.parse(pytester.path / "junit.xml").iter("testcase")
    }
    assert cases["test_clean"]["memguard_shape"] in SETTLED_SHAPES
    assert cases["test_clean"]["memguard_limit_kb"] == "64.0"
    assert float(cases["test_clean"]["memguard_growth_kb"] or "nan") < 1.0
    assert cases["test_leaky"]["memguard_shape"] == "growing"
    assert float(cases["test_leaky"]["memguard_growth_kb"] or "nan") > 0


# --- baseline gate ------------------------------------------------------------------------------


def test_baseline_gate_passes_then_fails_a_regression_under_the_bound(
    run, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Run 1, on "main": nothing retained; save the baseline.
    run(FAST, "--memguard-save-baseline=base.json", test_ring=RING).assert_outcomes(passed=1)
    saved = read_json(pytester.path / "base.json")
    assert list(saved["tests"]) == ["test_ring.py::test_cache"]  # type: ignore[call-overload]
    # Same code again: not a regression.
    again = run(FAST, "--memguard-baseline=base.json", "--memguard-report")
    again.assert_outcomes(passed=1)
    again.stdout.fnmatch_lines(["test_ring.py::test_cache*PASSED*flat*"])
    again.stdout.no_fnmatch_line("*regressed*")
    # Run 2, a "pull request": a plateau of ~160 KiB, far under max_growth_kb=1000.
    monkeypatch.setenv("BUFFERS", "10")
    result = run(
        FAST, "--memguard-baseline=base.json", "--memguard-report", "--memguard-json=pr.json"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "LeakError: memguard: test body: regressed: * KiB -> * KiB (baseline: Python *, *;"
            " tolerance 10% + 4 KiB; allowed up to * KiB)",
            "*= memguard report =*",
            "test*verdict*growth*limit*per call*shape*baseline*top growing type",
            "test_ring.py::test_cache*PASSED*plateau*+* KiB regressed*",
            "1 guarded, 0 failed, 1 regressed",
        ]
    )
    entry = entries_of(read_json(pytester.path / "pr.json"))[0]
    assert entry["passed"] is True  # the bound held; the baseline is what failed it
    baseline = entry["baseline"]
    assert isinstance(baseline, dict)
    assert baseline["status"] == "regressed"
    assert baseline["tolerance"] == "10% + 4 KiB"
    assert str(baseline["message"]).startswith("regressed: ")


@pytest.mark.parametrize("where", ["cli", "ini"])
def test_tolerance_from_cli_or_ini_widens_the_gate(
    run, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    run(FAST, "--memguard-save-baseline=base.json", test_ring=RING).assert_outcomes(passed=1)
    monkeypatch.setenv("BUFFERS", "10")
    if where == "cli":
        args = ["--memguard-tolerance", "10% + 0.6MiB", "--memguard-baseline=base.json"]
    else:
        pytester.makeini(
            "[pytest]\nmemguard_tolerance = 600 KiB\nmemguard_baseline = base.json\n"
            "memguard_report = true\n"
        )
        args = []
    result = pytester.runpytest("-p", "no:cacheprovider", FAST, "--memguard-report", *args)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["test_ring.py::test_cache*PASSED*plateau*ok*"])


def test_tests_absent_from_the_baseline_are_new_not_failed(run, pytester: pytest.Pytester) -> None:
    run(FAST, "--memguard-save-baseline=base.json", test_clean=CLEAN).assert_outcomes(passed=1)
    result = run(
        FAST,
        "--memguard-baseline=base.json",
        "--memguard-report",
        "--memguard-json=out.json",
        "--junitxml=junit.xml",
        test_param=PARAM,
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "test_clean.py::test_clean*PASSED*flat*",
            "test_param.py::test_param*PASSED*flat*new*",
            "2 guarded, 0 failed*, 1 new",
        ]
    )
    result.stdout.no_fnmatch_line("*regressed*")
    statuses = [t["baseline"]["status"] for t in entries_of(read_json(pytester.path / "out.json"))]  # type: ignore[index]
    assert statuses[1] == "new"
    assert statuses[0] in ("ok", "improved")
    assert 'name="memguard_baseline" value="new"' in (pytester.path / "junit.xml").read_text()


def test_baseline_from_another_python_warns_once(run, pytester: pytest.Pytester) -> None:
    write_baseline(pytester.path / "base.json", {"test_clean.py::test_clean": 0.06}, python="2.7")
    result = run(FAST, "--memguard-baseline=base.json", test_clean=CLEAN, test_param=PARAM)
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(
        ["*MemguardBaselineWarning: memguard baseline *base.json was recorded on Python 2.7*"]
    )
    assert result.stdout.str().count("was recorded on Python 2.7") == 1


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "the file does not exist; create it with --memguard-save-baseline *base.json"),
        ("{not json", "it is not JSON*"),
        (
            '{"version": 99, "tests": {}}',
            "it has format version 99*delete it and save a new one with*",
        ),
        ("[1, 2]", "it is not a memguard baseline (a JSON list)*"),
        ('{"version": 1, "tests": {"t": {"growth_kb": "x"}}}', "*growth_kb must be a finite*"),
    ],
    ids=["missing", "corrupt", "wrong-version", "not-an-object", "bad-entry"],
)
def test_unusable_baseline_is_a_usage_error(
    run, pytester: pytest.Pytester, content: str | None, problem: str
) -> None:
    if content is not None:
        (pytester.path / "base.json").write_text(content)
    result = run("--memguard-baseline", "base.json", test_clean=CLEAN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --memguard-baseline: memguard baseline *base.json: {problem}"]
    )
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize(
    "option", ["--memguard-json", "--memguard-html", "--memguard-save-baseline"]
)
@pytest.mark.parametrize(
    ("target", "problem"),
    [(".", "it is a directory*"), ("nowhere/out.json", "the directory *nowhere does not exist*")],
    ids=["directory", "missing-directory"],
)
def test_unwritable_report_path_is_a_usage_error(
    run, option: str, target: str, problem: str
) -> None:
    result = run(f"{option}={target}", test_clean=CLEAN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {option}: cannot write *: {problem}"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        (
            "memguard_tolerance = 10",
            "ini memguard_tolerance: invalid memguard tolerance '10'*no unit*",
        ),
        ("memguard_baseline = gone.json", "ini memguard_baseline: memguard baseline *gone.json*"),
    ],
)
def test_bad_ini_values_name_the_ini_key(pytester: pytest.Pytester, ini: str, message: str) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_clean=CLEAN)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


def test_bad_tolerance_on_the_command_line(run) -> None:
    result = run("--memguard-tolerance", "lots", test_clean=CLEAN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --memguard-tolerance: invalid memguard tolerance 'lots'*"])


def test_failed_write_at_the_end_is_an_error_line_and_a_failed_run(
    run, pytester: pytest.Pytester
) -> None:
    (pytester.path / "out").mkdir()
    result = run(
        FAST,
        "--memguard-json=out/r.json",
        test_clean=CLEAN,
        test_rm="import shutil\ndef test_rm():\n    shutil.rmtree('out')\n",
    )
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "ERROR: memguard: --memguard-json: cannot write *r.json:"
            " the directory *out does not exist*"
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert not (pytester.path / "out").exists()


def test_run_stopped_early_keeps_the_previous_baseline(run, pytester: pytest.Pytester) -> None:
    write_baseline(pytester.path / "base.json", {"test_clean.py::test_clean": 0.06})
    before = (pytester.path / "base.json").read_text()
    result = run(
        "-x",  # test_a fails first (conftest keeps inner runs in file order)
        FAST,
        "--memguard-save-baseline=base.json",
        "--memguard-json=out.json",
        test_a="def test_fails():\n    assert False\n",
        test_clean=CLEAN,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["memguard: --memguard-save-baseline: baseline not saved to *"])
    assert (pytester.path / "base.json").read_text() == before
    assert entries_of(read_json(pytester.path / "out.json")) == []  # the JSON shows what ran


# --- the CI example ---------------------------------------------------------------------------


def test_ci_example_workflow_uses_options_that_exist(pytester: pytest.Pytester) -> None:
    workflow = Path(__file__).parents[1] / "examples" / "ci" / "memguard.yml"
    text = workflow.read_text()
    flags = set(re.findall(r"--memguard-[a-z-]+", text))
    assert {"--memguard-save-baseline", "--memguard-baseline", "--memguard-html"} <= flags
    assert "pull_request" in text
    assert "actions/upload-artifact" in text
    help_text = pytester.runpytest("--help").stdout.str()
    for flag in flags:
        assert flag in help_text, flag


def test_report_table_fits_an_80_column_terminal(run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = run(
        "--memguard-report",
        test_a_rather_long_module_name_for_the_authentication_endpoints="""
        import pytest

        @pytest.mark.memguard(iterations=20, warmup=2)
        @pytest.mark.parametrize("user", ["alice-with-a-long-name", "bob-with-a-longer-name"])
        def test_login_with_rotating_credentials(user):
            pass
        """,
    )
    result.assert_outcomes(passed=2)
    out = result.stdout.lines
    start = out.index(next(line for line in out if "memguard report" in line)) + 1
    table = out[start : start + 3]
    assert table[0].split()[:3] == ["test", "verdict", "growth"]
    assert all(len(line) <= 80 for line in table), table
    assert all("PASSED" in line and "..." in line for line in table[1:]), table
