"""End to end: the marker, the fixture, options and messages, as users see them."""

from __future__ import annotations

import pytest
from helpers import CLEAN, LEAKY


def test_marker_catches_the_canonical_leak_far_under_the_bound(run) -> None:
    result = run(test_leak=LEAKY)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "LeakError: memguard: test body: still growing at ~* B/call,"
            " would cross the bound after ~* calls",
            "*retained * KiB (limit 64.0 KiB) after 400 measured calls*shape growing*",
            "*top growing types*:",
            "*str*objects*KiB",
            "*allocated at:",
            "*test_leak.py:6",
        ]
    )
    # shown as its message, not a plugin traceback
    result.stdout.no_fnmatch_line("*pytest_memguard/*.py:*")


def test_marker_passes_clean_code(run) -> None:
    run(test_clean=CLEAN).assert_outcomes(passed=1)


def test_marker_replays_the_body_with_fixtures_set_up_once(run) -> None:
    result = run(
        test_calls="""
        import pytest
        setups = []
        calls = []

        @pytest.fixture
        def thing():
            setups.append(1)
            return object()

        @pytest.mark.memguard(iterations=30, warmup=5)
        def test_body(thing):
            calls.append(thing)
            calls.pop()

        def test_counts():
            assert setups == [1]
        """
    )
    result.assert_outcomes(passed=2)


def test_marker_call_count_is_warmup_plus_iterations(run) -> None:
    run(
        test_count="""
        import pytest
        n = [0]

        @pytest.mark.memguard(iterations=30, warmup=5)
        def test_body():
            n[0] += 1

        def test_after():
            assert n[0] == 35
        """
    ).assert_outcomes(passed=2)


