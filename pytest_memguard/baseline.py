"""Baselines: remember each test's retained growth and flag runs that grew past it.

A fixed ``max_growth_kb`` catches leaks; a baseline catches a test that used to retain 3 KiB and
now retains 80 KiB while still under its bound.  The file is JSON (never pickle: baselines are
cached and shared, and loading one must not run code), small, sorted and rounded so it diffs well
under version control.  Every load problem becomes a :class:`BaselineError` whose text says which
file, what is wrong and how to regenerate it.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import stat
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pytest_memguard.files import (
    JsonFileError,
    PathLike,
    atomic_write_text,
    check_writable,
    dumps_json,
    read_json_limited,
)
from pytest_memguard.result import MemguardResult, TypeGrowth
from pytest_memguard.settings import MAX_GROWTH_KB
from pytest_memguard.units import kib

BASELINE_VERSION = 1
#: How many of a test's growing types a baseline keeps; enough to name what is new.
BASELINE_TYPES = 5
SAVE_OPTION = "--memguard-save-baseline"
#: The largest per-type count or size a baseline may hold: what a signed 64-bit counter holds.
MAX_TYPE_DELTA = 2**63 - 1
#: Metadata strings longer than this are not an environment description; they are ignored.
MAX_METADATA_TEXT = 100

Status = Literal["ok", "regressed", "new", "improved"]


class BaselineError(ValueError):
    """A baseline file cannot be used; ``str()`` names the file, the problem and the fix."""

    def __init__(self, path: PathLike, problem: str, fix: str | None = None) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        # A save merges into an existing file, so an unusable one must go first.
        advice = fix or f"delete it and save a new one with {SAVE_OPTION} {self.path}"
        super().__init__(f"memguard baseline {self.path}: {problem}; {advice}")


def baseline_key(result: MemguardResult) -> str:
    """The key of a result in a baseline: its node id, plus its label if it is not the body.

    One test may guard several blocks (``run(parse)``, ``flask GET /x``); each needs its own
    entry or the last would overwrite the others.
    """
    key = result.name
    # JSON reads an escaped surrogate pair back as one character; join pairs the same way
    # now, so that the saved key matches on the next run (lone surrogates stay as they are).
    return key.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def python_minor(version: str) -> str:
    """``"3.11"`` from ``"3.11.9"``, ``"3.11"`` or ``sys.version``; the input if it has none."""
    match = re.match(r"\s*(\d+)\.(\d+)", version)
    return f"{match.group(1)}.{match.group(2)}" if match else version.strip()


def environment() -> dict[str, str]:
    """What a baseline records about where it was made: growth depends on all three."""
    return {
        "python": python_minor(platform.python_version()),
        "python_implementation": platform.python_implementation(),
        "platform": sys.platform,
    }


@dataclass(frozen=True)
class BaselineEntry:
    """One test as recorded: its retained growth and its top growing types."""

    growth_kb: float
    types: tuple[TypeGrowth, ...] = ()
    #: Each count's growth (``fds``, ``threads``, ``tasks``, ``processes``) as recorded.
    resources: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline file."""

    path: str
    metadata: Mapping[str, object]
    tests: Mapping[str, BaselineEntry] = field(default_factory=dict)

    def get(self, key: str) -> BaselineEntry | None:
        return self.tests.get(key)

    def _text(self, key: str) -> str | None:
        """A metadata string fit for a message (shown in every comparison), else None."""
        value = self.metadata.get(key)
        if isinstance(value, str) and 0 < len(value) <= MAX_METADATA_TEXT:
            return value
        return None

    @property
    def python(self) -> str | None:
        value = self._text("python")
        return python_minor(value) if value is not None else None

    @property
    def platform(self) -> str | None:
        return self._text("platform")

    def describe(self) -> str:
        """Where the baseline was made, for messages: ``Python 3.11, linux``."""
        implementation = self._text("python_implementation")
        python = self.python or "unknown"
        name = "Python" if implementation in (None, "CPython") else implementation
        return f"{name} {python}, {self.platform or 'unknown platform'}"

    def python_mismatch(self, current_python: str) -> str | None:
        """A warning when the baseline was made on another Python minor version, else None.

        Object sizes and interpreter caches change between minor versions, so a comparison
        across them reports drift that is not the code's.
        """
        recorded = self.python
        current = python_minor(current_python)
        if recorded is None or recorded == current:
            return None
        return (
            f"memguard baseline {self.path} was recorded on Python {recorded} but this is "
            f"Python {current}; retained sizes differ between Python versions, so the "
            f"comparison may be off; regenerate it with {SAVE_OPTION} {self.path} on Python "
            f"{current}"
        )


