"""The counts (descriptors, threads, tasks, processes), their verdict and their explanation,
as pure modules."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import threading
import warnings
from array import array

import pytest
from helpers import threads_settled

from pytest_memguard import measure, resource_sites, resources
from pytest_memguard.guard import count_reason
from pytest_memguard.redact import Secrets
from pytest_memguard.resource_warnings import UnclosedWarnings
from pytest_memguard.result import MemguardResult, ResourceGrowth
from pytest_memguard.settings import SettingsError, check_keywords, layer, resolve
from pytest_memguard.verdict import decide_count

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def counts() -> dict[str, int]:
    reader = resources.Reader()
    try:
        return dict(zip(reader.keys, reader.read(), strict=True))
    finally:
        reader.close()


@linux
def test_reader_counts_a_descriptor_a_socket_and_a_pipe(tmp_path) -> None:
    before = counts()["fds"]
    fd = os.open(tmp_path / "f", os.O_CREAT | os.O_RDONLY)
    sock = socket.socket()
    r, w = os.pipe()
    try:
        assert counts()["fds"] == before + 4
    finally:
        for d in (fd, r, w):
            os.close(d)
        sock.close()
    assert counts()["fds"] == before


@linux
def test_reader_counts_a_thread_threading_does_not_list() -> None:
    import _thread

    threads_settled()  # an earlier test's thread ending meanwhile would be counted
    stop = threading.Event()
    started = threading.Event()

    def wait() -> None:
        started.set()
        stop.wait()

    before = counts()["threads"]
    _thread.start_new_thread(wait, ())
    started.wait()
    try:
        assert counts()["threads"] == before + 1
    finally:
        stop.set()


@linux
def test_reader_counts_a_child_until_it_is_waited_for() -> None:
    before = counts()["processes"]
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert counts()["processes"] == before + 1
    finally:
        child.kill()
        child.wait()
    assert counts()["processes"] == before


def test_reader_counts_pending_tasks_of_another_threads_loop() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        before = counts()["tasks"]
        future = asyncio.run_coroutine_threadsafe(asyncio.sleep(60), loop)
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result(5)
        assert counts()["tasks"] == before + 1
        future.cancel()
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0.01), loop).result(5)
        assert counts()["tasks"] == before
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def test_settled_waits_for_what_comes_and_goes() -> None:
    reader = resources.Reader()
    reads = iter([(5,), (4,), (3,)])
    reader.keys = ("fds",)
    reader.read = lambda: next(reads)  # type: ignore[method-assign]
    try:
        assert reader.settled([3]) == (3,)
    finally:
        reader.close()


def test_stride_reads_each_window_of_the_tail() -> None:
    assert resources.stride(16, 4) == 2 // resources.READS_PER_WINDOW
    assert resources.stride(200, 4) == min(resources.MAX_STRIDE, 25 // resources.READS_PER_WINDOW)
    assert resources.stride(100_000, 4) == resources.MAX_STRIDE
    # A multiple of the thinned run's spacing, still at most a window: no read between samples.
    assert resources.stride(200, 4, 3) == 24
    assert resources.stride(100_000, 4, 3) == resources.MAX_STRIDE // 3 * 3
    assert resources.stride(16, 4, 3) == 2


def test_filled_carries_the_last_read() -> None:
    values = array("q", [10, 0, 12, 0, 11])
    assert resources.filled(values, bytearray([1, 0, 1, 0, 1]), 4) == (0, 2, 2, 1)


# -- the verdict ---------------------------------------------------------------------------


def test_a_count_rising_every_call_is_growing() -> None:
    d = decide_count("fds", list(range(1, 201)), bound=0)
    assert (d.passed, d.shape, d.growth, round(d.per_call, 2)) == (False, "growing", 200, 1.0)
    assert count_reason(d, "sqlite3 database /tmp/a.db") == (
        "still growing: +1 file descriptor per call (sqlite3 database /tmp/a.db)"
    )


def test_a_slow_rise_is_growing_every_few_calls() -> None:
    d = decide_count("threads", [i // 10 for i in range(1, 201)], bound=100)
    assert not d.passed
    assert d.shape == "growing"
    # The rate is read from each window's lowest count: about one in ten.
    assert re.match(r"still growing: \+1 thread every ~1[01] calls$", count_reason(d, ""))


def test_what_comes_and_goes_is_flat() -> None:
    d = decide_count("threads", [i % 2 for i in range(200)], bound=0)
    assert (d.passed, d.shape, d.growth) == (True, "flat", 0)


def test_a_pool_that_filled_passes_within_its_bound_only() -> None:
    series = [min(i // 10, 4) for i in range(1, 201)]
    assert decide_count("fds", series, bound=4).passed
    over = decide_count("fds", series, bound=3)
    assert (over.passed, over.shape, over.growth) == (False, "plateau", 4)
    assert "over the bound of 3 (max_fds=3" in count_reason(over, "")


def test_a_count_that_fell_is_flat() -> None:
    assert decide_count("processes", [-1] * 50, bound=0).shape == "flat"


def test_too_few_calls_judge_nothing() -> None:
    assert decide_count("fds", [1, 2, 3], bound=0).passed


# -- settings and results ----------------------------------------------------------------------


def test_bounds_resolve_keyword_over_cli_over_ini() -> None:
    ini = layer({"max_fds": "2", "max_threads": "1"}, source=lambda k: f"ini memguard_{k}")
    cli = layer({"max_fds": "3"}, source=lambda k: f"--memguard-{k}")
    marker = check_keywords({"max_threads": 5}, source="@pytest.mark.memguard")
    settings = resolve(ini, cli, marker)
    assert (settings.bound("fds"), settings.bound("threads"), settings.bound("tasks")) == (3, 5, 0)


@pytest.mark.parametrize("value", [-1, "many", 1.5, True])
def test_a_bad_bound_names_its_source_and_the_fix(value: object) -> None:
    with pytest.raises(SettingsError, match=r"memguard.run\(\): max_processes=.* whole number"):
        check_keywords({"max_processes": value}, source="memguard.run()")


def test_results_keep_counts_as_plain_data_through_json() -> None:
    growth = ResourceGrowth(
        "fds",
        False,
        "growing",
        3,
        0,
        1.0,
        "still growing",
        "pipe",
        ("3 x pipe, made at app.py:3 in view",),
        (1, 2, 3),
    )
    result = MemguardResult(
        False, 0.1, 64.0, 16, 2, 1.0, "flat", "flat at 0.1 KiB", resources=(growth,)
    )
    again = MemguardResult.from_dict(result.to_dict())
    assert again == result
    assert isinstance(again.resources[0].series, array)
    assert again.memory_passed
    assert again.failed_resources == (growth,)


# -- what a descriptor is, and where it was made ---------------------------------------------


@linux
def test_descriptors_are_described_by_kind(tmp_path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname())
    r, w = os.pipe()
    try:
        targets = resource_sites.fd_targets()
        port = server.getsockname()[1]
        assert resource_sites.describe_fd(server.fileno(), targets[server.fileno()]) == (
            f"socket AF_INET SOCK_STREAM listening on 127.0.0.1:{port}"
        )
        assert resource_sites.describe_fd(client.fileno(), targets[client.fileno()]) == (
            f"socket AF_INET SOCK_STREAM to 127.0.0.1:{port}"
        )
        assert resource_sites.describe_fd(r, targets[r]) == "pipe"
        assert resource_sites.describe_fd(3, str(tmp_path / "a")) == f"file {tmp_path / 'a'}"
    finally:
        for s in (server, client):
            s.close()
        os.close(r)
        os.close(w)


@linux
def test_the_pass_names_each_new_resource_and_its_line(tmp_path) -> None:
    kept: list[object] = []
    stop = threading.Event()

    def leak() -> None:
        kept.append(open(tmp_path / "x", "w"))  # noqa: SIM115
        t = threading.Thread(target=stop.wait, name="leaky", daemon=True)
        t.start()

    start = threading.Thread.start
    try:
        found = resource_sites.explain(
            lambda: [leak() for _ in range(3)], ("fds", "threads"), Secrets()
        )
        assert threading.Thread.start is start  # patched for the pass only
        assert not resource_sites._recorder().active
    finally:
        stop.set()
        for f in kept:
            f.close()  # type: ignore[attr-defined]
    line = leak.__code__.co_firstlineno
    assert found["fds"].what == f"file {tmp_path / 'x'}"
    assert f"3 x file {tmp_path / 'x'}, made at " in found["fds"].lines[0]
    assert f"test_resources.py:{line + 1} in leak" in found["fds"].lines[0]
    assert found["threads"].lines[0].startswith("3 x thread 'leaky' running Event.wait, made at")
    assert f"test_resources.py:{line + 3} in leak" in found["threads"].lines[0]


def test_the_audit_hook_is_inert_between_passes() -> None:
    recorder = resource_sites._recorder()
    assert not recorder.active
    with open(os.devnull):
        pass
    assert recorder.events == []
    assert resource_sites._recorder() is recorder  # installed once per process


@linux
def test_a_reader_whose_descriptor_the_code_closed_never_closes_the_codes(tmp_path) -> None:
    reader = resources.Reader()
    before = reader.read()[0]
    os.close(reader.fd_dir)  # what os.closerange() in the code under test does
    fd = os.open(tmp_path / "f", os.O_CREAT | os.O_RDONLY)
    try:
        assert fd == reader.fd_dir  # the number is the code's file now
        assert reader.read()[0] == before  # counted by path, the code's file in place of ours
        reader.close()
        os.fstat(fd)  # still open
    finally:
        os.close(fd)


@linux
def test_descriptors_without_an_audit_event_are_named_by_their_owner() -> None:
    import selectors

    kept: list[object] = []

    def leak() -> None:
        kept.append(selectors.DefaultSelector())
        r, w = os.pipe()
        os.close(w)
        kept.append(os.fdopen(r))

    try:
        found = resource_sites.explain(lambda: [leak() for _ in range(2)], ("fds",), Secrets())
    finally:
        for k in kept:
            k.close()  # type: ignore[attr-defined]
    line = leak.__code__.co_firstlineno
    lines = "\n".join(found["fds"].lines)
    assert re.search(rf"^2 x eventpoll, made at \S*test_resources.py:{line + 1}$", lines, re.M)
    # The pipe's line is where os.pipe() made it, not where a file object came to own it.
    assert re.search(
        rf"^2 x pipe \(os.pipe\), made at \S*test_resources.py:{line + 2} ", lines, re.M
    )


@linux
def test_a_thread_started_by_start_new_thread_is_named_by_its_function() -> None:
    import _thread

    threads_settled()  # an earlier test's thread ending during the pass would be counted
    stop = threading.Event()
    start = _thread.start_new_thread

    def leak() -> None:
        _thread.start_new_thread(stop.wait, ())

    try:
        found = resource_sites.explain(lambda: [leak() for _ in range(2)], ("threads",), Secrets())
    finally:
        stop.set()
    assert _thread.start_new_thread is start
    (only,) = found["threads"].lines
    assert only.startswith("2 x thread not started by threading, running Event.wait, made at")
    assert only.endswith(f"test_resources.py:{leak.__code__.co_firstlineno + 1} in leak")


def test_a_deleted_temporary_file_is_one_kind() -> None:
    assert resource_sites.describe_fd(5, "/tmp/#123 (deleted)") == "deleted file in /tmp"
    assert resource_sites.describe_fd(5, "anon_inode:[eventfd]") == "eventfd"


def test_a_selector_without_a_descriptor_does_not_stop_the_explanation() -> None:
    import selectors

    other = selectors.PollSelector()  # no fileno(): asked among the owners all the same
    kept: list[object] = []
    try:
        found = resource_sites.explain(
            lambda: kept.append(selectors.DefaultSelector()), ("fds",), Secrets()
        )
    finally:
        other.close()
        for k in kept:
            k.close()  # type: ignore[attr-defined]
    assert found["fds"].lines[0].startswith("1 x eventpoll, made at")


@linux
def test_descriptors_made_in_c_without_an_audit_event_are_named_with_their_line(
    tmp_path,
) -> None:
    """``os.pipe``, ``os.dup``, ``os.eventfd`` and ``os.openpty`` raise no audit event and leave
    no object: the pass's profile hook lists the descriptors around each call."""
    log = os.open(tmp_path / "log", os.O_CREAT | os.O_WRONLY)
    kept: list[int] = []

    def leak() -> None:
        kept.extend(os.pipe())
        kept.append(os.dup(log))
        kept.append(os.eventfd(0))
        kept.extend(os.openpty())

    stop = threading.Event()
    hooks: list[object] = []

    def outlive_the_pass() -> None:
        stop.wait()
        hooks.append(sys.getprofile())

    try:
        found = resource_sites.explain(
            lambda: (
                [leak() for _ in range(2)]
                + [threading.Thread(target=outlive_the_pass, daemon=True).start()]
            ),
            ("fds",),
            Secrets(),
        )
        assert sys.getprofile() is None  # the hook is the pass's only
    finally:
        stop.set()
        for fd in [*kept, log]:
            os.close(fd)
    threads_settled()
    assert hooks == [None]  # a thread the pass started is unhooked after it
    line = leak.__code__.co_firstlineno
    lines = "\n".join(found["fds"].lines + found["fds"].lines)
    for what, at in (
        ("pipe \\(os.pipe\\)", 1),
        (f"file {re.escape(str(tmp_path / 'log'))} \\(os.dup\\)", 2),
        ("eventfd \\(os.eventfd\\)", 3),
        ("pseudo-terminal (primary|secondary) \\(os.openpty\\)", 4),
    ):
        assert re.search(
            rf"^\d x {what}, made at \S*test_resources.py:{line + at} in leak$", lines, re.M
        ), what


