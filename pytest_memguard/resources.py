"""Count what a call may leave open besides memory: descriptors, threads, tasks, processes.

A worker dies as surely from a leaked connection or thread as from a leaked list, and a raw
descriptor (``os.open`` without a close) keeps no Python object the memory counters could see.
The counts are read after every measured call, once its memory sample is taken, so that what
reading them allocates is freed before the next sample and never counted. Each read is a few
microseconds (see ``benchmarks/resource_cost.py``).

On Linux every count comes from ``/proc``: ``/proc/self/fd`` (files, sockets, pipes),
``/proc/self/task`` (every thread, also those started with ``_thread.start_new_thread`` or
by C code, which ``threading`` does not list) and each task's ``children`` file (child
processes, also the exited ones nobody waited for). Elsewhere threads are counted by
``threading`` and descriptors and processes are not counted (see docs/limitations.md).
Pending asyncio tasks are counted in every loop of the process, also a loop running in
another thread, through asyncio's own registry of tasks (private, version-dependent: see
:func:`_task_registries`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress

#: The kinds counted, in the order reports show them: (key, singular, plural).
KINDS: tuple[tuple[str, str, str], ...] = (
    ("fds", "file descriptor", "file descriptors"),
    ("threads", "thread", "threads"),
    ("tasks", "asyncio task", "asyncio tasks"),
    ("processes", "child process", "child processes"),
)
KEYS = tuple(key for key, _, _ in KINDS)

_PROC = "/proc/self"
_LINUX = sys.platform.startswith("linux") and os.path.isdir(f"{_PROC}/fd")
#: ``children`` needs a kernel built with CONFIG_PROC_CHILDREN (most distributions are).
_CHILDREN = _LINUX and os.path.exists(f"{_PROC}/task/{os.getpid()}/children")


def noun(key: str, count: float) -> str:
    """``file descriptor`` or ``file descriptors`` for ``count`` of kind ``key``."""
    for k, one, many in KINDS:
        if k == key:
            return one if abs(count) == 1 else many
    raise KeyError(key)


def count_fds() -> int:
    """Open file descriptors of the process, or -1 where they cannot be read.

    ``os.scandir`` is a little faster than ``os.listdir`` here and builds no list; the
    directory's own descriptor is not counted.
    """
    if not _LINUX:
        return -1
    try:
        with os.scandir(f"{_PROC}/fd") as entries:
            return sum(1 for _ in entries) - 1
    except OSError:
        return -1


def count_threads() -> int:
    """Threads of the process: every task of ``/proc/self/task`` on Linux, else the threads
    ``threading`` knows."""
    if _LINUX:
        try:
            with os.scandir(f"{_PROC}/task") as entries:
                return sum(1 for _ in entries)
        except OSError:
            pass
    return threading.active_count()


def _children(tid: str) -> bytes:
    """The ``children`` file of one thread, read with bare system calls (no file object)."""
    try:
        fd = os.open(f"{_PROC}/task/{tid}/children", os.O_RDONLY)
    except OSError:
        return b""  # the thread exited meanwhile
    try:
        return os.read(fd, 65536)
    finally:
        os.close(fd)


def _has_child() -> bool:
    """Whether the process has a child at all: one system call that answers "no" (the usual
    case) without reading a file per thread. ``WNOWAIT`` leaves any exited child unreaped."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    except (OSError, AttributeError):  # no waitid: read the files
        return True
    return True


def child_pids() -> list[int]:
    """Child processes of the process (also exited ones not yet waited for), on Linux."""
    try:
        with os.scandir(f"{_PROC}/task") as entries:
            tids = [e.name for e in entries]
    except OSError:
        return []
    return [int(p) for tid in tids for p in _children(tid).split()]


def count_processes() -> int:
    """Live child processes, or -1 where they cannot be read."""
    if not _CHILDREN:
        return -1
    try:
        with os.scandir(f"{_PROC}/task") as entries:
            return sum(len(_children(e.name).split()) for e in entries)
    except OSError:
        return -1


def _task_registries() -> list[Iterable[asyncio.Task[object]]]:
    """asyncio's registries of live tasks (a private API, read because ``all_tasks`` needs the
    loop, and a loop running in another thread is known only to its thread): Python 3.10 and
    3.11 keep one ``WeakSet`` ``_all_tasks``; 3.12 and 3.13 split it into ``_scheduled_tasks``
    and ``_eager_tasks``. Newer versions keep tasks in C: only the running loop's are counted."""
    registries: list[Iterable[asyncio.Task[object]]] = []
    for name in ("_all_tasks", "_scheduled_tasks", "_eager_tasks"):
        registry = getattr(asyncio.tasks, name, None)
        if registry is not None and hasattr(registry, "__iter__"):
            registries.append(registry)
    return registries


