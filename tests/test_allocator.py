"""The C allocator's bytes in use: what glibc's thread cache holds is not in use."""

from __future__ import annotations

import ctypes
import sys

import pytest

from pytest_memguard import allocator

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallinfo2")


@linux
def test_the_main_threads_cache_is_found_where_glibc_keeps_it() -> None:
    """On this glibc (2.30 to 2.41, 64-bit) the layout is checked and found: a glibc whose
    cache moved fails here first, and its reading falls back to mallinfo2's."""
    counts = allocator.thread_cache(ctypes.CDLL(None))
    assert counts is not None
    assert len(counts) == allocator.TCACHE_BINS


@linux
def test_a_buffer_made_and_dropped_reads_as_nothing_kept() -> None:
    # Seven chunks of the buffer's size class taken out of the cache first: the buffer's
    # chunk then goes back to it when dropped, which mallinfo2 alone counts as in use.
    held = [bytes(900) for _ in range(7)]
    before = allocator.malloc_in_use()
    buffer = bytes(900)  # over 512 bytes: the C allocator's
    during = allocator.malloc_in_use()
    del buffer
    after = allocator.malloc_in_use()
    held.clear()
    assert during - before >= 900
    assert after == before


def test_a_reader_is_made_wherever_it_runs() -> None:
    read = allocator.reader()
    assert isinstance(read(), int)
    assert read() >= 0
