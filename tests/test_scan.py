"""End to end: ``--memguard-scan`` on unmarked suites, and the marker's ``fixtures=``.

Runs that set fixtures up again go through ``sub`` (a process of their own): pytester's
in-process ``HookRecorder`` keeps every hook call of the inner run, two per fixture setup, and
that growth is the harness's (the scan rightly calls it "not replayable")."""

from __future__ import annotations

import json
import sys

import pytest

from pytest_memguard import guard, scan

SUITE = """
import pytest

LOG = []

@pytest.fixture
def app():
    return {"routes": []}

def test_clean(app):
    app["routes"].append(object())
    assert sum(range(10)) == 45

def test_leak(app, tmp_path):  # fresh fixtures: not what it leaks
    LOG.append("x" * 100 + str(len(LOG)))

def test_second_call_fails():
    LOG.append(1)
    assert LOG.count(1) == 1

def test_fails_on_its_own():
    assert False

@pytest.mark.skip(reason="not today")
def test_skipped():
    LOG.append("never")
"""


#: A test that does nothing, first in a suite whose next test counts its own calls: the first
#: test a process screens is warmed up longer on CPython 3.10 (scan.FIRST_WARMUP).
FIRST = """
def test_0_first():
    pass
"""


def _section(result: pytest.RunResult) -> list[str]:
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if "memguard scan" in line)
    return lines[start + 1 :]


def test_scan_ranks_confirmed_leaks_first_and_fails_only_them(sub) -> None:
    result = sub("--memguard-scan", test_scan_suite=SUITE)
    result.assert_outcomes(passed=2, failed=2, skipped=1)
    section = _section(result)
    text = "\n".join(section)
    assert section[0] == "confirmed leaks (largest first):", text
    assert section[1].startswith("  LEAK test_scan_suite.py::test_leak: ~"), text
    assert "B/call" in section[1]
    assert section[2] == "    held by module test_scan_suite.LOG", text
    assert section[3] == "    allocated at test_scan_suite.py:14", text
    assert "not replayable (never a leak, never a failure):" in section
    assert (
        "  test_scan_suite.py::test_second_call_fails: not replayable: call 2 (scan replay)"
        " raised AssertionError: assert 2 == 1" in section
    )
    summary = next(line for line in section if line.startswith("scanned "))
    assert summary.startswith(
        "scanned 3 test(s): 1 confirmed leak(s), 0 suspected but not confirmed,"
        " 1 not replayable, 1 clean; the scan added "
    ), summary
    # the leak fails its test, with the guard's message; the test that failed by itself is
    # not scanned
    assert "LeakError: memguard: test body:" in result.stdout.str()
    failed = {line.split()[1] for line in result.outlines if line.startswith("FAILED ")}
    assert failed == {
        "test_scan_suite.py::test_leak",
        "test_scan_suite.py::test_fails_on_its_own",
    }


def test_a_suspect_the_guard_finds_flat_is_clean_and_says_why(sub, pytester) -> None:
    # The screen's runs rise (the body keeps a string on its first five calls only, as noise
    # on a loaded machine may look), the full guard then sees nothing: clean, not suspected.
    suite = (
        FIRST
        + """
KEPT = []

def test_settles():
    if len(KEPT) < 5:
        KEPT.append("x" * 90 + str(len(KEPT)))
"""
    )
    result = sub("--memguard-scan", "--memguard-json=out.json", test_settles=suite)
    result.assert_outcomes(passed=2)
    (entry,) = [
        t
        for t in json.loads((pytester.path / "out.json").read_text())["tests"]
        if t["nodeid"].endswith("::test_settles")
    ]
    if sys.version_info < (3, 11) and entry["scan"] == "suspected":
        # CPython 3.10: the first confirmation of a process also runs while the cached frames
        # of pytest's fixture machinery ratchet up (docs/python-versions.md): a plateau of a
        # few KiB, never confirmed.
        assert "then plateau at" in entry["reason"], entry["reason"]
        return
    summary = next(line for line in result.outlines if line.startswith("scanned "))
    assert "0 suspected but not confirmed, 0 not replayable, 2 clean" in summary, summary
    assert entry["scan"] == "clean"
    assert entry["reason"].startswith("clean: rose on every screened run"), entry["reason"]
    assert "then flat at" in entry["reason"], entry["reason"]


