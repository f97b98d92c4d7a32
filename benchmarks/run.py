#!/usr/bin/env python3
"""Benchmark memguard against the bare calls and pytest-memray on the leak corpus, side by side.

    python benchmarks/run.py [--runs 5] [--scenarios a,b] [--no-memray] [--stability N] [--quick]

For every scenario of ``benchmarks/corpus`` (a Flask Basic Auth app that leaks or not), each mode
runs the same calls, 220 of them (20 warm-up + 200 measured), built like ``memguard.flask``
builds them:

* ``bare``: the calls in a loop, no measuring: the physical limit;
* ``marker``: ``@pytest.mark.memguard(max_growth_kb=BOUND)`` on a test that sends one request
  (the plugin replays it);
* ``fixture``: ``memguard.flask(app, **SCENARIO, max_growth_kb=BOUND)``;
* ``auth``: the marker, with the request's header built by ``pytest_memguard.basic_auth()``
  (the README's recipe: the plugin remembers each credential, and must not count it);
* ``leaks``: pytest-memray's ``@pytest.mark.limit_leaks("BOUND KB")`` on the 220-call loop;
* ``memory``: pytest-memray's ``limit_memory`` on the loop, bounded by the peak of the first 20
  calls (measured by pytest-memray itself in a calibration session) plus the same BOUND KiB.

BOUND is the scenario's own bound: 64 KiB unless its module sets ``BOUND_KB`` (and says why in
its docstring), see ``benchmarks.corpus.bound_kb``. The heap and RSS sessions use 64 KiB.

Each mode is one generated test file parametrised over the scenarios, run in a fresh pytest
process per (mode, repetition), with only the plugin under test loaded. The modes alternate
within each repetition so that machine drift cancels, and every time is the median over the
repetitions of the *time to a verdict*: from the start of the call phase to the end of
``pytest_runtest_makereport`` (pytest-memray judges there, after the call phase). The pytest
side (fixtures, timing, reset between tests) is ``benchmarks/harness.py``.

The report ends with the targets of issue 5 and their numbers, including the two that need
sessions of their own: heap-size independence and the plugin's own memory over 500 tests.
A target that is missed is printed as missed, with its numbers. Then our own check, not an
issue-5 target: every leak memguard catches names its holder, the scenario's ``HOLDER``, in a
``├─ .HOLDER`` hop of the failure's leak trace (the table's ``held`` column, per scenario).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.corpus import (  # noqa: E402 (needs the path above)
    DEFAULT_BOUND_KB,
    SCENARIOS,
    bound_kb,
    holder,
    load,
)

WARMUP = 20
MEASURED = 200
CALLS = WARMUP + MEASURED
#: The heap and RSS sessions' bound; the modes use each scenario's own (``bound_kb``).
BOUND_KB = DEFAULT_BOUND_KB
#: The quick run's scenarios unless ``--scenarios`` says otherwise: one fixed-credential leak,
#: one rotating-credential leak, and their clean counterparts.
QUICK_SCENARIOS = ("leak_global_list", "leak_token_cache", "clean_stateless", "clean_lru_bounded")
HEAP_OBJECTS = 1_000_000
HEAP_SCENARIO = "clean_stateless"
#: The heap-size target: the big-heap overhead ratio within this factor of the small-heap one.
HEAP_FACTOR = 1.5
RSS_SESSIONS = (50, 500)
RSS_ITERATIONS = 50
#: "Within a few MiB": how much more RSS 500 guarded tests may leave than 50.
RSS_FEW_MIB = 4.0
#: The cost target: guarded <= COST_FACTOR x bare + COST_SECONDS.
COST_FACTOR, COST_SECONDS = 1.5, 0.1
SPEED_FACTOR = 5.0
SESSION_TIMEOUT = 3600
#: A session that errors (not a test failure) is retried this many times in all.
ATTEMPTS, RETRY_WAIT = 3, 60

MEMGUARD_PLUGIN = ("-p", "pytest_memguard.plugin")
MEMRAY_PLUGIN = ("-p", "pytest_memray.plugin", "--memray", "--hide-memray-summary")

HEADER = """\
import pytest

from benchmarks.harness import warm_process

