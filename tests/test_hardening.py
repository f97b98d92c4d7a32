"""Rough edges: bad input, faults, other plugins. Each one a clear message, never INTERNALERROR."""

from __future__ import annotations

import json

import pytest
from helpers import CLEAN, LEAKY


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("max_growth_kb=float('nan')", "max_growth_kb=nan is not valid"),
        ("max_growth_kb=float('inf')", "max_growth_kb=inf is not valid"),
        ("iterations=0", "iterations=0 is not valid"),
        ("warmup=-1", "warmup=-1 is not valid"),
        ("max_growth_kb='abc'", "max_growth_kb='abc' is not valid"),
        ("'64'", "takes keywords only"),
        ("iterationz=5", "did you mean 'iterations'?"),
        ("max_grwth_kb=64", "unknown keyword 'max_grwth_kb'; did you mean 'max_growth_kb'?"),
        ("max_growth_kb=-1", "max_growth_kb=-1 is not valid"),
        ("64", "takes keywords only"),
        ("ignore='not a:valid:holder'", "ignore="),
    ],
)
def test_bad_marker_table(run, marker: str, message: str) -> None:
    result = run(
        test_bad=f"""
        import pytest

        @pytest.mark.memguard({marker})
        def test_x():
            pass
        """
    )
    result.assert_outcomes(errors=1)
    # the message names where the bad value came from, on the same line
    result.stdout.fnmatch_lines([f"*@pytest.mark.memguard*{message}*"])
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            "memguard.flask(object())",
            "needs a Flask app or its test client (app.test_client()), got object",
        ),
        ("memguard.flask(app, auth='alice:s3cret')", "auth must be a (user, password) pair"),
        ("memguard.flask(app, auth=('a', 'b', 'c'))", "got a 3-tuple"),
        ("memguard.flask(app, auth=('alice', 42))", "pair of str"),
        ("memguard.flask(app, auth=('al:ice', 'pw'))", "cannot contain ':' (RFC 7617)"),
        ("memguard.flask(app, path=42)", "path must be a non-empty str"),
        ("memguard.run(lambda: None, iterations=0)", "iterations=0 is not valid"),
        ("memguard.run(lambda: memguard.run(lambda: None))", "cannot run inside another"),
    ],
)
def test_bad_fixture_input_table(run, call: str, message: str) -> None:
    result = run(
        test_fx=f"""
        from flask import Flask
        app = Flask(__name__)
        app.add_url_rule("/", "i", lambda: "ok")

        def test_x(memguard):
            {call}
        """
    )
    result.assert_outcomes(failed=1)
    errors = [line for line in result.stdout.lines if message in line]
    assert errors, result.stdout.str()
    assert not any("s3cret" in line for line in errors)  # the message never echoes a credential
    result.stdout.no_fnmatch_line("*pytest_memguard/flask.py*")  # usage errors point at the test
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


def test_unicode_credentials_are_sent_as_utf8_and_redacted(run) -> None:
    result = run(
        test_u="""
        import base64
        from flask import Flask, request
        app = Flask(__name__)
        seen = []

        @app.get("/")
        def index():
            seen.append(request.authorization.password)
            return "ok"

        def test_unicode(memguard):
            memguard.flask(app, "/", auth=("zoë", "pässwörd"), expect_status=200)
        """
    )
    result.assert_outcomes(failed=1)  # the app keeps every password: a leak
    assert "pässwörd" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*<redacted credential>*"])


def test_exception_on_call_k_shows_the_exception_not_a_verdict(run) -> None:
    result = run(
        test_k="""
        n = [0]

        def flaky():
            n[0] += 1
            if n[0] == 30:
                raise RuntimeError("connection reset on this call")

        def test_k(memguard):
            memguard.run(flaky)
        """
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*RuntimeError: connection reset on this call", "*raised on call 30 (measured)*"]
    )
    result.stdout.no_fnmatch_line("*LeakError*")


def test_keyboard_interrupt_stops_pytest_and_restores_state(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import gc, json, tracemalloc

        def pytest_sessionfinish(session):
            state = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
                     "tracing": tracemalloc.is_tracing()}
            with open("state.json", "w") as f:
                json.dump(state, f)
        """
    )
    pytester.makepyfile(
        test_int="""
        import pytest
        n = [0]

        @pytest.mark.memguard
        def test_interrupted():
            n[0] += 1
            if n[0] == 50:
                raise KeyboardInterrupt

        def test_never_runs():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*"])
    state = json.loads((pytester.path / "state.json").read_text())
    assert state == {"enabled": True, "frozen": 0, "tracing": False}


