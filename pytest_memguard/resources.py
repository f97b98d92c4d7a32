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
import os
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

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


def child_pids() -> list[int]:
    """Child processes of the process (also exited ones not yet waited for), on Linux."""
    pids: list[int] = []
    try:
        with os.scandir(f"{_PROC}/task") as entries:
            tids = [e.name for e in entries]
        for tid in tids:
            try:
                with open(f"{_PROC}/task/{tid}/children", "rb") as children:
                    pids.extend(int(p) for p in children.read().split())
            except OSError:
                continue  # the thread exited meanwhile
    except OSError:
        return []
    return pids


def count_processes() -> int:
    """Live child processes, or -1 where they cannot be read."""
    if not _CHILDREN:
        return -1
    return len(child_pids())


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
    return len(pending_tasks())


#: One reader per kind, in the order of :data:`KEYS`.
READERS: tuple[Callable[[], int], ...] = (count_fds, count_threads, count_tasks, count_processes)


@dataclass(frozen=True)
class Counts:
    """Counts after each measured call, relative to the end of warm-up; index 0 of ``series``
    is the first measured call. A kind that cannot be read here has no series."""

    series: dict[str, tuple[int, ...]]

    def of(self, key: str) -> tuple[int, ...]:
        return self.series.get(key, ())


NO_COUNTS = Counts({})