NAMES = {names!r}
BOUNDS_KB = {bounds_kb!r}
CALLS = {calls}


def test_0_warm_process():
    warm_process(NAMES)

"""

LOOP = "    for _ in range(CALLS):\n        scenario.call()\n"
PARAMS = '@pytest.mark.parametrize("scenario", NAMES, indirect=True)\n'


def marked(mark: str) -> str:
    """Parametrise over the scenarios, each with ``mark`` (an expression of ``n``, its name)."""
    return (
        "@pytest.mark.parametrize(\n"
        '    "scenario",\n'
        f"    [pytest.param(n, marks={mark}, id=n) for n in NAMES],\n"
        "    indirect=True,\n"
        ")\n"
    )


@dataclass(frozen=True)
class Mode:
    """One way of running the scenarios: a test body and the plugin it needs."""

    key: str
    title: str
    tool: str  # "bare", "memguard" or "memray": how a failure is read
    plugins: tuple[str, ...]
    body: str

    def source(self, names: Sequence[str], calls: int = CALLS, **extra: Any) -> str:
        header = HEADER.format(names=list(names), bounds_kb=bounds_of(names), calls=calls)
        return header + self.body.format(**extra)


def bounds_of(names: Iterable[str]) -> dict[str, int]:
    """Each scenario's own bound in KiB."""
    return {name: bound_kb(load(name)) for name in names}


MODES: dict[str, Mode] = {
    mode.key: mode
    for mode in (
        Mode("bare", "bare", "bare", (), PARAMS + "def test_scenario(scenario):\n" + LOOP),
        Mode(
            "marker",
            "memguard marker",
            "memguard",
            MEMGUARD_PLUGIN,
            marked("pytest.mark.memguard(max_growth_kb=BOUNDS_KB[n])")
            + "def test_scenario(scenario):\n    scenario.call()\n",
        ),
        Mode(
            "fixture",
            "memguard fixture",
            "memguard",
            MEMGUARD_PLUGIN,
            PARAMS
            + "def test_scenario(scenario, memguard):\n"
            + "    memguard.flask(\n"
            + "        scenario.app, **scenario.kwargs, max_growth_kb=BOUNDS_KB[scenario.name]\n"
            + "    )\n",
        ),
        Mode(
            "auth",
            "memguard marker+basic_auth",
            "memguard",
            MEMGUARD_PLUGIN,
            marked("pytest.mark.memguard(max_growth_kb=BOUNDS_KB[n])")
            + "def test_scenario(scenario):\n    scenario.call(via_plugin=True)\n",
        ),
        Mode(
            "leaks",
            "memray limit_leaks",
            "memray",
            MEMRAY_PLUGIN,
            marked('pytest.mark.limit_leaks(f"{{BOUNDS_KB[n]}} KB")')
            + "def test_scenario(scenario):\n"
            + LOOP,
        ),
        Mode(
            "memory",
            "memray limit_memory",
            "memray",
            MEMRAY_PLUGIN,
            "LIMITS = {bounds!r}\n\n\n"
            + marked('pytest.mark.limit_memory(f"{{LIMITS[n]}} B")')
            + "def test_scenario(scenario):\n"
            + LOOP,
        ),
    )
}
#: The calibration for ``limit_memory``: the warm-up calls alone, tracked by pytest-memray.
PEAK = Mode("peak", "memray peak", "memray", MEMRAY_PLUGIN, MODES["bare"].body)


