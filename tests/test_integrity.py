"""No verdict is silently wrong: every marked item is guarded or told why not, what the calls
said (warnings, exceptions, output, status codes) reaches the user once, and every guarded
run is in the report."""

from __future__ import annotations

import json

import pytest


def test_unittest_method_is_replayed_and_judged(run) -> None:
    result = run(
        "--memguard-report",
        test_unit="""
        import unittest
        import pytest

        KEPT = []

        @pytest.mark.memguard(iterations=60, warmup=5)
        class TestAuth(unittest.TestCase):
            def setUp(self):
                self.calls = []  # fresh per replay, as unittest makes it

            def test_leaks(self):
                self.calls.append(1)
                KEPT.append(bytearray(200))

            def test_clean(self):
                self.calls.append(1)
                self.assertEqual(len(self.calls), 1)
        """,
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "LeakError: memguard: test body: still growing*",
            "*├─ .KEPT*list*",
        ]
    )
    result.stdout.fnmatch_lines(["test_unit.py::TestAuth::test_clean*PASSED*flat*"])


def test_unittest_replay_failure_says_which_call(run) -> None:
    result = run(
        test_unit="""
        import unittest
        import pytest

        CALLS = []

        @pytest.mark.memguard(iterations=20, warmup=2)
        class TestOnce(unittest.TestCase):
            def test_once(self):
                CALLS.append(1)
                self.assertLess(len(CALLS), 4)
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: 4 not less than 4*", "*raised on call 4*"])


def test_item_kind_that_cannot_be_replayed_fails_with_the_reason(
    run, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(
        """
        import pytest

        def pytest_collection_modifyitems(items):
            for item in items:
                item.add_marker(pytest.mark.memguard)
        """
    )
    pytester.makepyfile(
        mod='''
        def double(x):
            """
            >>> double(2)
            4
            """
            return 2 * x
        '''
    )
    result = run("--doctest-modules", "mod.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*cannot replay a DoctestItem item*memguard fixture*or remove the marker*"]
    )


WARNS_ON_FIVE = """
import warnings
import pytest

CALLS = [0]

@pytest.mark.memguard(iterations=20, warmup=2)
def test_warns_later():
    CALLS[0] += 1
    if CALLS[0] == 5:
        warnings.warn("old API used", DeprecationWarning)
"""


def test_warning_raised_only_on_a_replay_is_shown_once_with_its_call(run) -> None:
    result = run("-W", "always::DeprecationWarning", test_w=WARNS_ON_FIVE)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*DeprecationWarning: old API used (memguard: first raised on call 5)*"]
    )
    assert result.stdout.str().count("DeprecationWarning: old API used") == 1


def test_warning_raised_only_on_a_replay_fails_under_w_error(run) -> None:
    result = run("-W", "error::DeprecationWarning", "--memguard-report", test_w=WARNS_ON_FIVE)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*DeprecationWarning: old API used (memguard: first raised on call 5)*",
            "test_w.py::test_warns_later*ERROR*",
        ]
    )


def test_first_call_warning_is_not_repeated_by_the_replays(run) -> None:
    result = run(
        test_w="""
        import warnings
        import pytest

        @pytest.mark.memguard(iterations=20, warmup=2)
        def test_always_warns():
            warnings.warn("every call", UserWarning)
        """
    )
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert out.count("UserWarning: every call") == 1
    assert "first raised on call" not in out


def test_exception_while_explaining_is_the_failure(run) -> None:
    result = run(
        test_x="""
        import pytest

        KEPT = []

        class ConnectionLost(Exception):
            pass

        @pytest.mark.memguard(iterations=40, warmup=5, max_growth_kb=16)
        def test_leaks_then_drops():
            KEPT.append(bytearray(4096))
            if len(KEPT) > 45:  # only the explanation pass gets here
                raise ConnectionLost("backend went away")
        """
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ConnectionLost: backend went away",
            "*memguard: raised on call 46 (explaining a failed verdict: retained *)",
        ]
    )
    assert "no explanation" not in result.stdout.str()


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ("sys.exit(3)", "*SystemExit: 3"),
        ("pytest.fail('boom on replay')", "*Failed: boom on replay"),
        ("with pytest.raises(ValueError):\n                    pass", "*DID NOT RAISE*"),
    ],
    ids=["SystemExit", "pytest.fail", "DID NOT RAISE"],
)
def test_outcome_exceptions_on_a_replay_say_which_call(
    run, pytester: pytest.Pytester, body: str, shown: str
) -> None:
    result = run(
        "--memguard-json",
        "out.json",
        test_x=f"""
        import sys
        import pytest

        CALLS = [0]

        @pytest.mark.memguard(iterations=20, warmup=2)
        def test_third_call():
            CALLS[0] += 1
            if CALLS[0] == 3:
                {body}
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([shown, "*memguard: raised on call 3 (measured)*"])
    (entry,) = json.loads((pytester.path / "out.json").read_text())["tests"]
    assert entry["error"] is True
    assert entry["measured"] is False
    assert "raised on call 3 (measured)" in entry["reason"]


FROZEN = """
import dataclasses
import pytest

@dataclasses.dataclass(frozen=True)
class Refused(Exception):
    code: int

CALLS = [0]

{marker}
def test_frozen():
    CALLS[0] += 1
    if CALLS[0] >= {at}:
        raise Refused(CALLS[0])
"""


def test_exception_refusing_notes_is_shown_as_pytest_shows_it(run) -> None:
    guarded = run(
        "--tb=short", test_f=FROZEN.format(marker="@pytest.mark.memguard(iterations=16)", at=3)
    )
    guarded.assert_outcomes(failed=1)
    guarded.stdout.fnmatch_lines(["*Refused: 3", "*memguard: raised on call 3 (warm-up)*"])
    # pytest's own context managers stumble on such an exception, with or without memguard:
    # the plugin adds no FrozenInstanceError of its own.
    plain = run("--tb=short", "-p", "no:memguard", test_f=FROZEN.format(marker="", at=1))
    assert guarded.stdout.str().count("FrozenInstanceError") == plain.stdout.str().count(
        "FrozenInstanceError"
    )


def test_runs_that_raise_before_a_verdict_are_in_every_report(
    run, pytester: pytest.Pytester
) -> None:
    result = run(
        "--memguard-report",
        "--memguard-json",
        "out.json",
        test_x="""
        import pytest

        CALLS = [0]

        @pytest.mark.memguard
        def test_second_call_raises():
            CALLS[0] += 1
            if CALLS[0] == 2:
                raise RuntimeError("setup method can no longer be called")

        def test_fixture(memguard):
            memguard.run(lambda: 1 / 0, iterations=16, warmup=1)
        """,
    )
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "test_x.py::test_fixture [[]run(test_fixture.<locals>.<lambda>)[]]*ERROR*",
            "test_x.py::test_second_call_raises*ERROR*",
            "2 guarded, 0 failed, 2 not judged (raised before a verdict)",
        ]
    )
    data = json.loads((pytester.path / "out.json").read_text())
    reasons = {t["nodeid"].split("::")[1]: t["reason"] for t in data["tests"]}
    assert reasons == {
        "test_fixture": "not judged: ZeroDivisionError: division by zero (raised on call 1"
        " (warm-up))",
        "test_second_call_raises": "not judged: RuntimeError: setup method can no longer be"
        " called (raised on call 2 (warm-up))",
    }
    assert data["summary"]["not_judged"] == 2


