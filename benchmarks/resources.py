#!/usr/bin/env python3
"""Benchmark memguard's resource counts: the resource corpus scored, and what counting costs.

    python benchmarks/resources.py [--scenarios a,b] [--modes marker,fixture] [--cost-runs 101]

**Corpus.** Every scenario of ``benchmarks.corpus.RESOURCE_SCENARIOS`` (Flask apps with Basic
Auth that leak descriptors, sockets, threads, tasks or processes, or keep them bounded) runs in
three modes, each one fresh pytest process with only memguard and ``benchmarks/harness.py``
loaded, as ``benchmarks/run.py`` runs the memory corpus:

* ``marker``: ``@pytest.mark.memguard(**BOUNDS)`` on a test that sends one request;
* ``run``: ``memguard.run(call, **BOUNDS)``, the call being the request;
* ``fixture``: ``memguard.flask(app, **SCENARIO, **BOUNDS)``.

A leak is **caught** when the count of its ``KIND`` fails; the table says what the failure
names the new ones (``what``) and the line marked ``# resource made here`` when the failure
names it (``line``; ``NO (...)`` with the line it named instead), and the first hop of who
holds it from a module global, when the failure shows one (``holder``). A clean app must pass every
verdict, memory and counts: anything else is a **FALSE ALARM**. ``seconds`` is the time to a
verdict, failure explanation included.

**Cost.** A clean guarded run (``guard()``: 20 warm-up + 200 measured calls of the
``clean_stateless`` request, the census and the verdict, what a guarded test runs besides
pytest itself) measured in this process with and without the counts, in pairs run in both
orders, ``--cost-runs`` times: the median of the pairs' ratios must stay within 2%. The
measuring loop alone (``measure()``) is shown too, for information: it is the worst case.
The time is the CPU time of the measuring thread (``time.thread_time``, kernel time
included: reading ``/proc`` is kernel work), which other processes on a busy machine disturb
far less than the wall clock. ``--modes ''`` measures the cost alone.

Exits 1 when a leak is missed, a line is not named, a clean app fails, or the cost is over.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.corpus import (  # noqa: E402 (needs the path above)
    RESOURCE_SCENARIOS,
    bounds,
    kind,
    load,
    made_at,
)

MODES = ("marker", "run", "fixture")
#: The cost target: counting adds at most this share to a clean guarded run.
COST_SHARE = 0.02
COST_SCENARIO = "clean_stateless"

HEADER = """\
import pytest

from benchmarks.harness import warm_process

NAMES = {names!r}
BOUNDS = {bounds!r}


def test_0_warm_process():
    warm_process(NAMES)