def test_a_leak_of_one_growing_buffer_is_confirmed(sub, pytester) -> None:
    # Only the C allocator's bytes rise (one bytearray, 4 KiB more a call): the screen reads
    # its extra runs, which rise too, and the full guard confirms it.
    suite = (
        FIRST
        + """
BUFFER = bytearray()

def test_grows():
    BUFFER.extend(bytes(4096))
"""
    )
    result = sub("--memguard-scan", "--memguard-json=out.json", test_grows=suite)
    result.assert_outcomes(passed=1, failed=1)
    (entry,) = [
        t
        for t in json.loads((pytester.path / "out.json").read_text())["tests"]
        if t["nodeid"].endswith("::test_grows")
    ]
    assert entry["scan"] == "confirmed", entry["reason"]
    assert entry["per_call_bytes"] >= 4096, entry


def test_scan_report_mode_never_fails_the_run(sub) -> None:
    suite = SUITE.replace("def test_fails_on_its_own():\n    assert False", "")
    result = sub("--memguard-scan=report", test_scan_suite=suite)
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=3, skipped=1)
    assert any(line.startswith("  LEAK test_scan_suite.py::test_leak") for line in _section(result))


def test_scan_from_the_ini_file_and_off(pytester: pytest.Pytester) -> None:
    suite = SUITE.replace("def test_fails_on_its_own():\n    assert False", "")
    pytester.makepyfile(test_scan_suite=suite)
    pytester.makeini("[pytest]\nmemguard_scan = report\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == 0
    assert any(line.startswith("  LEAK ") for line in result.outlines), result.stdout.str()
    off = pytester.runpytest("-p", "no:cacheprovider", "--memguard-scan=off")
    assert off.ret == 0
    assert not any("memguard scan" in line for line in off.outlines)


def test_a_bad_scan_value_is_a_usage_error(run) -> None:
    result = run("--memguard-scan=sometimes", test_x="def test_x():\n    pass\n")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--memguard-scan: 'sometimes' is neither a mode (fail, report, off) nor a path*"]
    )


def test_scan_followed_by_a_test_path_takes_it_as_the_path(sub) -> None:
    """``pytest --memguard-scan file.py::test`` runs that test only (nargs='?' would
    otherwise take the path for the mode)."""
    result = sub(
        "--memguard-scan",
        "test_two.py::test_b",
        test_two="def test_a():\n    pass\n\ndef test_b():\n    pass\n",
    )
    result.assert_outcomes(passed=1)
    assert any(line.startswith("scanned 1 test(s)") for line in result.outlines)


def test_marked_tests_keep_their_settings_and_are_not_scanned(sub, pytester) -> None:
    suite = """
import pytest

@pytest.mark.memguard(iterations=16, warmup=2)
def test_marked():
    pass

def test_plain():
    pass
"""
    result = sub("--memguard-scan", "--memguard-json=out.json", test_m=suite)
    result.assert_outcomes(passed=2)
    data = json.loads((pytester.path / "out.json").read_text())
    tests = {t["nodeid"]: t for t in data["tests"]}
    assert tests["test_m.py::test_marked"]["scan"] == ""
    assert tests["test_m.py::test_marked"]["iterations"] >= 16
    assert tests["test_m.py::test_marked"]["warmup"] == 2
    assert tests["test_m.py::test_plain"]["scan"] == "clean"


def test_json_and_baseline_carry_every_scanned_test(sub, pytester: pytest.Pytester) -> None:
    suite = SUITE.replace("def test_fails_on_its_own():\n    assert False", "")
    result = sub(
        "--memguard-scan=report",
        "--memguard-json=out.json",
        "--memguard-html=out.html",
        "--memguard-save-baseline=base.json",
        test_scan_suite=suite,
    )
    assert result.ret == 0
    page = (pytester.path / "out.html").read_text()
    for status in ("clean", "confirmed", "not replayable"):
        assert f"<dt>Scan</dt><dd>{status}</dd>" in page
    data = json.loads((pytester.path / "out.json").read_text())
    status = {t["nodeid"].split("::")[1]: t["scan"] for t in data["tests"]}
    assert status == {
        "test_clean": "clean",
        "test_leak": "confirmed",
        "test_second_call_fails": "not replayable",
    }
    assert all(t["scan_seconds"] >= 0 for t in data["tests"])
    # A leak kept on every call is explained over the fewest calls that name its holder, the
    # last of them traced: its types and sites are over that one call, and nothing of the
    # replay's fresh fixtures (pytest's request, its finalizers, the values) is among them.
    (leak,) = [t for t in data["tests"] if t["scan"] == "confirmed"]
    assert scan.STEADY_EXPLAIN_CALLS == 2
    assert leak["explain_calls"] == (1 if guard.TRACE_ONE_CALL else 2)
    assert "  ├─ .LOG                     list (+2 items" in leak["explanation"][2]
    types = [(t["name"], t["count_delta"]) for t in leak["types"]]
    assert types == [("str", leak["explain_calls"])], leak["types"]  # one string a call
    sites = leak["explanation"][leak["explanation"].index("allocated at:") + 1 :]
    heads = [line.split(" at ")[-1] for line in sites if not line.startswith("    ")]
    assert heads[0] == "test_scan_suite.py:14", sites
    assert not any("pathlib" in head for head in heads), sites  # tmp_path's strings
    baseline = json.loads((pytester.path / "base.json").read_text())
    # tests measured by the scan; the not replayable one has no numbers to keep
    assert set(baseline["tests"]) == {
        "test_scan_suite.py::test_clean",
        "test_scan_suite.py::test_leak",
    }


