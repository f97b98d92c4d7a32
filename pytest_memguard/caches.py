"""Caches that fill on first use and are not the code under test's leak.

Each entry names its holder as ``module:attribute`` (the form users give to ``ignore=``), says
why it is not a leak, and knows how to read its size and drop it. The measuring loop drops them
(only modules already imported, never importing one) whenever retained memory grew, so a cache
filling during the run never counts in a verdict; explanations skip their holders.
"""

from __future__ import annotations

import gc
import sys
import types
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_memguard.errors import MemguardUsageError
from pytest_memguard.measure import BLOCK_BYTES
from pytest_memguard.retainers import added_items


@dataclass(frozen=True)
class KnownCache:
    holder: str  # "module:attribute", as in ignore=
    why: str
    size: Callable[[Any], int]
    clear: Callable[[Any], None]

    @property
    def module(self) -> str:
        return self.holder.split(":", 1)[0]


def _len(*path: str) -> Callable[[Any], int]:
    def size(module: Any) -> int:
        total = 0
        for name in path:
            value = module.__dict__.get(name)
            total += len(value) if value is not None else 0
        return total

    return size


def _typing_size(module: Any) -> int:
    return sum(f.cache_info().currsize for f in module._cleanups if hasattr(f, "cache_info"))


def _typing_clear(module: Any) -> None:
    for clear in list(module._cleanups):
        clear()


def _logging_size(module: Any) -> int:
    manager = module.Logger.manager
    return sum(len(getattr(logger, "_cache", ())) for logger in manager.loggerDict.values())


KNOWN_CACHES: tuple[KnownCache, ...] = (
    KnownCache(
        "re:_cache",
        "compiled regular expressions (bounded: 512 in Python 3.11)",
        _len("_cache", "_cache2"),
        lambda m: m.purge(),
    ),
    KnownCache(
        "typing:_cleanups",
        "typing's functools caches of parametrised generics",
        _typing_size,
        _typing_clear,
    ),
    KnownCache(
        "urllib.parse:_parse_cache",
        "urllib.parse's cache of split URLs and quoters",
        _len("_parse_cache"),
        lambda m: m.clear_cache(),
    ),
    KnownCache(
        "linecache:cache",
        "source lines read to format tracebacks",
        _len("cache"),
        lambda m: m.clearcache(),
    ),
    KnownCache(
        "logging:Logger._cache",
        "each logger's cache of enabled levels",
        _logging_size,
        lambda m: m.Logger.manager._clear_cache(),
    ),
    KnownCache(
        "fnmatch:_compile_pattern",
        "fnmatch's lru_cache of translated patterns (bounded: 32768)",
        lambda m: m._compile_pattern.cache_info().currsize,
        lambda m: m._compile_pattern.cache_clear(),
    ),
    KnownCache(
        "sys:path_importer_cache",
        "the finder of every path imported from that is no longer on sys.path (a test's new"
        " tmp_path adds one)",
        lambda m: len(_stale_finders(m)),
        lambda m: _prune_finders(m),
    ),
    KnownCache(
        "jinja2.lexer:_lexer_cache",
        "Jinja's cache of lexers, one per environment configuration (bounded: 50)",
        _len("_lexer_cache"),
        lambda m: m._lexer_cache.clear(),
    ),
)


class CacheDropper:
    """Drops the known caches that hold something, and remembers which did during the run.

    The first call (the end of warm-up) only empties them: what they held then came from
    before the measured calls. ``dropped`` is a preallocated flag per cache, so calling this
    inside the measuring loop allocates nothing that stays.
    """

    def __init__(self, caches: Sequence[KnownCache] = KNOWN_CACHES) -> None:
        self.caches = tuple(caches)
        self.dropped = bytearray(len(self.caches))
        self._armed = False

    def __call__(self) -> None:
        for index, cache in enumerate(self.caches):
            module = sys.modules.get(cache.module)
            if module is None:
                continue
            try:
                if cache.size(module):
                    cache.clear(module)
                    self.dropped[index] = self._armed
            except Exception:  # a library changed its internals: measure without this cache
                continue
        self._armed = True

    def names(self) -> tuple[str, ...]:
        return tuple(c.holder for c, hit in zip(self.caches, self.dropped, strict=True) if hit)


def describe(holder: str) -> str:
    """The documented reason a holder is ignored, or that the user asked for it."""
    for cache in KNOWN_CACHES:
        if cache.holder == holder:
            return f"{holder} (built-in: {cache.why})"
    return f"{holder} (ignore=)"


class IgnoreList:
    """What the user told us to ignore: ``module:attribute`` holders and type names."""

    def __init__(self, entries: Sequence[str] = ()) -> None:
        self.holders = tuple(e for e in entries if ":" in e)
        self.types = tuple(e for e in entries if ":" not in e)

    def __bool__(self) -> bool:
        return bool(self.holders or self.types)

    def holder(self, path: str) -> bool:
        return any(path == h or path.startswith(h + ".") for h in self.holders)

    def type(self, name: str) -> bool:
        return any(name == t or name.rsplit(".", 1)[-1] == t for t in self.types)

    def resolve(self) -> list[object]:
        """The user's holder objects, found without running properties or ``__getattr__``."""
        import importlib
        import inspect

        found: list[object] = []
        for holder in self.holders:
            module_name, _, attributes = holder.partition(":")
            try:
                obj: object = sys.modules.get(module_name) or importlib.import_module(module_name)
                for name in attributes.split("."):
                    obj = inspect.getattr_static(obj, name)
            except (ImportError, AttributeError) as exc:
                raise MemguardUsageError(
                    f"ignore={holder!r}: cannot find it ({exc}); give 'module:attribute' of an"
                    " importable module, e.g. 'myapp.auth:TOKEN_CACHE'"
                ) from None
            found.append(obj)
        return found


