"""Benchmark: ``--memguard-scan`` on a real suite, against its plain run.

    python benchmarks/scan.py [SUITE] [--python PY] [--runs N] [--workers N] [--no-verify]

SUITE defaults to Flask 3.1.2's own tests (``/work/scratch/flask/flask-3.1.2/tests``, run with
the venv next to it, which pins pytest 8.4.1: Flask's tests import ``_pytest.monkeypatch.notset``,
gone in pytest 9). It runs the suite plainly and with ``--memguard-scan=report`` (best of
``--runs`` wall times each, every scan right after a plain run), then prints a table: plain and
scan seconds, their ratio and the median of the pairs' ratios, the tests per scan status, and
each confirmed leak with a verification made without memguard: the test is run
``VERIFY_CALLS`` more times through pytest's own protocol (every fixture, session ones
included, set up and torn down each time) in a process with the plugin off, and the pymalloc
blocks it leaves per run are counted. A confirmed leak that this loop does not see is a false
alarm, and the script exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLASK = Path("/work/scratch/flask/flask-3.1.2/tests")
FLASK_PYTHON = Path("/work/scratch/flask/venv/bin/python")
#: Runs of each confirmed test in the verification loop, after VERIFY_WARMUP runs.
VERIFY_CALLS = 60
VERIFY_WARMUP = 5
#: Blocks per run the verification must see to call a leak real: a leak keeps at least one
#: object per call; churn averages out below this over VERIFY_CALLS runs.
VERIFY_MIN_BLOCKS = 0.5
STATUSES = ("confirmed", "suspected", "not replayable", "clean")

#: The verification loop, a pytest plugin that knows nothing of memguard.
VERIFIER = """
import gc, json, os, sys
import pytest
from _pytest.runner import runtestprotocol

WANTED = set(json.loads(os.environ["SCAN_VERIFY_IDS"]))
OUT = os.environ["SCAN_VERIFY_OUT"]
CALLS, WARMUP = int(os.environ["SCAN_VERIFY_CALLS"]), int(os.environ["SCAN_VERIFY_WARMUP"])
FOUND = {}

def _blocks():
    gc.collect()
    return sys.getallocatedblocks()

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    if item.nodeid not in WANTED:
        return None
    start = None
    for i in range(WARMUP + CALLS):
        if i == WARMUP:
            start = _blocks()
        item._report_sections.clear()
        reports = runtestprotocol(item, nextitem=None, log=False)
        if any(r.failed for r in reports):
            FOUND[item.nodeid] = None
            return True
    FOUND[item.nodeid] = (_blocks() - start) / CALLS
    return True

def pytest_sessionfinish(session):
    with open(OUT, "w") as out:
        json.dump(FOUND, out)
