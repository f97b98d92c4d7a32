"""The run's files: the report and baseline options, checked at configure, written at the end.

A typo, a corrupt baseline or a path memguard must not write is a usage error before any test
runs, never a traceback (or a lost file) after a long run. Only the xdist controller writes.
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_memguard import __version__
from pytest_memguard import xdist as _xdist
from pytest_memguard.baseline import (
    DEFAULT_TOLERANCE,
    Baseline,
    Tolerance,
    existing_baseline,
    load_baseline,
    parse_tolerance,
)
from pytest_memguard.files import check_writable
from pytest_memguard.report.outputs import first_clash, write_outputs
from pytest_memguard.result import MemguardResult

#: The files written at the end of the run, by the controller only.
OUTPUT_OPTIONS = ("json", "html", "save-baseline")


class MemguardBaselineWarning(pytest.PytestWarning):
    """The baseline was recorded where its numbers may not apply (another Python version)."""


@dataclass
class RunFiles:
    """Run-wide state of the reports and the baseline gate, validated at configure time."""

    #: Files to write at the end (controller only): option name -> (absolute path, source).
    outputs: dict[str, tuple[Path, str]] = field(default_factory=dict)
    baseline: Baseline | None = None
    tolerance: Tolerance = DEFAULT_TOLERANCE
    unreadable: int = 0  # worker results that could not be read back
    #: Whether results keep their series after the verdict: only the JSON and HTML reports
    #: draw them, and 500 guarded tests kept ~2.8 MiB of series (known on workers too).
    series: bool = True
    messages: list[str] = field(default_factory=list)  # shown at the end of the terminal summary

    def write(
        self, results: Sequence[MemguardResult], missing: Sequence[str], stopped: str | None
    ) -> int:
        """Write the JSON, HTML and baseline files; returns how many failed (each a message)."""
        if not self.outputs:
            return 0
        written = write_outputs(
            self.outputs,
            results,
            version=__version__,
            baseline=self.baseline,
            tolerance=self.tolerance,
            missing=missing,
            stopped=stopped,
        )
        self.messages.extend([*written.notes, *written.errors])
        return len(written.errors)


def dest(name: str) -> str:
    """The option's ``dest`` and ini key: ``max-growth-kb`` -> ``memguard_max_growth_kb``."""
    return "memguard_" + name.replace("-", "_")


def configure(config: pytest.Config) -> RunFiles:
    """The run's files and baseline gate, checked now (see the module docstring)."""
    run = RunFiles()
    controller = not _xdist.is_worker(config)
    run.series = any(_path_option(config, name) is not None for name in ("json", "html"))
    found = _option(config, "tolerance")
    if found is not None:
        with _usage_error(found[1]):
            run.tolerance = parse_tolerance(found[0])
    baseline = _path_option(config, "baseline")
    if baseline is not None:
        with _usage_error(baseline[1]):
            run.baseline = load_baseline(baseline[0])
        mismatch = run.baseline.python_mismatch(platform.python_version())
        if mismatch and controller:  # once per run, not once per xdist worker
            config.issue_config_time_warning(MemguardBaselineWarning(mismatch), stacklevel=2)
    if controller:
        for name in OUTPUT_OPTIONS:
            located = _path_option(config, name)
            if located is not None:
                with _usage_error(located[1]):
                    check_writable(located[0])
                    if name == "save-baseline":
                        existing_baseline(located[0])  # a save merges: refuse what it cannot
                run.outputs[name] = located
        _refuse_shared_paths(config, run, baseline)
    return run


def _refuse_shared_paths(
    config: pytest.Config, run: RunFiles, baseline: tuple[Path, str] | None
) -> None:
    """Two files at one path: the last written would destroy the other (a report over the
    baseline, the JUnit XML over the JSON).  Comparing against a baseline and saving the new
    one to the same path is a ratchet, and allowed: the baseline is read before the run."""
    files = [(name, path, source) for name, (path, source) in run.outputs.items()]
    if baseline is not None:
        files.append(("baseline", *baseline))
    xmlpath = getattr(config.option, "xmlpath", None)
    if xmlpath:
        files.append(("junitxml", Path(os.path.abspath(os.path.expanduser(xmlpath))), "--junitxml"))
    clash = first_clash(files, allowed=[frozenset(("baseline", "save-baseline"))])
    if clash is not None:
        first, second, path = clash
        raise pytest.UsageError(
            f"{first} and {second} name the same file ({os.path.realpath(path)}): writing one"
            " would destroy the other; give each its own path"
        )


@contextlib.contextmanager
def _usage_error(source: str) -> Iterator[None]:
    """A bad value becomes a usage error (exit code 4) naming the option or ini key it came
    from; ``BaselineError`` and ``ReportPathError`` already name the file and the fix."""
    try:
        yield
    except (ValueError, OSError) as exc:
        raise pytest.UsageError(f"{source}: {exc}") from None


def _option(config: pytest.Config, name: str) -> tuple[str, str] | None:
    """A run-wide option's text and where it came from; the command line wins over the ini."""
    key = dest(name)
    value = config.getoption(key)
    if value is not None:
        return str(value), f"--memguard-{name}"
    value = config.getini(key)
    if value:  # an empty ini value means unset, as for pytest's own keys
        return str(value), f"ini {key}"
    return None


def _path_option(config: pytest.Config, name: str) -> tuple[Path, str] | None:
    """A path option made absolute: from the command line relative to where pytest was
    started, from the ini file relative to that file, so either works from any directory."""
    found = _option(config, name)
    if found is None:
        return None
    text, source = found
    if not text.strip():
        raise pytest.UsageError(f"{source}: give a file path, e.g. {source}=memguard.json")
    if source.startswith("--"):
        base = config.invocation_params.dir
    else:
        base = config.inipath.parent if config.inipath else config.rootpath
    return base / Path(text.strip()).expanduser(), source
