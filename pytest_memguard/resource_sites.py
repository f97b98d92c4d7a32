"""Explain a failed count: what each new descriptor, thread, task or process is, and the line
of the code under test that made it.

Runs only after a count failed its verdict, as a second pass over the same calls (as the
memory explanation does), so the measuring loop never pays for it. Two sources of sites:

* an audit hook (``sys.addaudithook``) for what has no Python object to ask: ``open`` (also
  ``os.open``), ``sqlite3.connect``, ``socket.__new__``, ``subprocess.Popen`` and the
  ``os`` spawns. Audit hooks cannot be removed, so one hook is installed on the first
  explanation and is a single attribute test while no pass runs (~0.1 µs per audited event);
* ``tracemalloc``'s traceback of the object that owns the resource, for threads (Python 3.11
  has no audit event when a thread starts) and asyncio tasks.

Descriptors are described from ``/proc/self/fd``: a file's path, a socket's family and peer,
a pipe. The text is code locations, paths, addresses and argv: argv may hold a secret, so it is
redacted before it is shown.
"""

from __future__ import annotations

import _thread
import ast
import gc
import io
import linecache
import os
import re
import select
import selectors
import socket
import sys
import threading
import time
import tracemalloc
import types
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

from pytest_memguard import resources
from pytest_memguard.redact import Secrets
from pytest_memguard.retainers import backref_chain, trace
from pytest_memguard.sites import is_hidden, is_user_file, site_of_object, where

#: Frames kept per traced allocation: enough to reach the user's code through a framework.
FRAMES = 25
#: Distinct (what, where) lines shown per kind, most frequent first.
SHOWN = 4
#: How long the pass waits after its calls for other threads to make what was scheduled.
HAND_OVER_SECONDS = 0.05
_LINUX_FDS = os.path.isdir("/proc/self/fd")
#: Audit events recorded during a pass, at most (the pass replays a few dozen calls).
MAX_EVENTS = 10_000
_EVENTS = frozenset(
    {
        "open",
        "sqlite3.connect",
        "sqlite3.connect/handle",
        "socket.__new__",
        "subprocess.Popen",
        "os.posix_spawn",
        "os.spawn",
        "os.system",
        "os.fork",
        "mmap.__new__",
    }
)
#: C functions that return new descriptors and raise no audit event, by name; during a pass a
#: profile hook (``sys.setprofile``: C calls show as ``c_call`` events with the function) lists
#: the descriptors around each call, so that each new one has its line.
_C_CREATORS = (
    "os.pipe",
    "os.pipe2",
    "os.dup",
    "os.dup2",
    "os.openpty",
    "os.eventfd",
    "os.memfd_create",
    "os.pidfd_open",
    "os.timerfd_create",
    "os.login_tty",
)


@dataclass(frozen=True)
class _Event:
    """One audited creation: a path or argv (``key``), the object when it has one (weakly:
    the record must not keep it open), and the line of the code under test."""

    event: str
    key: str
    site: str
    ref: Callable[[], object] | None = None
    #: What ``/proc/self/fd`` said the descriptor was when it was made (C creators): a number
    #: closed and reused for something else later is not this event's.
    target: str = ""