"""


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, str, float]:
    """Wall seconds, output, and CPU seconds (user + sys of the process and the workers it
    waited for): on a shared machine the wall clock moves with the other jobs' load."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, done.stdout + done.stderr, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", nargs="?", type=Path, default=FLASK)
    parser.add_argument("--python", default=None, help="the suite's Python (default: its venv)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each mode (best is shown)")
    parser.add_argument("--no-verify", action="store_true", help="skip the verification loop")
    parser.add_argument("--workers", type=int, default=0, help="pytest-xdist workers (-n) for both")
    args = parser.parse_args()
    suite = args.suite.resolve()
    python = args.python or (
        str(FLASK_PYTHON) if suite == FLASK.resolve() and FLASK_PYTHON.exists() else sys.executable
    )
    cwd = suite.parent if suite.name == "tests" else suite
    base = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)]
    if args.workers:
        base += ["-n", str(args.workers)]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "scan.json"
        # Each scan right after a plain run: the machine's speed drifts by 20% to 35% over
        # minutes, so a pair reads one ratio, and their median is the ratio to quote.
        plain_runs, scan_runs = [], []
        for _ in range(args.runs):
            plain_runs.append(timed([*base, "-p", "no:memguard"], cwd))
            scan_runs.append(
                timed([*base, "--memguard-scan=report", f"--memguard-json={report}"], cwd)
            )
        plain = min(run[0] for run in plain_runs)
        plain_cpu = min(run[2] for run in plain_runs)
        scanned, output, _ = min(scan_runs)
        pairs = sorted(s[0] / p[0] for p, s in zip(plain_runs, scan_runs, strict=True))
        scan_cpu = min(run[2] for run in scan_runs)
        if not report.exists():
            print(output)
            return 2
        tests = json.loads(report.read_text())["tests"]
        confirmed = [t for t in tests if t["scan"] == "confirmed"]
        verified = {} if args.no_verify else verify(base, cwd, confirmed, Path(tmp))
    counts = {s: sum(1 for t in tests if t["scan"] == s) for s in STATUSES}
    print(f"suite: {suite} ({python})")
    print(
        f"{'plain s':>8}  {'scan s':>8}  {'ratio':>6}  " + "  ".join(f"{s:>14}" for s in STATUSES)
    )
    print(
        f"{plain:8.2f}  {scanned:8.2f}  {scanned / plain:5.1f}x  "
        + "  ".join(f"{counts[s]:>14}" for s in STATUSES)
    )
    print(
        f"ratio of each pair (a plain run, then a scan): {', '.join(f'{r:.1f}x' for r in pairs)};"
        f" median {statistics.median(pairs):.1f}x"
    )
    print(
        f"CPU s (user+sys, best of {args.runs}): plain {plain_cpu:.2f}, scan {scan_cpu:.2f},"
        f" ratio {scan_cpu / plain_cpu:.1f}x; load average {os.getloadavg()[0]:.1f}"
    )
    unexplained = [t for t in tests if t["scan"] == "not replayable" and not t["reason"]]
    print(f"every scanned test has a status and a reason: {'yes' if not unexplained else 'no'}")
    false_alarms = 0
    if confirmed:
        print(f"\n{'confirmed leak':<70}  {'B/call':>7}  {'verify blocks/run':>17}  holder")
    for t in sorted(confirmed, key=lambda t: -t["per_call_bytes"]):
        check = verified.get(t["nodeid"], "skipped")
        if isinstance(check, float):
            shown = f"{check:17.1f}"
            false_alarms += check < VERIFY_MIN_BLOCKS
        else:
            shown = f"{check or 'failed':>17}"
        holder = _holder(t["explanation"])
        print(f"{t['nodeid'][:70]:<70}  {t['per_call_bytes']:7.0f}  {shown}  {holder}")
    if verified:
        print(f"confirmed leaks the loop without memguard did not see: {false_alarms}")
    return 1 if false_alarms else 0


def _holder(explanation: list[str]) -> str:
    """``module click.utils._default_text_stdout``: the first two hops of the first trace."""
    if "retained via:" not in explanation:
        return "-"
    start = explanation.index("retained via:") + 1
    hops = [line.strip().lstrip("├─╰→ ").split("  ")[0] for line in explanation[start : start + 2]]
    return "".join(h if h.startswith(".") else f" {h}" for h in hops).strip()


def verify(
    base: list[str], cwd: Path, confirmed: list[dict[str, object]], tmp: Path
) -> dict[str, float | None]:
    """Blocks left per run of each confirmed test by pytest's own protocol, plugin off."""
    if not confirmed:
        return {}
    (tmp / "scan_verifier.py").write_text(VERIFIER)
    out = tmp / "verified.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp), os.environ.get("PYTHONPATH", "")]),
        "SCAN_VERIFY_IDS": json.dumps([t["nodeid"] for t in confirmed]),
        "SCAN_VERIFY_OUT": str(out),
        "SCAN_VERIFY_CALLS": str(VERIFY_CALLS),
        "SCAN_VERIFY_WARMUP": str(VERIFY_WARMUP),
    }
    ids = [str(cwd / str(t["nodeid"])) for t in confirmed]
    cmd = [*base[:6], *ids, "-p", "no:memguard", "-p", "no:xdist", "-p", "scan_verifier", "-s"]
    timed(cmd, cwd, env)
    return json.loads(out.read_text()) if out.exists() else {}


if __name__ == "__main__":
    sys.exit(main())
