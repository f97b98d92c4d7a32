"""End to end: ``benchmarks/explain_heap.py`` prints its table, and every failure names its holder.

The script is how the README's explanation timings on a big heap are regenerated; this keeps it
runnable on a small one. It checks the table and the holders, never timings.
"""

from __future__ import annotations

from helpers import run_benchmark


def test_explain_heap_prints_a_row_per_scenario_and_heap_with_the_holder_named() -> None:
    scenarios = ("leak_class_registry", "over_budget_tokens")
    done = run_benchmark(
        "explain_heap.py",
        "--objects",
        "0,30000",
        "--scenarios",
        ",".join(scenarios),
        "--runs",
        "1",
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == [
        "scenario", "extra", "objects", "gc", "objects", "explain", "s", "calls", "s",
        "analysis", "s", "held",
    ]  # fmt: skip
    rows = [line.split() for line in lines if line.startswith(scenarios)]
    assert [(row[0], row[1], row[-1]) for row in rows] == [
        (name, size, "yes") for size in ("0", "30,000") for name in scenarios
    ]
    assert "30,000 extra objects: slowest explanation" in done.stdout
    assert "holder named 2/2" in done.stdout