def test_background_thread_is_reported_as_a_disturbance(run) -> None:
    result = run(
        test_thread="""
        import threading, time, pytest
        stop = threading.Event()
        junk = []

        def churn():
            while not stop.is_set():
                junk.append(object())
                time.sleep(0.0005)

        def test_with_thread(memguard):
            worker = threading.Thread(target=churn, daemon=True)
            worker.start()
            try:
                memguard.run(lambda: time.sleep(0.002), iterations=100)  # lets the thread run
            finally:
                stop.set()
                worker.join()

        def test_idle_thread_is_no_disturbance(memguard):
            idle = threading.Event()
            worker = threading.Thread(target=idle.wait, daemon=True)
            worker.start()
            try:
                assert not memguard.run(lambda: None, iterations=20).disturbed
            finally:
                idle.set()
        """
    )
    # The churning thread's objects look like a leak of the guarded callable: the failure
    # must say that the measurement was disturbed, so nobody chases a leak that is not there.
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*note: measurement disturbed: 1 other thread(s) ran during*"])


def test_no_memguard_leaves_no_trace(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        import pytest
        n = [0]

        @pytest.mark.memguard
        def test_marked():
            n[0] += 1

        def test_ran_once():
            assert n == [1]
        """
    )
    result = pytester.runpytest("-p", "no:memguard", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    help_text = pytester.runpytest("-p", "no:memguard", "--help").stdout.str()
    assert "memguard" not in help_text
    markers = pytester.runpytest("-p", "no:memguard", "--markers").stdout.str()
    assert "memguard" not in markers


def test_exitfirst_stops_after_the_first_leak(run) -> None:
    result = run(
        "-x",
        test_leak=LEAKY,
        test_more="""
        def test_after():
            pass
        """,
    )
    result.assert_outcomes(failed=1)


def test_rerunfailures_guards_each_rerun_afresh(run) -> None:
    result = run(
        "--reruns",
        "1",
        "--memguard-report",
        test_flaky="""
        import pytest
        attempts = [0]

        @pytest.mark.memguard(iterations=40, warmup=3)
        def test_flaky_then_clean():
            attempts[0] += 1
            if attempts[0] == 1:
                raise AssertionError("first attempt fails before any replay")
        """,
    )
    outcomes = result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("rerun")) == (1, 1), outcomes
    result.stdout.fnmatch_lines(["*test_flaky_then_clean*PASSED*flat*", "1 guarded, 0 failed"])


def test_randomly_and_timeout_keep_the_verdicts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_leak=LEAKY, test_clean=CLEAN)
    result = pytester.runpytest_subprocess(
        "-p", "randomly", "-p", "no:cacheprovider", "--timeout=120", "-p", "timeout"
    )
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*Using --randomly-seed=*"])


def test_a_class_the_collector_left_without_an_mro_is_walked_past(sub) -> None:
    """A class that is its own metaclass (h11's sentinels) outlives its module with no MRO: the
    collector clears it and cannot free it. Walking the heap past it must not crash the process
    (an ABC's subclass check crashed CPython 3.10 and 3.11) nor hide the explanation."""
    result = sub(
        "-q",
        conftest="""
        import gc

        class Sentinel(type):
            def __new__(cls, name, bases, namespace):
                made = super().__new__(cls, name, bases, namespace)
                made.__class__ = made
                return made

        class Gone(Sentinel, metaclass=Sentinel):
            pass

        del Gone
        gc.collect()
        """,
        test_zombie="""
        import gc
        import os
        import select

        import pytest

        KEPT = []

        def test_the_class_is_there():
            (gone,) = [o for o in gc.get_objects() if type(o) is o]
            assert type.__dict__["__mro__"].__get__(gone) is None

        @pytest.mark.memguard
        def test_epoll():
            KEPT.append(select.epoll())

        @pytest.mark.memguard
        def test_pipe():
            KEPT.extend(os.pipe())

        @pytest.mark.memguard
        def test_bytes():
            KEPT.append(bytearray(512))
        """,
    )
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*still growing: +1 file descriptor per call (eventpoll)*",
            "*x eventpoll, made at test_zombie.py:15*",
            "*still growing: +2 file descriptors per call (pipe (os.pipe))*",
            "*bytearray*+50 objects*",
            "*.KEPT*list (+50 items*",
        ],
        consecutive=False,
    )
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
