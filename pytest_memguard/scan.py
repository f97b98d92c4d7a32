"""``--memguard-scan``: which tests of an unmarked suite leak, at little more than its own cost.

Two stages, as CPython's ``regrtest -R`` and then the marker:

* the **screen** replays a test that passed ``SCREEN_WARMUP + SCREEN_RUNS`` more times (fresh
  function-scoped fixtures each time) and reads three exact counters after each measured run,
  with the heap frozen so that each collection costs what the run made: pymalloc blocks, the
  C allocator's bytes in use, and the gc-tracked objects made since the freeze. A test is a
  **suspect** when one counter rose on every measured run by more than its noise floor
  (pymalloc blocks may miss one: ``MISSES_ALLOWED``); one the C allocator's bytes alone make
  a suspect gets ``MALLOC_MORE_RUNS`` more runs. The screen stops as soon as no counter can
  make the test one any more;
* suspects only are **confirmed** by the full guard (the marker's settings, fresh fixtures),
  and explained as a marked test is.

A replay that raises, or a test that cannot be replayed, is "not replayable" with the reason:
never a leak, never a failure. Pure: no pytest import; ``session.py`` plugs the test in.
"""

from __future__ import annotations

import gc
import itertools
import math
import signal
import sys
import threading
import time
import warnings
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace

from pytest_memguard.allocator import malloc_in_use
from pytest_memguard.caches import CacheDropper
from pytest_memguard.guard import EXPLAIN_CALLS, unmeasured
from pytest_memguard.measure import (
    BLOCK_BYTES,
    GcState,
    ThreadsGone,
    add_note,
    frozen_heap,
)
from pytest_memguard.result import TEST_BODY, MemguardResult
from pytest_memguard.settings import Settings
from pytest_memguard.units import kib
from pytest_memguard.verdict import MIN_ITERATIONS, WINDOWS

#: Replays before the counters' baseline (the test's own call is one more): caches fill.
SCREEN_WARMUP = 1
#: Measured replays: a counter must rise after every one of them (but ``MISSES_ALLOWED``).
SCREEN_RUNS = 3
#: More replays before the baseline of the first test a process screens, on CPython 3.10: its
#: frames are heap objects cached per function, and a replay runs pytest's fixture machinery
#: with generator fixtures alive, which swaps cached frames for bigger recycled ones over a
#: process's first ~6 replays (~1 KiB of malloc a replay, then none: docs/python-versions.md).
#: Newer versions keep frames on a stack.
FIRST_WARMUP = 8 if sys.version_info < (3, 11) else 0
#: What one counter may rise by after a run and still count as not rising: the counters are
#: exact, so a clean run's rise is 0 most of the time; these are the largest rises seen on
#: every measured run of a clean test over Flask's suite (benchmarks/scan.py).
NOISE_BLOCKS = 0
NOISE_MALLOC_BYTES = 1024
NOISE_TRACKED = 0
#: The floors in the order the counters are read (see ``_Counts``).
_FLOORS = (NOISE_BLOCKS, NOISE_MALLOC_BYTES, NOISE_TRACKED)
#: Measured runs on which each counter (in ``_FLOORS`` order) may stay at its floor and the test
#: still be a suspect: a pymalloc block is sometimes freed or made by other work during a run
#: (an event loop's), so a leak of one small object a call reads +0 on one run in ten (a 64-byte
#: plant in Flask-HTTPAuth's async tests: 2 to 4 of 118 exercising tests missed). Blocks that
#: rose on every other run, and by at least one a run less one over all runs, make a suspect.
MISSES_ALLOWED = (1, 0, 0)
#: A run alone (the test's thread never waited for another thread, a ``select`` or a disk) has
#: no such miss: the full collections before each reading make its blocks exact (Python's free
#: lists emptied; a buffer that outgrows pymalloc is still one block), so one flat reading ends
#: the screen. Most clean tests are read once instead of twice (Flask's: 440 of 487).

