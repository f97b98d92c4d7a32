"""pytest-memguard: prove that code keeps memory bounded."""

from __future__ import annotations

from pytest_memguard.errors import LeakError, MemguardUsageError
from pytest_memguard.result import MemguardResult, TypeGrowth
from pytest_memguard.settings import Settings, SettingsError
from pytest_memguard.web import MissingExtra, UnexpectedStatus, basic_auth

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """The warnings are ``PytestWarning`` subclasses: imported from the plugin on demand,
    so that importing this package does not import pytest."""
    if name == "MemguardBaselineWarning":
        from pytest_memguard.run_files import MemguardBaselineWarning

        return MemguardBaselineWarning
    if name == "MemguardStatusWarning":
        from pytest_memguard.session import MemguardStatusWarning

        return MemguardStatusWarning
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LeakError",
    "MemguardBaselineWarning",
    "MemguardResult",
    "MemguardStatusWarning",
    "MemguardUsageError",
    "MissingExtra",
    "Settings",
    "SettingsError",
    "TypeGrowth",
    "UnexpectedStatus",
    "__version__",
    "basic_auth",
]
