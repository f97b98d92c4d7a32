"""End to end: ``benchmarks/run.py --quick`` prints its table and memguard's verdicts.

The benchmark is how the README's claims are regenerated; this keeps it runnable. It checks
verdicts and the table's shape, never timings (those belong to the benchmark, not to a test).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmark_prints_the_table_and_the_verdicts() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--quick",
            "--scenarios",
            "leak_global_list,clean_stateless",
            "--no-memray",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {
        line.split()[0]: line.split()
        for line in done.stdout.splitlines()
        if line.startswith(("leak_global_list ", "clean_stateless "))
    }
    header = next(line.split() for line in done.stdout.splitlines() if line.startswith("scenario"))
    # scenario, truth, then one verdict per memguard mode: marker and fixture
    assert header[:4] == ["scenario", "truth", "marker", "fixture"], header
    assert rows["leak_global_list"][1:4] == ["leak", "leak", "leak"], done.stdout
    assert rows["clean_stateless"][1:4] == ["clean", "clean", "clean"], done.stdout
    assert "target checks" in done.stdout
    assert "leaks caught  1/1" in done.stdout
    # then whether memguard's failures named the leak's holder (the module's HOLDER)
    assert header[4] == "held", header
    assert rows["leak_global_list"][4] == "yes", done.stdout
    assert rows["clean_stateless"][4] == "-", done.stdout
    assert "every caught leak names its holder (memguard marker): 1/1" in done.stdout
    assert "every caught leak names its holder (memguard fixture): 1/1" in done.stdout


def test_sensitivity_benchmark_prints_its_tables_and_meets_its_rule() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "sensitivity.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("leak ") and "caught" in line for line in lines), done.stdout
    assert any(line.startswith("smallest steady leak caught 3/3: ") for line in lines)
    few = lines.index(next(line for line in lines if line.strip().startswith("iterations")))
    assert [line.split()[0] for line in lines[few + 1 : few + 5]] == ["16", "24", "40", "48"]
    assert "MISSED" not in done.stdout