@pytest.mark.parametrize("capture", ["fd", "sys"])
def test_output_of_the_replays_is_kept_once_and_never_counts(run, capture: str) -> None:
    result = run(
        f"--capture={capture}",
        "-rP",
        "--memguard-report",
        test_p="""
        import pytest

        @pytest.mark.memguard
        def test_prints():
            print("hello from the body " + "x" * 200)
        """,
    )
    result.assert_outcomes(passed=1)
    assert result.stdout.str().count("hello from the body") == 1
    result.stdout.fnmatch_lines(["test_p.py::test_prints*PASSED*flat*"])


def test_marker_typo_is_shown_once(run) -> None:
    result = run(
        test_t="""
        import pytest

        @pytest.mark.memguard(iterationz=20)
        def test_typo():
            pass
        """
    )
    result.assert_outcomes(errors=1)
    body = [line for line in result.stdout.lines if line.startswith("@pytest.mark.memguard")]
    assert body == [
        "@pytest.mark.memguard: unknown keyword 'iterationz'; did you mean 'iterations'?"
    ]
    assert "During handling of the above exception" not in result.stdout.str()


FLASK_APP = """
import pytest
from flask import Flask

app = Flask(__name__)

@app.get("/")
def index():
    return "ok"
"""


def test_status_codes_are_recorded_and_error_pages_warn(run, pytester: pytest.Pytester) -> None:
    result = run(
        "--memguard-json",
        "out.json",
        test_s=FLASK_APP
        + """
def test_index(memguard):
    memguard.flask(app, "/", iterations=20, warmup=2)

def test_typo_path(memguard):
    memguard.flask(app, "/idnex", iterations=20, warmup=2)
""",
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*test_s.py:*MemguardStatusWarning: memguard: flask GET /idnex: every call got 404,"
            " so this run measured error pages*expect_status=*",
        ]
    )
    assert "GET /: every call" not in result.stdout.str()
    data = json.loads((pytester.path / "out.json").read_text())
    statuses = {t["nodeid"].split("::")[1]: t["statuses"] for t in data["tests"]}
    assert statuses["test_index"] == {"200": statuses["test_index"]["200"]}
    assert statuses["test_index"]["200"] >= 22
    assert set(statuses["test_typo_path"]) == {"404"}


def test_unexpected_status_is_the_first_thing_shown(run) -> None:
    result = run(
        test_s=FLASK_APP
        + """
def test_typo_path(memguard):
    memguard.flask(app, "/idnex", expect_status=200)
""",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            '*memguard.flask(app, "/idnex", expect_status=200)',
            "E*UnexpectedStatus: expected status 200 for GET /idnex, got 404 (call 1)",
        ]
    )
    assert "def measure(" not in result.stdout.str()
    assert "pytest_memguard/" not in result.stdout.str()  # no frame of the plugin's own


def test_logged_exception_of_the_last_call_never_counts(sub) -> None:
    """pytest's log capture holds the last call's record: its traceback holds the frames and
    everything they hold (here a whole app made per call, as a unittest ``setUp`` does).

    In a subprocess: in-process, this suite's own log capture would record the inner run's logs.
    """
    result = sub(
        "-rP",
        "--memguard-report",
        test_l="""
        import pytest
        from flask import Flask

        def make_app():
            app = Flask(__name__)
            for n in range(15):
                app.add_url_rule(f"/page{n}", f"page{n}", lambda: "ok")

            @app.get("/")
            def broken():
                raise TypeError("REMEMBER_COOKIE_DURATION must be a timedelta")

            return app

        @pytest.mark.memguard(max_growth_kb=48, iterations=60)
        def test_500_is_logged():
            app = make_app()
            assert app.test_client().get("/").status_code == 500
        """,
    )
    result.assert_outcomes(passed=1)
    assert result.stdout.str().count("Exception on / [GET]") == 1  # the test's own call, once
    result.stdout.fnmatch_lines(["test_l.py::test_500_is_logged*PASSED*"])