@dataclass
class Cell:
    """One mode on one scenario, over the repetitions."""

    verdicts: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    explain: list[float] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    #: Per run caught as a leak: did the failure name the scenario's ``HOLDER``?
    held: list[bool] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return Counter(self.verdicts).most_common(1)[0][0] if self.verdicts else "-"

    @property
    def steady(self) -> bool:
        return len(set(self.verdicts)) <= 1

    @property
    def time(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def detect_time(self) -> float:
        """Time to a verdict without memguard's explanation pass (run only after a failure)."""
        spent = [t - e for t, e in zip(self.seconds, self.explain, strict=True)]
        return statistics.median(spent) if spent else float("nan")


Results = dict[str, dict[str, Cell]]  # mode -> scenario -> cell


class Sessions:
    """Runs generated test files in fresh pytest processes, in one scratch directory."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.count = 0
        self._lock = threading.Lock()  # stability sessions run two at a time
        self.digests: list[str] = []
        self.snapshot()
        (workdir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")

    def snapshot(self) -> str:
        """Copy memguard's sources for the sessions to import, and return their hash.

        Every session measures the copy, so edits to the checkout during a long run do not mix
        versions in one table.
        """
        import pytest_memguard

        target = self.workdir / "plugin" / "pytest_memguard"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(
            Path(pytest_memguard.__file__).parent,
            target,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        digest = hashlib.sha256()
        for path in sorted(target.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(target).as_posix().encode())
                digest.update(path.read_bytes())
        self.digests.append(digest.hexdigest()[:12])
        return self.digests[-1]

    def run(self, name: str, source: str, plugins: Sequence[str], *extra: str) -> dict[str, Any]:
        """Run one session and return what the harness wrote (records, RSS)."""
        with self._lock:
            self.count += 1
            stem = f"{name}_{self.count}"
        test = self.workdir / f"test_{stem}.py"
        out = self.workdir / f"{stem}.json"
        test.write_text(source, encoding="utf-8")
        command = [sys.executable, "-m", "pytest", "-p", "benchmarks.harness"]
        command += ["-p", "no:cacheprovider", "-q", *plugins, *extra, f"--bench-out={out}"]
        command.append(test.name)
        env = dict(os.environ)
        # Only the plugin under test is loaded: nothing else pays or changes anything.
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        path = [str(self.workdir / "plugin"), str(ROOT), env.get("PYTHONPATH")]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, path))
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        for attempt in range(1, ATTEMPTS + 1):
            done = subprocess.run(
                command,
                cwd=self.workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=SESSION_TIMEOUT,
                check=False,
            )
            if done.returncode in (0, 1) and out.exists():
                break
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
            if attempt == ATTEMPTS:
                raise RuntimeError(f"session {name} exited {done.returncode}:\n{tail}")
            # A plugin being edited in this checkout can fail to import for a moment.
            progress(f"  session {name} exited {done.returncode}; retrying in {RETRY_WAIT} s")
            time.sleep(RETRY_WAIT)
            with self._lock:
                self.snapshot()
        test.unlink()
        payload: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        out.unlink()
        return payload


def verdict_of(tool: str, record: dict[str, Any]) -> str:
    """``clean`` / ``leak`` from a test's outcome; ``error`` when it failed for another reason."""
    if record["outcome"] == "passed":
        return "ok" if tool == "bare" else "clean"
    message: str = record["message"]
    if tool == "memguard" and message.startswith("LeakError"):
        return "leak"
    if tool == "memray" and message.startswith(("Test was allowed to leak", "Test was limited")):
        return "leak"
    return "error"


def scenario_records(payload: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """The per-scenario records of a session (not the process warm-up test)."""
    return (r for r in payload["records"] if r["scenario"])


def add(results: Results, mode: Mode, payload: dict[str, Any]) -> None:
    for record in scenario_records(payload):
        cell = results.setdefault(mode.key, {}).setdefault(record["scenario"], Cell())
        cell.verdicts.append(verdict_of(mode.tool, record))
        cell.seconds.append(record["verdict_seconds"])
        cell.explain.append(record.get("explain_seconds", 0.0))
        if record["message"]:
            cell.messages.append(record["message"])
        if cell.verdicts[-1] == "leak" and record.get("holder_named") is not None:
            cell.held.append(bool(record["holder_named"]))


def memory_bounds(sessions: Sessions, names: Sequence[str]) -> dict[str, int]:
    """``limit_memory`` bound per scenario: pytest-memray's warm-up peak + the scenario's bound.

    A user sizing ``limit_memory`` would measure what a test needs and allow a margin; the
    margin is the same bound memguard gets, so both tools are asked the same question: does
    memory keep more than the bound (64 KiB unless the scenario sets its own) once the code is
    warm?
    """
    payload = sessions.run("peak", PEAK.source(names, calls=WARMUP), PEAK.plugins)
    bounds = {}
    for record in scenario_records(payload):
        name = record["scenario"]
        if record.get("memray_peak") is None:
            raise RuntimeError(f"no pytest-memray peak for {name}: {record}")
        bounds[name] = int(record["memray_peak"]) + bound_kb(load(name)) * 1024
    return bounds


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_modes(
    sessions: Sessions, names: Sequence[str], modes: Sequence[Mode], runs: int
) -> tuple[Results, dict[str, int]]:
    """Every mode once per repetition, in alternation (repetition-major)."""
    bounds = memory_bounds(sessions, names) if any(m.key == "memory" for m in modes) else {}
    results: Results = {}
    for rep in range(1, runs + 1):
        for mode in modes:
            started = time.perf_counter()
            payload = sessions.run(mode.key, mode.source(names, bounds=bounds), mode.plugins)
            add(results, mode, payload)
            progress(f"  run {rep}/{runs} {mode.title:<20} {time.perf_counter() - started:6.1f} s")
    return results, bounds


def stability(sessions: Sessions, names: Sequence[str], repeats: int) -> list[dict[str, str]]:
    """The marker mode's verdicts in ``repeats`` sessions (two at a time: only verdicts count)."""
    mode = MODES["marker"]

    def one(_: int) -> dict[str, str]:
        payload = sessions.run("stability", mode.source(names), mode.plugins)
        verdicts = {r["scenario"]: verdict_of(mode.tool, r) for r in scenario_records(payload)}
        progress(f"  stability run done ({sum(v == 'leak' for v in verdicts.values())} leaks)")
        return verdicts

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, range(repeats)))