#: The C allocator's bytes move with fragmentation and buffers that a bounded structure
#: reallocates: its rises must also be steady (the smallest at least 1/STEADY of the largest),
#: as a leak's are.
STEADY = 2
#: More measured runs for a test that the C allocator's bytes alone make a suspect: a buffer
#: grows for a few runs to the size it keeps (Flask's ``test_error_handling``: +2,640, +2,384,
#: +1,616 bytes, then none), and such a suspect is confirmed over the guard's full length (its
#: rate is unknown: see :meth:`Screen.rate`), a second of calls for a 4 ms test. A leak of
#: large buffers rises on these runs too.
MALLOC_MORE_RUNS = 3
#: The counters' names, as reasons show them.
BLOCKS, MALLOC, TRACKED = "pymalloc blocks", "malloc bytes", "gc-tracked objects"

#: The scan statuses, as ``MemguardResult.scan`` holds them ("" for a test not scanned).
CLEAN = "clean"
SUSPECTED = "suspected"
CONFIRMED = "confirmed"
NOT_REPLAYABLE = "not replayable"
STATUSES = (CONFIRMED, SUSPECTED, NOT_REPLAYABLE, CLEAN)

#: The confirmation's measured calls and warm-up, unless the ini or the command line set
#: them: enough for the verdict's four windows of the tail (and one extension) to tell a
#: steady rise, at a cost that a suite with dozens of suspects can pay.
CONFIRM_ITERATIONS = MIN_ITERATIONS
CONFIRM_WARMUP = 3
#: Calls of a confirmed leak's explanation pass (traced, the costliest part): a leak that
#: rose on every screened run gains its holder an item on each of them.
SCAN_EXPLAIN_CALLS = 3
#: ...and of one whose every measured call kept more blocks (traced, each call costs ~45 ms
#: through Flask's CLI): each call gains its holder an item, and two calls are the fewest in
#: which a holder gains the two that tell it from a container that changed once.
STEADY_EXPLAIN_CALLS = 2
#: The rise each window of the verdict's tail must clear for a leak to show: the noise of a
#: framework's request path on the guard's counters is a few KiB.
CONFIRM_NOISE_BYTES = 2 * 1024


def confirm_defaults(shown: Screen, default_iterations: int) -> dict[str, int]:
    """The confirmation's calls for the rate the screen saw: a fast leak shows in 16 calls, a
    small one needs each of the verdict's windows (1/8 of the calls) to gain more than the
    noise, up to the guard's default iterations."""
    rate = max(shown.rate(), 1)
    wanted = math.ceil(2 * WINDOWS * CONFIRM_NOISE_BYTES / rate)
    iterations = max(CONFIRM_ITERATIONS, min(wanted, default_iterations))
    return {"iterations": iterations, "warmup": CONFIRM_WARMUP}


#: Modules of the test runner: growth they hold comes from replaying the test's fixtures
#: (one re-registering a pytest plugin), which a normal run does once.
HARNESS_MODULES = ("pytest", "_pytest", "pluggy", "pytest_memguard", "xdist", "execnet")

#: A replay that runs this much longer than the test's own call is stopped (see Deadline)...
DEADLINE_FACTOR = 50
DEADLINE_MIN_SECONDS = 5.0
#: ...plus this much per call: the sampling (two collections, the caches dropped) costs a few
#: ms a call, more than a fast test's own call, and several times more on a loaded machine
#: (Flask's 0.4 ms tests were stopped after 8 s of a 400-call confirmation at load 8 on 2 cores).
DEADLINE_CALL_SECONDS = 0.05

#: The exception text shown in a "not replayable" reason is cut here.
REASON_TEXT = 120


class ReplayTimeout(BaseException):
    """A replay ran far longer than the test's own call: it waits for something (a server it
    started with a fixture torn down, a lock) and would hang the run. Not an ``Exception``:
    neither the test's own ``except Exception`` nor the explanation pass (which keeps the
    verdict when explaining fails) may swallow it and go on: a confirmation cut short has no
    holder to show."""