@dataclass
class _Recorder:
    """What the audit hook saw during a pass; ``active`` is False outside passes."""

    active: bool = False
    events: list[_Event] = field(default_factory=list)
    statements: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    #: The C creators that exist here (function -> name) and, per thread, the creator being
    #: called with the descriptors open before it and its line.
    creators: dict[object, str] = field(default_factory=dict)
    calls: dict[int, tuple[object, set[str], str]] = field(default_factory=dict)
    #: A descriptor of ``/proc/self/fd`` held during a pass, so that listing it opens nothing.
    fd_dir: int = -1
    fd_dir_identity: tuple[int, int] = (0, 0)
    profiling: bool = False

    def __call__(self, event: str, args: tuple[object, ...]) -> None:
        if not self.active or event not in _EVENTS or len(self.events) >= MAX_EVENTS:
            return
        self.active = False  # what recording does (reading frames) is not recorded
        try:
            self.events.append(
                _Event(event, _event_key(event, args), _site_of_stack(self.statements), _ref(args))
            )
        except Exception:  # never break the code under test
            pass
        finally:
            self.active = True

    def profile(self, frame: types.FrameType, event: str, arg: object) -> None:
        """The profile hook of a pass: the descriptors a C creator (:data:`_C_CREATORS`) made,
        found by listing ``/proc/self/fd`` before and after it, each with its line."""
        if not self.profiling:  # a thread the pass started outlives it: unhook it
            sys.setprofile(None)
            return
        if event == "c_call":
            try:
                name = self.creators.get(arg)
            except TypeError:  # unhashable
                return
            if name is not None and self.active and len(self.events) < MAX_EVENTS:
                self.active = False
                try:
                    site = _site_of_stack(self.statements)
                    self.calls[_thread.get_ident()] = (arg, self.fd_names(), site)
                finally:
                    self.active = True
        elif event in ("c_return", "c_exception") and self.calls:
            call = self.calls.pop(_thread.get_ident(), None)
            if call is not None and call[0] is arg:
                name = self.creators[arg]
                for fd in sorted(self.fd_names() - call[1], key=int):
                    try:
                        target = os.readlink(f"/proc/self/fd/{fd}")
                    except OSError:
                        continue
                    self.events.append(_Event(name, f"fd:{fd}", call[2], target=target))

    def fd_names(self) -> set[str]:
        """The open descriptors, less the one listing them takes (``os.listdir`` of a
        descriptor duplicates it: the lowest free number, found first)."""
        try:
            probe = os.dup(self.fd_dir)
            os.close(probe)
            names = set(os.listdir(self.fd_dir))
        except OSError:
            return set()
        names.discard(str(probe))
        return names

    def start_profile(self) -> None:
        """Install :meth:`profile`, unless a profiler the user runs (cProfile, yappi) has the
        hook: C creators then have no line."""
        if sys.getprofile() is not None or not _LINUX_FDS or not self.creators:
            return
        try:
            self.fd_dir = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
            st = os.fstat(self.fd_dir)
        except OSError:
            return
        self.fd_dir_identity = (st.st_dev, st.st_ino)
        self.profiling = True
        sys.setprofile(self.profile)
        threading.setprofile(self.profile)  # threads the calls start

    def stop_profile(self) -> None:
        if self.profiling:
            # Only our own hook: the code under test may have set another meanwhile.
            if sys.getprofile() == self.profile:
                sys.setprofile(None)
            if threading.getprofile() == self.profile:
                threading.setprofile(None)
            self.profiling = False
        if self.fd_dir >= 0:
            # Unless the code closed it (os.closerange) and the number is its file now.
            with suppress(OSError):
                st = os.fstat(self.fd_dir)
                if (st.st_dev, st.st_ino) == self.fd_dir_identity:
                    os.close(self.fd_dir)
            self.fd_dir = -1
        self.calls.clear()

    def native(self, function: object) -> None:
        """``_thread.start_new_thread`` as patched during a pass (a thread with no name)."""
        if self.active and len(self.events) < MAX_EVENTS:
            name = getattr(function, "__qualname__", type(function).__name__)
            self.events.append(_Event("native", str(name), _site_of_stack(self.statements)))

    def started(self, thread: threading.Thread) -> None:
        """``Thread.start`` as patched during a pass: Python 3.11 has no audit event."""
        if self.active and len(self.events) < MAX_EVENTS:
            self.events.append(
                _Event("thread", str(id(thread)), _site_of_stack(self.statements), _ref((thread,)))
            )