@dataclass(frozen=True)
class Tolerance:
    """How far above its baseline a test may grow: ``baseline * (1 + fraction) + absolute``.

    The fraction covers growth that scales with the test, the absolute part the allocator noise
    that does not, so a tiny baseline does not fail on a few hundred bytes.
    """

    fraction: float = 0.10
    absolute_kb: float = 4.0

    def margin_kb(self, baseline_kb: float) -> float:
        """How far from its baseline a test may move before it counts as changed."""
        return abs(baseline_kb) * self.fraction + self.absolute_kb

    def allowed_kb(self, baseline_kb: float) -> float:
        """The most a test may now retain; a negative baseline (memory freed) counts as 0."""
        return max(baseline_kb, 0.0) + self.margin_kb(max(baseline_kb, 0.0))

    def floor_kb(self, baseline_kb: float) -> float:
        """Below this the test improved by more than noise: the mirror image of the allowance."""
        return baseline_kb - self.margin_kb(baseline_kb)

    def __str__(self) -> str:
        parts = []
        if self.fraction or not self.absolute_kb:
            parts.append(f"{_number(self.fraction * 100)}%")
        if self.absolute_kb:
            parts.append(f"{_number(self.absolute_kb)} KiB")
        return " + ".join(parts)


DEFAULT_TOLERANCE = Tolerance()

_TERM = re.compile(r"(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>%|[a-z]*)", re.IGNORECASE)
_UNIT_KB = {"b": 1 / 1024, "kb": 1.0, "kib": 1.0, "mb": 1024.0, "mib": 1024.0}
#: A test may grow at most 100 times its baseline; beyond that the gate means nothing.
MAX_TOLERANCE_PERCENT = 10_000


def parse_tolerance(text: str) -> Tolerance:
    """Parse ``"10%"``, ``"4KiB"``, ``"10%+4KiB"`` or ``"10% + 4 kb"`` (units: B, KB/KiB, MB/MiB).

    Sizes are binary (1 KB = 1024 bytes), as in every other memguard number.  A part that is
    left out is zero, so ``"10%"`` allows no absolute slack.  Raises ``ValueError`` naming the
    problem and showing valid forms.
    """
    terms = text.split("+")
    if not text.strip():
        raise _tolerance_error(text, "it is empty")
    if len(terms) > 2:
        raise _tolerance_error(text, "give at most one percentage and one size")
    fraction: float | None = None
    absolute: float | None = None
    for raw in terms:
        term = raw.strip()
        match = _TERM.fullmatch(term)
        if not term or match is None:
            raise _tolerance_error(
                text, f"cannot read {_short(term)}" if term else "a part is empty"
            )
        number = float(match.group("number"))
        unit = match.group("unit").lower()
        if unit == "%":
            if fraction is not None:
                raise _tolerance_error(text, "it has two percentages")
            if number > MAX_TOLERANCE_PERCENT:
                raise _tolerance_error(
                    text, f"the percentage is above {MAX_TOLERANCE_PERCENT:,}% (100 times)"
                )
            fraction = number / 100
        elif unit in _UNIT_KB:
            if absolute is not None:
                raise _tolerance_error(text, "it has two sizes")
            absolute = number * _UNIT_KB[unit]
            if absolute > MAX_GROWTH_KB:
                raise _tolerance_error(text, f"the size is above {MAX_GROWTH_KB:,} KiB (1 TiB)")
        elif not unit:
            raise _tolerance_error(text, f"{term!r} has no unit (add % or KiB)")
        else:
            raise _tolerance_error(text, f"unknown unit {match.group('unit')!r}")
    return Tolerance(fraction or 0.0, absolute or 0.0)


def _tolerance_error(text: str, problem: str) -> ValueError:
    return ValueError(
        f"invalid memguard tolerance {_short(text)}: {problem}; expected a percentage, a size or "
        "both, for example '10%', '4KiB' or '10% + 4KiB'"
    )


@dataclass(frozen=True)
class Comparison:
    """How one result compares with its baseline entry."""

    key: str
    status: Status
    current_kb: float
    baseline_kb: float | None
    allowed_kb: float | None
    tolerance: Tolerance
    message: str
    new_types: tuple[str, ...] = ()  # top types now growing that the baseline did not list

    @property
    def regressed(self) -> bool:
        return self.status == "regressed"

    @property
    def delta_kb(self) -> float | None:
        return None if self.baseline_kb is None else self.current_kb - self.baseline_kb

    def to_dict(self) -> dict[str, object]:
        """The JSON form used by the JSON report's ``baseline`` field."""
        delta = self.delta_kb
        return {
            "status": self.status,
            "baseline_kb": _round(self.baseline_kb),
            "current_kb": _round(self.current_kb),
            "delta_kb": _round(delta),
            "allowed_kb": _round(self.allowed_kb),
            "tolerance": str(self.tolerance),
            "new_types": list(self.new_types),
            "message": self.message,
        }


