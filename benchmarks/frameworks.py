#!/usr/bin/env python3
"""memguard's web drivers on FastAPI, Starlette, Django and bare WSGI apps, beside pytest-memray.

    python benchmarks/frameworks.py [--runs 3] [--frameworks fastapi,django] [--no-memray]

Every scenario of ``benchmarks/web_corpus`` (per framework three leaks on the Basic Auth path
and three clean apps) runs in three modes, each one generated test file parametrised over the
scenarios, in a fresh pytest process per (mode, repetition) with only its plugin loaded:

* ``memguard``: the framework's driver (``memguard.asgi``, ``.django``, ``.wsgi``), bound 64 KiB;
* ``limit_leaks``: pytest-memray's ``@pytest.mark.limit_leaks("64 KB")`` on 220 requests sent
  through the same client with no guard;
* ``bare``: those 220 requests with no plugin: the cost baseline.

Times are medians over the repetitions of the *time to a verdict* (call phase start to the end
of ``makereport``, where pytest-memray judges); ``expl`` is the part of it memguard spent
explaining a failure (the explanation pass), ``ratio`` memguard's time over ``bare``. The
session imports all four frameworks (and Flask) before the first test, so the explanation times
are those of a loaded heap. The report ends with the targets of issue 15 and whether each is
met.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.web_corpus import FRAMEWORKS, scenarios  # noqa: E402

CALLS = 220
#: A clean guarded ASGI test may cost this many times the same requests with no guard.
COST_FACTOR = 1.5
#: A failing test's explanation, with every framework imported, stays under this.
EXPLAIN_SECONDS = 2.0
TIMEOUT = 1800

HEADER = """\
import pytest

import django  # noqa: F401  every framework loaded, as in a project that uses them all
import fastapi  # noqa: F401
import flask  # noqa: F401
import starlette  # noqa: F401

from benchmarks.web_corpus import BOUND_KB, drive, scenarios
from benchmarks.web_harness import bare_calls

NAMES = {names!r}
CALLS = {calls}


def test_0_warm_process():
    for scenario in scenarios():
        scenario.reset()
        bare_calls(scenario, 1)
        scenario.reset()


