"""The files of a run: the JSON and HTML reports and the saved baseline, written at its end.

Only the controller writes them (xdist workers send it their results). Every file is written
atomically; one that cannot be written becomes an error message that fails the session, never a
traceback, and never a half-written file.
"""

from __future__ import annotations

import platform
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_memguard.baseline import (
    Baseline,
    BaselineError,
    Comparison,
    Tolerance,
    baseline_key,
    compare,
    python_minor,
    save_baseline,
)
from pytest_memguard.files import ReportPathError, atomic_write_text, same_file
from pytest_memguard.report.html import render_html
from pytest_memguard.report.json import render_json, run_metadata
from pytest_memguard.result import MemguardResult


@dataclass
class Written:
    """What writing the files had to say: notes, and errors that fail the session."""

    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def baseline_deltas(
    baseline: Baseline | None, tolerance: Tolerance, results: Sequence[MemguardResult]
) -> dict[str, Comparison] | None:
    """Each measured result against the baseline, or ``None`` when no baseline was given."""
    if baseline is None:
        return None
    return {baseline_key(r): compare(baseline, r, tolerance) for r in results if r.measured}


def first_clash(
    files: Sequence[tuple[str, Path, str]], *, allowed: Collection[frozenset[str]] = ()
) -> tuple[str, str, Path] | None:
    """The first two of ``files`` (name, path, source) that name the same file, as
    ``(source, source, path)``; pairs of names in ``allowed`` may share one."""
    for index, (name, path, source) in enumerate(files):
        for other_name, other_path, other_source in files[index + 1 :]:
            if frozenset((name, other_name)) not in allowed and same_file(path, other_path):
                return source, other_source, path
    return None


def write_outputs(
    outputs: Mapping[str, tuple[Path, str]],
    results: Sequence[MemguardResult],
    *,
    version: str,
    baseline: Baseline | None,
    tolerance: Tolerance,
    missing: Sequence[str] = (),
    stopped: str | None = None,
) -> Written:
    """Write every file in ``outputs`` (option name -> (path, where the option came from)).

    ``stopped`` says why the run ended early, if it did: the reports are still written (they
    show what ran), the baseline is not (a partial one would hide the tests that did not run).
    Each file is written on its own: one that fails costs that file only, leaves its previous
    version in place, and becomes an ``ERROR: memguard:`` line, whatever went wrong.
    """
    written = Written()
    deltas = baseline_deltas(baseline, tolerance, results)
    metadata = run_metadata(version)
    if baseline is not None:
        metadata["baseline"] = baseline.path
        metadata["tolerance"] = str(tolerance)
    if missing:
        metadata["missing"] = list(missing)
    for name, (path, source) in outputs.items():
        try:
            if name == "json":
                text = render_json(results, metadata=metadata, baseline_deltas=deltas)
                atomic_write_text(path, text)
            elif name == "html":
                text = render_html(results, metadata=metadata, baseline_deltas=deltas)
                atomic_write_text(path, text)
            else:
                written.notes.extend(_save(path, source, results, version, stopped))
        except (ReportPathError, BaselineError) as exc:
            written.errors.append(f"ERROR: memguard: {source}: {exc}")
        except Exception as exc:  # a bug must cost this file, not the run and the others
            written.errors.append(
                f"ERROR: memguard: {source}: {path} was not written ({type(exc).__name__}:"
                f" {exc}); the previous file, if any, was left unchanged; please report this"
                " as a pytest-memguard bug"
            )
    return written


def _save(
    path: Path,
    source: str,
    results: Sequence[MemguardResult],
    version: str,
    stopped: str | None,
) -> list[str]:
    """Save the baseline and say what was kept; notes only, errors are raised."""
    unchanged = "the previous file, if any, was left unchanged"
    if stopped is not None:
        return [f"memguard: {source}: baseline not saved to {path}: {stopped}; {unchanged}"]
    if not any(r.measured for r in results):
        return [
            f"memguard: {source}: baseline not saved to {path}: no guarded test was measured"
            f" in this run (none selected, or --memguard-disable); {unchanged}"
        ]
    meta = {"plugin": "pytest-memguard", "plugin_version": version}
    saved = save_baseline(path, results, metadata=meta)
    if not saved.kept:
        return []
    where = str(path)
    previous = saved.previous
    current = python_minor(platform.python_version())
    if previous is not None and previous.python not in (None, current):
        where += f"; recorded on Python {previous.python}, this run is Python {current}"
    return [
        f"memguard: kept {saved.kept} baseline {'entry' if saved.kept == 1 else 'entries'}"
        f" for tests not measured in this run ({where}); delete the file and save again to"
        " drop them"
    ]