@dataclass(frozen=True)
class Screen:
    """The counters' rise after each measured run, from the baseline (plain numbers)."""

    blocks: tuple[int, ...]
    malloc_bytes: tuple[int, ...]
    tracked: tuple[int, ...]
    warmup: int = SCREEN_WARMUP  # replays before the baseline

    def rises(self) -> dict[str, tuple[int, ...]]:
        """Each counter's rise run by run, named as the reason shows it."""
        return {
            BLOCKS: _steps(self.blocks),
            MALLOC: _steps(self.malloc_bytes),
            TRACKED: _steps(self.tracked),
        }

    def risen(self) -> tuple[str, ...]:
        """The counters that rose on every run (but those :data:`MISSES_ALLOWED` spares)."""
        return tuple(
            name
            for counter, (name, steps) in enumerate(self.rises().items())
            if _rose(steps, _FLOORS[counter], MISSES_ALLOWED[counter])
            and (name != MALLOC or min(steps) * STEADY >= max(steps))
        )

    def suspicion(self) -> str:
        """Why this test is a suspect, or "" when no counter rose on every run."""
        rises = self.rises()
        risen = [f"{name} +{', +'.join(f'{r:,}' for r in rises[name])}" for name in self.risen()]
        return f"rose on every screened run: {'; '.join(risen)}" if risen else ""

    def rate(self) -> int:
        """The smallest rise of pymalloc blocks over the measured runs, in bytes. The C
        allocator's bytes are left out: they move in steps (a buffer that grew, an arena), and
        a step taken for a fast leak would shorten the confirmation below what a slow one
        needs (a 64-byte-a-call leak on CPython 3.10 was then found "bounded" on 50 calls).
        A leak of large buffers alone gets the full length."""
        return min((r for r in _steps(self.blocks) if r > 0), default=0) * BLOCK_BYTES

    @property
    def retained_bytes(self) -> int:
        """Estimated bytes retained by the measured runs, as the guard estimates them."""
        if not self.blocks:
            return 0
        return self.blocks[-1] * BLOCK_BYTES + self.malloc_bytes[-1]


def _steps(series: Sequence[int]) -> tuple[int, ...]:
    return tuple(b - a for a, b in zip((0, *series), series, strict=False))


def _rose(steps: Sequence[int], floor: int, misses: int) -> bool:
    """Whether a counter rose past ``floor`` on every run but ``misses`` of them; a run
    spared must leave the rise over all runs at least one a run less one."""
    missed = sum(r <= floor for r in steps)
    if not steps or missed > misses or len(steps) - missed < min(2, len(steps)):
        return False
    return missed == 0 or sum(steps) >= len(steps) - 1


class _Counts:
    """The three counters after each run, preallocated so that reading them retains nothing."""

    def __init__(self, runs: int, reset: Callable[[], None], threads: int | None) -> None:
        self.values = array("q", bytes(8 * 3 * (runs + 1)))
        #: Per counter, the measured runs so far on which it stayed at its floor.
        self.misses = array("b", bytes(3))
        #: The thread's waits when the last sample was read, and now (see ``waits``).
        self.waited = array("q", bytes(16))
        self.reset = reset
        self.drop_caches = CacheDropper()
        self.threads = ThreadsGone(threads)

    def sample(self, i: int) -> bool:
        """Read the counters after run ``i`` (0: the baseline); whether one of them has risen
        past its floor on every measured run so far (but those :data:`MISSES_ALLOWED`), so
        that the test may still be a suspect. The baseline's samples run every line too."""
        self.reset()
        gc.collect()
        self.threads()  # an async view's event loop thread ends (see measure.ThreadsGone)
        sys._clear_type_cache()  # names looked up by the run are not its leak
        self.drop_caches()  # nor the known caches it filled (re, typing, urllib...)
        gc.collect()
        w = self.waited
        w[1] = waits()  # stored first: a number over 256 is an object, kept by no read
        v, at = self.values, 3 * i
        v[at] = sys.getallocatedblocks()
        v[at + 1] = malloc_in_use()
        # With the heap frozen, only what was made since: O(new objects).
        v[at + 2] = len(gc.get_objects())
        alone = w[1] == w[0]
        w[0] = w[1]
        still = False
        for k in range(3):
            step = v[at + k] - v[at + k - 3]  # at the baseline, a number not used
            missed = int(step <= _FLOORS[k])
            if missed and alone:
                missed += MISSES_ALLOWED[k]  # an exact reading: no miss to spare
            self.misses[k] = 0 if i == 0 else self.misses[k] + missed
            still = still or self.misses[k] <= MISSES_ALLOWED[k]
        return still

    def screen(self, runs: int, warmup: int) -> Screen:
        v = self.values
        return Screen(
            tuple(v[3 * i] - v[0] for i in range(1, runs + 1)),
            tuple(v[3 * i + 1] - v[1] for i in range(1, runs + 1)),
            tuple(v[3 * i + 2] - v[2] for i in range(1, runs + 1)),
            warmup,
        )