def _ref(args: tuple[object, ...]) -> Callable[[], object] | None:
    """A weak way back to the event's object: a weak reference, or (``sqlite3.Connection``
    refuses them) its id and type, looked up among live objects only if it is asked for."""
    if args and not isinstance(args[0], (str, bytes, int, os.PathLike)):
        obj = args[0]
        try:
            return weakref.ref(obj)
        except TypeError:
            ident, cls = id(obj), type(obj)
            return lambda: next(
                (o for o in gc.get_objects() if id(o) == ident and type(o) is cls), None
            )
    return None


#: The process's one recorder: an audit hook is process-wide and permanent, so it is installed
#: once, on the first explanation, and stays inert (``active`` False) between passes.
_RECORDER: list[_Recorder] = []


def _c_creators() -> dict[object, str]:
    """The functions of :data:`_C_CREATORS` that this Python and platform have."""
    found: dict[object, str] = {}
    for name in _C_CREATORS:
        module, attr = name.split(".")
        function = getattr(sys.modules.get(module), attr, None)
        if function is not None:
            found[function] = name
    return found


def _recorder() -> _Recorder:
    if not _RECORDER:
        recorder = _Recorder(creators=_c_creators())
        sys.addaudithook(recorder)
        _RECORDER.append(recorder)
    return _RECORDER[0]


def _event_key(event: str, args: tuple[object, ...]) -> str:
    """A path for files, argv for processes."""
    if event in ("open", "sqlite3.connect") and args:
        path = args[0]
        if isinstance(path, int) and not isinstance(path, bool):
            return f"fd:{path}"  # os.fdopen(fd): the descriptor is already open
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if isinstance(path, str) and path not in ("", ":memory:"):
            return os.path.abspath(path)
        return ""
    if event == "mmap.__new__" and args and isinstance(args[0], int) and args[0] >= 0:
        try:
            return os.readlink(f"/proc/self/fd/{args[0]}")
        except OSError:
            return ""
    if event == "subprocess.Popen" and len(args) > 1:
        argv = args[1]
        if isinstance(argv, (list, tuple)):
            return " ".join(os.fsdecode(a) if isinstance(a, bytes) else str(a) for a in argv)
        return str(argv)
    if event in ("os.posix_spawn", "os.spawn", "os.system") and args:
        return str(args[0])
    return ""


def _site_of_stack(statements: dict[str, list[tuple[int, int]]]) -> str:
    """The innermost line of the code under test on the current stack."""
    frame: types.FrameType | None = sys._getframe(2)
    fallback = ""
    while frame is not None:
        filename = frame.f_code.co_filename
        if not is_hidden(filename) and not filename.startswith("<"):
            line = _first_line(frame, statements)
            text = f"{where(filename, line)} in {frame.f_code.co_name}"
            if is_user_file(filename):
                return text
            fallback = fallback or text
        frame = frame.f_back
    return fallback


def _first_line(frame: types.FrameType, statements: dict[str, list[tuple[int, int]]]) -> int:
    """The first line of the statement running in ``frame``: a call written over several
    lines (``threading.Thread(`` ... ``).start()``) is named by the line it starts on.
    ``statements`` caches each file's statement spans for the pass."""
    filename, line = frame.f_code.co_filename, frame.f_lineno
    if filename not in statements:
        try:
            tree = ast.parse("".join(linecache.getlines(filename)))
            statements[filename] = [
                (node.lineno, node.end_lineno or node.lineno)
                for node in ast.walk(tree)
                if isinstance(node, ast.stmt)
            ]
        except (SyntaxError, ValueError, RecursionError):
            statements[filename] = []
    spans = [start for start, end in statements[filename] if start <= line <= end]
    # The innermost statement, but never before the function: a lambda inside a statement.
    return max(max(spans, default=line), min(frame.f_code.co_firstlineno, line))


def _site_of_object(obj: object) -> str:
    if obj is None:
        return ""
    site = site_of_object(obj)
    return where(*site) if site is not None else ""


# -- what a resource is ------------------------------------------------------------------------


