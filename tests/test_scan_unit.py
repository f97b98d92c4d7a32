"""The pure parts of the scan: the screen's decision, reading explanations, the summary."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

from pytest_memguard import scan
from pytest_memguard.result import MemguardResult
from pytest_memguard.settings import SettingsError, check_keywords, parse_scan

EXPLANATION = (
    "retained via:",
    "  module _pytest.assertion.util",
    "  ├─ ._reprcompare            function",
    "  ├─ [1]                      cell",
    "  ├─ (closure cell)           _pytest.python.Function",
    "  ├─ .funcargs                dict",
    "  ├─ .app                     flask.app.Flask",
    "  ├─ .teardown_request_funcs  dict (+50 items, +3.1 KiB)",
    "  ╰→ [None]                   list",
    "allocated at:",
    "  +9.8 KiB in +100 blocks at flask/app.py:12",
    "    from your code at tests/test_app.py:1608",
)


def _result(**fields: object) -> MemguardResult:
    values: dict[str, object] = {
        "passed": False,
        "growth_kb": 10.0,
        "limit_kb": 64.0,
        "iterations": 16,
        "warmup": 3,
        "per_call_bytes": 640.0,
        "shape": "growing",
        "reason": "still growing",
        "nodeid": "tests/test_a.py::test_a",
        "label": "test body",
        "scan": scan.CONFIRMED,
    }
    values.update(fields)
    return MemguardResult(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("blocks", "malloc", "tracked", "suspect"),
    [
        ((3, 6, 9), (0, 0, 0), (0, 0, 0), "pymalloc blocks +3, +3, +3"),
        ((0, 0, 0), (0, 0, 0), (1, 2, 3), "gc-tracked objects +1, +1, +1"),
        ((3, 6, 6), (0, 0, 0), (1, 2, 2), "pymalloc blocks +3, +3, +0"),  # one run spared
        ((3, 3, 3), (0, 0, 0), (1, 2, 2), ""),  # two runs at the floor
        ((0, 0, 0), (2048, 4096, 6144), (0, 0, 0), "malloc bytes +2,048, +2,048, +2,048"),
        ((0, 0, 0), (900, 1800, 2700), (0, 0, 0), ""),  # under the malloc floor
        ((0, 0, 0), (6000, 7500, 9000), (0, 0, 0), ""),  # not steady: 1,500 < 6,000 / 2
        ((0, 1, 2), (0, 0, 0), (0, 0, 0), "pymalloc blocks +0, +1, +1"),  # one run spared
        ((1, 1, 2), (0, 0, 0), (0, 0, 0), "pymalloc blocks +1, +0, +1"),
        ((-1, 0, 1), (0, 0, 0), (0, 0, 0), ""),  # 1 block over 3 runs: under one a run less one
        ((1, 1), (0, 0), (0, 0), ""),  # of two runs, one at the floor: too few rises
        ((0, 0, 0), (2048, 2048, 4096), (0, 0, 0), ""),  # malloc bytes spare no run
    ],
)
def test_a_suspect_rose_on_every_measured_run(
    blocks: tuple[int, ...], malloc: tuple[int, ...], tracked: tuple[int, ...], suspect: str
) -> None:
    found = scan.Screen(blocks, malloc, tracked).suspicion()
    if suspect:
        assert found == f"rose on every screened run: {suspect}"
    else:
        assert found == ""


def test_confirmation_length_follows_the_rate() -> None:
    fast = scan.confirm_defaults(scan.Screen((100, 200, 300), (0, 0, 0), (0, 0, 0)), 200)
    slow = scan.confirm_defaults(scan.Screen((3, 6, 9), (0, 0, 0), (0, 0, 0)), 200)
    capped = scan.confirm_defaults(scan.Screen((1, 2, 3), (0, 0, 0), (0, 0, 0)), 100)
    assert fast["iterations"] == scan.CONFIRM_ITERATIONS
    assert fast["iterations"] < slow["iterations"] <= 200
    assert capped["iterations"] == 100


def test_fixture_holders_read_the_hop_after_funcargs() -> None:
    assert scan.fixture_holders(EXPLANATION) == ["app"]
    module = ("retained via:", "  module myapp", "  ├─ .CACHE  dict", "allocated at:")
    assert scan.fixture_holders(module) == [""]
    assert scan.fixture_holders(()) == []
    assert scan.fixture_holders((*EXPLANATION[:9], *module)) == ["app", ""]


def test_holder_roots_and_the_harness() -> None:
    assert scan.holder_roots(EXPLANATION) == ["_pytest.assertion.util"]
    assert scan.harness_holder(_result(explanation=EXPLANATION)).startswith("module _pytest")
    user = ("retained via:", "  module click.utils", "  ├─ ._default_text_stdout  dict")
    assert scan.harness_holder(_result(explanation=user)) == ""
    assert scan.holder_line(_result(explanation=user)) == "module click.utils._default_text_stdout"
    frame = ("retained via:", "  (no path from a module global: held by a frame)", "  ├─ ?  list")
    sites = ("allocated at:", "  +1.5 KiB in +1 blocks at app.py:3")
    # the holder a user can find is named first, even after one that gained more
    both = _result(explanation=(*frame, *user, *sites))
    assert scan.holder_line(both) == "module click.utils._default_text_stdout"
    assert scan.holder_line(_result(explanation=(*frame, *sites))).startswith("(no path from")
    assert scan.holder_line(_result(explanation=sites)) == ""
    assert scan.site_line(_result(explanation=EXPLANATION)) == "tests/test_app.py:1608"
    # The first site's own line, not a user's line shown under a later site.
    plant = (
        "allocated at:",
        "  +0.4 KiB in +7 blocks at plant.py:26",
        "      called from flask/app.py:1511",
        "  +0.1 KiB in +2 blocks at flask/ctx.py:265",
        "      called from flask/ctx.py:426",
        "      from your code at tests/test_basic.py:147",
    )
    assert scan.site_line(_result(explanation=plant)) == "plant.py:26"


def test_the_summary_ranks_confirmed_leaks_by_rate() -> None:
    results = [
        _result(nodeid="t.py::small", per_call_bytes=100.0),
        _result(nodeid="t.py::big", per_call_bytes=5000.0, explanation=EXPLANATION),
        _result(nodeid="t.py::clean", passed=True, scan=scan.CLEAN, reason="clean"),
        _result(nodeid="t.py::once", passed=True, scan=scan.NOT_REPLAYABLE, reason="not r."),
        _result(nodeid="t.py::cache", passed=True, scan=scan.SUSPECTED, reason="plateau"),
        _result(nodeid="t.py::marked", scan=""),
    ]
    lines = scan.Summary(results, 1.25).lines()
    leaks = [line for line in lines if line.startswith("  LEAK ")]
    assert [line.split()[1] for line in leaks] == ["t.py::big:", "t.py::small:"]
    assert "    allocated at tests/test_app.py:1608" in lines
    assert lines.index("suspected but not confirmed (the full guard found it bounded):") < (
        lines.index("not replayable (never a leak, never a failure):")
    )
    assert lines[-1] == (
        "scanned 5 test(s): 2 confirmed leak(s), 1 suspected but not confirmed,"
        " 1 not replayable, 1 clean; the scan added 1.2 s"
    )


def test_not_replayable_reason_is_one_short_line() -> None:
    reason = scan.not_replayable_reason(ValueError("x" * 500 + "\nmore"), "call 2 (scan replay)")
    assert reason.startswith("not replayable: call 2 (scan replay) raised ValueError: xxx")
    assert len(reason) < 200
    assert "\n" not in reason


@pytest.mark.parametrize(
    ("value", "mode"),
    [("fail", "fail"), ("REPORT", "report"), ("off", "off"), ("true", "fail"), ("", "off")],
)
def test_scan_values(value: str, mode: str) -> None:
    assert parse_scan(value, source="ini memguard_scan") == mode


def test_bad_scan_and_fixtures_values_name_the_fix() -> None:
    with pytest.raises(SettingsError, match="ini memguard_scan: scan='always' is not valid"):
        parse_scan("always", source="ini memguard_scan")
    with pytest.raises(SettingsError, match="use 'auto' or 'fresh' or 'reuse'"):
        check_keywords({"fixtures": "new"}, source="@pytest.mark.memguard")
    assert check_keywords({"fixtures": "Fresh"}, source="m") == {"fixtures": "fresh"}


def test_one_jump_of_the_c_allocator_does_not_shorten_the_confirmation() -> None:
    """CPython 3.10: a 1-block-a-run leak whose malloc bytes rose too was confirmed on 50
    calls, where its zig-zag hid it; the blocks alone set the length."""
    jumped = scan.Screen((2, 3, 4), (700, 1_400, 2_100), (0, 0, 0))
    assert jumped.rate() == 64
    assert scan.confirm_defaults(jumped, 200)["iterations"] == 200


def test_a_replay_deadline_allows_for_the_sampling_of_each_call() -> None:
    """A 0.4 ms test confirmed over 400 calls is sampled at a few ms a call (more on a loaded
    machine): its deadline is not 50 x 0.4 ms x 400 = 8 s, which cut such confirmations."""
    assert scan.replay_seconds(0.0004, 400) >= 400 * scan.DEADLINE_CALL_SECONDS
    assert scan.replay_seconds(0.0, 4) == scan.DEADLINE_MIN_SECONDS


def test_a_deadline_is_not_an_exception_that_code_may_swallow() -> None:
    # the test's own handler, or the explanation's: the deadline goes through it
    with pytest.raises(scan.ReplayTimeout), scan.deadline(0.01), contextlib.suppress(Exception):
        time.sleep(1)


def test_a_run_alone_that_kept_nothing_ends_the_screen() -> None:
    calls = [0]

    def count() -> None:
        calls[0] += 1  # a small int: cached, nothing kept

    shown = scan.screen(count, warmup=1)
    # A warm-up run and one measured run: nothing else ran, so its counts are exact.
    assert calls == [2]
    assert shown.blocks == (0,)  # nothing of the screen's own counts
    assert shown.suspicion() == ""
    assert scan.screened_reason(shown) == "clean: +0.0 KiB after 1 run"


def _wait_for_a_thread() -> None:
    # Long enough that the join must wait: a thread that ends before the test's thread gets to
    # its lock (a few microseconds of work on another core) makes it wait for nothing.
    worker = threading.Thread(target=time.sleep, args=(0.002,))
    worker.start()
    worker.join()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="waits are counted on Linux")
def test_a_run_that_waited_for_another_thread_is_read_again() -> None:
    calls = [0]

    def count() -> None:
        calls[0] += 1
        _wait_for_a_thread()  # another thread ran: a block it freed could hide one kept

    shown = scan.screen(count, warmup=1)
    # A warm-up run and two measured runs at least: blocks may stay at their floor on one run
    # of a suspect, not on two (CPython 3.10's thread states move a block now and then).
    assert calls[0] >= 3
    assert shown.suspicion() == ""


def test_a_thread_waited_for_is_counted_and_a_computation_is_not() -> None:
    before = scan.waits()
    sum(range(100_000))
    alone = scan.waits()
    _wait_for_a_thread()
    after = scan.waits()
    if sys.platform.startswith("linux"):
        assert alone == before
        assert after > alone
    else:  # uncounted: no run is ever taken for one alone
        assert len({before, alone, after}) == 3


def test_the_screen_reads_every_run_while_a_counter_rises() -> None:
    kept: list[bytearray] = []
    shown = scan.screen(lambda: kept.append(bytearray(100)), warmup=1)
    assert len(kept) == 1 + scan.SCREEN_RUNS
    assert len(shown.blocks) == scan.SCREEN_RUNS
    assert shown.suspicion().startswith("rose on every screened run: pymalloc blocks +")


def _growing_buffer(calls: int | None) -> tuple[Callable[[], None], list[int]]:
    """A body whose buffer grows by 8 KiB on each of its first ``calls`` calls (``None``:
    on every call): the C allocator's bytes rise, no pymalloc block and no object is kept."""
    buffer = bytearray()
    made = [0]

    def grow() -> None:
        made[0] += 1  # a small int: cached
        if calls is None or made[0] <= calls:
            buffer.extend(bytes(8192))

    return grow, made


