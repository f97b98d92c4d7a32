"""The pytest entry point: option declarations, the marker line, and registration.

Everything else lives in the object registered here for the run (``session.py``), the fixture
(``fixture.py``) and the run's files (``run_files.py``); the work itself is done by modules
that never import pytest (``guard``, ``measure``, ``verdict``, ``explain``, ``report``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from typing import Any

import pytest

from pytest_memguard import run_files
from pytest_memguard import settings as _settings
from pytest_memguard import xdist as _xdist
from pytest_memguard.baseline import DEFAULT_TOLERANCE
from pytest_memguard.fixture import SESSION_KEY, memguard
from pytest_memguard.redact import Secrets, collecting
from pytest_memguard.session import Layers, MemguardSession
from pytest_memguard.settings import SettingsError
from pytest_memguard.verdict import MIN_ITERATIONS

#: (name, ini type, metavar, help): every ``--memguard-NAME`` flag is mirrored by ini key
#: ``memguard_NAME``; one help string serves both.
OPTIONS: tuple[tuple[str, str, str, str], ...] = (
    (
        "iterations",
        "string",
        "N",
        f"measured calls per guarded test, at least {MIN_ITERATIONS}"
        f" (default {_settings.DEFAULT_ITERATIONS})",
    ),
    (
        "warmup",
        "string",
        "N",
        f"calls before measuring, to fill caches (default {_settings.DEFAULT_WARMUP})",
    ),
    (
        "max-growth-kb",
        "string",
        "N",
        "retained growth bound in KiB for every guarded test"
        f" (default {_settings.DEFAULT_MAX_GROWTH_KB:g})",
    ),
    *(
        (
            f"max-{key}",
            "string",
            "N",
            f"how many more {what} than after warm-up a guarded test may keep open (a pool"
            " that fills); a count that keeps rising always fails (default 0)",
        )
        for key, what in (
            ("fds", "file descriptors (files, sockets, pipes)"),
            ("threads", "threads"),
            ("tasks", "pending asyncio tasks"),
            ("processes", "child processes"),
        )
    ),
    ("disable", "bool", "", "ignore memguard markers; run() and the drivers call once"),
    (
        "fixtures",
        "string",
        "MODE",
        "how a marked test's replays get their function-scoped fixtures: auto (reuse them,"
        " and judge again with fresh ones when a replay raises or the test's own fixture holds"
        " the growth), fresh (set up anew for every call) or reuse (default auto)",
    ),
    (
        "scan",
        "optional",
        "MODE",
        "guard every test that has no memguard marker: a cheap screen, then the full guard"
        " for suspects; fail (the flag alone: a confirmed leak fails its test), report (never"
        " fails) or off (default off)",
    ),
    ("report", "bool", "", "print a table of every guarded test after the run"),
    ("json", "string", "PATH", "write every guarded test's numbers to PATH as JSON"),
    ("html", "string", "PATH", "write a self-contained HTML report to PATH"),
    (
        "save-baseline",
        "string",
        "PATH",
        "save every guarded test's retained growth to PATH as a baseline (JSON)",
    ),
    (
        "baseline",
        "string",
        "PATH",
        "fail guarded tests whose retained growth rose above the baseline at PATH by more than"
        " the tolerance",
    ),
    (
        "tolerance",
        "string",
        "SPEC",
        "how far above its baseline a test may grow, e.g. '10%+4KiB'"
        f" (default {DEFAULT_TOLERANCE})",
    ),
)
#: The options that feed ``Settings`` (per-test measuring); the others are run-wide.
SETTINGS_OPTIONS = (
    "iterations",
    "warmup",
    "max-growth-kb",
    "max-fds",
    "max-threads",
    "max-tasks",
    "max-processes",
    "disable",
    "fixtures",
)
SESSION_PLUGIN = "memguard-session"
#: Where ``--memguard-scan PATH`` leaves a test path it took for its value.
STRAY_PATHS = "memguard_stray_paths"
#: Ends the collection of credentials into the run's store, at unconfigure.
COLLECTING_KEY = pytest.StashKey[contextlib.ExitStack]()

__all__ = ["OPTIONS", "memguard", "pytest_addoption", "pytest_configure", "pytest_unconfigure"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("memguard", "memory growth guard (pytest-memguard)")
    for name, kind, metavar, text in OPTIONS:
        dest = run_files.dest(name)
        flag_help = text.replace("%", "%%")  # argparse %-formats help; ini help is shown as is
        if kind == "bool":
            group.addoption(
                f"--memguard-{name}",
                action="store_const",
                const=True,
                default=None,
                dest=dest,
                help=flag_help,
            )
        elif kind == "optional":  # --memguard-scan alone means --memguard-scan=fail
            group.addoption(
                f"--memguard-{name}",
                action=_OptionalMode,
                nargs="?",
                const="fail",
                default=None,
                dest=dest,
                metavar=metavar,
                help=flag_help,
            )
        else:
            group.addoption(
                f"--memguard-{name}",
                action="store",
                default=None,
                dest=dest,
                metavar=metavar,
                help=flag_help,
            )
        ini_kind = "string" if kind == "optional" else kind
        parser.addini(dest, help=text, type=ini_kind, default=None)  # type: ignore[arg-type]
    parser.addini(
        "memguard_ignore",
        help="holders (module:attribute) and type names kept out of verdicts and explanations,"
        " one per line; marker and fixture ignore= add to them",
        type="linelist",
        default=[],
    )


class _OptionalMode(argparse.Action):
    """``--memguard-scan [MODE]``: a value that is not a mode is a test path that followed the
    flag (``pytest --memguard-scan tests/``), given back to pytest's positional arguments."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if isinstance(values, str) and values.strip().lower() not in _settings.SCAN_WORDS:
            if not os.path.exists(values.split("::", 1)[0]):
                modes = ", ".join(_settings.SCAN_MODES)
                parser.error(f"{option_string}: {values!r} is neither a mode ({modes}) nor a path")
            # argparse may set the positionals after this: they are put back at configure.
            strays = getattr(namespace, STRAY_PATHS, None) or []
            setattr(namespace, STRAY_PATHS, [*strays, values])
            values = self.const
        setattr(namespace, self.dest, values)