def test_a_failing_body_fails_normally_without_a_verdict(run) -> None:
    result = run(
        test_fail="""
        import pytest

        @pytest.mark.memguard
        def test_body():
            assert 1 == 2
        """
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert 1 == 2*"])
    result.stdout.no_fnmatch_line("*LeakError*")


def test_body_failing_on_a_later_call_shows_that_exception_and_the_call(run) -> None:
    result = run(
        test_later="""
        import pytest
        n = [0]

        @pytest.mark.memguard(iterations=50, warmup=5)
        def test_body():
            n[0] += 1
            if n[0] == 12:
                raise ValueError("bad header on this call")
        """
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*ValueError: bad header on this call", "*raised on call 12 (measured)*"]
    )


def test_bounded_cache_plateau_passes_and_is_reported_as_plateau(run) -> None:
    result = run(
        "--memguard-report",
        test_cache="""
        import functools, pytest
        n = [0]

        @functools.lru_cache(maxsize=128)
        def check(user):
            return [user] * 4

        @pytest.mark.memguard(max_growth_kb=64)
        def test_rotating():
            n[0] += 1
            check(f"user{n[0]}")
        """,
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_rotating*PASSED*KiB*plateau*"])


def test_bounded_cache_over_the_bound_fails_as_plateau(run) -> None:
    result = run(
        test_cache="""
        import collections, pytest
        ring = collections.deque(maxlen=100)

        @pytest.mark.memguard(max_growth_kb=16)
        def test_ring():
            ring.append(bytes(1024 + len(ring)))
        """
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*retained * KiB over the bound of 16.0 KiB*"])


def test_marker_on_class_module_and_param_closest_wins(run) -> None:
    result = run(
        test_where="""
        import collections, pytest
        pytestmark = pytest.mark.memguard(iterations=20, warmup=2)
        calls = collections.Counter()

        def test_module_level():
            calls["module"] += 1

        @pytest.mark.memguard(iterations=25, warmup=3)
        class TestClass:
            def test_in_class(self):
                calls["class"] += 1

            @pytest.mark.memguard(iterations=30, warmup=4)
            def test_closest(self):
                calls["closest"] += 1

        @pytest.mark.parametrize("x", [pytest.param(1, marks=pytest.mark.memguard(iterations=35))])
        def test_param(x):
            calls["param"] += 1

        def test_zz_counts():
            assert calls == {"module": 22, "class": 28, "closest": 34, "param": 55}
        """,
    )
    result.assert_outcomes(passed=5)


def test_fixture_run_returns_a_result(run) -> None:
    run(
        test_fx="""
        def test_run(memguard):
            result = memguard.run(lambda: [0] * 100, iterations=50)
            assert result.passed and result.shape == "flat"
            assert result.iterations == 50 and result.warmup == 20
            assert result.limit_kb == 64.0 and result.growth_kb < 1
            assert isinstance(result.types, tuple)
        """
    ).assert_outcomes(passed=1)


def test_fixture_run_fails_a_leak_pointing_at_the_test_line(run) -> None:
    result = run(
        test_fx="""
        def test_run(memguard):
            keep = []
            memguard.run(lambda: keep.append(bytes(2000)), max_growth_kb=16)
        """
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "LeakError: memguard: run(test_run.<locals>.<lambda>): retained * KiB,"
            " over the bound of 16.0 KiB, and still growing*",
            "*bytes*+* objects*",
            "test_fx.py:3: guarded here",
        ]
    )


def test_marker_sets_the_defaults_of_fixture_calls_without_replaying(run) -> None:
    run(
        test_fx="""
        import pytest
        n = [0]

        @pytest.mark.memguard(iterations=40, warmup=3, max_growth_kb=8)
        def test_both(memguard):
            n[0] += 1
            result = memguard.run(lambda: None)
            assert (result.iterations, result.warmup, result.limit_kb) == (40, 3, 8.0)
            result = memguard.run(lambda: None, iterations=16)
            assert result.iterations == 16

        def test_body_ran_once():
            assert n[0] == 1
        """
    ).assert_outcomes(passed=2)


def test_precedence_marker_over_cli_over_ini(run, pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".ini",
        pytest="[pytest]\nconsole_output_style = classic\n"
        "memguard_iterations = 30\nmemguard_warmup = 4\nmemguard_max_growth_kb = 10\n",
    )
    pytester.makepyfile(
        test_p="""
        import pytest

        def test_ini_and_cli(memguard):
            r = memguard.run(lambda: None)
            assert (r.iterations, r.warmup, r.limit_kb) == (55, 4, 10.0)

        @pytest.mark.memguard(iterations=66)
        def test_marker(memguard):
            assert memguard.run(lambda: None).iterations == 66
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--memguard-iterations=55")
    result.assert_outcomes(passed=2)


def test_ini_alone_is_honoured(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmemguard_iterations = 33\n")
    pytester.makepyfile(
        test_i="""
        def test_ini(memguard):
            assert memguard.run(lambda: None).iterations == 33
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_strict_markers_and_markers_help(run, pytester: pytest.Pytester) -> None:
    run("--strict-markers", test_clean=CLEAN).assert_outcomes(passed=1)
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.memguard(max_growth_kb=None, iterations=None*"])


def test_help_lists_every_option_in_one_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "memory growth guard (pytest-memguard):",
            "*--memguard-iterations=N*",
            "*--memguard-warmup=N*",
            "*--memguard-max-growth-kb=N*",
            "*--memguard-disable*",
            "*--memguard-report*",
        ]
    )
    for key in ("iterations", "warmup", "max_growth_kb", "disable", "report"):
        result.stdout.fnmatch_lines([f"*memguard_{key} *"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--memguard-iterations=abc"], "*--memguard-iterations: iterations='abc' is not valid*"),
        (["--memguard-max-growth-kb=nan"], "*--memguard-max-growth-kb: max_growth_kb=nan*"),
        (["--memguard-warmup=-3"], "*--memguard-warmup: warmup=-3 is not valid*"),
    ],
)
def test_bad_cli_value_is_a_usage_error(run, args: list[str], message: str) -> None:
    result = run(*args, test_clean=CLEAN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


def test_bad_ini_value_names_the_ini_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmemguard_max_growth_kb = lots\n")
    pytester.makepyfile(test_clean=CLEAN)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: ini memguard_max_growth_kb: max_growth_kb='lots'*"])


def test_bad_fixture_input_is_a_test_failure_with_a_message(run) -> None:
    result = run(
        test_fx="""
        def test_not_flask(memguard):
            memguard.flask(object())

        def test_bound(memguard):
            memguard.run(lambda: None, max_growth_kb=-4)

        def test_not_callable(memguard):
            memguard.run(42)
        """
    )
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "*TypeError: memguard.flask() needs a Flask app or its test client*got object",
            "*memguard.run(): max_growth_kb=-4 is not valid*",
            "*TypeError: memguard.run() needs a callable, got int",
        ]
    )
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


def test_disable_ignores_markers_and_judges_nothing(run) -> None:
    result = run(
        "--memguard-disable",
        "--memguard-report",
        test_leak=LEAKY,
        test_fx="""
        n = [0]
        def test_once(memguard):
            result = memguard.run(lambda: n.append(1))
            assert not result.measured and len(n) == 2
        """,
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_once*SKIPPED*"])


def test_report_table_lists_every_guarded_test(run) -> None:
    result = run("--memguard-report", test_leak=LEAKY, test_clean=CLEAN)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*= memguard report =*",
            "test*verdict*growth*limit*per call*shape*top growing type",
            "test_clean.py::test_clean*PASSED*KiB*64.0 KiB*B*flat*-",
            "test_leak.py::test_leaky*FAILED*KiB*64.0 KiB*B*growing*str +*",
            "2 guarded, 1 failed",
        ]
    )