"""
PARAMS = '@pytest.mark.parametrize("scenario", NAMES, indirect=True)\n'
MODES: dict[str, tuple[tuple[str, ...], str]] = {
    "memguard": (
        ("-p", "pytest_memguard.plugin"),
        PARAMS
        + "def test_scenario(memguard, scenario):\n"
        + "    drive(memguard, scenario, max_growth_kb=BOUND_KB)\n",
    ),
    "limit_leaks": (
        ("-p", "pytest_memray.plugin", "--memray", "--hide-memray-summary"),
        PARAMS
        + '@pytest.mark.limit_leaks(f"{BOUND_KB} KB")\n'
        + "def test_scenario(scenario):\n"
        + "    bare_calls(scenario, CALLS)\n",
    ),
    "bare": ((), PARAMS + "def test_scenario(scenario):\n    bare_calls(scenario, CALLS)\n"),
}


def session(mode: str, names: list[str], workdir: Path, run: int) -> list[dict[str, Any]]:
    """One pytest process of ``mode`` over ``names``; its per-test records."""
    plugin, body = MODES[mode]
    test = workdir / f"test_{mode}.py"
    test.write_text(HEADER.format(names=names, calls=CALLS) + body, encoding="utf-8")
    out = workdir / f"{mode}-{run}.json"
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    env.pop("PYTEST_ADDOPTS", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "benchmarks.web_harness",
            *plugin,
            "-p",
            "no:cacheprovider",
            "-q",
            "-W",
            "ignore::DeprecationWarning",
            f"--bench-out={out}",
            str(test),
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if not out.exists():
        raise SystemExit(f"{mode} session wrote no records:\n{done.stdout[-3000:]}{done.stderr}")
    records: list[dict[str, Any]] = json.loads(out.read_text(encoding="utf-8"))
    return [r for r in records if r["scenario"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--no-memray", action="store_true", help="skip pytest-memray's mode")
    args = parser.parse_args()
    frameworks = tuple(f for f in args.frameworks.split(",") if f)
    unknown = set(frameworks) - set(FRAMEWORKS)
    if unknown:
        parser.error(f"unknown framework(s) {sorted(unknown)}; choose from {FRAMEWORKS}")
    corpus = scenarios(frameworks)
    names = [s.name for s in corpus]
    modes = ["memguard", "bare"]
    if not args.no_memray:
        try:
            import pytest_memray  # noqa: F401
        except ImportError:
            print("pytest-memray is not installed: its column is left out")
        else:
            modes.append("limit_leaks")
    results: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="memguard-frameworks-") as tmp:
        for run in range(args.runs):
            for mode in modes:  # alternating, so that machine drift cancels
                for record in session(mode, names, Path(tmp), run):
                    results[(mode, record["scenario"])].append(record)
    return report(corpus, modes, results, args.runs)


def verdict(records: list[dict[str, Any]], truth: str) -> str:
    failed = sum(r["outcome"] == "failed" for r in records)
    if failed and failed < len(records):
        return f"MIXED {failed}/{len(records)}"
    if truth == "leak":
        return "caught" if failed else "MISSED"
    return "FALSE ALARM" if failed else "passed"


def seconds(records: list[dict[str, Any]], key: str = "verdict_seconds") -> float:
    return statistics.median(r[key] for r in records) if records else float("nan")


def report(
    corpus: list[Any], modes: list[str], results: dict[tuple[str, str], list[Any]], runs: int
) -> int:
    memray = "limit_leaks" in modes
    print(f"memguard web drivers: {len(corpus)} scenarios, {runs} run(s), median time to verdict")
    head = f"{'scenario':<30} {'truth':<5}  {'memguard':<8} {'held':<4} {'time':>6} {'expl':>6}"
    if memray:
        head += f"  {'limit_leaks':<11} {'time':>6}"
    print(head + f"  {'bare':>6}  ratio")
    caught = named = alarms = memray_caught = memray_alarms = 0
    ratios: dict[str, float] = {}
    explain: dict[str, float] = {}  # leak -> median seconds of its explanation pass
    slowest_run = 0.0
    for scenario in corpus:
        name, truth = scenario.name, scenario.truth
        mine = results[("memguard", name)]
        bare = seconds(results[("bare", name)])
        shown = verdict(mine, truth)
        held, expl = "-", "     -"
        if truth == "leak":
            caught += shown == "caught"
            held = "yes" if mine and all(r["holder_named"] for r in mine) else "NO"
            named += held == "yes"
            explain[name] = seconds(mine, "explain_seconds")
            slowest_run = max([slowest_run, *(r["explain_seconds"] for r in mine)])
            expl = f"{explain[name]:>5.2f}s"
        else:
            alarms += shown != "passed"
        ratio = seconds(mine) / bare if bare else float("nan")
        if truth == "clean" and scenario.framework in ("fastapi", "starlette"):
            ratios[name] = ratio
        line = f"{name:<30} {truth:<5}  {shown:<8} {held:<4} {seconds(mine):>5.2f}s {expl}"
        if memray:
            theirs = results[("limit_leaks", name)]
            other = verdict(theirs, truth)
            memray_caught += truth == "leak" and other == "caught"
            memray_alarms += truth == "clean" and other != "passed"
            line += f"  {other:<11} {seconds(theirs):>5.2f}s"
        print(line + f"  {bare:>5.2f}s  {ratio:4.1f}x")
    leaks = sum(s.truth == "leak" for s in corpus)
    cleans = len(corpus) - leaks
    print()
    ok = True

    def target(met: bool, text: str) -> None:
        nonlocal ok
        ok = ok and met
        print(f"  {'met   ' if met else 'MISSED'} {text}")

    print("targets (issue 15):")
    target(caught == leaks, f"every leak caught by memguard: {caught}/{leaks}")
    target(named == leaks, f"every caught leak names its holder: {named}/{leaks}")
    target(alarms == 0, f"no false alarm on clean apps: {alarms}/{cleans}")
    if ratios:
        worst = max(ratios, key=ratios.__getitem__)
        target(
            ratios[worst] <= COST_FACTOR,
            f"clean guarded ASGI test <= {COST_FACTOR:g}x the same {CALLS} requests unguarded:"
            f" median {statistics.median(ratios.values()):.2f}x, worst {ratios[worst]:.2f}x"
            f" ({worst})",
        )
    if explain:
        worst = max(explain, key=explain.__getitem__)
        target(
            explain[worst] < EXPLAIN_SECONDS,
            f"a failing test's explanation with fastapi, starlette, django and flask imported"
            f" < {EXPLAIN_SECONDS:g} s (median of the runs): slowest {explain[worst]:.2f} s"
            f" ({worst}); slowest single run {slowest_run:.2f} s",
        )
    if memray:
        print(
            f"  (pytest-memray limit_leaks: {memray_caught}/{leaks} leaks caught,"
            f" {memray_alarms}/{cleans} false alarms)"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