def heap_ratios(sessions: Sessions, runs: int) -> dict[int, tuple[float, float]]:
    """Median bare and marker times on a clean scenario, with a small and a big live heap."""
    times: dict[tuple[int, str], list[float]] = {}
    for rep in range(1, runs + 1):
        for objects in (0, HEAP_OBJECTS):
            for key in ("bare", "marker"):
                mode = MODES[key]
                payload = sessions.run(
                    f"heap_{key}",
                    mode.source([HEAP_SCENARIO]),
                    mode.plugins,
                    f"--bench-big-heap={objects}",
                )
                for record in scenario_records(payload):
                    if verdict_of(mode.tool, record) not in ("ok", "clean"):
                        raise RuntimeError(f"heap check, {key}: {record['message']}")
                    times.setdefault((objects, key), []).append(record["verdict_seconds"])
        progress(f"  heap run {rep}/{runs} done")
    return {
        objects: (
            statistics.median(times[objects, "bare"]),
            statistics.median(times[objects, "marker"]),
        )
        for objects in (0, HEAP_OBJECTS)
    }


RSS_SOURCE = """\
import pytest

COUNT = {count}


def body(i):
    return len([i] * 16)


{marker}@pytest.mark.parametrize("i", range(COUNT // 2))
def test_marker(i):
    assert body(i) == 16


@pytest.mark.parametrize("i", range(COUNT - COUNT // 2))
def test_fixture(i, request):
    {fixture}
"""


def rss_sessions(sessions: Sessions) -> dict[tuple[int, bool], int]:
    """pytest's RSS at session end after N cheap tests, guarded (marker and run()) or not."""
    rss: dict[tuple[int, bool], int] = {}
    for count in RSS_SESSIONS:
        for guarded in (False, True):
            source = RSS_SOURCE.format(
                count=count,
                marker=f"@pytest.mark.memguard(max_growth_kb={BOUND_KB})\n" if guarded else "",
                fixture=(
                    'request.getfixturevalue("memguard").run(lambda: body(i),'
                    f" max_growth_kb={BOUND_KB})"
                    if guarded
                    else "body(i)"
                ),
            )
            payload = sessions.run(
                "rss", source, MEMGUARD_PLUGIN, f"--memguard-iterations={RSS_ITERATIONS}"
            )
            failed = [r["nodeid"] for r in payload["records"] if r["outcome"] != "passed"]
            if failed:
                raise RuntimeError(f"RSS session: unexpected failures {failed[:3]}")
            rss[count, guarded] = int(payload["rss_bytes"])
            progress(f"  RSS session {count} {'guarded' if guarded else 'plain'} done")
    return rss


# ---------------------------------------------------------------------------------------------
# Report


