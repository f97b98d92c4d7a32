"""Safe file I/O for reports and baselines.

Reports and baselines are written at the end of a run that may have taken minutes; a crash or a
full disk half-way through must not leave a truncated baseline that breaks the next run, so
writes go to a temporary file that replaces the target only once it is complete.  Baselines are
read back from files a user or a CI cache hands us, so reading is JSON only (never pickle) and
bounded in size and nesting depth.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

#: Refuse JSON files larger than this: a baseline is a few KiB per test.
MAX_JSON_BYTES = 16 * 1024 * 1024
#: Refuse JSON nested deeper than this: our files are at most four levels deep.
MAX_JSON_DEPTH = 64

PathLike = str | os.PathLike[str]

#: One UTF-16 surrogate code point: a Python str can hold one alone (``surrogateescape`` file
#: names, a hand-made ``__qualname__``), UTF-8 cannot encode it.
_SURROGATE = re.compile("[\ud800-\udfff]")


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

    def __init__(self, path: PathLike, problem: str, *, not_a_file: bool = False) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        self.not_a_file = not_a_file  # a directory, a FIFO, a device: another path is needed
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
    """Refuse, before any temporary file exists, a path memguard must not replace.

    Only a regular file (or a symbolic link to one) is ever replaced, and a new file is
    created only in an existing, writable directory: ``os.replace`` would swap a character
    device such as ``/dev/null``, a FIFO or a socket for a regular file.  A dangling symbolic
    link is followed like the shell's ``>`` does: the file is created where it points.
    """
    real = Path(os.path.realpath(target))
    try:
        info = os.stat(target)  # the kernel follows links realpath cannot (/dev/stdout)
    except (FileNotFoundError, NotADirectoryError):
        info = None  # a new file; a parent that is not a directory is named below
    except OSError as exc:
        raise _stat_error(target, exc) from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise ReportPathError(
                target,
                "it is a directory",
                f"give a file name inside it, for example {target / 'memguard-report'}",
            )
        if not stat.S_ISREG(info.st_mode):
            raise ReportPathError(
                target,
                f"it is {file_kind(info.st_mode)}, not a regular file (memguard only replaces"
                " regular files)",
                "choose the path of a regular file or of a new file",
            )
    directory = real.parent
    try:
        parent = os.stat(directory)
    except FileNotFoundError:
        raise ReportPathError(
            target,
            f"the directory {directory} does not exist",
            f"create it first (mkdir -p {directory}) or choose another path",
        ) from None
    except OSError as exc:
        raise _stat_error(target, exc) from None
    if not stat.S_ISDIR(parent.st_mode):
        raise ReportPathError(
            target, f"{directory} is not a directory", "choose a path inside an existing directory"
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ReportPathError(
            target,
            f"the directory {directory} is not writable",
            "fix its permissions or choose a writable path",
        )


def file_kind(mode: int) -> str:
    """``"a FIFO"``, ``"a character device"``...: what a non-regular file is, for messages."""
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISREG, "a regular file"),
    ):
        if test(mode):
            return name
    return "a special file"  # pragma: no cover - doors, whiteouts, event ports


def _stat_error(target: PathLike, exc: OSError) -> ReportPathError:
    """A path that cannot even be looked at: a symlink loop, a name too long, no access."""
    if exc.errno == errno.ELOOP:
        problem = "it is a symbolic link that loops"
    elif exc.errno == errno.ENOTDIR:
        problem = "a part of its directory path is not a directory"
    else:
        problem = exc.strerror or str(exc)
    return ReportPathError(target, problem, "check the path, or choose another one")


def same_file(a: PathLike, b: PathLike) -> bool:
    """Whether two paths name one file: after symbolic links, or as hard links of one inode.

    Paths that do not exist yet compare by their resolved form, so ``out.json`` and a
    dangling link to it are the same file too.
    """
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


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
        raw = _read_regular(file, max_bytes)
    except JsonFileError:
        raise
    except FileNotFoundError:
        raise JsonFileError(file, "the file does not exist") from None
    except IsADirectoryError:
        raise JsonFileError(file, "it is a directory, not a file", not_a_file=True) from None
    except PermissionError:
        raise JsonFileError(file, "permission denied") from None
    except ValueError:  # os functions refuse a NUL character in a path
        raise JsonFileError(file, "the path contains a NUL character") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise JsonFileError(file, "it is a symbolic link that loops") from None
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


def _read_regular(file: Path, max_bytes: int) -> bytes:
    """At most ``max_bytes + 1`` bytes of a regular file; anything else raises ``JsonFileError``.

    The type is checked before opening, since opening a FIFO for reading blocks until a writer
    appears, and again on the open descriptor (``O_NONBLOCK`` keeps that open from blocking)
    in case the path was swapped in between.
    """
    before = os.stat(file)
    _require_regular(file, before.st_mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(file, flags | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        _require_regular(file, info.st_mode)
        if info.st_size > max_bytes:
            raise JsonFileError(file, _too_large(info.st_size, max_bytes))
        return handle.read(max_bytes + 1)  # a file still growing has no honest size


def _require_regular(file: Path, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise JsonFileError(file, "it is a directory, not a file", not_a_file=True)
    if not stat.S_ISREG(mode):
        raise JsonFileError(file, f"it is {file_kind(mode)}, not a regular file", not_a_file=True)


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


def escape_surrogates(text: str) -> str:
    """``text`` with each lone surrogate written as ``\\udcff``, so that it can be encoded.

    A test file whose name is not UTF-8 gets a node id with ``surrogateescape`` characters;
    written as is, it would fail the whole report.  Inside a JSON string the escape is JSON's
    own ``\\uXXXX`` form, so the file reads back as the very same node id; in the terminal and
    in HTML it shows what Python's ``backslashreplace`` shows.
    """
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def dumps_json(document: object) -> str:
    """``document`` as indented JSON text that UTF-8 can always encode, ending in a newline.

    Readable non-ASCII stays as it is; values JSON cannot hold go through :func:`json_safe`;
    lone surrogates become JSON escapes (:func:`escape_surrogates`), so they round-trip.
    """
    text = json.dumps(json_safe(document), indent=2, allow_nan=False, ensure_ascii=False)
    return escape_surrogates(text) + "\n"


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
