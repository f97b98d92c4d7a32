"""Small runs are judged or refused, never silently passed; one-time steps are named, not counted.

End to end through the marker and the fixture, in-process (the ``run`` fixture): the verdict is
meant to hold under an xdist worker and under coverage, so these tests run where the noise is.
"""

from __future__ import annotations

import fnmatch
import json

import pytest

from pytest_memguard.verdict import MIN_ITERATIONS

#: The steady leak of issue 10: a list of 100-byte strings, one more per call (~66 B/call as
#: counted; ~157 B/call real). Before the rule's change it passed as a plateau at 24, 40, 48.
STEADY_LEAK = """
import pytest
kept = []

@pytest.mark.memguard(iterations={n})
def test_steady():
    kept.append("x" * 97 + str(len(kept) % 10) * 3)
"""

TOO_FEW = f"use a whole number from {MIN_ITERATIONS} to 1,000,000 (fewer than {MIN_ITERATIONS}"


@pytest.mark.parametrize("n", [MIN_ITERATIONS, 17, 24, 40, 48, 66])
def test_a_steady_leak_of_66_bytes_a_call_fails_at_every_accepted_iteration_count(
    run, n: int
) -> None:
    result = run(test_steady=STEADY_LEAK.format(n=n))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*LeakError: memguard: test body: still growing at ~* B/call*"])


def test_too_few_iterations_are_refused_from_the_marker_naming_the_minimum(run) -> None:
    result = run(test_small=STEADY_LEAK.format(n=MIN_ITERATIONS - 1))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [f"*@pytest.mark.memguard*iterations={MIN_ITERATIONS - 1} is not valid; {TOO_FEW}*"]
    )


def test_too_few_iterations_are_refused_from_a_fixture_call(run) -> None:
    result = run(
        test_fx="""
        def test_few(memguard):
            memguard.run(lambda: None, iterations=8)
        """
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*iterations=8 is not valid; {TOO_FEW}*"])


def test_too_few_iterations_are_a_usage_error_from_the_command_line(run) -> None:
    result = run("--memguard-iterations=5", test_steady=STEADY_LEAK.format(n=50))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --memguard-iterations: iterations=5 is not valid; {TOO_FEW}*"]
    )


def test_too_few_iterations_are_a_usage_error_from_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmemguard_iterations = 12\n")
    pytester.makepyfile(test_steady=STEADY_LEAK.format(n=50))
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: ini memguard_iterations: iterations=12 is not valid; {TOO_FEW}*"]
    )


def test_a_one_time_step_is_named_and_not_counted_and_growth_is_still_judged(
    run, pytester: pytest.Pytester
) -> None:
    # One call keeps a 2 MiB buffer and nothing else grows: the shape of CPython's table of
    # interned strings doubling once (seen on Flask-HTTPAuth's suite). The same step with a
    # steady leak beside it still fails as growing, judged without the step.
    result = run(
        "--memguard-json=out.json",
        test_step="""
        import pytest
        n = [0]
        held = []

        @pytest.mark.memguard(max_growth_kb=64)
        def test_one_step():
            n[0] += 1
            if n[0] == 100:
                held.append(bytearray(2 * 1024 * 1024))

        kept = []
        m = [0]

        @pytest.mark.memguard(max_growth_kb=64)
        def test_step_and_leak():
            m[0] += 1
            kept.append("x" * 97 + str(m[0]))
            if m[0] == 100:
                kept.append(bytearray(2 * 1024 * 1024))
        """,
    )
    result.assert_outcomes(passed=1, failed=1)
    # call 100 of the test is measured call 80: the first call and 19 more warmed it up
    # (a fast call is sampled after every third call: the step shows at the next sample)
    step = "not counted: +2,0* KiB at call 8[012], a one-time step (8x more than all else retained)"
    result.stdout.fnmatch_lines(
        [f"*LeakError: memguard: test body: still growing at ~* B/call, would cross*; {step}"]
    )
    entries = json.loads((pytester.path / "out.json").read_text())["tests"]
    one_step = next(e for e in entries if e["nodeid"].endswith("test_one_step"))
    assert one_step["shape"] == "flat"
    assert one_step["growth_kb"] < 1
    assert fnmatch.fnmatch(one_step["reason"], f"flat at * KiB; {step}"), one_step["reason"]