"""
BODIES = {
    "marker": (
        "@pytest.mark.parametrize(\n"
        '    "scenario",\n'
        "    [pytest.param(n, marks=pytest.mark.memguard(**BOUNDS[n]), id=n) for n in NAMES],\n"
        "    indirect=True,\n"
        ")\n"
        "def test_scenario(scenario):\n"
        "    scenario.call()\n"
    ),
    "run": (
        '@pytest.mark.parametrize("scenario", NAMES, indirect=True)\n'
        "def test_scenario(scenario, memguard):\n"
        "    memguard.run(scenario.call, **BOUNDS[scenario.name])\n"
    ),
    "fixture": (
        '@pytest.mark.parametrize("scenario", NAMES, indirect=True)\n'
        "def test_scenario(scenario, memguard):\n"
        "    memguard.flask(scenario.app, **scenario.kwargs, **BOUNDS[scenario.name])\n"
    ),
}


def run_mode(mode: str, names: Sequence[str], workdir: Path) -> dict[str, dict[str, Any]]:
    """One fresh pytest session of ``mode`` over ``names``: per scenario, its memguard result
    (from the JSON report) and its time to a verdict (from the harness)."""
    source = HEADER.format(names=list(names), bounds={n: bounds(load(n)) for n in names})
    test = workdir / f"test_resources_{mode}.py"
    test.write_text(source + "\n\n" + BODIES[mode], encoding="utf-8")
    report, bench = workdir / f"{mode}.json", workdir / f"{mode}-bench.json"
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "pytest_memguard.plugin",
        "-p",
        "benchmarks.harness",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--memguard-json={report}",
        f"--bench-out={bench}",
        str(test),
    ]
    subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    results: dict[str, dict[str, Any]] = {}
    for entry in json.loads(report.read_text(encoding="utf-8"))["tests"]:
        name = entry["nodeid"].rsplit("[", 1)[-1].rstrip("]")
        results[name] = {"result": entry}
    for record in json.loads(bench.read_text(encoding="utf-8"))["records"]:
        if record["scenario"] in results:
            results[record["scenario"]]["seconds"] = record["verdict_seconds"]
    return results


def score(name: str, found: dict[str, Any] | None) -> dict[str, str]:
    """The row of one scenario in one mode."""
    module = load(name)
    leak = kind(module)
    if found is None:
        return {"verdict": "NO RESULT", "what": "-", "line": "-", "holder": "-", "seconds": "-"}
    result = found["result"]
    seconds = f"{found.get('seconds', float('nan')):.2f}"
    counts = {r["key"]: r for r in result["resources"]}
    if leak is None:
        failed = [k for k, r in counts.items() if not r["passed"]]
        verdict = "ok" if result["passed"] else "FALSE ALARM " + (",".join(failed) or "memory")
        return {"verdict": verdict, "what": "-", "line": "-", "holder": "-", "seconds": seconds}
    count = counts.get(leak)
    if count is None or count["passed"]:
        return {"verdict": "MISSED", "what": "-", "line": "-", "holder": "-", "seconds": seconds}
    line = made_at(module)
    named = any(line in text for text in count["explanation"])
    sites = [s.split(", made at ", 1)[1] for s in count["explanation"] if ", made at " in s]
    return {
        "verdict": f"caught {leak}",
        "what": count["what"] or "(not named)",
        "line": line if named else "NO (" + (sites[0] if sites else "none") + ")",
        "holder": holder_hop(count["explanation"]),
        "seconds": seconds,
    }


def holder_hop(explanation: list[str]) -> str:
    """The first hop of the holder chain a failure shows (``._pollers``), or ``-``."""
    for text in explanation:
        if "├─ " in text:
            return text.split("├─ ", 1)[1].split()[0]
    return "-"


def cells(row: dict[str, str]) -> tuple[str, str, str]:
    return row["line"], row["holder"], row["seconds"]


def corpus(names: Sequence[str], modes: Sequence[str]) -> bool:
    """Run and print the corpus table; whether every row met its ground truth."""
    rows: list[tuple[str, ...]] = []
    ok = True
    with tempfile.TemporaryDirectory(prefix="memguard-resources-") as tmp:
        for mode in modes:
            found = run_mode(mode, names, Path(tmp))
            for name in names:
                row = score(name, found.get(name))
                named = not row["line"].startswith("NO")
                ok &= row["verdict"].startswith(("caught", "ok")) and named
                what = row["what"] if len(row["what"]) <= 48 else row["what"][:45] + "..."
                truth = load(name).GROUND_TRUTH
                rows.append((name, truth, mode, row["verdict"], what, *cells(row)))
    headers = ("scenario", "truth", "mode", "verdict", "what", "line", "holder", "seconds")
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return ok


def cost(runs: int) -> bool:
    """Print the counting's share of a clean guarded run; whether it is within the target."""
    from benchmarks.harness import Caller
    from pytest_memguard import guard, measure
    from pytest_memguard.settings import Settings

    module = load(COST_SCENARIO)
    module.reset()
    call = Caller(module.create_app(), module.SCENARIO)
    settings = Settings()

    def guarded(counting: bool) -> None:
        guard.guard(call, settings, label="cost", count_resources=counting)

    def loop(counting: bool) -> None:
        measure.measure(call, measure.Loop(warmup=20, iterations=200, count_resources=counting))

    ok = True
    for name, run_once, target in (
        ("guarded run (guard(): loop, census, verdict)", guarded, True),
        ("measuring loop alone (measure())", loop, False),
    ):
        times: dict[bool, list[float]] = {False: [], True: []}
        for run in range(runs):
            # In pairs, each in both orders: drift on a busy machine cancels in each pair.
            for counting in (False, True) if run % 2 else (True, False):
                started = time.thread_time()
                run_once(counting)
                times[counting].append(time.thread_time() - started)
        pairs = zip(times[True], times[False], strict=True)
        share = statistics.median(w / o for w, o in pairs) - 1
        verdict = ("met" if share <= COST_SHARE else "MISSED") if target else "(information)"
        print(
            f"cost of the counts, {name} on {COST_SCENARIO}, 220 calls, CPU time, median of"
            f" {runs} pairs: without {statistics.median(times[False]) * 1000:.1f} ms, with"
            f" {statistics.median(times[True]) * 1000:.1f} ms, overhead {share:+.2%}"
            f" (target <= {COST_SHARE:.0%}): {verdict}"
        )
        ok &= share <= COST_SHARE or not target
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", help="comma-separated names (default: all)")
    parser.add_argument("--modes", default=",".join(MODES), help="marker,fixture")
    parser.add_argument("--cost-runs", type=int, default=101, help="0 to skip the cost")
    args = parser.parse_args(argv)
    names = args.scenarios.split(",") if args.scenarios else list(RESOURCE_SCENARIOS)
    modes = [m for m in args.modes.split(",") if m]
    ok = corpus(names, modes) if names and modes else True
    if args.cost_runs > 0:
        ok &= cost(args.cost_runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