def test_a_clean_body_scanned_many_times_is_clean(sub) -> None:
    """The screen never measures the plugin (or pytest) itself: 60 clean tests with fresh
    function-scoped fixtures, a session fixture and tmp_path, all clean."""
    suite = """
import pytest

@pytest.fixture(scope="session")
def config():
    return {"debug": False}

@pytest.fixture
def app(config, tmp_path):
    return {"config": dict(config), "path": tmp_path}

@pytest.mark.parametrize("n", range(60))
def test_clean(app, n, monkeypatch):
    monkeypatch.setenv("MEMGUARD_SCAN_TEST", str(n))
    app["routes"] = [n] * 10
    assert len(app["routes"]) == 10
"""
    result = sub("--memguard-scan", test_many=suite)
    result.assert_outcomes(passed=60)
    summary = next(line for line in result.outlines if line.startswith("scanned "))
    assert summary.startswith(
        "scanned 60 test(s): 0 confirmed leak(s), 0 suspected but not confirmed,"
        " 0 not replayable, 60 clean"
    ), result.stdout.str()


def test_not_replayable_reasons(sub) -> None:
    suite = """
import pytest

STATE = {"calls": 0}

@pytest.fixture
def broken_on_second_setup():
    STATE["calls"] += 1
    if STATE["calls"] > 1:
        raise RuntimeError("only once")
    return 1

def test_fixture_once(broken_on_second_setup):
    pass

def test_skips_on_replay():
    STATE["skip"] = STATE.get("skip", 0) + 1
    if STATE["skip"] > 1:
        pytest.skip("second time")
"""
    result = sub("--memguard-scan", test_nr=suite)
    text = "\n".join(_section(result))
    assert (
        "test_nr.py::test_fixture_once: not replayable: setting its fixtures up again raised"
        " RuntimeError: only once" in text
    ), text
    assert "test_nr.py::test_skips_on_replay: not replayable: call 2 (scan replay) raised" in text
    assert "Skipped: second time" in text
    assert result.ret == 0, result.stdout.str()


def test_a_replay_that_hangs_is_stopped(sub) -> None:
    """A replay that waits for what its first call had (here: an event set once) is stopped
    and reported as not replayable, never hangs the run."""
    suite = """
import threading, time

EVENT = threading.Event()
EVENT.set()

def test_waits():
    start = time.monotonic()
    assert EVENT.wait(timeout=60)
    EVENT.clear()
"""
    result = sub("--memguard-scan", test_hang=suite)
    text = "\n".join(_section(result))
    assert "test_hang.py::test_waits: not replayable: a replay ran over" in text, text
    assert result.ret == 0


def test_scan_under_xdist_gives_the_serial_verdicts(sub) -> None:
    suite = SUITE.replace("def test_fails_on_its_own():\n    assert False", "")
    serial = sub("--memguard-scan=report", "-p", "no:xdist", test_scan_suite=suite)
    parallel = sub("--memguard-scan=report", "-n", "2")

    def verdicts(result: pytest.RunResult) -> list[str]:
        section = _section(result)
        return [
            line.split(":")[0].strip() + " " + line.split()[0]
            for line in section
            if line.startswith("  ") and "::" in line
        ] + [next(line for line in section if line.startswith("scanned ")).split(";")[0]]

    assert verdicts(parallel) == verdicts(serial), parallel.stdout.str()
    assert any("LEAK" in line for line in verdicts(parallel))


FIXTURE_GROWTH = """
import pytest

@pytest.fixture
def app():
    return {"handlers": []}

@pytest.mark.memguard(iterations=16, warmup=2MODE)
def test_registers_a_handler(app):
    app["handlers"].append("handler number " + str(len(app["handlers"])))
"""