def mark(cell: Cell | None, truth: str) -> str:
    """A verdict, with ``!`` when it disagrees with the ground truth, ``~`` when it varied."""
    if cell is None:
        return "-"
    text = cell.verdict
    if text in ("leak", "clean") and text != truth:
        text += "!"
    return text + ("" if cell.steady else "~")


def ratio(results: Results, key: str, name: str) -> float:
    bare = results["bare"][name].time
    return results[key][name].time / bare if bare > 0 else float("nan")


MEMGUARD_KEYS = tuple(key for key, mode in MODES.items() if mode.tool == "memguard")


def named(cell: Cell) -> bool:
    """Whether every run that caught the leak named its holder (only caught leaks are asked)."""
    return bool(cell.held) and all(cell.held)


def held(results: Results, name: str, keys: Sequence[str]) -> str:
    """``yes`` when every memguard failure on a leak named its ``HOLDER``, else ``no``.

    ``-`` for a clean scenario, or a leak that no memguard mode caught.
    """
    cells = [results[k][name] for k in keys if k in MEMGUARD_KEYS and name in results[k]]
    caught = [c for c in cells if c.verdict == "leak"]
    if holder(load(name)) is None or not caught:
        return "-"
    return "yes" if all(named(c) for c in caught) else "no"


def print_table(results: Results, names: Sequence[str], keys: Sequence[str]) -> None:
    tools = [k for k in keys if k != "bare"]
    head = f"{'scenario':<27} {'truth':<5}"
    for key in tools:
        head += f" {key:<8}"
        if key == MEMGUARD_KEYS[-1]:
            head += f" {'held':<4}"
    head += f" {'bare s':>7}"
    for key in tools:
        head += f" {key + ' s':>10} {'x bare':>7}"
    print(head)
    print("-" * len(head))
    for name in names:
        truth = load(name).GROUND_TRUTH
        line = f"{name:<27} {truth:<5}"
        for key in tools:
            line += f" {mark(results[key].get(name), truth):<8}"
            if key == MEMGUARD_KEYS[-1]:
                line += f" {held(results, name, keys):<4}"
        line += f" {results['bare'][name].time:7.3f}"
        for key in tools:
            line += f" {results[key][name].time:10.3f} {ratio(results, key, name):7.1f}"
        print(line)
    print("-" * len(head))


@dataclass(frozen=True)
class Totals:
    caught: int
    leaks: int
    false_alarms: int
    cleans: int
    errors: int
    median_ratio: dict[str, float]  # over "all", "clean" and "leak" scenarios
    missed: tuple[str, ...]
    alarms: tuple[str, ...]


def totals(results: Results, key: str, names: Sequence[str]) -> Totals:
    truths = {n: load(n).GROUND_TRUTH for n in names}
    leaks = [n for n in names if truths[n] == "leak"]
    cleans = [n for n in names if truths[n] == "clean"]
    cells = results[key]
    groups = {"all": list(names), "clean": cleans, "leak": leaks}
    return Totals(
        caught=sum(cells[n].verdict == "leak" for n in leaks),
        leaks=len(leaks),
        false_alarms=sum(cells[n].verdict == "leak" for n in cleans),
        cleans=len(cleans),
        errors=sum(cells[n].verdict == "error" for n in names),
        median_ratio={
            group: statistics.median(ratio(results, key, n) for n in members)
            for group, members in groups.items()
            if members
        },
        missed=tuple(n for n in leaks if cells[n].verdict != "leak"),
        alarms=tuple(n for n in cleans if cells[n].verdict == "leak"),
    )


def print_totals(results: Results, names: Sequence[str], keys: Sequence[str]) -> None:
    for key in keys:
        if key == "bare":
            continue
        t = totals(results, key, names)
        errors = f", {t.errors} errors" if t.errors else ""
        by_group = ", ".join(
            f"{group} {value:.1f}x" for group, value in t.median_ratio.items() if group != "all"
        )
        print(
            f"{MODES[key].title:<20} leaks caught {t.caught:>2}/{t.leaks:<2}  "
            f"false alarms {t.false_alarms:>2}/{t.cleans:<2}  "
            f"median overhead {t.median_ratio['all']:.1f}x bare ({by_group}){errors}"
        )


