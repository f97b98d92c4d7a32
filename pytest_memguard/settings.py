"""One frozen ``Settings`` and the one place that resolves it.

Precedence: keyword (fixture call) > marker > command line > ini file > built-in default, except
``ignore``, where every layer adds its entries. Every
value is validated where it enters, and a bad one raises :class:`SettingsError` naming where it
came from ("marker", "--memguard-iterations", "ini memguard_iterations") and how to fix it.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from pytest_memguard.verdict import MIN_ITERATIONS

DEFAULT_ITERATIONS = 200
DEFAULT_WARMUP = 20
DEFAULT_MAX_GROWTH_KB = 64.0
MAX_ITERATIONS = 1_000_000
#: The largest bound (1 TiB, in KiB): more than any machine that runs tests can retain, and
#: small enough that every size derived from it (``limit_bytes``, sums, per-call averages)
#: stays an exact float and a 64-bit integer; ``max_growth_kb=1e308`` would overflow them.
MAX_GROWTH_KB = 1024**3


class SettingsError(ValueError):
    """A setting has a bad value or name; the message says which, where from and the fix."""


@dataclass(frozen=True)
class Settings:
    """How one guarded run is measured and judged."""

    iterations: int = DEFAULT_ITERATIONS
    warmup: int = DEFAULT_WARMUP
    max_growth_kb: float = DEFAULT_MAX_GROWTH_KB
    disable: bool = False
    ignore: tuple[str, ...] = ()  # "module:attribute" holders and type names
    #: How the marker replays a test's fixtures: "reuse" the first call's values, "fresh"
    #: ones for every call, or "auto": reuse, and judge again with fresh ones when a replay
    #: raises or the only holder of the growth is one of the test's own fixtures.
    fixtures: str = "auto"
    #: How many more open descriptors, threads, asyncio tasks and child processes than at the
    #: end of warm-up a run may keep (a pool that fills lazily); a count still growing fails.
    max_fds: int = 0
    max_threads: int = 0
    max_tasks: int = 0
    max_processes: int = 0

    @property
    def limit_bytes(self) -> int:
        return int(self.max_growth_kb * 1024)

    def bound(self, key: str) -> int:
        """The growth allowed for the count ``key`` (``fds``, ``threads``...)."""
        value: int = getattr(self, f"max_{key}")
        return value


def parse_count(value: object, *, name: str, source: str, minimum: int, why: str = "") -> int:
    """An integer count such as ``iterations`` (>= ``MIN_ITERATIONS``) or ``warmup`` (>= 0);
    ``why`` says why the minimum is what it is."""
    if isinstance(value, bool):
        raise SettingsError(_bad(name, source, value, f"a whole number >= {minimum}"))
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise SettingsError(_bad(name, source, value, f"a whole number >= {minimum}")) from None
    if not isinstance(value, int) or not minimum <= value <= MAX_ITERATIONS:
        raise SettingsError(
            _bad(
                name,
                source,
                value,
                f"a whole number from {minimum} to {MAX_ITERATIONS:,}{why}",
            )
        )
    return value


def parse_kb(value: object, *, name: str, source: str) -> float:
    """A bound in KiB: a number > 0 and at most :data:`MAX_GROWTH_KB` (1 TiB)."""
    want = f"a number of KiB > 0 and at most {MAX_GROWTH_KB:,} (1 TiB), e.g. 64"
    number = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise SettingsError(_bad(name, source, value, want)) from None
    # Compared before float(): float() of a 400-digit int raises OverflowError.
    if (
        isinstance(number, bool)
        or not isinstance(number, (int, float))
        or not 0 < number <= MAX_GROWTH_KB  # also False for NaN
    ):
        raise SettingsError(_bad(name, source, number, want))
    return float(number)


def parse_ignore(value: object, *, name: str, source: str) -> tuple[str, ...]:
    """``module:attribute`` holders and type names, as a list or one per line."""
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(
        isinstance(i, str) and i.strip() for i in items
    ):
        raise SettingsError(
            _bad(name, source, value, "a list of 'module:attribute' holders or type names")
        )
    for item in items:
        module, colon, attribute = item.partition(":")
        parts = [*module.split("."), *(attribute.split(".") if colon else [])]
        if not all(p.isidentifier() for p in parts):
            raise SettingsError(
                _bad(
                    name,
                    source,
                    item,
                    "'module:attribute' (e.g. 'myapp.auth:TOKENS') or a"
                    " type name (e.g. 'LogRecord')",
                )
            )
    return tuple(i.strip() for i in items)


def parse_bool(value: object, *, name: str, source: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLS:
        return _BOOLS[value.strip().lower()]
    raise SettingsError(_bad(name, source, value, "true or false"))


def parse_choice(value: object, *, name: str, source: str, choices: tuple[str, ...]) -> str:
    """One of ``choices``, case-insensitive."""
    if isinstance(value, str) and value.strip().lower() in choices:
        return value.strip().lower()
    raise SettingsError(_bad(name, source, value, " or ".join(repr(c) for c in choices)))


#: The marker's ``fixtures=`` values (see ``Settings.fixtures``).
FIXTURES = ("auto", "fresh", "reuse")
#: ``--memguard-scan`` values: fail the run on a confirmed leak, only report it, or no scan.
SCAN_MODES = ("fail", "report", "off")
_SCAN_TRUE = ("true", "yes", "on", "1")
_SCAN_FALSE = ("false", "no", "0", "")
#: Every value ``--memguard-scan`` takes (a boolean word, as the ini may say, or a mode).
SCAN_WORDS = (*SCAN_MODES, *_SCAN_TRUE, *_SCAN_FALSE)


def parse_scan(value: object, *, source: str) -> str:
    """``--memguard-scan`` / ini ``memguard_scan``: a mode, or a boolean ini value."""
    if isinstance(value, str) and value.strip().lower() in _SCAN_TRUE:
        return "fail"
    if isinstance(value, str) and value.strip().lower() in _SCAN_FALSE:
        return "off"
    return parse_choice(value, name="scan", source=source, choices=SCAN_MODES)


_BOOLS = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
    "": False,
}

#: The counts with a bound of their own, as :mod:`pytest_memguard.resources` names them.
COUNTED = ("fds", "threads", "tasks", "processes")


def _parse_bound(value: object, source: str, *, name: str) -> int:
    return parse_count(value, name=name, source=source, minimum=0)


_TOO_FEW = (
    f" (fewer than {MIN_ITERATIONS} measured calls are too few to tell a steady rise from"
    " a one-time step)"
)

_PARSERS: dict[str, Callable[[object, str], Any]] = {
    "iterations": lambda v, s: parse_count(
        v, name="iterations", source=s, minimum=MIN_ITERATIONS, why=_TOO_FEW
    ),
    "warmup": lambda v, s: parse_count(v, name="warmup", source=s, minimum=0),
    "max_growth_kb": lambda v, s: parse_kb(v, name="max_growth_kb", source=s),
    "disable": lambda v, s: parse_bool(v, name="disable", source=s),
    "ignore": lambda v, s: parse_ignore(v, name="ignore", source=s),
    "fixtures": lambda v, s: parse_choice(v, name="fixtures", source=s, choices=FIXTURES),
    **{f"max_{key}": partial(_parse_bound, name=f"max_{key}") for key in COUNTED},
}

#: Keywords the marker and the fixture's calls accept (``disable`` is a run-wide switch).
KEYWORDS = (
    "max_growth_kb",
    "iterations",
    "warmup",
    "ignore",
    "fixtures",
    "max_fds",
    "max_threads",
    "max_tasks",
    "max_processes",
)


def check_keywords(keywords: Mapping[str, object], *, source: str) -> dict[str, Any]:
    """Validate keyword arguments of the marker or of a fixture call; ``None`` means unset."""
    values: dict[str, Any] = {}
    for key, value in keywords.items():
        if key not in KEYWORDS:
            hint = difflib.get_close_matches(key, KEYWORDS, n=1)
            fix = f"did you mean {hint[0]!r}?" if hint else f"use one of {', '.join(KEYWORDS)}"
            raise SettingsError(f"{source}: unknown keyword {key!r}; {fix}")
        if value is not None:
            values[key] = _PARSERS[key](value, source)
    return values


def layer(values: Mapping[str, object | None], *, source: Callable[[str], str]) -> dict[str, Any]:
    """Validate one layer of options (CLI or ini), skipping unset (``None``) ones."""
    return {
        key: _PARSERS[key](value, source(key))
        for key, value in values.items()
        if value is not None and key in _PARSERS
    }


def resolve(*layers: Mapping[str, Any]) -> Settings:
    """Merge validated layers, lowest precedence first (default < ini < CLI < marker < call)."""
    settings = Settings()
    for values in layers:
        # ignore= adds to what lower layers ignore: the ini lists the project's caches, a
        # marker adds the ones of its test.
        ignore = settings.ignore + tuple(values.get("ignore", ()))
        settings = replace(settings, **{**values, "ignore": tuple(dict.fromkeys(ignore))})
    return settings


def _bad(name: str, source: str, value: object, want: str) -> str:
    return f"{source}: {name}={_shown(value)} is not valid; use {want}"


def _shown(value: object) -> str:
    """The bad value for a message, kept short: it may be a 5000-digit integer (whose
    ``repr`` raises ``ValueError``), a long string, or an object whose ``repr`` fails."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        digits = int(value.bit_length() * math.log10(2)) + 1
        return f"<an integer of about {digits} digits>"
    try:
        text = repr(value)
    except Exception:
        return f"<a {type(value).__name__} object>"
    return text if len(text) <= 80 else text[:77] + "..."
