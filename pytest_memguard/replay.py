"""What the marker replays: a test function on its fixture values, or a unittest method.

Pure: no pytest import. The plugin picks the replay for the item kind and hands it to
``guard``; the first call (pytest's own) is watched here for the warnings it raised, so that
the replays re-emit only what is new.
"""

from __future__ import annotations

import unittest
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

from pytest_memguard.errors import passthrough
from pytest_memguard.measure import WarningKey, reemit, warning_key

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def test_function(
    function: Callable[..., object], argnames: Sequence[str], funcargs: Mapping[str, object]
) -> Callable[[], None]:
    """Call the test function again with the same fixture values."""

    def replay() -> None:
        function(**{arg: funcargs[arg] for arg in argnames})

    return replay


def unittest_class(cls: object) -> type[unittest.TestCase] | None:
    """``cls`` if it is a ``unittest.TestCase`` subclass (pytest does not call
    ``pytest_pyfunc_call`` for its methods)."""
    return cls if isinstance(cls, type) and issubclass(cls, unittest.TestCase) else None


class _Outcome(unittest.TestResult):
    """Keeps the first error of one run of a test case, to raise it after ``run`` returns
    (``setUp``, ``tearDown`` and cleanups have then run, as in a normal run)."""

    def __init__(self) -> None:
        super().__init__()
        self.raised: BaseException | None = None
        self.skipped_reason: str | None = None

    def _keep(self, err: Any) -> None:
        if self.raised is None and err is not None:
            self.raised = err[1].with_traceback(err[2])

    def addError(self, test: unittest.TestCase, err: Any) -> None:
        self._keep(err)

    def addFailure(self, test: unittest.TestCase, err: Any) -> None:
        self._keep(err)

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        self._keep(err)

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        self.skipped_reason = reason


def unittest_method(cls: type[unittest.TestCase], name: str) -> Callable[[], None]:
    """Run the method on a new instance, with its own ``setUp`` and ``tearDown``, as unittest
    would; the first error or failure is raised as the exception it was."""

    def replay() -> None:
        __tracebackhide__ = True
        outcome = _Outcome()
        cls(name).run(outcome)
        raised, outcome.raised = outcome.raised, None
        if raised is not None:
            raise raised
        if outcome.skipped_reason is not None:
            raise unittest.SkipTest(outcome.skipped_reason)

    return replay


@passthrough
def first_call_warnings() -> Iterator[set[WarningKey]]:
    """Watch the test's own call for warnings, under the filters in force; they are shown
    again as they were when the block ends, and their keys fill the yielded set, so that the
    replays re-emit only warnings this call did not raise."""
    __tracebackhide__ = True
    seen: set[WarningKey] = set()
    messages: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as log:
            try:
                yield seen
            finally:
                messages.extend(log)
    finally:  # shown even when the call raised
        for message in messages:
            seen.add(warning_key(message))
            reemit(message)
