"""The C allocator's bytes in use: glibc's ``mallinfo2``, less what its thread cache holds.

glibc keeps up to 7 freed chunks of each size up to 1,032 bytes in a per-thread cache (the
tcache) and ``mallinfo2`` counts them as in use. Which chunks sit there depends on the last few
hundred frees, so a buffer that a run made and dropped reads as kept until malloc hands its
chunk out again: over Flask's suite, the first measured replay of 229 of 487 tests read 1 to
4.6 KiB of C allocator bytes that nothing held (none with ``GLIBC_TUNABLES`` turning the cache
off). The main thread's cache is the first chunk of the main heap; where that is so (checked
once, by freeing chunks and seeing them arrive there), its bytes are taken out of every read.
Elsewhere (another glibc layout, musl, macOS, Windows) the reading is ``mallinfo2``'s or 0.
"""

from __future__ import annotations

import ctypes
import operator
import sys
from collections.abc import Callable

#: glibc's tcache: a chunk of 64 two-byte counts then 64 list heads, one per size class of
#: 16 bytes from 32 (64-bit builds, glibc 2.30 to 2.41).
TCACHE_BINS = 64
_TCACHE_CHUNK = 2 * TCACHE_BINS + 8 * TCACHE_BINS + 16
_CHUNK_BYTES = tuple(range(32, 32 + 16 * TCACHE_BINS, 16))
#: Requests freed to check the layout (size classes 1, 11 and 61), and tries for each: Python
#: may take the chunk back between the free and the check.
_PROBES = (40, 200, 1000)
_TRIES = 3


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def reader() -> Callable[[], int]:
    """A reader of the C allocator's bytes in use, or of 0 where they are unknown."""
    if not sys.platform.startswith("linux"):
        return lambda: 0
    try:
        libc = ctypes.CDLL(None)  # the process's own symbols: no search for the library
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return lambda: 0
    mallinfo2.restype = _MallInfo2
    counts = thread_cache(libc)

    def read() -> int:
        info = mallinfo2()
        return int(info.uordblks + info.hblkhd)

    if counts is None:
        return read

    def read_exact() -> int:
        cached: int = sum(map(operator.mul, counts, _CHUNK_BYTES))
        return read() - cached

    return read_exact


def thread_cache(libc: ctypes.CDLL) -> ctypes.Array[ctypes.c_uint16] | None:
    """The counts of the main thread's tcache, read in place, if its layout is the one known:
    a chunk freed while its size class has room must show up at the head of that class."""
    start = _heap_start()
    if start is None or ctypes.sizeof(ctypes.c_void_p) != 8:
        return None
    if ctypes.c_size_t.from_address(start + 8).value & ~0x7 != _TCACHE_CHUNK:
        return None
    counts = (ctypes.c_uint16 * TCACHE_BINS).from_address(start + 16)
    heads = (ctypes.c_void_p * TCACHE_BINS).from_address(start + 16 + 2 * TCACHE_BINS)
    malloc, free = libc.malloc, libc.free
    malloc.restype, malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    free.restype, free.argtypes = None, [ctypes.c_void_p]
    for request in _PROBES:
        index = ((request + 8 + 15) & ~15) // 16 - 2
        for _ in range(_TRIES):
            chunk = malloc(request)
            if chunk is None:
                return None
            before = counts[index]
            free(chunk)
            if before < 7 and heads[index] == chunk and counts[index] == before + 1:
                break
        else:
            return None  # never seen to arrive: not the layout known
    return counts


def _heap_start() -> int | None:
    """Where the main heap (``brk``) starts, from ``/proc/self/maps``."""
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            for line in maps:
                if line.rstrip().endswith("[heap]"):
                    return int(line.split("-", 1)[0], 16)
    except (OSError, ValueError):
        return None
    return None


#: The reader, made once per process.
malloc_in_use: Callable[[], int] = reader()