def status(ok: bool | None) -> str:
    return {True: "[MET]   ", False: "[MISSED]", None: "[n/a]   "}[ok]


def spread(values: dict[str, float]) -> tuple[float, str, float]:
    """Median, and the name and value of the worst (largest) entry."""
    worst = max(values, key=lambda n: values[n])
    return statistics.median(values.values()), worst, values[worst]


def print_targets(
    results: Results,
    names: Sequence[str],
    keys: Sequence[str],
    stable: list[dict[str, str]] | None,
    heap: dict[int, tuple[float, float]] | None,
    rss: dict[tuple[int, bool], int] | None,
) -> None:
    truths = {n: load(n).GROUND_TRUTH for n in names}
    print("target checks (issue 5; marker+basic_auth from issue 10)")
    for key in [k for k in MEMGUARD_KEYS if k in keys]:
        t = totals(results, key, names)
        ok = t.caught == t.leaks and t.false_alarms == 0 and t.errors == 0
        detail = ""
        if t.missed:
            detail += f"; missed: {', '.join(t.missed)}"
        if t.alarms:
            detail += f"; false alarms on: {', '.join(t.alarms)}"
        print(
            f"  {status(ok)} every leak caught, no false alarm ({MODES[key].title}):"
            f" caught {t.caught}/{t.leaks}, false alarms {t.false_alarms}/{t.cleans}{detail}"
        )
    if stable is None:
        print(f"  {status(None)} same verdicts over repeated runs: not run (--stability 20)")
    else:
        changed = sorted({n for run in stable for n in names if run.get(n) != stable[0].get(n)})
        print(
            f"  {status(not changed)} same verdicts over {len(stable)} marker sessions:"
            f" {'identical every time' if not changed else 'varied on ' + ', '.join(changed)}"
        )

    cleans = [n for n in names if truths[n] == "clean"]
    leaks = [n for n in names if truths[n] == "leak"]
    for key in ("marker", "fixture"):
        if not cleans:
            break
        margins = {n: results[key][n].time - COST_FACTOR * results["bare"][n].time for n in cleans}
        median, worst, value = spread(margins)
        over = [n for n in cleans if margins[n] > COST_SECONDS]
        print(
            f"  {status(value <= COST_SECONDS)} guarded <= {COST_FACTOR}x bare + {COST_SECONDS} s"
            f" ({MODES[key].title}, clean scenarios): guarded - {COST_FACTOR}x bare median"
            f" {median:+.3f} s, worst {value:+.3f} s ({worst})"
            + (f"; over on {', '.join(over)}" if over else "")
        )
    if leaks:
        margins = {
            n: results["marker"][n].time - COST_FACTOR * results["bare"][n].time for n in leaks
        }
        median, worst, value = spread(margins)
        explain = statistics.median(statistics.median(results["marker"][n].explain) for n in leaks)
        print(
            f"  {'':8} (leaks, not the same work: {2 * MEASURED + WARMUP} calls and an explanation"
            f" pass) marker - {COST_FACTOR}x bare median {median:+.2f} s, worst {value:+.2f} s"
            f" ({worst}); median explanation pass {explain:.2f} s"
        )

    if "leaks" in keys:
        for key in ("marker", "fixture"):
            speed = {n: results["leaks"][n].time / results[key][n].time for n in names}
            slowest = min(speed, key=lambda n: speed[n])
            by_truth = {
                truth: statistics.median(speed[n] for n in names if truths[n] == truth)
                for truth in ("leak", "clean")
                if any(truths[n] == truth for n in names)
            }
            parts = ", ".join(f"{truth}s {value:.1f}x" for truth, value in by_truth.items())
            print(
                f"  {status(speed[slowest] >= SPEED_FACTOR)} >= {SPEED_FACTOR:g}x faster to a"
                f" verdict than limit_leaks ({MODES[key].title}): median"
                f" {statistics.median(speed.values()):.1f}x ({parts}), slowest"
                f" {speed[slowest]:.2f}x ({slowest})"
            )
            bare = {n: results["leaks"][n].time / results[key][n].detect_time for n in names}
            least = min(bare, key=lambda n: bare[n])
            print(
                f"  {'':8} (without memguard's explanation pass: median"
                f" {statistics.median(bare.values()):.1f}x, slowest {bare[least]:.2f}x ({least}))"
            )
        ours, theirs = totals(results, "marker", names), totals(results, "leaks", names)
        # Zero false alarms cannot be beaten, only matched.
        fewer = ours.false_alarms < theirs.false_alarms or ours.false_alarms == 0
        print(
            f"  {status(ours.caught > theirs.caught and fewer)} better than limit_leaks in"
            f" detection and false alarms (memguard marker): caught {ours.caught} vs"
            f" {theirs.caught}, false alarms {ours.false_alarms} vs {theirs.false_alarms}"
        )
    else:
        print(f"  {status(None)} faster and better than limit_leaks: not run (--no-memray)")

    if heap is None:
        print(f"  {status(None)} heap-size independence: not run (skipped by --quick)")
    else:
        (bare0, mg0), (bare1, mg1) = heap[0], heap[HEAP_OBJECTS]
        small, big = mg0 / bare0, mg1 / bare1
        print(
            f"  {status(big <= HEAP_FACTOR * small)} overhead with {HEAP_OBJECTS:,} live objects"
            f" within {HEAP_FACTOR}x of a small heap ({HEAP_SCENARIO}, marker): small heap"
            f" {small:.2f}x ({mg0:.3f} s / {bare0:.3f} s), big heap {big:.2f}x"
            f" ({mg1:.3f} s / {bare1:.3f} s), {big / small:.2f}x the small-heap ratio"
        )

    if rss is None:
        print(f"  {status(None)} the plugin does not leak: not run (skipped by --quick)")
    else:
        few, many = RSS_SESSIONS
        mib = 1024 * 1024
        guarded = (rss[many, True] - rss[few, True]) / mib
        plain = (rss[many, False] - rss[few, False]) / mib
        print(
            f"  {status(guarded <= RSS_FEW_MIB)} pytest RSS after {many} guarded tests"
            f" within {RSS_FEW_MIB:g} MiB of {few} (--memguard-iterations={RSS_ITERATIONS}):"
            f" {rss[few, True] / mib:.1f} MiB -> {rss[many, True] / mib:.1f} MiB"
            f" ({guarded:+.1f} MiB); unguarded tests {rss[few, False] / mib:.1f} ->"
            f" {rss[many, False] / mib:.1f} MiB ({plain:+.1f} MiB); memguard's share"
            f" {guarded - plain:+.1f} MiB"
        )


