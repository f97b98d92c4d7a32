"""The measuring loop: warm up, collect, freeze, then sample retained memory after every call.

Two counters are read after each call and a full garbage collection, because neither alone sees
every leak and both are nearly free (well under a microsecond, no allocation):

* ``sys.getallocatedblocks()`` counts live pymalloc blocks, so it sees objects the garbage
  collector does not track (``str``, ``bytes``, ``int``), which gc-based counts miss;
* the C allocator's bytes in use (glibc ``mallinfo2``, less the freed chunks its thread cache
  holds: see allocator.py) sees buffers over 512 bytes, which bypass pymalloc and count as one
  block each whatever their size.

After warm-up the heap is frozen (``gc.freeze()``), so each later collection scans only the
objects made since: its cost follows what the code under test allocates, not the heap size.
Samples go to a preallocated ``array`` so that storing them retains nothing. The plugin never
counts itself: its sampling code runs once before the baseline (a line tracer such as coverage
records lines on first use), every sample does the same work, and what deciding to extend a run
changes in the counters is read and taken out of the samples that follow.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
import warnings
from array import array
from collections.abc import Callable, Collection, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

from pytest_memguard import resources
from pytest_memguard.allocator import malloc_in_use
from pytest_memguard.errors import passthrough
from pytest_memguard.resource_warnings import UnclosedWarnings, is_unclosed
from pytest_memguard.result import TypeGrowth
from pytest_memguard.verdict import WINDOWS

#: Bytes assumed per pymalloc block: small objects fall in 16-byte size classes and the common
#: retained ones (short strings, small tuples and ints, list slots) sit near 64 bytes.
BLOCK_BYTES = 64

#: At most this many distinct warnings raised during the replays are kept to re-emit afterwards.
MAX_KEPT_WARNINGS = 10

#: After a reading that rose, this many samples drop the caches without reading first.
RECHECK = 8

#: A thinned run (``Loop.thin``) samples after every this many calls...
THIN_EVERY = 3
#: ...when a sample costs more than this fraction of a call (CPU time of the baseline's sample
#: and of the last warm-up call)...
THIN_COST = 0.25
#: ...and the run has at least this many measured calls: each window of the verdict's tail
#: (``WINDOWS`` of the second half) still holds 8 samples or more.
THIN_MIN_ITERATIONS = 2 * WINDOWS * 8 * THIN_EVERY


#: Objects the interpreter itself keeps frozen: CPython 3.12 starts with its few hundred
#: deep-frozen static tuples in the permanent generation. Only more than these means that the
#: code froze the heap. Read once, when this module is first imported.
STARTUP_FROZEN = gc.get_freeze_count()


@dataclass(frozen=True)
class GcState:
    """What the code under test may change in the garbage collector, to put back exactly."""

    enabled: bool
    thresholds: tuple[int, ...]
    frozen: bool

    @classmethod
    def save(cls) -> GcState:
        return cls(gc.isenabled(), gc.get_threshold(), gc.get_freeze_count() > STARTUP_FROZEN)

    def restore(self) -> None:
        gc.set_threshold(*self.thresholds)
        if self.enabled:
            gc.enable()
        else:
            gc.disable()


def no_late_caches() -> None:
    """Stop CPython 3.10 giving a function its attribute cache on its 1,024th call.

    That cache is allocated once, wherever a run happens to make that call: in a clean run
    a small step (a few hundred bytes per function: the plugin's own sampling crossed it
    mid-run after a few guarded runs in one process), and over a request path whose functions
    cross it one after another, a slope. CPython's own leak hunter (``regrtest -R``) turns it
    off the same way. Process-wide and one-way; it costs 3.10 some speed in functions not yet
    cached. CPython 3.11 and newer specialise in place and allocate nothing.
    """
    deactivate = getattr(sys, "_deactivate_opcache", None)
    if deactivate is not None:
        deactivate()


@passthrough
def frozen_heap() -> Iterator[bool]:
    """Freeze what is alive, so that collections and ``gc.get_objects()`` see only newer objects.

    Yields whether it froze: a heap the code froze itself (a pre-fork server) stays frozen, and
    then ``gc.get_objects()`` cannot tell new from old. The interpreter's own frozen objects
    (CPython 3.12's static tuples) are unfrozen with the rest: they are immortal and never
    collected, so only ``gc.get_freeze_count()`` changes. Only young garbage is collected
    first: a full collection costs O(heap), and older garbage, frozen with the rest, stays the
    same size until the heap is unfrozen. Unfreezing is O(1); counting the frozen objects is
    not, so it is never done on the way out.
    """
    __tracebackhide__ = True
    no_late_caches()
    saved = GcState.save()
    froze = not saved.frozen
    gc.collect(1)
    if froze:
        gc.freeze()
    # Now cheap; a full collection also empties the interpreter's free lists (tuples, floats,
    # frames...), as each one after every call does: without it the first call seems to free.
    gc.collect()
    try:
        yield froze
    finally:
        if froze:
            gc.unfreeze()
        saved.restore()


#: How long in all a sample waits for the threads a call started and let go to end (waits
#: that double from THREAD_WAIT_SECONDS, ~127 ms in all): asgiref's ``async_to_sync`` (Flask's
#: async views, Django's) runs each call's event loop in a new thread that exits only once
#: its executor is collected, and a thread still exiting holds its frames, loop and selector:
#: ~40 blocks that come and go from sample to sample hide a leak of a few hundred bytes a call.
THREAD_WAIT_SECONDS = 0.0005
THREAD_WAITS = 8
#: Waits that find a thread staying before the sampler stops waiting for the run: a test
#: that keeps a thread per call is the resources count's to judge, not a reason to wait.
THREAD_GIVE_UP = 2


class ThreadsGone:
    """Before a sample, wait briefly for the threads the call let go to end.

    ``floor`` is the fewest threads seen (small ints: keeping it allocates nothing). A count
    over it is waited for until it is back at the floor and no longer falling: the first
    floor may count a thread of the call before (the test's own call's event loop), which
    ends with this call's. :meth:`__call__` returns whether other threads ran or ended since
    it last looked: what they left may be garbage to collect (in a process of one thread, it
    spares the sample a second collection).
    """

    def __init__(self, floor: int | None = None) -> None:
        self.floor = resources.count_threads() if floor is None else floor
        self.last = self.floor
        self.stayed = 0
        self.waited = False  # whether the last call waited

    def over(self) -> bool:
        """Whether more threads run than the floor."""
        return resources.count_threads() > self.floor

    def __call__(self) -> bool:
        # No sleep(0) to hand the interpreter over first: on a loaded machine it gives the
        # CPU away for a time slice on every sample, threads or not.
        count = resources.count_threads()
        waited = count > self.floor and self.stayed < THREAD_GIVE_UP
        if waited:
            for attempt in range(THREAD_WAITS):
                time.sleep(THREAD_WAIT_SECONDS * 2**attempt)
                before, count = count, resources.count_threads()
                if count <= self.floor and count >= before:
                    break
            else:
                self.stayed += 1
        self.floor = min(self.floor, count)
        self.waited = waited
        others = max(count, self.last) > 1
        self.last = count
        return others


def other_threads_cpu() -> dict[str, int]:
    """CPU time (ns) used so far by each other thread of this process, where Linux tells it.

    An idle thread (a plugin's server waiting on a socket) disturbs nothing; one that ran
    during the measurement may have allocated into the same counters.
    """
    me = str(threading.get_native_id())
    times: dict[str, int] = {}
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return times
    for tid in tasks:
        if tid == me:
            continue
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as stat:
                times[tid] = int(stat.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return times


def busy_threads(before: dict[str, int], after: dict[str, int], *, min_ns: int = 1_000_000) -> int:
    """How many other threads ran for at least ``min_ns`` between two readings."""
    return sum(1 for tid, ns in after.items() if ns - before.get(tid, 0) >= min_ns)


def retained_now(samples: Samples, drop_caches: Callable[[], object]) -> int:
    """Retained bytes now, after the run, as its samples read them (what the plugin allocated
    since its last sample included: a few KiB at most, never less than the code keeps)."""
    gc.collect()
    sys._clear_type_cache()
    drop_caches()
    gc.collect()
    blocks = sys.getallocatedblocks() - samples.origin[0]
    ignored = samples.ignored_bytes[-1] if samples.ignored_bytes else 0  # as last measured
    return blocks * BLOCK_BYTES + malloc_in_use() - samples.origin[1] - ignored


@dataclass(frozen=True)
class Samples:
    """Retained memory after each measured call, relative to the end of warm-up."""

    blocks: tuple[int, ...]
    malloc_bytes: tuple[int, ...]
    warmup: int
    tracked: tuple[TypeGrowth, ...] = ()  # gc-tracked types made by the measured calls
    ignored_bytes: tuple[int, ...] = ()  # growth of holders the user asked to ignore
    #: Open descriptors, threads, tasks and processes after each call, relative to the end
    #: of warm-up, by kind (see :mod:`pytest_memguard.resources`); a kind not read is absent.
    counts: resources.Counts = resources.NO_COUNTS
    #: The raw counters (pymalloc blocks, malloc bytes) that read as 0, for a reading after
    #: the run (:func:`retained_now`).
    origin: tuple[int, int] = (0, 0)

    @property
    def iterations(self) -> int:
        return len(self.blocks)

    @property
    def retained(self) -> tuple[int, ...]:
        """Estimated retained bytes after each call."""
        ignored = self.ignored_bytes or (0,) * len(self.blocks)
        return tuple(
            b * BLOCK_BYTES + m - x
            for b, m, x in zip(self.blocks, self.malloc_bytes, ignored, strict=True)
        )

    @property
    def parts(self) -> tuple[tuple[int, ...], ...]:
        """The two counters of :attr:`retained`, each in bytes, for the verdict to judge apart;
        none when ignored holders grew: which counter their growth sits in is not known (a
        holder of large buffers grows in malloc), so only the sum can have it taken out."""
        if any(self.ignored_bytes):
            return ()
        return (tuple(b * BLOCK_BYTES for b in self.blocks), self.malloc_bytes)


#: A warning's identity for re-emitting it once: category, text, file and line.
WarningKey = tuple[type, str, str, int]


def warning_key(message: warnings.WarningMessage) -> WarningKey:
    return (message.category, str(message.message), message.filename, message.lineno)


class _WarningsAside:
    """Record warnings raised during replays without letting pytest keep one per call.

    pytest records every warning of a test (and turns ``DeprecationWarning`` to "always"), so a
    call that warns would look like a leak of one ``WarningMessage`` per call. Distinct warnings
    (at most ``MAX_KEPT_WARNINGS``) not in ``seen`` are re-emitted once the loop is over, under
    the filters in force (``-W error`` makes them fail the test), saying on which call each was
    first raised. ``ResourceWarning`` s are told about with the call that left the unclosed
    object and the line that opened it (see :mod:`pytest_memguard.resource_warnings`).
    """

    def __init__(self, seen: Collection[WarningKey] = ()) -> None:
        self.seen = seen
        self.call = 0  # the call running now, set by the loop
        self.kept: dict[WarningKey, tuple[warnings.WarningMessage, int]] = {}
        self.log: list[warnings.WarningMessage] = []
        self.unclosed = UnclosedWarnings()
        #: One more call of the code, to find where unclosed objects were opened.
        self.replay: Callable[[], None] | None = None

    def drain(self) -> None:
        for message in self.log:
            if is_unclosed(message):
                self.unclosed.add(message, self.call)
                continue
            key = warning_key(message)
            if key not in self.seen and key not in self.kept and len(self.kept) < MAX_KEPT_WARNINGS:
                self.kept[key] = (message, self.call)
        self.log.clear()

    def reemit(self) -> None:
        __tracebackhide__ = True
        kept = list(self.kept.values())
        self.kept.clear()
        for message, call in kept:
            reemit(message, note=f"memguard: first raised on call {call}")
        if self.replay is not None:
            self.unclosed.locate(self.replay)
        self.unclosed.reemit()


def reemit(message: warnings.WarningMessage, *, note: str | None = None) -> None:
    """Warn again with the warning's own category and location, so that pytest's summary and
    ``-W error`` treat it as the code's warning; ``note`` is added to its text where the
    warning class allows it."""
    __tracebackhide__ = True
    warning: Warning | str = message.message
    if note is not None:
        try:
            warning = message.category(f"{message.message} ({note})")
        except Exception:  # a warning class with another signature: keep its own text
            warning = message.message
    warnings.warn_explicit(
        warning, message.category, message.filename, message.lineno, source=message.source
    )


@passthrough
def _warnings_aside(seen: Collection[WarningKey]) -> Iterator[_WarningsAside]:
    __tracebackhide__ = True
    aside = _WarningsAside(seen)
    with warnings.catch_warnings(record=True) as log:
        # "always": no registry entry per distinct text, and no exception in the middle of
        # the loop; the filters in force judge each warning when it is re-emitted.
        warnings.simplefilter("always")
        aside.log = log
        yield aside
    aside.drain()
    aside.reemit()


#: Exceptions that stop the run at once: no note, nothing to say about the call.
STOP = (KeyboardInterrupt, GeneratorExit)


def add_note(exc: BaseException, note: str) -> None:
    """``exc.add_note(note)``, also for exceptions that refuse new attributes (a frozen
    dataclass) and on Python 3.10, where pytest shows ``__notes__`` all the same."""
    notes = getattr(exc, "__notes__", None)
    try:
        if isinstance(notes, list):
            notes.append(note)
        else:
            object.__setattr__(exc, "__notes__", [note])
    except Exception:  # no __dict__ and no slot for notes: the exception shows as it is
        pass


#: How a note names the call that raised, for :func:`raised_on` to read it back.
_RAISED = "memguard: raised on call "


def _call(fn: Callable[[], object], call: int, phase: str) -> None:
    __tracebackhide__ = True
    try:
        fn()
    except STOP:
        raise
    except BaseException as exc:  # SystemExit and pytest.fail() too: say which call raised
        add_note(exc, f"{_RAISED}{call} ({phase}); no memory verdict was reached")
        raise


def raised_on(exc: BaseException) -> str | None:
    """``call N (phase)`` if the measuring loop noted that ``exc`` came from one of its calls."""
    for note in getattr(exc, "__notes__", None) or ():
        if isinstance(note, str) and note.startswith(_RAISED):
            return "call " + note.removeprefix(_RAISED).split(";", 1)[0]
    return None


@dataclass(frozen=True)
class Loop:
    """How :func:`measure` runs: how many calls, and what the caller plugs in.

    ``extend`` sees the samples so far and returns how many more calls to make (0 to stop), up
    to ``max_iterations`` in all: the verdict uses it to keep a run going while a trend is still
    ambiguous. ``reset`` runs before every call and before every sample, to drop what the test
    runner captured from the call (output, log records). ``census`` runs at the end while the
    heap is still frozen, when ``gc.get_objects()`` returns only what the measured calls made.
    An exception from the calls propagates with a note saying on which call it was raised,
    counting ``calls_before`` calls made by the caller. Warnings raised by the calls are
    re-emitted once each at the end, except those in ``seen_warnings`` (the caller already
    showed them). ``on_growth`` runs before every sample: it drops caches that are not the
    code's leak. ``ignored_bytes`` measures holders the user told us to ignore; their growth is
    taken out of the retained series.
    """

    warmup: int
    iterations: int
    max_iterations: int | None = None
    extend: Callable[[Samples], int] | None = None
    reset: Callable[[], None] | None = None
    census: Callable[[], tuple[TypeGrowth, ...]] | None = None
    calls_before: int = 0
    seen_warnings: Collection[WarningKey] = ()
    on_growth: Callable[[], None] | None = None
    ignored_bytes: Callable[[], int] | None = None
    count_resources: bool = False
    #: Sample after every third call when sampling costs over a quarter of a call (a fast
    #: web request) and the run is long enough (see :data:`THIN_MIN_ITERATIONS`).
    thin: bool = False

    @property
    def capacity(self) -> int:
        """The most measured calls the run may make, extensions included."""
        return max(self.iterations, self.max_iterations or 0)


class _Counters:
    """Raw counter values after each measured call, index 0 the baseline.

    Allocated up front, so that sampling (and extending the run) allocates nothing the
    counters would see. Every sample reads after the same full collection, so that what the
    sampling itself leaves behind (free lists, its own lookups) never alternates from call to
    call, whether it dropped the caches or not.
    """

    def __init__(self, loop: Loop) -> None:
        self.loop = loop
        self.reset = loop.reset or _nothing
        size = 8 * (loop.capacity + 1)
        self.blocks = array("q", bytes(size))
        self.malloc_bytes = array("q", bytes(size))
        self.ignored = array("q", bytes(size))
        # What the plugin itself changed in the two counters between calls (deciding to
        # extend the run), kept out of every later sample.
        self.offset = array("q", bytes(16))
        # The last exact sample (blocks, malloc bytes) and the least a drop freed (the same),
        # and a reading before its drop.
        self.dropped = array("q", bytes(32))
        self.raw = array("q", bytes(16))
        self.skip = array("q", bytes(8))  # samples left that drop without reading first
        self.reader = resources.Reader() if loop.count_resources else None
        keys = self.reader.keys if self.reader is not None else ()
        self.counts = [array("q", bytes(size)) for _ in keys]
        self.keys = keys
        self.baseline = [0] * len(keys)
        self.stride = resources.stride(loop.iterations, WINDOWS, THIN_EVERY)
        self.tail = loop.iterations // 2  # where the verdict's tail starts (unless extended)
        self.read = bytearray(loop.capacity + 1)  # 1 where the counts were read
        self.every = 1  # sample after every call, or every THIN_EVERY (decided at the baseline)
        # CPU time (ns) when the last warm-up call started and ended, and the baseline's
        # sample started: preallocated, so that timing them allocates nothing that stays.
        self.clock = array("q", bytes(24))
        self.threads = ThreadsGone()

    def sample(self, i: int, *, exact: bool = False) -> None:
        """Collect, then read the counters into index ``i``; drop what is not the code's and
        read again where the reading moved (and at the baseline, or when ``exact``).

        CPython's type attribute cache keeps the names it looked up, and known caches are not
        the code's leak. Dropping them is cheap, but every later call pays for it (each
        attribute looked up again, each cache refilled), so they are dropped only when the
        reading, less the least a drop freed (what one call puts back in the caches), moved
        from the last exact sample. Every sample is then exact, or the last exact one when
        nothing moved: an estimate under the exact value (calls that fill the caches by more
        at some calls than at others) would make the next exact sample read as a fall, which
        raises the run's noise over a slow leak's gain. Where the caches fill a little more at
        every call (fresh attribute-name strings, such as ``re.finditer`` makes, each take a
        type cache slot: see docs/verdict.md), every reading rises: after a drop that freed
        more than the least one did, the next ``RECHECK`` samples drop at once, without
        reading first. Both paths read after the same full collection (it empties the free
        lists), so neither leaves blocks behind for the next sample.
        """
        self.reset()  # what pytest captured from the call is not the code's either
        gc.collect()
        if self.threads():  # what a thread that ran or ended left is garbage to collect
            gc.collect()
        if self.skip[0] > 0:  # the caches kept filling: drop without reading first
            self.skip[0] -= 1
            self.drop(i)
        else:
            self.read_memory(i)
            self.blocks[i] -= self.dropped[2]  # what one call puts back in the caches
            self.malloc_bytes[i] -= self.dropped[3]
            if self.moved(i) or exact or i == 0:  # both paths run at the baseline (coverage)
                self.raw[0] = self.blocks[i] + self.dropped[2]  # the reading itself
                self.raw[1] = self.malloc_bytes[i] + self.dropped[3]
                self.drop(i)
                self.raw[0] -= self.blocks[i]  # what this drop freed: the least since the
                self.raw[1] -= self.malloc_bytes[i]  # baseline (one call after a drop) is kept
                # One line that always runs (the baseline's too): a line first run after the
                # baseline would show as growth under a line tracer (coverage).
                self.skip[0] = RECHECK if self.refilled() and i and not exact else 0
                if i == 0 or self.raw[0] < self.dropped[2]:
                    self.dropped[2] = max(self.raw[0], 0)
                if i == 0 or self.raw[1] < self.dropped[3]:
                    self.dropped[3] = max(self.raw[1], 0)
        if self.loop.ignored_bytes is not None:
            self.ignored[i] = self.loop.ignored_bytes()
        # After the memory counters: what reading the counts allocates is freed before the
        # next memory sample.
        if self.reader is not None and self.counts_due(i):  # between reads: the last one read
            self.read[i] = 1
            values = self.reader.settled(self.baseline) if i else self.reader.read()
            for counts, value in zip(self.counts, values, strict=True):
                counts[i] = value
            if i == 0:
                self.baseline[:] = values
                # A dry run of the later reads: CPython 3.10 keeps a frame per code object
                # on its first call, which would show in the sample after it.
                self.reader.settled(self.baseline)

    def due(self, i: int) -> bool:
        """Whether call ``i`` is sampled: every call, or every ``every``, and the calls whose
        counts are read."""
        return i % self.every == 0 or (self.reader is not None and self.counts_due(i))

    def counts_due(self, i: int) -> bool:
        """Whether the resource counts are read after call ``i``: the verdict reads the tail,
        and the first half is read for the chart, less often."""
        step = self.stride if i >= self.tail else self.stride * resources.HEAD_STRIDE
        return i % step == 0

    def repeat(self, i: int) -> None:
        """A call not sampled reads as the last sample: a rise shows at the next one."""
        self.blocks[i] = self.blocks[i - 1]
        self.malloc_bytes[i] = self.malloc_bytes[i - 1]
        self.ignored[i] = self.ignored[i - 1]

    def decide_thinning(self) -> None:
        """After the baseline: thin the run when sampling costs over ``THIN_COST`` of a call.

        Samples at most every ``THIN_EVERY`` calls change no verdict's inputs but their
        spacing: a leak still rises in every window (by as much), a fall still counts in
        the noise, the last sample (the growth) is still after the last call. A warm-up of
        no calls times none: then every call is sampled.
        """
        call = self.clock[1] - self.clock[0]
        cost = time.thread_time_ns() - self.clock[2]
        thin = (
            self.loop.thin
            and self.loop.warmup > 0
            and self.loop.iterations >= THIN_MIN_ITERATIONS
            and cost > THIN_COST * call
        )
        self.every = THIN_EVERY if thin else 1

    def drop(self, i: int) -> None:
        """Drop the type attribute cache and the known caches, then read the exact sample."""
        sys._clear_type_cache()
        if self.loop.on_growth is not None:
            self.loop.on_growth()
        gc.collect()  # dropping fills the interpreter's free lists; no sample counts them
        self.read_memory(i)
        self.dropped[0] = self.blocks[i]
        self.dropped[1] = self.malloc_bytes[i]

    def read_memory(self, i: int) -> None:
        """Both memory counters into index ``i``, less what the plugin itself changed."""
        self.blocks[i] = sys.getallocatedblocks() - self.offset[0]
        self.malloc_bytes[i] = malloc_in_use() - self.offset[1]

    def refilled(self) -> bool:
        """Whether the drop just made freed more than the least one did: the caches, not the
        code, made the reading rise, and may keep filling. A rise the drop did not take back
        (a dict of the code's resized) is read as usual at the next sample."""
        return (self.raw[0] - self.dropped[2]) * BLOCK_BYTES + (self.raw[1] - self.dropped[3]) > 0

    def moved(self, i: int) -> bool:
        """Whether the estimate ``i`` differs from the last exact sample, either way."""
        return self.blocks[i] != self.dropped[0] or self.malloc_bytes[i] != self.dropped[1]

    def more(self, done: int) -> int:
        """How many more calls ``extend`` asks for after ``done``; what asking allocated is
        taken out of the samples to come."""
        if self.loop.extend is None:
            return 0
        more = min(self.loop.extend(self.samples(done)), self.loop.capacity - done)
        if more > 0:
            gc.collect()
            sys._clear_type_cache()
            self.offset[0] = sys.getallocatedblocks() - self.blocks[done]
            self.offset[1] = malloc_in_use() - self.malloc_bytes[done]
        return more

    def samples(self, n: int, tracked: tuple[TypeGrowth, ...] = ()) -> Samples:
        b0, m0, x0 = self.blocks[0], self.malloc_bytes[0], self.ignored[0]
        return Samples(
            tuple(b - b0 for b in self.blocks[1 : n + 1]),
            tuple(m - m0 for m in self.malloc_bytes[1 : n + 1]),
            self.loop.warmup,
            tracked,
            tuple(x - x0 for x in self.ignored[1 : n + 1]),
            resources.Counts(
                {
                    key: resources.filled(values, self.read, n)
                    for key, values in zip(self.keys, self.counts, strict=True)
                },
                dict(zip(self.keys, self.baseline, strict=True)),
            ),
            (b0 + self.offset[0], m0 + self.offset[1]),
        )


def measure(fn: Callable[[], object], loop: Loop) -> Samples:
    """Call ``fn`` ``loop.warmup + loop.iterations`` times (more if ``loop.extend`` asks) and
    sample retained memory after each measured call; gc state is restored after."""
    __tracebackhide__ = True
    counters = _Counters(loop)
    saved = GcState.save()
    tracked: tuple[TypeGrowth, ...] = ()
    try:
        with _warnings_aside(loop.seen_warnings) as aside, ExitStack() as stack:
            aside.replay = lambda: (counters.reset(), fn(), None)[-1]
            done, froze = _calls(fn, counters, aside, stack)
            if loop.census is not None and froze:
                tracked = loop.census()
    finally:
        saved.restore()
        if counters.reader is not None:
            counters.reader.close()
    return counters.samples(done, tracked)


def _calls(
    fn: Callable[[], object], counters: _Counters, aside: _WarningsAside, stack: ExitStack
) -> tuple[int, bool]:
    """The calls, warm-up and measured, in one loop sampled from the baseline on.

    Every line of the plugin runs before the baseline is read, so that a tracer recording
    lines on first use (coverage) or a first import adds nothing to the samples. Returns the
    measured calls made and whether the heap was frozen (left to ``stack`` to unfreeze).
    """
    __tracebackhide__ = True
    loop = counters.loop
    froze = False
    total = loop.warmup + loop.iterations
    call = 0
    while True:
        if call == max(loop.warmup - 1, 0):
            # Before the last warm-up call, so that the baseline follows a call exactly as
            # every sample does (a thread the call started may still be exiting).
            froze = stack.enter_context(frozen_heap())
            counters.skip[0] = 1
            counters.sample(0)  # a dry run of the sampling (and pympler's import), both
            counters.sample(0)  # paths
            counters.repeat(0)  # and of the rest: the baseline overwrites both
            counters.due(0)
            counters.clock[2] = time.thread_time_ns()
            counters.decide_thinning()  # decided again after the baseline
        if call >= loop.warmup:
            if call == loop.warmup:
                counters.clock[2] = time.thread_time_ns()
            # Exact before deciding to extend: the offset below maps onto it.
            if call == total or counters.due(call - loop.warmup):
                counters.sample(call - loop.warmup, exact=call == total)
            else:
                counters.repeat(call - loop.warmup)
            if call == loop.warmup:
                counters.decide_thinning()
                if froze:
                    gc.freeze()  # what the last warm-up call kept joins the frozen heap
            if call == total:
                more = counters.more(call - loop.warmup)
                if more <= 0:
                    return call - loop.warmup, froze
                total += more
        counters.reset()  # a test may look at caplog's records of its call
        aside.call = loop.calls_before + call + 1
        if call == loop.warmup - 1:
            counters.clock[0] = time.thread_time_ns()
        _call(fn, aside.call, "warm-up" if call < loop.warmup else "measured")
        if call == loop.warmup - 1:
            counters.clock[1] = time.thread_time_ns()
        aside.drain()
        call += 1


def _nothing() -> None:
    return None
