"""Atomic writes and bounded JSON reads: the old file survives every failure."""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
from pathlib import Path

import pytest
from test_hostile_files import char_device

from pytest_memguard.files import (
    JsonFileError,
    ReportPathError,
    atomic_write_text,
    check_writable,
    dumps_json,
    escape_surrogates,
    json_safe,
    read_json_limited,
    same_file,
)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_writes_new_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    atomic_write_text(target, "héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"
    assert leftovers(tmp_path) == []


def test_replaces_existing_file_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    os.chmod(target, 0o640)
    atomic_write_text(str(target), "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_new_file_follows_umask_not_private_temp_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "r.html", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.html").stat().st_mode) == 0o644


def test_failed_replace_keeps_old_file_and_removes_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "baseline.json"
    target.write_text("old contents")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ReportPathError) as info:
        atomic_write_text(target, "new contents")
    assert target.read_text() == "old contents"
    assert leftovers(tmp_path) == []
    assert str(target) in str(info.value)
    assert "left unchanged" in str(info.value)


def test_failure_midway_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk shows up at write or fsync time, after the temp file has data in it."""
    target = tmp_path / "baseline.json"
    target.write_text("old contents")

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(ReportPathError, match="No space left on device"):
        atomic_write_text(target, "x" * 100_000)
    assert target.read_text() == "old contents"
    assert leftovers(tmp_path) == []


def test_non_os_error_propagates_unchanged_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r.json"
    target.write_text("old")

    def interrupted(src: object, dst: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_unencodable_text_fails_before_touching_disk(tmp_path: Path) -> None:
    target = tmp_path / "r.txt"
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(target, "é", encoding="ascii")
    assert list(tmp_path.iterdir()) == []


def test_directory_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReportPathError) as info:
        atomic_write_text(tmp_path, "x")
    message = str(info.value)
    assert str(tmp_path) in message
    assert "is a directory" in message
    assert "give a file name inside it" in message
    assert isinstance(info.value, OSError)
    assert info.value.path == str(tmp_path)


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "report.html"
    with pytest.raises(ReportPathError) as info:
        atomic_write_text(target, "x")
    message = str(info.value)
    assert str(target) in message
    assert "does not exist" in message
    assert "mkdir -p" in message
    assert not (tmp_path / "no").exists()


def test_parent_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ReportPathError, match="is not a directory"):
        atomic_write_text(tmp_path / "file" / "report.json", "x")


def test_unwritable_directory_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def denied(path: object, flags: int, mode: int = 0o777) -> int:
        if str(path).endswith(".tmp"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, mode)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(ReportPathError) as info:
        atomic_write_text(tmp_path / "r.json", "x")
    assert "is not writable" in str(info.value)
    assert str(tmp_path / "r.json") in str(info.value)


def test_symlink_is_followed(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_write_text(link, "new")
    assert link.is_symlink()
    assert real.read_text() == "new"


# -- read_json_limited ------------------------------------------------------------------


def test_json_round_trip(tmp_path: Path) -> None:
    data = {"a": [1, 2.5, None, True, "é"], "b": {"c": {}}}
    path = tmp_path / "d.json"
    atomic_write_text(path, json.dumps(data))
    assert read_json_limited(path) == data


def test_json_with_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"x": 1}')
    assert read_json_limited(path) == {"x": 1}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "it is not JSON"),
        (b"", "it is not JSON"),
        (b'{"x": NaN}', "NaN is not valid JSON"),
        (b'{"x": Infinity}', "Infinity is not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8 text"),
    ],
)
def test_json_that_is_not_json(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(JsonFileError) as info:
        read_json_limited(path)
    assert problem in str(info.value)
    assert str(path) in str(info.value)


def test_json_missing_file(tmp_path: Path) -> None:
    with pytest.raises(JsonFileError) as info:
        read_json_limited(tmp_path / "nope.json")
    assert info.value.problem == "the file does not exist"
    assert isinstance(info.value, ValueError)


def test_json_directory(tmp_path: Path) -> None:
    with pytest.raises(JsonFileError, match="it is a directory"):
        read_json_limited(tmp_path)


def test_json_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.json"
    path.write_text("{}")

    real_open = os.open

    def denied(name: object, flags: int, mode: int = 0o777) -> int:
        if name == path:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(name, flags, mode)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(JsonFileError, match="permission denied"):
        read_json_limited(path)


def test_json_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps(["x" * 200]))
    assert read_json_limited(path, max_bytes=1000) == ["x" * 200]
    with pytest.raises(JsonFileError, match=r"too large .*the limit is 100 bytes"):
        read_json_limited(path, max_bytes=100)


def test_json_default_size_limit_is_16_mib(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with open(path, "wb") as handle:
        handle.write(b'["')
        handle.write(b"x" * (16 * 1024 * 1024))
        handle.write(b'"]')
    with pytest.raises(JsonFileError, match="too large"):
        read_json_limited(path)


def test_json_depth_limit(tmp_path: Path) -> None:
    ok, deep = tmp_path / "ok.json", tmp_path / "deep.json"
    ok.write_text("[" * 64 + "]" * 64)
    deep.write_text("[" * 65 + "]" * 65)
    assert read_json_limited(ok) is not None
    with pytest.raises(JsonFileError, match="nested too deeply"):
        read_json_limited(deep)
    with pytest.raises(JsonFileError, match=r"more than 3 levels"):
        read_json_limited(ok, max_depth=3)


def test_json_depth_limit_counts_objects(tmp_path: Path) -> None:
    path = tmp_path / "obj.json"
    path.write_text('{"a": {"b": {"c": [1]}}}')
    assert read_json_limited(path, max_depth=4) == {"a": {"b": {"c": [1]}}}
    with pytest.raises(JsonFileError, match="nested too deeply"):
        read_json_limited(path, max_depth=3)


def test_json_hostile_depth_does_not_crash(tmp_path: Path) -> None:
    path = tmp_path / "bomb.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(JsonFileError, match="nested too deeply"):
        read_json_limited(path)


class Opaque:
    def __str__(self) -> str:
        return "opaque thing"


class Hostile:
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_json_safe_makes_anything_serialisable() -> None:
    value = {
        1: (1.5, math.nan),
        "o": Opaque(),
        "h": Hostile(),
        "inf": -math.inf,
        "ok": [True, None],
    }
    text = json.dumps(json_safe(value), allow_nan=False)
    loaded = json.loads(text)
    assert loaded == {
        "1": [1.5, None],
        "o": "opaque thing",
        "h": "<Hostile>",
        "inf": None,
        "ok": [True, None],
    }


# -- paths that are not regular files ----------------------------------------------------


def test_only_regular_files_are_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    device = char_device(tmp_path)
    for path, kind in [(fifo, "a FIFO (named pipe)"), (device, "a character device")]:
        with pytest.raises(ReportPathError, match=f"it is {re.escape(kind)}, not a regular file"):
            atomic_write_text(path, "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert stat.S_ISCHR(os.stat(device).st_mode)
    assert leftovers(tmp_path) == []


def test_a_dangling_symlink_creates_its_target_and_a_loop_is_named(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "real.json")
    atomic_write_text(link, "new")
    assert (link.is_symlink(), (tmp_path / "real.json").read_text()) == (True, "new")
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    with pytest.raises(ReportPathError, match="it is a symbolic link that loops"):
        check_writable(loop)


def test_a_link_the_kernel_resolves_is_checked_by_what_it_points_to(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    try:  # /proc/self/fd/N names a pipe; realpath() cannot resolve it, stat() does
        with pytest.raises(ReportPathError, match="it is a FIFO"):
            check_writable(Path(f"/proc/self/fd/{write_end}"))
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_deeper_parent_that_is_a_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ReportPathError, match="a part of its directory path is not a directory"):
        check_writable(tmp_path / "file" / "sub" / "r.json")


@pytest.mark.timeout(60)  # opening a FIFO for reading blocks until a writer comes
def test_reading_a_fifo_or_a_device_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(JsonFileError, match="it is a FIFO") as info:
        read_json_limited(fifo)
    assert info.value.not_a_file
    with pytest.raises(JsonFileError, match="it is a character device, not a regular file"):
        read_json_limited("/dev/zero")  # endless


def test_same_file_sees_through_links_and_relative_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "sym.json").symlink_to("a.json")
    os.link(tmp_path / "a.json", tmp_path / "hard.json")
    assert same_file("a.json", tmp_path / "sub" / ".." / "a.json")
    assert same_file("sym.json", "a.json")
    assert same_file("hard.json", "a.json")
    assert same_file("new.json", tmp_path / "new.json")  # neither exists yet
    assert not same_file("a.json", "b.json")


# -- lone surrogates ---------------------------------------------------------------------


def test_lone_surrogates_are_escaped_and_round_trip_through_json(tmp_path: Path) -> None:
    document = {"test_caf\udce9.py::t": ["run(f\udcff)", "é", "back\\slash", "\ud800"]}
    text = dumps_json(document)
    assert "\\udce9" in text  # JSON's own escape
    assert "é" in text  # readable non-ASCII stays
    atomic_write_text(tmp_path / "r.json", text)
    assert read_json_limited(tmp_path / "r.json") == document
    assert escape_surrogates("f\udcff é") == "f\\udcff é"
