"""Where code is: the user's own, a library's, or pytest's and this plugin's (hidden).

Shared by the explanations of memory (``explain``), of counts (``resource_sites``) and of
``ResourceWarning`` (``measure``); no other import, so that the measuring loop can use it.
"""

from __future__ import annotations

import os
import sysconfig
import tracemalloc

_HIDDEN = (
    os.sep + "_pytest" + os.sep,
    os.sep + "pluggy" + os.sep,
    os.sep + "pytest_memguard" + os.sep,
    os.sep + "pympler" + os.sep,
    os.sep + "objgraph",
    "<frozen ",
    os.sep + "tracemalloc.py",
)

_LIBRARY_DIRS = tuple(
    {sysconfig.get_paths()[key] + os.sep for key in ("stdlib", "platstdlib", "purelib", "platlib")}
)


def is_user_file(filename: str) -> bool:
    """Neither the standard library nor an installed package: the project's own code."""
    return not filename.startswith(_LIBRARY_DIRS) and "site-packages" not in filename


def is_hidden(filename: str) -> bool:
    """pytest's, pluggy's or this plugin's own code: never where the user's code leaks."""
    return any(part in filename for part in _HIDDEN)


def where(filename: str, lineno: int) -> str:
    """``file:line``, relative to the working directory or to site-packages when possible."""
    path = filename
    marker = os.sep + "site-packages" + os.sep
    if marker in path:
        path = path.split(marker, 1)[1]
    else:
        try:
            relative = os.path.relpath(path)
        except ValueError:
            relative = path
        if not relative.startswith(".."):
            path = relative
    return f"{path}:{lineno}"


def site_of_object(obj: object) -> tuple[str, int] | None:
    """The innermost line of the code under test (else of a library) in ``obj``'s allocation
    traceback, when ``tracemalloc`` traced it."""
    tb = tracemalloc.get_object_traceback(obj)
    if tb is None:
        return None
    fallback: tuple[str, int] | None = None
    for frame in reversed(tb):  # the most recent call first
        if is_hidden(frame.filename) or frame.filename.startswith("<"):
            continue
        if is_user_file(frame.filename):
            return frame.filename, frame.lineno
        fallback = fallback or (frame.filename, frame.lineno)
    return fallback
