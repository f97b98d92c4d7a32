"""Safe file I/O for reports and baselines.

Reports and baselines are written at the end of a run that may have taken minutes; a crash or a
full disk half-way through must not leave a truncated baseline that breaks the next run, so
writes go to a temporary file that replaces the target only once it is complete.  Baselines are
read back from files a user or a CI cache hands us, so reading is JSON only (never pickle) and
bounded in size and nesting depth.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

#: Refuse JSON files larger than this: a baseline is a few KiB per test.
MAX_JSON_BYTES = 16 * 1024 * 1024
#: Refuse JSON nested deeper than this: our files are at most four levels deep.
MAX_JSON_DEPTH = 64

PathLike = str | os.PathLike[str]


class ReportPathError(OSError):
    """A report or baseline cannot be written at the path the user gave.

    An ``OSError`` so callers that already handle I/O failures keep working; ``str()`` is a
    complete sentence naming the path, the problem and the fix, fit to show the user as is.
    """

    def __init__(self, path: PathLike, problem: str, fix: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        self.fix = fix
        super().__init__(f"cannot write {self.path}: {problem}; {fix}")

    def __str__(self) -> str:
        return str(self.args[0])


class JsonFileError(ValueError):
    """A JSON file is missing, unreadable, too large, too deep or not JSON.

    ``problem`` is the bare reason so callers can add their own advice on how to fix it.
    """

    def __init__(self, path: PathLike, problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"cannot read JSON from {self.path}: {problem}")


def atomic_write_text(path: PathLike, text: str, *, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` so readers see either the old file or the whole new one.

    The text goes to a temporary file in the same directory (``os.replace`` is only atomic
    within one file system), is flushed to disk, then replaces the target.  On any failure the
    old file is left as it was and the temporary file is removed.  A symlink is followed, so a
    linked report keeps its link.  Raises :class:`ReportPathError` for every ``OSError``.
    """
    target = Path(path)
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    check_writable(target)
    data = text.encode(encoding)  # fail on unencodable text before touching the disk
    directory = target.parent
    tmp, fd = _create_temp(target)
    try:
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            mode = None
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)  # keep the permissions the user gave the old file
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, ReportPathError):
            reason = exc.strerror or str(exc)
            raise ReportPathError(
                target,
                f"{reason} (the previous file, if any, was left unchanged)",
                "check free disk space and permissions, or choose another path",
            ) from exc
        raise
    _fsync_directory(directory)


def check_writable(target: Path) -> None:
    """Turn the common mistakes into one clear message before any temporary file exists."""
    directory = target.parent
    if target.is_dir():
        raise ReportPathError(
            target,
            "it is a directory",
            f"give a file name inside it, for example {target / 'memguard-report'}",
        )
    if not directory.exists():
        raise ReportPathError(
            target,
            f"the directory {directory} does not exist",
            f"create it first (mkdir -p {directory}) or choose another path",
        )
    if not directory.is_dir():
        raise ReportPathError(
            target,
            f"{directory} is not a directory",
            "choose a path inside an existing directory",
        )


def _create_temp(target: Path) -> tuple[Path, int]:
    """Create a fresh hidden file next to ``target``; the umask applies as for any new file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        except PermissionError as exc:
            raise ReportPathError(
                target,
                f"the directory {target.parent} is not writable",
                "fix its permissions or choose a writable path",
            ) from exc
        except OSError as exc:
            raise ReportPathError(
                target,
                exc.strerror or str(exc),
                "check the path and the file system, or choose another path",
            ) from exc
    raise ReportPathError(  # pragma: no cover - 100 collisions of 48 random bits
        target, "no free temporary file name", "remove stale .*.tmp files next to it"
    )


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; best effort, not every platform can open a directory."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def read_json_limited(
    path: PathLike, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH
) -> object:
    """Parse a JSON file, refusing anything that is not a modest, plain JSON document.

    The limits keep a corrupt or hostile file from exhausting memory or the stack; NaN and
    Infinity are refused because they are not JSON and other tools would reject the file.
    Raises :class:`JsonFileError` with the reason: missing, unreadable, too large, not JSON,
    too deep.
    """
    file = Path(path)
    try:
        with open(file, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise JsonFileError(file, "it is a directory, not a file")
            if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
                raise JsonFileError(file, _too_large(info.st_size, max_bytes))
            raw = handle.read(max_bytes + 1)  # a pipe or growing file has no honest size
    except FileNotFoundError:
        raise JsonFileError(file, "the file does not exist") from None
    except IsADirectoryError:
        raise JsonFileError(file, "it is a directory, not a file") from None
    except PermissionError:
        raise JsonFileError(file, "permission denied") from None
    except OSError as exc:
        raise JsonFileError(file, f"it cannot be read ({exc.strerror or exc})") from None
    if len(raw) > max_bytes:
        raise JsonFileError(file, _too_large(len(raw), max_bytes))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JsonFileError(file, f"it is not JSON (not UTF-8 text at byte {exc.start})") from None
    try:
        data: object = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise JsonFileError(file, _too_deep(max_depth)) from None
    except ValueError as exc:
        raise JsonFileError(file, f"it is not JSON ({exc})") from None
    if _depth_exceeds(data, max_depth):
        raise JsonFileError(file, _too_deep(max_depth))
    return data


def json_safe(value: object) -> object:
    """A copy of ``value`` that ``json.dumps(allow_nan=False)`` accepts.

    Metadata and ``extra`` come from callers and plugins; one odd value must not cost the user
    the whole report, so tuples become lists, keys strings, NaN and infinities null, and any
    other object its ``str``.
    """
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__}>"


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _too_large(size: int, limit: int) -> str:
    return f"it is too large ({size} bytes or more; the limit is {limit} bytes)"


def _too_deep(limit: int) -> str:
    return f"it is nested too deeply (more than {limit} levels)"


def _depth_exceeds(data: object, limit: int) -> bool:
    """Whether containers nest more than ``limit`` levels (``[]`` is one); iterative on purpose."""
    stack: list[tuple[object, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: list[object] = list(value.values())
        elif isinstance(value, list):
            children = list(value)
        else:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