def print_holder_checks(results: Results, names: Sequence[str]) -> None:
    """Ours, not issue 5's: every leak a memguard mode caught names its ``HOLDER``."""
    print("our checks (not issue-5 targets)")
    leaks = [n for n in names if holder(load(n)) is not None]
    for key in MEMGUARD_KEYS:
        caught = [n for n in leaks if results[key][n].verdict == "leak"]
        unnamed = [n for n in caught if not named(results[key][n])]
        ok = not unnamed if caught else None
        print(
            f"  {status(ok)} every caught leak names its holder ({MODES[key].title}):"
            f" {len(caught) - len(unnamed)}/{len(caught)}"
            + (f"; not named: {', '.join(unnamed)}" if unnamed else "")
        )


def print_notes(results: Results, names: Sequence[str], keys: Sequence[str]) -> None:
    """Failures that were not a memory verdict, and one memguard message per false alarm."""
    lines = []
    for key in keys:
        for name in names:
            cell = results[key][name]
            if "error" in cell.verdicts:
                lines.append(f"  {key} {name}: error: {cell.messages[-1] if cell.messages else ''}")
            elif (
                key in ("marker", "fixture")
                and cell.verdict == "leak"
                and (load(name).GROUND_TRUTH == "clean")
            ):
                lines.append(f"  {key} {name}: {cell.messages[-1]}")
            elif key in MEMGUARD_KEYS and cell.verdict == "leak" and not named(cell):
                lines.append(
                    f"  {key} {name}: holder {holder(load(name))} not named in"
                    f" {cell.held.count(False)}/{len(cell.held)} failures: {cell.messages[-1]}"
                )
    if lines:
        print("notes")
        print("\n".join(lines))