_REGISTRIES = _task_registries()


def pending_tasks() -> list[asyncio.Task[object]]:
    """Tasks not done yet, in every loop asyncio's registry knows (else the running loop's)."""
    tasks: list[asyncio.Task[object]] = []
    for registry in _REGISTRIES:
        for _ in range(100):  # another thread's loop may add a task while this one reads
            try:
                tasks.extend(t for t in list(registry) if not t.done())
                break
            except RuntimeError:
                continue
    if not _REGISTRIES:
        try:
            tasks = [t for t in asyncio.all_tasks() if not t.done()]
        except RuntimeError:  # no running loop in this thread
            return []
    current = asyncio.current_task() if asyncio._get_running_loop() is not None else None
    return [t for t in tasks if t is not current]


def count_tasks() -> int:
    # Most runs have no task at all: the registries' lengths say so without a copy.
    if _REGISTRIES and not any(len(r) for r in _REGISTRIES):  # type: ignore[arg-type]
        return 0
    return len(pending_tasks())


#: Counts are read after at most every this many calls (one read per window of the tail of a
#: 200-call run: every 24th, a multiple of a thinned run's sampling): a read costs ~10 µs in
#: a tight loop and ~50 µs between calls (the kernel's work evicts caches), ~25% of a fast
#: call (a Flask test request, ~200 µs); the benchmark's target is 2% of a guarded run
#: (benchmarks/resources.py).
MAX_STRIDE = 32
#: Reads per window of the verdict's tail (see ``verdict.decide_count``), at least: one is
#: enough, since a read that finds more than the baseline waits for transients (``settled``).
READS_PER_WINDOW = 1
#: The first half of a run, which the verdict does not read, is read this many times less
#: often (for the chart).
HEAD_STRIDE = 4