def test_a_buffer_grown_on_the_first_runs_only_is_screened_longer_and_clean() -> None:
    # Flask's test_error_handling: malloc bytes +2,640, +2,384, +1,616, then none. Confirmed,
    # it was found bounded after the guard's full length (200 calls, a second).
    grow, made = _growing_buffer(1 + scan.SCREEN_RUNS)  # the warm-up and the measured runs
    shown = scan.screen(grow, warmup=1)
    assert made == [2 + scan.SCREEN_RUNS]  # one more run, which kept nothing: clean
    assert len(shown.blocks) == scan.SCREEN_RUNS + 1
    assert shown.risen() == ()
    assert shown.suspicion() == ""


def test_deciding_on_more_runs_keeps_nothing_even_in_a_new_process() -> None:
    # CPython 3.10 keeps a frame per function once called: the first decision of a process
    # read as 12 blocks after the third run, the plugin's own.
    script = """
from pytest_memguard import scan
buffer, made = bytearray(), [0]

def grow():
    made[0] += 1
    if made[0] <= 4:
        buffer.extend(bytes(8192))

shown = scan.screen(grow, warmup=1)
print(shown.blocks, shown.tracked)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split("\n")[0] == "(0, 0, 0, 0) (0, 0, 0, 0)", done.stdout + done.stderr


def test_a_buffer_grown_on_every_run_is_still_a_suspect() -> None:
    grow, made = _growing_buffer(None)
    shown = scan.screen(grow, warmup=1)
    runs = scan.SCREEN_RUNS + scan.MALLOC_MORE_RUNS
    assert made == [1 + runs]
    assert shown.risen() == (scan.MALLOC,)
    assert shown.suspicion().startswith("rose on every screened run: malloc bytes +")
    assert shown.suspicion().count(", +") == runs - 1


def test_the_screen_stops_at_the_first_run_alone_that_kept_nothing() -> None:
    kept: list[bytearray] = []
    runs = iter([True, True, False, True, True])  # the warm-up, then three measured runs
    shown = scan.screen(lambda: kept.append(bytearray(100)) if next(runs) else None, warmup=1)
    assert len(shown.blocks) == 2
    assert shown.blocks[0] == shown.blocks[1] > 0
    assert list(runs) == [True, True]  # never made: a flat run alone is exact
    assert shown.suspicion() == ""