#: Python's allocator serves requests up to this many bytes from pymalloc's pools; larger ones
#: go to ``malloc`` and still count as one allocated block.
SMALL_REQUEST = 512
#: glibc's chunk: the request plus an 8-byte header, rounded up to 16 bytes.
_CHUNK_ALIGN = 16
#: Containers whose items live in a second allocation (an array, a hash table) of their own.
_SEPARATE = (list, dict, set, frozenset, bytearray)
#: Never part of what a holder keeps: shared with the rest of the program.
_SHARED = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.CodeType,
    types.MethodType,
    type(None),
    bool,
)
#: What ``sys.getsizeof`` adds for the garbage collector's header of a tracked object.
_GC_HEAD = sys.getsizeof([]) - list.__basicsize__
#: Objects walked per sizing at most: an item reaching a whole application stops here.
MAX_WALKED = 100_000


def _counted(request: int) -> int:
    """What one allocation of ``request`` bytes adds to the retained series: a block (at
    ``BLOCK_BYTES``), and its ``malloc`` chunk when it is too large for pymalloc."""
    if request <= SMALL_REQUEST:
        return BLOCK_BYTES
    return BLOCK_BYTES + (request + 8 + _CHUNK_ALIGN - 1) // _CHUNK_ALIGN * _CHUNK_ALIGN


def counted_size(objects: Sequence[object]) -> int:
    """What ``objects`` and everything they reference add to the retained series, as the
    counters see it (a block per allocation, malloc bytes for large ones), for ignored
    holders: sized in bytes (``asizeof``), a list of floats (24 bytes, one block counted as
    64) or of 1 KiB buffers (a block and a chunk each) left a steady rest in the series.
    Shared objects (types, modules, functions, small ints, singletons) are not counted; one
    reached twice counts once."""
    seen: set[int] = set()
    stack = list(objects)
    total = 0
    while stack and len(seen) < MAX_WALKED:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _SHARED):
            continue
        if type(obj) is int and -5 <= obj <= 256:
            continue
        seen.add(id(obj))
        total += own_size(obj)
        stack.extend(gc.get_referents(obj))
        if isinstance(obj, dict):  # its traversal skips str keys (they make no cycles)
            stack.extend(dict.keys(obj))
    return total


def own_size(obj: object) -> int:
    """What ``obj`` itself (not what it references) adds to the retained series; a
    ``__sizeof__`` written in Python (user code, which may raise) is not called."""
    gc_head = _GC_HEAD if gc.is_tracked(obj) else 0
    if isinstance(type(obj).__sizeof__, types.FunctionType):
        size = object.__sizeof__(obj) + gc_head
    else:
        size = sys.getsizeof(obj)
    if isinstance(obj, _SEPARATE):  # the object, then its array or table
        head = type(obj).__basicsize__ + gc_head
        return _counted(head) + (_counted(size - head) if size > head else 0)
    return _counted(size)


#: Containers that only grow at their end in the common case (a log, a cache filling up):
#: their new items are sized alone, never the whole container again.
APPEND_ORDERED = (list, dict, deque)


class HolderSizes:
    """What the ignored holders add to the retained series after each call
    (:func:`counted_size`), at the cost of what they gained.

    Sizing a holder whole after every call is quadratic as it grows (a 10,000-entry cache
    walked 200 times). A list, dict or deque whose length grew is sized by its newest items
    plus the change of its own size; one that shrank, or any other object, is sized whole
    again. What the newest items share with older ones counts twice: an ignored holder is
    taken out of the verdict a little too much rather than too little.
    """

    def __init__(self, holders: Sequence[object]) -> None:
        self.holders = holders
        self.lengths = array("q", [-1] * len(holders))  # -1: size it whole next time
        self.shallow = array("q", [0] * len(holders))
        self.sizes = array("q", [0] * len(holders))

    def __call__(self) -> int:
        for index, holder in enumerate(self.holders):
            self.sizes[index] = self._size(index, holder)
        return sum(self.sizes)

    def _size(self, index: int, holder: object) -> int:
        last = self.lengths[index]
        if type(holder) not in APPEND_ORDERED:
            return counted_size([holder])
        length = len(holder)  # type: ignore[arg-type]
        shallow = own_size(holder)
        if last < 0 or length < last:
            size = counted_size([holder])
        else:
            new = added_items(holder, length - last)
            size = self.sizes[index] + counted_size(new) + shallow - self.shallow[index]
        self.lengths[index] = length
        self.shallow[index] = shallow
        return size


def _prune_finders(sys_module: Any) -> None:
    """Drop the finders of paths no longer on ``sys.path`` (a test's ``tmp_path`` put there
    and taken away again), and no others: those of ``sys.path`` would be made again by the
    next import, a failed one included, and clearing the dict shrinks it, so that refilling
    it allocates on every call."""
    cache = sys_module.path_importer_cache
    for key in _stale_finders(sys_module):
        del cache[key]


def _stale_finders(sys_module: Any) -> list[str]:
    on_path = set(sys_module.path)
    return [key for key in sys_module.path_importer_cache if key not in on_path]