def test_report_from_ini_and_without_guarded_tests(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmemguard_report = true\n")
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*= memguard report =*", "no guarded tests ran"])


def test_pytest_log_capture_is_not_a_leak(pytester: pytest.Pytester) -> None:
    # In a subprocess: in-process, the outer pytest's own log capture would see the records.
    pytester.makepyfile(
        test_logs="""
        import logging, pytest
        log = logging.getLogger("app")

        @pytest.mark.memguard(max_growth_kb=64)
        def test_logs_each_call(caplog):
            log.warning("request handled for %s", "alice")
            assert len(caplog.records) == 1
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_warnings_are_not_a_leak_and_still_reported_once(run) -> None:
    result = run(
        test_warns="""
        import warnings, pytest

        @pytest.mark.memguard(max_growth_kb=64)
        def test_warns():
            warnings.warn("old api", DeprecationWarning)
        """
    )
    result.assert_outcomes(passed=1, warnings=1)


def test_gc_and_tracemalloc_state_restored_after_pass_and_failure(run) -> None:
    run(
        test_state="""
        import gc, tracemalloc, pytest
        _log = []

        @pytest.mark.memguard
        def test_leaky():
            _log.append(str(len(_log)))

        def test_state_after():
            assert gc.isenabled()
            assert gc.get_threshold() == THRESHOLDS
            assert gc.get_freeze_count() == 0
            assert not tracemalloc.is_tracing()

        THRESHOLDS = gc.get_threshold()
        """
    ).assert_outcomes(failed=1, passed=1)


def test_nested_guarded_calls_are_refused(run) -> None:
    result = run(
        test_nested="""
        def test_nested(memguard):
            memguard.run(lambda: memguard.run(lambda: None))
        """
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cannot run inside another guarded call*"])


def test_async_test_is_replayed_under_pytest_asyncio(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytest-asyncio runs the coroutine through a synchronous wrapper: each replay is a run.
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:randomly")
    pytester.makeini(
        "[pytest]\nconsole_output_style = classic\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(
        test_async="""
        import asyncio, collections, pytest

        calls = collections.Counter()
        kept = []

        @pytest.mark.asyncio
        @pytest.mark.memguard(max_growth_kb=64)
        async def test_clean_coroutine():
            await asyncio.sleep(0)
            calls["clean"] += 1

        @pytest.mark.asyncio
        @pytest.mark.memguard(max_growth_kb=64)
        async def test_leaky_coroutine():
            await asyncio.sleep(0)
            kept.append(f"user:pw-{len(kept)}" * 2)

        def test_replayed():
            assert calls["clean"] == 220  # the first call, 19 more warm-up, 200 measured
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:benchmark")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_leaky_coroutine*",
            "LeakError: memguard: test body: still growing*",
            "*retained via:*",
            "*├─ .kept*list*",
        ]
    )


def test_async_test_without_async_plugin_is_a_clear_error(run) -> None:
    result = run(
        test_async="""
        import pytest

        @pytest.mark.memguard
        async def test_async():
            pass
        """,
    )
    # pytest itself fails the test with its own clear message before anything is replayed.
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*async def functions are not natively supported*"])
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
    result.stdout.no_fnmatch_line("*LeakError*")


@pytest.mark.parametrize(("option", "kept"), [((), False), (("--memguard-json=out.json",), True)])
def test_results_keep_their_series_only_for_the_reports_that_draw_them(
    run, option: tuple[str, ...], kept: bool
) -> None:
    # 500 guarded tests kept ~2.8 MiB of series that nothing drew without a JSON or HTML report.
    result = run(
        *option,
        conftest="""
        from pytest_memguard.fixture import SESSION_KEY

        def pytest_sessionfinish(session):
            results = session.config.stash[SESSION_KEY].results
            lengths = [len(r.series) for r in results] + [
                len(c.series) for r in results for c in r.resources
            ]
            print(f"\\nSERIES {min(lengths)} {max(lengths)}")
        """,
        test_s="""
        import pytest

        @pytest.mark.memguard(iterations=32)
        def test_body():
            assert [1] * 4
        """,
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["SERIES 32 32" if kept else "SERIES 0 0"])