def compare(
    baseline: Baseline, result: MemguardResult, tolerance: Tolerance = DEFAULT_TOLERANCE
) -> Comparison:
    """Judge ``result`` against its baseline entry.

    ``regressed`` when it grew past ``tolerance.allowed_kb(baseline)``; ``improved`` when it
    dropped by more than the same margin (so noise reads as ``ok``, and the user knows the
    baseline can be tightened); ``new`` when the baseline has no entry for it.
    """
    key = baseline_key(result)
    current = result.growth_kb
    entry = baseline.get(key)
    context = f"baseline: {baseline.describe()}; tolerance {tolerance}"
    if entry is None:
        return Comparison(
            key,
            "new",
            current,
            None,
            None,
            tolerance,
            f"new: {kib(current)} (not in the baseline; {context})",
        )
    allowed = tolerance.allowed_kb(entry.growth_kb)
    known = {t.name for t in entry.types}
    new_types = tuple(
        t.name for t in result.types[:BASELINE_TYPES] if t.name not in known and t.size_delta > 0
    )
    status: Status
    if current > allowed:
        status = "regressed"
    elif current < tolerance.floor_kb(entry.growth_kb):
        status = "improved"
    else:
        status = "ok"
    detail = context
    if status == "regressed":
        detail += f"; allowed up to {kib(allowed)}"
        if new_types:
            detail += f"; newly growing: {', '.join(new_types)}"
    counts = {r.key: r.growth for r in result.resources}
    rose = [
        f"{k} {entry.resources.get(k, 0):+,} -> {n:+,}"
        for k, n in counts.items()
        if n > entry.resources.get(k, 0)
    ]
    if rose:  # exact counts: shown when they rose, judged by their own bounds (max_fds...)
        detail += f"; more open than in the baseline: {', '.join(rose)}"
    message = f"{status}: {kib(entry.growth_kb)} -> {kib(current)} ({detail})"
    return Comparison(key, status, current, entry.growth_kb, allowed, tolerance, message, new_types)


@dataclass(frozen=True)
class Saved:
    """What a save did: entries from this run, and old entries kept because this run did not
    measure their tests (``-k``, ``--memguard-disable``, a crashed xdist worker)."""

    measured: int
    kept: int
    previous: Baseline | None = None  # the file merged into, if there was one


def existing_baseline(path: PathLike) -> Baseline | None:
    """The baseline a save at ``path`` merges into: None for a new or empty file.

    Anything else that cannot be read as a baseline raises :class:`BaselineError`: a save
    never replaces a file it cannot merge, so it never destroys what it does not understand.
    """
    name = os.fspath(path)
    try:
        info = os.stat(name)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError):
        info = None  # let load_baseline name the problem
    if info is not None and stat.S_ISREG(info.st_mode) and info.st_size == 0:
        return None
    try:
        return load_baseline(name)
    except BaselineError as exc:
        raise BaselineError(
            name,
            exc.problem,
            "a save keeps the entries of tests it did not measure, so it must merge into a"
            " readable baseline: move the file away or delete it, then save again",
        ) from None


def save_baseline(
    path: PathLike,
    results: Iterable[MemguardResult],
    *,
    metadata: Mapping[str, object],
) -> Saved:
    """Merge ``results`` into the baseline at ``path`` (or create it), atomically.

    Tests measured in this run replace their entries; every other entry of the existing file
    is kept, so a run of a subset of the tests (``-k``, a crashed xdist worker, ``--lf``)
    cannot erase the rest.  To drop entries of deleted tests, delete the file and save anew.
    Results that were not measured (``--memguard-disable``) hold no growth and are left out.
    Raises :class:`~pytest_memguard.files.ReportPathError` when the path cannot be written,
    and :class:`BaselineError` when the existing file cannot be merged (it is left as is).
    """
    check_writable(Path(path))  # a directory or a FIFO is a path error, not a bad baseline
    previous = existing_baseline(path)
    tests: dict[str, dict[str, object]] = {}
    measured: set[str] = set()
    for result in results:
        if result.measured:
            key = baseline_key(result)
            measured.add(key)
            counts = {r.key: r.growth for r in result.resources}
            entry = BaselineEntry(result.growth_kb, result.types[:BASELINE_TYPES], counts)
            tests[key] = _entry_json(entry)
    kept = 0
    if previous is not None:
        for key, entry in previous.tests.items():
            if key not in measured:
                tests[key] = _entry_json(entry)
                kept += 1
    meta: dict[str, object] = {**environment(), **dict(metadata)}
    if isinstance(meta.get("python"), str):
        meta["python"] = python_minor(str(meta["python"]))
    document = {
        "version": BASELINE_VERSION,
        "metadata": meta,
        "tests": {key: tests[key] for key in sorted(tests)},
    }
    atomic_write_text(path, dumps_json(document))
    return Saved(len(measured), kept, previous)