def fd_targets() -> dict[int, str]:
    """Each open descriptor and what ``/proc/self/fd`` says it is."""
    targets: dict[int, str] = {}
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return targets
    for name in names:
        try:
            targets[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except (OSError, ValueError):
            continue  # the listing's own descriptor, closed by now
    return targets


def describe_fd(fd: int, target: str) -> str:
    """``file /path``, ``socket AF_INET 127.0.0.1:5 -> 127.0.0.1:80``, ``pipe``..."""
    if target.startswith("socket:"):
        return _describe_socket(fd)
    if target.startswith("pipe:"):
        return "pipe"
    if target.startswith("anon_inode:"):
        return target.split(":", 1)[1].strip("[]")  # eventfd, eventpoll, timerfd...
    if target == "/dev/ptmx" or target.startswith("/dev/pts/"):  # one kind, whatever its number
        return "pseudo-terminal " + ("primary" if target == "/dev/ptmx" else "secondary")
    if target.endswith(" (deleted)"):  # a temporary file: one kind, whatever its name
        return f"deleted file in {os.path.dirname(target)}"
    return f"file {target}"


def _describe_socket(fd: int) -> str:
    """Family, type and what it is connected to; never the ephemeral local port, so that one
    socket per call reads as one kind."""
    try:
        dup = socket.socket(fileno=os.dup(fd))
    except OSError:
        return "socket"
    try:
        kind = getattr(dup.type, "name", str(dup.type))
        text = f"socket {getattr(dup.family, 'name', str(dup.family))} {kind}"
        listening = 0
        with suppress(OSError, AttributeError):
            listening = dup.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        if listening:
            with suppress(OSError):
                return f"{text} listening on {_address(dup.getsockname())}"
        try:
            return f"{text} to {_address(dup.getpeername())}"
        except OSError:
            return f"{text}, not connected"
    finally:
        dup.close()  # the duplicate only


def _address(address: object) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    if isinstance(address, bytes):
        address = address.decode(errors="replace")
    return str(address) or "(unnamed)"


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return f"pid {pid}"
    if state == b"Z":
        return f"pid {pid} (exited, never waited for)"
    return " ".join(argv)  # "" while it is still starting


# -- the pass ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """What one kind gained over the pass: the commonest description, and report lines."""

    what: str
    lines: tuple[str, ...]
    holder: tuple[str, ...] = ()


@dataclass
class _Before:
    fds: dict[int, str]
    threads: set[int]
    native: int
    tasks: set[int]
    pids: set[int]


def _before() -> _Before:
    return _Before(
        fd_targets(),
        {t.ident or 0 for t in threading.enumerate()},
        resources.count_threads(),
        {id(t) for t in resources.pending_tasks()},
        set(resources.child_pids()),
    )


@contextmanager
def _recording(fds: bool) -> Iterator[_Recorder]:
    """Record creations for a pass; ``fds``: descriptors are explained (the profile hook for
    C creators makes the calls 2-3 times slower: only then)."""
    recorder = _recorder()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start(FRAMES)
    recorder.events.clear()
    start = threading.Thread.start

    def recorded_start(thread: threading.Thread) -> None:
        recorder.started(thread)
        start(thread)

    # Only for the pass: where a thread was started is not known to any audit event (3.11)
    # nor to tracemalloc (3.11 has no traceback for an object with a managed __dict__).
    native = _thread.start_new_thread

    def recorded_native(function: Callable[..., object], *args: Any) -> int:
        recorder.native(function)
        return native(function, *args)

    threading.Thread.start = recorded_start  # type: ignore[method-assign,assignment]
    # threading keeps its own reference to the original: only direct callers come here.
    _thread.start_new_thread = recorded_native
    if fds:
        recorder.start_profile()
    recorder.active = True
    try:
        yield recorder
    finally:
        recorder.active = False
        recorder.stop_profile()
        recorder.statements.clear()
        threading.Thread.start = start  # type: ignore[method-assign]
        _thread.start_new_thread = native
        if not was_tracing:
            tracemalloc.stop()


def explain(
    run_calls: Callable[[], None], keys: tuple[str, ...], secrets: Secrets
) -> dict[str, Found]:
    """Re-run the calls recording creation sites; what each kind in ``keys`` gained."""
    found: dict[str, Found] = {}
    owners: dict[str, tuple[object, int]] = {}  # kind -> a new resource's object, how many
    before = _before()
    with _recording("fds" in keys) as recorder:
        run_calls()
        # Another thread's event loop makes the tasks the calls scheduled when it next gets
        # the interpreter (it may wait 5 ms for it): give it the time, once per pass.
        time.sleep(HAND_OVER_SECONDS)
        # Asked while tracemalloc still knows where objects were made; what asking does
        # (a socket wrapped to read its peer) is not recorded.
        recorder.active = False
        recorder.stop_profile()  # what follows is not profiled: it walks the whole heap
        events = list(recorder.events)
        recorder.events.clear()
        kinds: dict[str, Callable[[], Found]] = {
            "tasks": lambda: _tasks(before, secrets),
            "threads": lambda: _threads(before, events, secrets, owners),
            "fds": lambda: _fds(before, events, secrets, owners),
            "processes": lambda: _processes(before, events, secrets),
        }
        try:
            for key in keys:
                try:
                    found[key] = kinds[key]()
                except Exception as exc:  # one kind's fault never hides another's
                    found[key] = Found("", (f"(no explanation: {type(exc).__name__})",))
        finally:
            events.clear()
            kinds.clear()
    # Holders are searched across the whole heap: after tracemalloc stopped tracing.
    for key, (obj, added) in owners.items():
        try:
            held = _holder(obj, secrets, added)
        except Exception:
            continue
        found[key] = Found(found[key].what, found[key].lines, held)
    owners.clear()
    return found


def _summary(pairs: list[tuple[str, str]], secrets: Secrets, none: str) -> Found:
    """Count (what, where) pairs into lines, the commonest first."""
    if not pairs:
        return Found(none, ())
    counted = Counter((secrets.redact(what), site) for what, site in pairs)
    lines = []
    for (what, site), n in counted.most_common(SHOWN):
        lines.append(f"{n} x {what}" + (f", made at {site}" if site else ""))
    if len(counted) > SHOWN:
        lines.append(f"... and {len(counted) - SHOWN} more kinds")
    top = Counter(secrets.redact(w) for w, _ in pairs).most_common(1)[0][0]
    return Found(top, tuple(lines))


def _fds(
    before: _Before,
    events: list[_Event],
    secrets: Secrets,
    owned: dict[str, tuple[object, int]],
) -> Found:
    after = fd_targets()
    by_path: dict[str, _Event] = {}
    by_fd: dict[int, _Event] = {}
    for e in events:
        if e.event in ("open", "sqlite3.connect", "mmap.__new__") and e.key:
            # sqlite opens its file in C: its connect event names the file; mmap keeps a
            # duplicate of the file's descriptor, open after the file is closed.
            if e.event != "open" or e.key not in by_path:
                by_path[e.key] = e
        elif e.event in _C_CREATORS and int(e.key[3:]) in after:
            if after[int(e.key[3:])] == e.target:  # not closed and reused since
                by_fd[int(e.key[3:])] = e
        elif e.event == "socket.__new__" and e.ref is not None:
            fileno = getattr(e.ref(), "fileno", None)
            fd = fileno() if callable(fileno) else -1
            if fd >= 0:
                by_fd[fd] = e
    new = {fd: t for fd, t in sorted(after.items()) if before.fds.get(fd) != t}
    unmatched = {fd for fd, t in new.items() if fd not in by_fd and t not in by_path}
    owners = _owners(unmatched)
    pairs: list[tuple[str, str]] = []
    owner: object = None
    for fd, target in new.items():
        what = describe_fd(fd, target)
        made = by_fd.get(fd) or by_path.get(target) or by_path.get(f"fd:{fd}")
        site = made.site if made is not None else ""
        if made is not None and made.event == "sqlite3.connect":
            what = f"sqlite3 database {target}"
            owner = owner or _connection(events, made)
        elif made is not None and made.event == "mmap.__new__":
            what = f"memory map of {target}"
        elif made is not None and made.event in _C_CREATORS:
            what = f"{what} ({made.event})"
        elif made is not None and made.ref is not None:
            owner = owner or made.ref()
        elif fd in owners:  # no audit event: the object that owns it says where it was made
            found = owners[fd]
            # A selector's own object has a managed __dict__ (no traceback on 3.11): ask the
            # epoll object it wraps.
            site = _site_of_object(found) or _site_of_object(getattr(found, "_selector", None))
            owner = owner or found
        pairs.append((what, site))
    owners.clear()
    if owner is not None:
        owned["fds"] = (owner, len(pairs))
    return _summary(pairs, secrets, "file descriptor")


#: Types that own a descriptor and answer ``fileno()`` without side effects.
_OWNERS = frozenset(
    t
    for t in (
        getattr(select, "epoll", None),
        getattr(select, "kqueue", None),
        socket.socket,
        io.FileIO,
        selectors.BaseSelector,
    )
    if isinstance(t, type)
)


#: Owners the garbage collector does not track (``select.epoll`` has no ``tp_traverse``):
#: found among what tracked objects refer to.
_UNTRACKED_OWNERS = frozenset(
    t for t in (getattr(select, "epoll", None), getattr(select, "kqueue", None)) if t
)

#: A class's MRO, read without a lookup on its metaclass (which may be the class itself).
_MRO = type.__dict__["__mro__"].__get__


def _owners(fds: set[int]) -> dict[int, object]:
    """The live objects that own ``fds`` (an epoll object made by ``selectors``, a file
    wrapping a pipe), found once among every gc-tracked object, then, for what is left, among
    what those refer to (an ``epoll`` kept in a list is not tracked itself)."""
    owners: dict[int, object] = {}
    if not fds:
        return owners
    objects = gc.get_objects()
    kinds = _owner_types(set(map(type, objects)))
    for obj in compress(objects, map(kinds.__contains__, map(type, objects))):
        _own(obj, fds, owners)
    # Only for a descriptor such an owner could own: walking every referent takes seconds.
    if _UNTRACKED_OWNERS and any(_untracked_kind(fd) for fd in fds - owners.keys()):
        for start in range(0, len(objects), 10_000):  # a chunk's referents at a time
            for ref in gc.get_referents(*objects[start : start + 10_000]):
                if type(ref) in _UNTRACKED_OWNERS:
                    _own(ref, fds, owners)
    objects.clear()
    return owners


def _owner_types(classes: set[type]) -> set[type]:
    """The classes that are or derive from one of :data:`_OWNERS`, read from their MRO.

    Not ``issubclass``: ``selectors.BaseSelector`` is an ABC, and an ABC's check reads the
    class's MRO unguarded. A class that is its own metaclass (h11's sentinels) is left alive
    by the collector with no MRO once its module is gone, and CPython 3.10 and 3.11 crash on it.
    Nor ``isinstance``: a lazy proxy (Django's settings) answers ``__class__`` by loading what
    it wraps, which may raise or run user code.
    """
    return {cls for cls in classes if not _OWNERS.isdisjoint(_MRO(cls) or ())}


def _untracked_kind(fd: int) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}") in ("anon_inode:[eventpoll]", "anon_inode:kqueue")
    except OSError:
        return False


