"""Exceptions users see; ``LeakError`` is an ``AssertionError``: a leak is a failed check."""

from __future__ import annotations


class LeakError(AssertionError):
    """Retained memory grew beyond what the test allows."""


class MemguardUsageError(Exception):
    """The plugin was used in a way it cannot honour (e.g. a guarded call inside another)."""


# Shown by pytest as ``pytest_memguard.LeakError``, where users import it from.
LeakError.__module__ = MemguardUsageError.__module__ = "pytest_memguard"