def screen(
    fn: Callable[[], object],
    *,
    warmup: int = SCREEN_WARMUP,
    runs: int = SCREEN_RUNS,
    reset: Callable[[], None] | None = None,
    threads: int | None = None,
) -> Screen:
    """Replay ``fn`` ``warmup + runs`` times and read the counters after each measured run;
    stop as soon as no counter can make the test a suspect (it is clean then). A test that
    the C allocator's bytes alone make a suspect gets ``MALLOC_MORE_RUNS`` more.

    An exception of a replay propagates (the caller makes it "not replayable"); warnings the
    replays raise are dropped: the test's own call showed them, and pytest would keep one
    record per replay. gc state is restored. ``threads``: the threads before the test's own
    call; one that call let go (an async view's event loop) is collected and waited for
    before the heap is frozen, or it would end during the measured runs, a fall of ~40
    blocks that hides a small leak.
    """
    __tracebackhide__ = True
    drop = reset or _nothing
    counts = _Counts(runs + MALLOC_MORE_RUNS, drop, threads)
    saved = GcState.save()
    try:
        if counts.threads.over():
            gc.collect()  # a full collection, once: what holds its executor may be old
            counts.threads()
        with warnings.catch_warnings(record=True) as log, ExitStack() as stack:
            warnings.simplefilter("always")

            def clear() -> None:
                drop()
                log.clear()

            counts.reset = clear
            if warmup == 0:
                stack.enter_context(frozen_heap())
            # Sampled before every warm-up run, so that the baseline follows a run as every
            # sample does (the dry run of sampling allocates its first use), and so that a
            # longer warm-up (the first test of a process, FIRST_WARMUP) settles into what the
            # measured runs see: what the interpreter keeps depends on what runs between runs.
            for call in range(warmup):
                if call == 0:
                    stack.enter_context(frozen_heap())
                counts.sample(0)
                clear()
                _replay(fn, call)
            # Unlike the guard, what the last warm-up run keeps is not frozen: it is that run's
            # fixtures, torn down by the first measured run, and frozen garbage stays.
            # Made before the baseline (it is one block); the ints it hands out are cached.
            measured = iter(range(1, runs + MALLOC_MORE_RUNS + 1))
            read = runs
            # Its first run, before the baseline too: CPython 3.10 keeps a frame per function
            # once called, 12 blocks a process's first screen read after its third run.
            counts.screen(0, warmup).risen()
            counts.sample(0)
            for read in measured:
                clear()
                _replay(fn, warmup + read - 1)
                if not counts.sample(read):
                    break  # no counter can make it a suspect any more: clean
                if read == runs and counts.screen(read, warmup).risen() != (MALLOC,):
                    break
    finally:
        saved.restore()
    return counts.screen(read, warmup)


def _thread_waits() -> Callable[[], int]:
    """A reader of the times the calling thread has waited (voluntary context switches: for
    a lock another thread held, a ``select``, a disk), or of a new number on every call where
    the system does not count them, so that no run is taken for one alone."""
    try:
        import resource

        who = resource.RUSAGE_THREAD  # Linux
        resource.getrusage(who)
    except (ImportError, AttributeError, OSError):
        return itertools.count().__next__
    return lambda: resource.getrusage(who).ru_nvcsw


waits = _thread_waits()