def _entry_json(entry: BaselineEntry) -> dict[str, object]:
    return {
        "growth_kb": _round(entry.growth_kb),
        "types": [
            {"name": t.name, "size_delta": t.size_delta, "count_delta": t.count_delta}
            for t in entry.types[:BASELINE_TYPES]
        ],
        **({"resources": dict(sorted(entry.resources.items()))} if entry.resources else {}),
    }


def load_baseline(path: PathLike) -> Baseline:
    """Read and validate a baseline file; every problem raises :class:`BaselineError`.

    Each value is checked for its JSON type (a boolean is not a number) and its range, since
    the numbers feed arithmetic and messages in every guarded test of the run.
    """
    name = os.fspath(path)
    try:
        data = read_json_limited(path)
    except JsonFileError as exc:
        fix = None
        if exc.problem == "the file does not exist":
            fix = f"create it with {SAVE_OPTION} {name}"
        elif exc.not_a_file:
            fix = f"give the path of a baseline file, saved with {SAVE_OPTION}"
        raise BaselineError(name, exc.problem, fix) from None
    if not isinstance(data, dict):
        raise BaselineError(name, f"it is not a memguard baseline (a JSON {_kind(data)})")
    version = data.get("version")
    if "version" not in data or "tests" not in data:
        raise BaselineError(name, 'it is not a memguard baseline (no "version" or "tests")')
    if not _is_int(version) or version != BASELINE_VERSION:
        raise BaselineError(
            name,
            f"it has format version {_cut(json.dumps(version), 40)}, this pytest-memguard"
            f" reads version {BASELINE_VERSION}",
        )
    metadata = data.get("metadata", {})
    if not isinstance(metadata, dict):
        raise BaselineError(name, '"metadata" must be an object')
    raw_tests = data["tests"]
    if not isinstance(raw_tests, dict):
        raise BaselineError(name, '"tests" must be an object mapping node ids to entries')
    tests = {key: _parse_entry(name, key, value) for key, value in raw_tests.items()}
    return Baseline(name, metadata, tests)


def _parse_entry(path: str, key: str, value: object) -> BaselineEntry:
    where = f"tests[{_cut(json.dumps(key), 80)}]"
    if not isinstance(value, dict):
        raise BaselineError(path, f"{where} must be an object")
    growth = value.get("growth_kb")
    if not (isinstance(growth, int | float) and _is_number(growth, MAX_GROWTH_KB)):
        raise BaselineError(
            path,
            f"{where}.growth_kb must be a finite number of KiB from {-MAX_GROWTH_KB:,} to"
            f" {MAX_GROWTH_KB:,}",
        )
    raw_types = value.get("types", [])
    if not isinstance(raw_types, list):
        raise BaselineError(path, f"{where}.types must be a list")
    types = []
    for index, item in enumerate(raw_types):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and _is_number(item.get("size_delta"), MAX_TYPE_DELTA, integer=True)
            and _is_number(item.get("count_delta"), MAX_TYPE_DELTA, integer=True)
        ):
            raise BaselineError(
                path,
                f"{where}.types[{index}] must be an object with a string name and integer "
                "size_delta and count_delta (at most 64-bit)",
            )
        types.append(TypeGrowth(item["name"], item["count_delta"], item["size_delta"]))
    counts = value.get("resources", {})
    if not isinstance(counts, dict) or not all(
        isinstance(k, str) and _is_number(v, MAX_TYPE_DELTA, integer=True)
        for k, v in counts.items()
    ):
        raise BaselineError(
            path, f"{where}.resources must be an object mapping count names to integers"
        )
    return BaselineEntry(float(growth), tuple(types), counts)


def _is_number(value: object, bound: float, *, integer: bool = False) -> bool:
    """A JSON number (never a boolean) within ``-bound..bound``; compared before any
    conversion, since ``float()`` of a 400-digit integer raises ``OverflowError``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, float) and (integer or not math.isfinite(value)):
        return False
    return -bound <= value <= bound


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _cut(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters: a message must stay readable."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short(text: str) -> str:
    return repr(_cut(text))


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "number" if isinstance(value, int | float) else type(value).__name__


def _round(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, 3)


def _number(value: float) -> str:
    return f"{round(value, 6):g}"


def comparison_of(
    result: MemguardResult, deltas: Mapping[str, Comparison] | None
) -> Comparison | None:
    """The comparison reported for ``result``: by its baseline key, then by its node id (a
    baseline saved before the run's label existed); none for a run that was not measured."""
    if not deltas or not result.measured:
        return None
    return deltas.get(baseline_key(result)) or deltas.get(result.nodeid)
