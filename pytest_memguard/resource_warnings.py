"""``ResourceWarning`` raised during a guarded run, told about with the test that caused it.

A file or socket nobody closed is closed by its finalizer, which warns ``unclosed file``. When
the object sits in a reference cycle that happens in a garbage collection, and the warning is
blamed on whatever line triggered it: without the plugin, on a later test; with it, on the
collection the plugin runs after every call. Here each such warning is re-emitted with the
call that left the object, and the line of the code under test that opened it, as its
location. That line is known to ``tracemalloc`` only: when it was not tracing, a few more calls
are made under it, after the measured ones, to find it (``LOCATE_CALLS``).

Only the text and the place are kept: the unclosed object (``WarningMessage.source``) is let go
at once, so that recording a warning never keeps the object alive.
"""

from __future__ import annotations

import gc
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from pytest_memguard.sites import is_hidden, site_of_object, where

#: Calls made under tracemalloc to find where an unclosed object was opened.
LOCATE_CALLS = 3
#: Frames traced for those calls: enough to reach the user's code through a framework.
FRAMES = 25
#: Distinct unclosed kinds kept per run (one warning each).
MAX_KEPT = 10


@dataclass
class _Unclosed:
    text: str  # the warning's own text ("unclosed file <_io.TextIOWrapper name=...>")
    call: int
    during_gc: bool  # raised in the plugin's own collection, not in the code's line
    filename: str
    lineno: int
    site: tuple[str, int] | None


def is_unclosed(message: warnings.WarningMessage) -> bool:
    return issubclass(message.category, ResourceWarning)


class UnclosedWarnings:
    """The run's ``ResourceWarning`` s, one per kind of unclosed object."""

    def __init__(self) -> None:
        self.kept: dict[str, _Unclosed] = {}

    def add(self, message: warnings.WarningMessage, call: int) -> None:
        source = message.source
        message.source = None  # never keep the unclosed object alive
        kind = type(source).__qualname__ if source is not None else str(message.message)
        if kind in self.kept or len(self.kept) >= MAX_KEPT:
            return
        site = site_of_object(source) if source is not None else None
        self.kept[kind] = _Unclosed(
            str(message.message),
            call,
            is_hidden(message.filename),
            message.filename,
            message.lineno,
            site,
        )

    def locate(self, call: Callable[[], None]) -> None:
        """Find where the unclosed objects were opened: ``call`` a few more times under
        ``tracemalloc`` (when it is not tracing already). A call that raises ends the search:
        the measured calls did not raise, and the warning is told about without its line."""
        unlocated = {k for k, u in self.kept.items() if u.site is None}
        if not unlocated or tracemalloc.is_tracing():
            return
        tracemalloc.start(FRAMES)
        try:
            with warnings.catch_warnings(record=True) as log:
                warnings.simplefilter("always")
                for _ in range(LOCATE_CALLS):
                    call()
                    gc.collect()
                    self._located(log, unlocated)
                    if not unlocated:
                        break
        except Exception:
            pass
        finally:
            tracemalloc.stop()

    def _located(self, log: list[warnings.WarningMessage], unlocated: set[str]) -> None:
        for message in log:
            source = message.source
            message.source = None
            kind = type(source).__qualname__ if source is not None else ""
            if kind in unlocated and source is not None:
                site = site_of_object(source)
                if site is not None:
                    self.kept[kind].site = site
                    unlocated.discard(kind)
        log.clear()

    def reemit(self) -> None:
        """Warn again, at the line that opened the object when known, with the call."""
        __tracebackhide__ = True
        kept = list(self.kept.values())
        self.kept.clear()
        for u in kept:
            note = f"memguard: left by call {u.call}"
            if u.during_gc:
                note += ", found by the garbage collection after it"
            if u.site is not None:
                note += f"; opened at {where(*u.site)}"
            filename, lineno = u.site if u.site is not None else (u.filename, u.lineno)
            warnings.warn_explicit(
                ResourceWarning(f"{u.text} ({note})"), ResourceWarning, filename, lineno
            )