@linux
def test_a_profiler_the_user_runs_keeps_its_hook_during_a_pass() -> None:
    seen: list[str] = []

    def profiler(frame: object, event: str, arg: object) -> None:
        seen.append(event)

    kept: list[int] = []
    sys.setprofile(profiler)
    try:
        found = resource_sites.explain(lambda: kept.extend(os.pipe()), ("fds",), Secrets())
        assert sys.getprofile() is profiler
    finally:
        sys.setprofile(None)
        for fd in kept:
            os.close(fd)
    assert seen
    assert found["fds"].lines == ("2 x pipe",)  # no line without the hook, and no error


@linux
def test_an_epoll_object_kept_in_a_list_is_named_by_its_line() -> None:
    """``select.epoll`` objects are not tracked by the garbage collector: found among what a
    tracked object refers to."""
    import select

    kept: list[select.epoll] = []

    def leak() -> None:
        kept.append(select.epoll())

    try:
        found = resource_sites.explain(lambda: [leak() for _ in range(2)], ("fds",), Secrets())
    finally:
        for poller in kept:
            poller.close()
    (only,) = found["fds"].lines
    assert only.endswith(f"test_resources.py:{leak.__code__.co_firstlineno + 1}")
    assert only.startswith("2 x eventpoll, made at ")


