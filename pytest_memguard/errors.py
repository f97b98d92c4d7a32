"""Exceptions users see, and how the plugin lets the code's own exceptions through.

``LeakError`` is an ``AssertionError``: a leak is a failed check.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager
from typing import Generic, ParamSpec, TypeVar, cast

T = TypeVar("T")
P = ParamSpec("P")


class LeakError(AssertionError):
    """Retained memory grew beyond what the test allows."""


class MemguardUsageError(Exception):
    """The plugin was used in a way it cannot honour (e.g. a guarded call inside another)."""


# Shown by pytest as ``pytest_memguard.LeakError``, where users import it from.
LeakError.__module__ = MemguardUsageError.__module__ = "pytest_memguard"


class _PassThrough(Generic[T]):
    """The context manager of a generator, as ``contextlib.contextmanager`` makes, except that an
    exception passing through is never written to: contextlib sets ``__traceback__`` on it,
    which an exception class that refuses attributes (a frozen dataclass) turns into a
    ``FrozenInstanceError`` that hides the code's own exception."""

    def __init__(self, gen: Iterator[T]) -> None:
        self._gen = cast("Generator[T, None, None]", gen)

    def __enter__(self) -> T:
        return next(self._gen)

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: object
    ) -> bool:
        __tracebackhide__ = True
        if value is None:
            try:
                next(self._gen)
            except StopIteration:
                return False
            raise RuntimeError("generator didn't stop")
        try:
            self._gen.throw(value)
        except StopIteration as stop:
            return stop is not value  # the generator swallowed the exception
        except BaseException as exc:
            if exc is value:
                return False  # re-raised as it was: let it propagate untouched
            raise
        raise RuntimeError("generator didn't stop after throw()")


def passthrough(
    func: Callable[P, Iterator[T]],
) -> Callable[P, AbstractContextManager[T]]:
    """Like ``contextlib.contextmanager``, for the context managers around the code under
    test, whose exceptions must reach the test as they were raised."""

    @functools.wraps(func)
    def make(*args: P.args, **kwargs: P.kwargs) -> AbstractContextManager[T]:
        return _PassThrough(func(*args, **kwargs))

    return make
