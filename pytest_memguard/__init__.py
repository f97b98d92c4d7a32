"""pytest-memguard: prove that code keeps memory bounded."""

from __future__ import annotations

from pytest_memguard.errors import LeakError, MemguardUsageError
from pytest_memguard.flask import UnexpectedStatus, basic_auth
from pytest_memguard.result import MemguardResult, TypeGrowth
from pytest_memguard.settings import Settings, SettingsError

__version__ = "0.1.0"

__all__ = [
    "LeakError",
    "MemguardResult",
    "MemguardUsageError",
    "Settings",
    "SettingsError",
    "TypeGrowth",
    "UnexpectedStatus",
    "__version__",
    "basic_auth",
]