@linux
def test_a_memory_map_is_named_by_its_file_and_line(tmp_path) -> None:
    import mmap

    path = tmp_path / "table"
    path.write_bytes(b"x" * 4096)
    kept: list[mmap.mmap] = []

    def leak() -> None:
        with open(path, "rb") as f:
            kept.append(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))

    try:
        found = resource_sites.explain(lambda: [leak() for _ in range(2)], ("fds",), Secrets())
    finally:
        for m in kept:
            m.close()
    (only,) = found["fds"].lines
    assert only.startswith(f"2 x memory map of {path}, made at ")
    assert only.endswith(f"test_resources.py:{leak.__code__.co_firstlineno + 2} in leak")


def test_a_thread_still_ending_when_the_run_ends_is_no_leak() -> None:
    """A thread that ends 0.3 s after its call outlives a run of fast calls: the count falls
    back once the calls stop, and nothing was left open."""
    import time

    from pytest_memguard.guard import guard
    from pytest_memguard.settings import Settings

    threads_settled()

    def call() -> None:
        threading.Thread(target=time.sleep, args=(0.3,), daemon=True).start()

    result = guard(call, Settings(iterations=100, warmup=5, max_growth_kb=8192), label="t")
    threads_settled()  # the warm-up's threads may still be ending: not into the next test
    threads = next(r for r in result.resources if r.key == "threads")
    assert threads.passed, threads.reason
    assert result.passed