def _replay(fn: Callable[[], object], index: int) -> None:
    """One replay; an exception is noted with its call (the test's own call is call 1)."""
    __tracebackhide__ = True
    try:
        fn()
    except BaseException as exc:
        add_note(exc, f"memguard: raised on call {index + 2} (scan replay)")
        raise


def _nothing() -> None:
    return None


def confirm_calls(settings: Settings) -> int:
    """The most calls the full guard makes: warm-up, a run extended once, the explanation."""
    return settings.warmup + 2 * settings.iterations + EXPLAIN_CALLS


def clean(settings: Settings, shown: Screen, nodeid: str, seconds: float) -> MemguardResult:
    """The result of a test the screen found clean: its numbers, judged by the screen."""
    retained = shown.retained_bytes
    return MemguardResult(
        passed=True,
        growth_kb=round(retained / 1024, 3),
        limit_kb=settings.max_growth_kb,
        iterations=len(shown.blocks),
        warmup=shown.warmup,
        per_call_bytes=round(retained / max(len(shown.blocks), 1), 1),
        shape="flat",
        reason=screened_reason(shown),
        series=[b * BLOCK_BYTES + m for b, m in zip(shown.blocks, shown.malloc_bytes, strict=True)],
        nodeid=nodeid,
        label=TEST_BODY,
        scan=CLEAN,
        scan_seconds=round(seconds, 3),
    )


def not_replayable(settings: Settings, reason: str, nodeid: str, seconds: float) -> MemguardResult:
    """The result of a test the scan could not replay: no numbers, never a failure."""
    result = unmeasured(settings, reason, TEST_BODY, nodeid)
    return replace(result, scan=NOT_REPLAYABLE, scan_seconds=round(seconds, 3))


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Stop a replay that runs past ``seconds`` with :class:`ReplayTimeout`, by ``SIGALRM``.

    Only on the main thread and while nobody else uses ``SIGALRM`` (pytest-timeout's signal
    method does, and then stops the replay itself); otherwise the replay runs unguarded.
    """
    usable = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not usable:
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise ReplayTimeout(f"a replay ran over {seconds:.1f} s")

    signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


def replay_seconds(own_call_seconds: float, replays: int) -> float:
    """How long ``replays`` replays may take before the scan gives up on them."""
    per_call = DEADLINE_FACTOR * own_call_seconds + DEADLINE_CALL_SECONDS
    return max(DEADLINE_MIN_SECONDS, per_call * replays)


def not_replayable_reason(exc: BaseException, where: str) -> str:
    """``not replayable: <where> raised <Type>: <first line>``, short and one line."""
    try:
        lines = str(exc).strip().splitlines()
    except Exception:  # a broken __str__: the type says enough
        lines = []
    first = lines[0] if lines else ""
    if len(first) > REASON_TEXT:
        first = first[: REASON_TEXT - 3] + "..."
    return f"{NOT_REPLAYABLE}: {where} raised {type(exc).__name__}{f': {first}' if first else ''}"


def holder_line(result: MemguardResult) -> str:
    """The first holder of an explained leak reached from a module (else the first one), as
    ``module x.attr``, or "". A holder with no path from a module (a list a frame keeps) may
    have gained most, but the one a user can find is named first."""
    traces: list[list[str]] = []
    reading = False
    for line in result.explanation:
        if line == "retained via:":
            traces.append([])
        elif reading and line.startswith("  "):
            traces[-1].append(line.strip().lstrip("├─╰→ ").split("  ")[0].strip())
        reading = line == "retained via:" or (reading and line.startswith("  "))
    if not traces:
        return ""
    trace = next((t for t in traces if t and t[0].startswith("module ")), traces[0])
    return "".join(hop if hop.startswith(".") else f" {hop}" for hop in trace[:2]).strip()


def site_line(result: MemguardResult) -> str:
    """Where the leaked memory was allocated: the first site's line of the user's own code
    when it shows one, else its allocating line; or "". Only the first site: the sites come
    where the holders' gain was made first, and a later one (a context's state the call made
    anew) may show a user's line the leak never passed through."""
    lines = list(result.explanation)
    if "allocated at:" not in lines:
        return ""
    sites = lines[lines.index("allocated at:") + 1 :]
    first = sites[0].strip() if sites else ""
    for line in sites[1:]:
        if not line.startswith("    "):
            break  # the next site
        if "from your code at " in line:
            return line.split("from your code at ", 1)[1].strip()
    return first.split(" at ", 1)[1] if " at " in first else ""