def test_fixtures_reuse_fails_on_the_tests_own_fixture(sub) -> None:
    result = sub(test_fx=FIXTURE_GROWTH.replace("MODE", ', fixtures="reuse"'))
    result.assert_outcomes(failed=1)
    assert ".app" in result.stdout.str()


def test_fixtures_fresh_passes(sub) -> None:
    result = sub(test_fx=FIXTURE_GROWTH.replace("MODE", ', fixtures="fresh"'))
    result.assert_outcomes(passed=1)


def test_fixtures_auto_says_held_by_fixture_and_judges_again(sub, pytester) -> None:
    result = sub("--memguard-json=out.json", test_fx=FIXTURE_GROWTH.replace("MODE", ""))
    result.assert_outcomes(passed=1)
    data = json.loads((pytester.path / "out.json").read_text())
    (entry,) = data["tests"]
    assert entry["rejudged"] == (
        "held by fixture 'app', which this test adds to on every call: judged again with"
        " fresh fixtures"
    )


def test_fixtures_auto_judges_again_when_a_replay_raises(sub, pytester) -> None:
    suite = """
import pytest

@pytest.fixture
def app():
    return {"setup_done": False}

@pytest.mark.memguard(iterations=16, warmup=2)
def test_setup_once(app):
    assert not app["setup_done"], "setup method can no longer be called"
    app["setup_done"] = True
"""
    result = sub("--memguard-json=out.json", test_once=suite)
    result.assert_outcomes(passed=1)
    (entry,) = json.loads((pytester.path / "out.json").read_text())["tests"]
    assert entry["rejudged"].startswith("a replay raised AssertionError with the first call's")


def test_a_real_leak_still_fails_under_auto(sub) -> None:
    suite = """
import pytest
KEPT = []

@pytest.fixture
def app():
    return {}

@pytest.mark.memguard(iterations=16, warmup=2)
def test_leaks(app):
    KEPT.append("kept " + str(len(KEPT)))
"""
    result = sub(test_real=suite)
    result.assert_outcomes(failed=1)
    assert "module test_real" in result.stdout.str()


def test_a_bad_fixtures_value_is_a_clear_error(sub) -> None:
    result = sub(
        test_bad="import pytest\n\n@pytest.mark.memguard(fixtures='new')\ndef test_x():\n    pass\n"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*@pytest.mark.memguard: fixtures='new' is not valid; use 'auto' or 'fresh' or 'reuse'*"]
    )


def test_fixtures_from_the_command_line_and_the_marker_over_it(sub) -> None:
    reuse = sub("--memguard-fixtures=reuse", test_fx=FIXTURE_GROWTH.replace("MODE", ""))
    reuse.assert_outcomes(failed=1)
    marker_wins = sub(
        "--memguard-fixtures=reuse",
        test_fx=FIXTURE_GROWTH.replace("MODE", ', fixtures="fresh"'),
    )
    marker_wins.assert_outcomes(passed=1)
    bad = sub("--memguard-fixtures=sometimes", test_fx=FIXTURE_GROWTH.replace("MODE", ""))
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--memguard-fixtures: fixtures='sometimes' is not valid*"])


def test_unittest_methods_and_hostile_tests_are_scanned(sub) -> None:
    suite = """
import sys
import unittest

KEPT = []

class TestCase(unittest.TestCase):
    def setUp(self):
        self.data = list(range(100))

    def test_clean(self):
        self.assertEqual(len(self.data), 100)

    def test_leaks(self):
        KEPT.append("kept " + str(len(KEPT)))

CALLS = []

def test_exits_on_replay():
    CALLS.append(1)
    if len(CALLS) > 1:
        sys.exit(3)
"""
    result = sub("--memguard-scan=report", test_ut=suite)
    assert result.ret == 0, result.stdout.str()
    text = "\n".join(_section(result))
    assert "  LEAK test_ut.py::TestCase::test_leaks: ~" in text, text
    assert "held by module test_ut.KEPT" in text
    assert "test_ut.py::test_exits_on_replay: not replayable: call 2 (scan replay) raised" in text
    assert "SystemExit: 3" in text
    assert "1 clean" in text


