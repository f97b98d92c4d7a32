"""The files of a run: the JSON and HTML reports and the saved baseline, written at its end.

Only the controller writes them (xdist workers send it their results). Every file is written
atomically; one that cannot be written becomes an error message that fails the session, never a
traceback, and never a half-written file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_memguard.baseline import (
    Baseline,
    BaselineError,
    Comparison,
    Tolerance,
    baseline_key,
    compare,
    save_baseline,
)
from pytest_memguard.files import ReportPathError, atomic_write_text
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
                atomic_write_text(
                    path, render_json(results, metadata=metadata, baseline_deltas=deltas)
                )
            elif name == "html":
                atomic_write_text(
                    path, render_html(results, metadata=metadata, baseline_deltas=deltas)
                )
            elif stopped is not None:
                written.notes.append(
                    f"memguard: {source}: baseline not saved to {path}: {stopped};"
                    " the previous file, if any, was left unchanged"
                )
            else:
                meta = {"plugin": "pytest-memguard", "plugin_version": version}
                save_baseline(path, results, metadata=meta)
        except (ReportPathError, BaselineError) as exc:
            written.errors.append(f"ERROR: memguard: {source}: {exc}")
    return written