def _own(obj: object, fds: set[int], owners: dict[int, object]) -> None:
    """Add ``obj`` to ``owners`` if it owns one of ``fds``."""
    try:
        fd = getattr(obj, "fileno")()  # noqa: B009 (typed as object)
    except Exception:  # closed, or a selector without one (PollSelector)
        return
    if fd in fds:
        owners.setdefault(fd, obj)


def _connection(events: list[_Event], connect: _Event) -> object:
    """The connection that a ``sqlite3.connect`` event made (its ``/handle`` event, 3.11+)."""
    at = events.index(connect)
    for e in events[at + 1 : at + 3]:
        if e.event == "sqlite3.connect/handle" and e.ref is not None:
            return e.ref()
    return None


def _threads(
    before: _Before,
    events: list[_Event],
    secrets: Secrets,
    owned: dict[str, tuple[object, int]],
) -> Found:
    started = {e.key: e.site for e in events if e.event == "thread"}
    pairs: list[tuple[str, str]] = []
    for thread in threading.enumerate():
        if (thread.ident or 0) in before.threads:
            continue
        target = getattr(thread, "_target", None)
        name = getattr(target, "__qualname__", None) or type(thread).__qualname__
        # Python's default names count up ("Thread-105 (work)"): one kind, not one per thread.
        shown = re.sub(r"^Thread-\d+", "Thread-N", thread.name)
        pairs.append((f"thread {shown!r} running {name}", started.get(str(id(thread)), "")))
        owned.setdefault("threads", (thread, 1))
    unknown = resources.count_threads() - before.native - len(pairs)
    natives = Counter((e.key, e.site) for e in events if e.event == "native")
    (target, site), _ = natives.most_common(1)[0] if natives else (("?", ""), 0)
    what = (
        f"thread not started by threading, running {target}"
        if natives
        else ("thread not started by threading")
    )
    pairs.extend([(what, site)] * max(unknown, 0))
    return _summary(pairs, secrets, "thread")