def test_a_fixture_that_registers_a_plugin_again_is_clean(sub, pytester) -> None:
    """Flask's ``reset_logging`` unregisters pytest's logging plugin and registers it again on
    teardown: pluggy records each registration in a historic hook's call history, one per
    test in a plain run. The replays' records are dropped, so only the body's growth shows."""
    suite = """
import pytest

KEPT = []

@pytest.fixture(autouse=True)
def reset_logging(pytestconfig):
    plugin = pytestconfig.pluginmanager.unregister(name="logging-plugin")
    yield
    if plugin:
        pytestconfig.pluginmanager.register(plugin, "logging-plugin")

def test_clean():
    assert sum(range(10)) == 45

def test_leaks():
    KEPT.append("kept " + str(len(KEPT)))
"""
    result = sub("--memguard-scan=report", "--memguard-json=out.json", test_plug=suite)
    assert result.ret == 0, result.stdout.str()
    data = json.loads((pytester.path / "out.json").read_text())
    status = {t["nodeid"].split("::")[1]: t["scan"] for t in data["tests"]}
    assert status["test_leaks"] == "confirmed", result.stdout.str()
    assert status["test_clean"] == "clean", result.stdout.str()
    assert "held by module test_plug.KEPT" in "\n".join(_section(result))


ASYNC_VIEWS = """
import flask
import pytest

KEPT = []

@pytest.fixture
def client():
    app = flask.Flask("async_views")

    @app.route("/leaks")
    async def leaks():
        KEPT.append({"path": flask.request.path, "n": len(KEPT)})
        return "ok"

    @app.route("/clean")
    async def clean():
        return "ok"

    return app.test_client()

@pytest.mark.parametrize("n", range(3))
def test_leaky_async_view(client, n):
    assert client.get("/leaks").data == b"ok"

@pytest.mark.parametrize("n", range(3))
def test_clean_async_view(client, n):
    assert client.get("/clean").data == b"ok"
"""


def test_a_small_leak_in_an_async_view_is_confirmed_and_a_clean_one_is_clean(sub) -> None:
    """Flask runs an async view through asgiref's ``async_to_sync``: a new event loop in a new
    thread per call, which exits only after the call. The ~200 B a call kept by a module list
    was hidden by that thread's ~40 blocks coming and going; now each sample waits for it."""
    pytest.importorskip("asgiref")
    result = sub("--memguard-scan=report", test_async_views=ASYNC_VIEWS)
    result.assert_outcomes(passed=6)
    section = _section(result)
    text = "\n".join(section)
    leaks = [line for line in section if line.startswith("  LEAK ")]
    assert sorted(line.split(":")[2] for line in leaks) == [
        f"test_leaky_async_view[{n}]" for n in range(3)
    ], text
    assert section.count("    held by module test_async_views.KEPT") == 3, text
    # the clean views are clean, or at worst found bounded (the first one of a run may see
    # the threads' bookkeeping grow once): never a leak
    summary = next(line for line in section if line.startswith("scanned "))
    assert summary.startswith("scanned 6 test(s): 3 confirmed leak(s), "), text
    assert "0 not replayable" in summary, text


SLOWER_LEAK = (
    FIRST
    + """
import itertools

COUNT = itertools.count()
KEPT = []

def test_leaks_less_after_the_screen():
    n = next(COUNT)
    if n < 5:  # its own call and the screen's 4 replays: a fast rise, so a short confirmation
        KEPT.extend([f"first {n} {i}" for i in range(30)])
    elif n % 3 == 0:
        KEPT.extend((f"then one in three calls {n}", f"kept {n}", f"and {n}"))
"""
)


def test_a_suspect_found_bounded_by_a_short_confirmation_is_judged_again_at_full_length(
    sub, pytester: pytest.Pytester
) -> None:
    """The screen's rate sets a short confirmation (16 calls, windows of 2): a leak of three
    strings every third call then leaves windows without a rise and looks bounded. A suspect
    found bounded by a run shorter than the default is judged again with the default. (With
    two strings, ~43 B a call, the full run once found a plateau on a loaded CPython 3.10.)"""
    result = sub("--memguard-scan=report", "--memguard-json=out.json", test_slower=SLOWER_LEAK)
    result.assert_outcomes(passed=2)
    section = _section(result)
    text = "\n".join(section)
    assert section[1].startswith("  LEAK test_slower.py::test_leaks_less_after_the_screen:"), text
    assert section[2] == "    held by module test_slower.KEPT", text
    # A leak that skips calls is not explained over the steady leak's fewer calls.
    tests = json.loads((pytester.path / "out.json").read_text())["tests"]
    (leak,) = [t for t in tests if t["scan"] == "confirmed"]
    assert leak["explain_calls"] == scan.SCAN_EXPLAIN_CALLS