def marker_help() -> str:
    return (
        "memguard(max_growth_kb=None, iterations=None, warmup=None, ignore=None, max_fds=None,"
        " max_threads=None, max_tasks=None, max_processes=None, fixtures=None): replay the test"
        " and fail it when retained memory or open descriptors, threads, asyncio tasks or child"
        " processes keep growing or exceed their bounds (fixtures='auto', 'fresh' or 'reuse':"
        " how replays get function-scoped fixtures); with the memguard fixture, set the"
        " defaults of its calls instead."
    )


def _layers(config: pytest.Config) -> Layers:
    """The ini and CLI layers of the per-test settings, validated once for the run."""

    def raw(*, ini: bool) -> dict[str, Any]:
        get = config.getini if ini else config.getoption
        values = {n.replace("-", "_"): get(run_files.dest(n)) for n in SETTINGS_OPTIONS}
        if ini:
            values["ignore"] = config.getini("memguard_ignore") or None
        return values

    try:
        ini = _settings.layer(raw(ini=True), source=lambda key: f"ini memguard_{key}")
        cli = _settings.layer(
            raw(ini=False), source=lambda key: f"--memguard-{key.replace('_', '-')}"
        )
    except SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None
    report = bool(config.getoption("memguard_report") or config.getini("memguard_report"))
    try:
        flag = config.getoption("memguard_scan")
        if flag is not None:
            scan = _settings.parse_scan(flag, source="--memguard-scan")
        else:
            scan = _settings.parse_scan(
                config.getini("memguard_scan") or "off", source="ini memguard_scan"
            )
    except SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None
    return Layers(ini, cli, report, scan)


def _give_back_paths(config: pytest.Config) -> None:
    """The test paths ``--memguard-scan`` took for its value, back in the run's arguments:
    first, as typed, and instead of the default ones (testpaths, the current directory)."""
    strays = getattr(config.option, STRAY_PATHS, None)
    if not strays:
        return
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        config.args[:0] = strays
    else:
        config.args[:] = strays
        config.args_source = pytest.Config.ArgsSource.ARGS


def pytest_configure(config: pytest.Config) -> None:
    _give_back_paths(config)
    config.addinivalue_line("markers", marker_help())
    secrets = Secrets()
    collecting_ = contextlib.ExitStack()
    collecting_.enter_context(collecting(secrets))  # basic_auth() anywhere in the run
    collecting_.callback(secrets.close)
    config.stash[COLLECTING_KEY] = collecting_
    session = MemguardSession(config, _layers(config), run_files.configure(config), secrets)
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, SESSION_PLUGIN)
    if config.pluginmanager.hasplugin("xdist"):
        xdist_plugin: object
        if _xdist.is_worker(config):
            xdist_plugin = _xdist.WorkerPlugin(session.results)
        else:
            xdist_plugin = _xdist.ControllerPlugin(session.merge)
        config.pluginmanager.register(xdist_plugin, _xdist.PLUGIN_NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    for name in (_xdist.PLUGIN_NAME, SESSION_PLUGIN):
        plugin = config.pluginmanager.get_plugin(name)
        if plugin is not None:
            config.pluginmanager.unregister(plugin)
    collecting_ = config.stash.get(COLLECTING_KEY, None)
    if collecting_ is not None:
        del config.stash[COLLECTING_KEY]
        collecting_.close()