def _tasks(before: _Before, secrets: Secrets) -> Found:
    pairs: list[tuple[str, str]] = []
    for task in resources.pending_tasks():
        if id(task) in before.tasks:
            continue
        coro = task.get_coro()
        name = getattr(coro, "__qualname__", type(coro).__name__)
        # The coroutine was made by the code under test; the task may have been made by a loop
        # in another thread (``run_coroutine_threadsafe``), with no line of the code's.
        coro_site = site_of_object(coro)
        site = where(*coro_site) if coro_site and is_user_file(coro_site[0]) else ""
        pairs.append((f"task running {name}()", site or _site_of_object(task)))
    return _summary(pairs, secrets, "asyncio task")


def _processes(before: _Before, events: list[_Event], secrets: Secrets) -> Found:
    spawned = {
        e.key: e.site
        for e in events
        if e.event in ("subprocess.Popen", "os.posix_spawn", "os.spawn", "os.system", "os.fork")
    }
    pairs: list[tuple[str, str]] = []
    for pid in resources.child_pids():
        if pid in before.pids:
            continue
        what = _cmdline(pid) or (next(iter(spawned)) if len(spawned) == 1 else f"pid {pid}")
        site = next((s for argv, s in spawned.items() if argv and argv in what), "")
        if not site and len(set(spawned.values())) == 1:
            site = next(iter(spawned.values()))
        pairs.append((f"process {what}", site))
    return _summary(pairs, secrets, "child process")


def _holder(obj: object, secrets: Secrets, added: int) -> tuple[str, ...]:
    """Who holds ``obj`` from a module global, as a memory leak trace shows it (or nothing);
    ``added``: how many new ones the pass left, shown as the holder's new items."""
    if obj is None:
        return ()
    try:
        chain = backref_chain(obj)
    except Exception:
        return ()
    if len(chain) < 3 or not isinstance(chain[0], types.ModuleType) or chain[0] is threading:
        return ()  # threading keeps every running thread: that is no one's leak
    container = chain[-2]
    _, lines = trace(container, max(added, 1), secrets=secrets, chain=chain[:-1])
    return lines