def test_in_flight_names_only_the_kinds_that_fall_back() -> None:
    stop = threading.Event()
    threads_settled()
    now = counts()
    threading.Thread(target=stop.wait, daemon=True).start()
    try:
        # Threads one over their limit never fall back; descriptors are within theirs.
        assert resources.in_flight({"threads": now["threads"], "fds": now["fds"] + 5}) == {"fds"}
    finally:
        stop.set()


@linux
def test_a_pass_whose_listing_descriptor_the_code_closed_never_closes_the_codes(tmp_path) -> None:
    kept: list[int] = []

    def closerange_then_open() -> None:
        recorder = resource_sites._recorder()
        os.close(recorder.fd_dir)  # what os.closerange() in the code under test does
        kept.append(os.open(tmp_path / "f", os.O_CREAT | os.O_RDONLY))
        assert kept[-1] == recorder.fd_dir  # the number is the code's file now
        kept.extend(os.pipe())

    try:
        found = resource_sites.explain(closerange_then_open, ("fds",), Secrets())
        for fd in kept:
            os.fstat(fd)  # still open
    finally:
        for fd in kept:
            os.close(fd)
    assert found["fds"].lines


@linux
def test_a_profiler_the_code_sets_during_a_pass_is_left_in_place() -> None:
    def profiler(frame: object, event: str, arg: object) -> None:
        pass

    try:
        resource_sites.explain(lambda: sys.setprofile(profiler), ("fds",), Secrets())
        assert sys.getprofile() is profiler
    finally:
        sys.setprofile(None)


def _unclosed_at(filename: str) -> warnings.WarningMessage:
    return warnings.WarningMessage(
        ResourceWarning("unclosed file <x>"), ResourceWarning, filename, 7, source=None
    )


@pytest.mark.parametrize(
    ("filename", "note"),
    [
        (measure.__file__, "(memguard: left by call 3, found by the garbage collection after it)"),
        ("/app/views.py", "(memguard: left by call 3)"),
    ],
)
def test_an_unclosed_warning_says_whether_the_plugins_collection_found_it(
    filename: str, note: str
) -> None:
    """Raised in the plugin's own collection after a call, the warning says so; raised at a
    line of the code (its object dropped there, or an automatic collection there), it does not."""
    unclosed = UnclosedWarnings()
    unclosed.add(_unclosed_at(filename), 3)
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        unclosed.reemit()
    assert [str(m.message) for m in log] == [f"unclosed file <x> {note}"]