def holder_roots(explanation: Sequence[str]) -> list[str]:
    """The module each holder trace of an explanation starts from (``module x`` lines)."""
    roots: list[str] = []
    lines = list(explanation)
    for index, line in enumerate(lines[:-1]):
        following = lines[index + 1].strip()
        if line == "retained via:" and following.startswith("module "):
            roots.append(following.removeprefix("module ").split()[0])
    return roots


def harness_holder(result: MemguardResult) -> str:
    """The holder, when every holder of a failed run is the test runner's (pytest, pluggy,
    xdist, this plugin), else ""."""
    roots = holder_roots(result.explanation)
    if roots and all(r.split(".")[0] in HARNESS_MODULES for r in roots):
        return holder_line(result)
    return ""


def fixture_holders(explanation: Sequence[str]) -> list[str]:
    """For each holder trace of an explanation, the test's fixture it goes through (the hop
    after the item's ``.funcargs``), or "" for a trace that does not; empty without traces."""
    names: list[str] = []
    current: str | None = None
    after_funcargs = False
    for line in explanation:
        if line == "retained via:":
            if current is not None:
                names.append(current)
            current, after_funcargs = "", False
            continue
        if current is None or not line.startswith("  "):
            if current is not None:
                names.append(current)
                current = None
            continue
        hop = line.strip().lstrip("├─╰→ ").split(" ")[0]
        if after_funcargs and not current and hop.startswith("."):
            current = hop[1:]
        after_funcargs = hop == ".funcargs"
    if current is not None:
        names.append(current)
    return names


def rejudge_line(name: str) -> str:
    return f"held by fixture {name!r}, which this test adds to on every call"


@dataclass(frozen=True)
class Summary:
    """The ranked answer of a scan, as terminal lines (from plain results)."""

    results: Sequence[MemguardResult]
    added_seconds: float

    def lines(self) -> list[str]:
        scanned = [r for r in self.results if r.scan]
        by = {status: [r for r in scanned if r.scan == status] for status in STATUSES}
        out: list[str] = []
        confirmed = sorted(by[CONFIRMED], key=lambda r: -r.per_call_bytes)
        if confirmed:
            out.append("confirmed leaks (largest first):")
        for r in confirmed:
            out.append(f"  LEAK {r.nodeid}: ~{r.per_call_bytes:,.0f} B/call; {r.reason}")
            holder, site = holder_line(r), site_line(r)
            if holder:
                out.append(f"    held by {holder}")
            if site:
                out.append(f"    allocated at {site}")
            if r.rejudged:
                out.append(f"    {r.rejudged}")
        if by[SUSPECTED]:
            out.append("suspected but not confirmed (the full guard found it bounded):")
            out.extend(f"  {r.nodeid}: {r.reason}" for r in by[SUSPECTED])
        if by[NOT_REPLAYABLE]:
            out.append("not replayable (never a leak, never a failure):")
            out.extend(f"  {r.nodeid}: {r.reason}" for r in by[NOT_REPLAYABLE])
        out.append(
            f"scanned {len(scanned)} test(s): {len(by[CONFIRMED])} confirmed leak(s),"
            f" {len(by[SUSPECTED])} suspected but not confirmed,"
            f" {len(by[NOT_REPLAYABLE])} not replayable, {len(by[CLEAN])} clean;"
            f" the scan added {self.added_seconds:,.1f} s"
        )
        return out


def screened_reason(shown: Screen) -> str:
    """The reason of a test the screen found clean."""
    runs = len(shown.blocks)
    retained = kib(shown.retained_bytes / 1024, sign=True)
    return f"clean: {retained} after {runs} run{'s' * (runs != 1)}"


def now() -> float:
    return time.perf_counter()