def stride(iterations: int, windows: int, every: int = 1) -> int:
    """Read the counts after every ``stride`` calls: as rarely as ``MAX_STRIDE`` allows, and
    often enough that each of the ``windows`` windows of the tail holds
    ``READS_PER_WINDOW`` reads (short runs read after every call). A multiple of ``every``
    where it can be: a run that samples memory after every ``every`` calls also samples it
    where the counts are read, and reads that fall between its samples would each cost it
    one more (a full collection, ~0.3 ms: most of what counting cost a fast test)."""
    width = (iterations - iterations // 2) // windows
    most = max(1, min(MAX_STRIDE, width // READS_PER_WINDOW))
    return most - most % every if most >= every else most


#: A count above its baseline is read again up to this many times, after waits that double
#: from ``SETTLE_SECONDS`` (31 ms in all), and the lowest kept: a thread the call started may
#: still be exiting on a busy machine, a child still being reaped.
SETTLE_READS = 5
SETTLE_SECONDS = 0.001


class Reader:
    """The four counts of one run, read together as cheaply as the platform allows.

    On Linux one listing of ``/proc/self/task`` serves both threads and processes, and the
    descriptors are listed through a descriptor of ``/proc/self/fd`` held open for the run
    (``os.listdir`` of a descriptor costs ~2.6 µs, of a path ~4.2 µs): ~8 µs for all four.
    The held descriptor is open from before the baseline to after the last read, so it never
    shows as growth. :meth:`close` it when the run ends.
    """

    def __init__(self) -> None:
        self.fd_dir = -1
        self.identity = (0, 0)
        if _LINUX:
            with contextlib.suppress(OSError):
                self.fd_dir = os.open(f"{_PROC}/fd", os.O_RDONLY | os.O_DIRECTORY)
                st = os.fstat(self.fd_dir)
                self.identity = (st.st_dev, st.st_ino)
        #: The kinds this platform can count, in the order of :meth:`read`'s values.
        self.keys = tuple(
            key
            for key, readable in zip(KEYS, (self.fd_dir >= 0, True, True, _CHILDREN), strict=True)
            if readable
        )

    def read(self) -> tuple[int, ...]:
        """One value per key of :attr:`keys`."""
        values = []
        if self.fd_dir >= 0:
            try:
                values.append(len(os.listdir(self.fd_dir)))
            except OSError:  # the code closed every descriptor (closerange), ours too
                values.append(count_fds() + 1)
        tids: list[str] = []
        if _LINUX:
            with contextlib.suppress(OSError):
                tids = os.listdir(f"{_PROC}/task")
        values.append(len(tids) or threading.active_count())
        values.append(count_tasks())
        if _CHILDREN:
            values.append(sum(len(_children(tid).split()) for tid in tids) if _has_child() else 0)
        return tuple(values)

    def settled(self, baseline: Sequence[int]) -> tuple[int, ...]:
        """:meth:`read`, or when a count is above its ``baseline``, each count's lowest of a
        few reads that let other threads run: what comes and goes is given the time to go;
        what stays costs ~31 ms a read."""
        # Hand the interpreter to any thread waiting for it first: a background event loop
        # makes the tasks the call scheduled only when it runs. Not when there is none: on a
        # busy machine ``sleep(0)`` gives the CPU to other processes too (ms, not µs).
        if threading.active_count() > 1:
            time.sleep(0)
        values = self.read()
        for attempt in range(SETTLE_READS):
            if all(v <= b for v, b in zip(values, baseline, strict=True)):
                break
            time.sleep(SETTLE_SECONDS * 2**attempt)
            values = tuple(min(a, b) for a, b in zip(values, self.read(), strict=True))
        return values

    def close(self) -> None:
        """Close the held descriptor, unless the code closed it and the number now names
        another file (``os.closerange`` then ``open``): that one is the code's."""
        if self.fd_dir >= 0:
            with contextlib.suppress(OSError):
                st = os.fstat(self.fd_dir)
                if (st.st_dev, st.st_ino) == self.identity:
                    os.close(self.fd_dir)
            self.fd_dir = -1


#: A count that failed is read again after the run, every ``GRACE_POLL_SECONDS``, for up to
#: ``GRACE_SECONDS`` while it keeps falling and at most ``GRACE_STALL_SECONDS`` without a fall:
#: a thread that ends 0.3 s after its call outlives a run of fast calls, and is no leak.
GRACE_SECONDS = 2.0
GRACE_STALL_SECONDS = 0.4
GRACE_POLL_SECONDS = 0.01


def in_flight(limits: dict[str, int]) -> set[str]:
    """The kinds whose count falls back to its limit once the calls stop: what rose was
    work still in flight when the run ended (a thread ending 0.3 s after its call).

    ``limits`` maps a kind to the most it may count (its count at the end of warm-up plus its
    bound). A leak never falls back, and costs ``GRACE_STALL_SECONDS``.
    """
    reader = Reader()
    try:
        keys = reader.keys
        lowest = {k: v for k, v in zip(keys, reader.read(), strict=True) if k in limits}
        gone = {k for k, v in lowest.items() if v <= limits[k]}
        began = fell = time.monotonic()
        while len(gone) < len(lowest):
            now = time.monotonic()
            if now - began > GRACE_SECONDS or now - fell > GRACE_STALL_SECONDS:
                break
            time.sleep(GRACE_POLL_SECONDS)
            for key, value in zip(keys, reader.read(), strict=True):
                if key in lowest and value < lowest[key]:
                    lowest[key], fell = value, time.monotonic()
                    if value <= limits[key]:
                        gone.add(key)
        return gone
    finally:
        reader.close()


def filled(values: Sequence[int], read: Sequence[int], n: int) -> tuple[int, ...]:
    """Counts after calls 1..n relative to index 0, each the last one read (``read[i]``).

    Built a run of equal counts at a time (a read every few dozen calls): every guarded run
    builds four of these, twice."""
    base = values[0]
    out: list[int] = []
    last, start = 0, 1
    for i in compress(range(1, n + 1), read[1 : n + 1]):
        out += [last] * (i - start)
        last, start = values[i] - base, i
    out += [last] * (n + 1 - start)
    return tuple(out)


@dataclass(frozen=True)
class Counts:
    """Counts after each measured call, relative to the end of warm-up; index 0 of ``series``
    is the first measured call. A kind that cannot be read here has no series."""

    series: dict[str, tuple[int, ...]]
    #: Each count at the end of warm-up, as read (what the series are relative to).
    baseline: dict[str, int] = field(default_factory=dict)

    def of(self, key: str) -> tuple[int, ...]:
        return self.series.get(key, ())


NO_COUNTS = Counts({})