def revision() -> str:
    """The checkout measured: commit, and ``-dirty`` when the working tree has changes."""
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def bound_text(names: Sequence[str]) -> str:
    """The bound for the header line, naming the scenarios that set their own."""
    own = [f"{n} {kb} KiB" for n, kb in bounds_of(names).items() if kb != DEFAULT_BOUND_KB]
    text = f"bound {DEFAULT_BOUND_KB} KiB"
    return text + (f" unless the scenario sets its own: {', '.join(own)}" if own else "")


def choose(option: str | None, quick: bool) -> list[str]:
    if option:
        names = [n.strip() for n in option.split(",") if n.strip()]
        unknown = [n for n in names if n not in SCENARIOS]
        if unknown:
            raise SystemExit(f"unknown scenarios: {', '.join(unknown)} (see benchmarks/corpus)")
        return names
    return list(QUICK_SCENARIOS) if quick else list(SCENARIOS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent(
            """\
            verdicts: leak / clean; '!' disagrees with the ground truth, '~' varied between
            runs, 'error' failed for another reason than memory (see the notes)."""
        ),
    )
    parser.add_argument("--runs", type=int, default=None, help="repetitions (default 5)")
    parser.add_argument("--scenarios", help="comma-separated subset of the corpus")
    parser.add_argument("--no-memray", action="store_true", help="skip the pytest-memray modes")
    parser.add_argument(
        "--stability", type=int, default=0, metavar="N", help="repeat the marker run N times"
    )
    parser.add_argument(
        "--quick", action="store_true", help="one run, a subset, no heap or RSS sessions"
    )
    args = parser.parse_args(argv)
    runs = args.runs if args.runs is not None else (1 if args.quick else 5)
    if runs < 1:
        parser.error("--runs must be at least 1")
    names = choose(args.scenarios, args.quick)
    keys = ["bare", "marker", "fixture", "auth"] + ([] if args.no_memray else ["leaks", "memory"])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="memguard-bench-") as tmp:
        sessions = Sessions(Path(tmp))
        print(
            f"pytest-memguard benchmark {datetime.date.today().isoformat()}, checkout"
            f" {revision()}, memguard sources {sessions.digests[0]} (copied at start);"
            f" python {platform.python_version()}, {platform.system()} {platform.machine()},"
            f" {os.cpu_count()} cpus"
        )
        print(
            f"{len(names)} scenarios, {CALLS} calls each ({WARMUP} warm-up + {MEASURED}"
            f" measured), {bound_text(names)}; seconds = time to a verdict, median of {runs}"
            f" run{'s' if runs > 1 else ''}",
            flush=True,
        )
        phases: dict[str, float] = {}
        phase = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal phase
            now = time.perf_counter()
            phases[name] = now - phase
            phase = now

        progress("modes:")
        results, bounds = run_modes(sessions, names, [MODES[k] for k in keys], runs)
        lap("modes")
        stable = None
        if args.stability > 0:
            progress(f"stability ({args.stability} marker sessions):")
            stable = stability(sessions, names, args.stability)
            lap("stability")
        heap = rss = None
        if not args.quick:
            progress("heap size:")
            heap = heap_ratios(sessions, runs)
            lap("heap")
            progress("plugin memory:")
            rss = rss_sessions(sessions)
            lap("RSS")
    print()
    print_table(results, names, keys)
    print_totals(results, names, keys)
    if bounds:
        kib = sorted(b / 1024 for b in bounds.values())
        print(
            f"limit_memory bounds: peak of the {WARMUP} warm-up calls + the scenario's bound,"
            f" {kib[0]:,.0f} to {kib[-1]:,.0f} KiB"
        )
    print()
    print_targets(results, names, keys, stable, heap, rss)
    print_holder_checks(results, names)
    print_notes(results, names, keys)
    if len(set(sessions.digests)) > 1:
        print(
            f"WARNING: memguard's sources were copied again after a failed session and changed:"
            f" {' -> '.join(sessions.digests)}; the numbers mix versions"
        )
    laps = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in phases.items())
    print(f"total runtime {time.perf_counter() - started:.0f} s ({laps})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
