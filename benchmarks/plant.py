"""Benchmark: does ``--memguard-scan`` confirm every test that exercises a planted leak?

    python benchmarks/plant.py [SUITE ...] [--kind KIND ...] [--python PY] [--workers N]

A leak is planted in the framework's request path by a pytest plugin loaded with ``-p`` (the
suite itself is not changed), one KIND per run (default: all of them, see ``KINDS``). Each
suite is run twice per kind, both with the plant:

* plainly (memguard off), the plant counting its calls per test: the tests that passed and
  made at least one planted call are the **exercising** tests, counted without memguard;
* with ``--memguard-scan=report``: each exercising test must be ``confirmed`` with a holder
  trace that starts at the plant's holder (its module, or the signal it registers on).

It prints per suite and kind: exercising tests, confirmed with the holder, missed (with each
miss's status), false confirmations (a confirmed test that does not exercise the plant and is
not confirmed by the unplanted scan, which runs once per suite), and the CPU seconds of each
run. A miss or a false confirmation exits with status 1.

SUITE defaults to Flask 3.1.2's tests, Flask-Login 0.6.3's and Flask-HTTPAuth 4.8.1's (the
sdists under /work/scratch), run with ``--python`` (default: ``.venv-real`` next to this
checkout, then this Python): a venv with pytest 8.4.1 and the three packages installed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITES = (
    Path("/work/scratch/flask/flask-3.1.2/tests"),
    Path("/work/scratch/real/Flask-Login-0.6.3/tests"),
    Path("/work/scratch/real/flask_httpauth-4.8.1/tests"),
)
REAL_PYTHON = ROOT / ".venv-real" / "bin" / "python"

#: Each kind: where it is planted, what it keeps per call, and the holder its trace must name.
KINDS = {
    "dispatch": "Flask.full_dispatch_request keeps a dict per request in a module list",
    "credentials": "Flask.full_dispatch_request keeps a short str (the user) in a module list",
    "before": "a before_request hook every Flask app gets keeps the path in a module dict",
    "signal": "Flask.process_response connects a new receiver to a blinker signal (strongly)",
    "response": "flask.Response.__init__ keeps each response's status in a module list",
    "session": "SecureCookieSessionInterface.open_session keeps each session in a module list",
    "httpauth": "Flask-HTTPAuth's HTTPBasicAuth.get_auth keeps the decoded credentials",
}
HOLDERS = {"signal": "message_flashed"}
PLANT_HOLDER = "memguard_plant"

#: The plant, a pytest plugin; PLANT_KIND chooses the leak, PLANT_LOG gets the calls per test.
PLANT = """
import itertools, json, os
import pytest

KIND = os.environ["PLANT_KIND"]
KEPT = []
SEEN = {}
CALLS = [0]
# Keys past the small ints CPython caches (-5..256): each request keeps a new int of its own.
_ids = itertools.count(10**6)


def _count():
    CALLS[0] += 1


def _plant():
    import flask

    if KIND in ("dispatch", "credentials"):
        original = flask.Flask.full_dispatch_request

        def full_dispatch_request(self):
            _count()
            if KIND == "dispatch":
                KEPT.append({"path": flask.request.path, "n": len(KEPT)})
            else:
                auth = flask.request.authorization
                KEPT.append(f"{auth.username if auth else 'anon'}:{len(KEPT)}")
            return original(self)

        flask.Flask.full_dispatch_request = full_dispatch_request
    elif KIND == "before":
        original = flask.Flask.__init__

        def remember():
            _count()
            SEEN[next(_ids)] = flask.request.path

        def __init__(self, *args, **kwargs):
            original(self, *args, **kwargs)
            self.before_request(remember)

        flask.Flask.__init__ = __init__
    elif KIND == "signal":
        original = flask.Flask.process_response

        def process_response(self, response):
            _count()
            flask.message_flashed.connect(lambda *a, **k: None, weak=False)
            return original(self, response)

        flask.Flask.process_response = process_response
    elif KIND == "response":
        original = flask.Response.__init__

        def __init__(self, *args, **kwargs):
            original(self, *args, **kwargs)
            _count()
            KEPT.append((self.status_code, len(KEPT)))

        flask.Response.__init__ = __init__
    elif KIND == "session":
        from flask.sessions import SecureCookieSessionInterface

        original = SecureCookieSessionInterface.open_session

        def open_session(self, app, request):
            session = original(self, app, request)
            if session is not None:  # no secret key: nothing to keep, not a leak
                _count()
                KEPT.append(session)
            return session

        SecureCookieSessionInterface.open_session = open_session
    elif KIND == "httpauth":
        import flask_httpauth

        original = flask_httpauth.HTTPBasicAuth.get_auth

        def get_auth(self):
            auth = original(self)
            if auth is not None:
                _count()
                KEPT.append((auth.username, auth.password))
            return auth

        flask_httpauth.HTTPBasicAuth.get_auth = get_auth
    elif KIND != "none":
        raise pytest.UsageError(f"PLANT_KIND: no plant {KIND!r}")


_plant()
CALLED = {}
PASSED = set()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    before = CALLS[0]
    try:
        return (yield)
    finally:
        CALLED[item.nodeid] = CALLS[0] - before


def pytest_runtest_logreport(report):
    if report.when == "call" and report.passed:
        PASSED.add(report.nodeid)


def pytest_sessionfinish(session):
    log = os.environ.get("PLANT_LOG")
    if log:
        with open(log, "w") as out:
            json.dump({"called": CALLED, "passed": sorted(PASSED)}, out)
"""


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """The CPU seconds of the run (its processes, xdist workers included) and its output: the
    machine is shared, and wall time there says more about the other jobs."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return cpu, done.stdout + done.stderr


def holder_roots(explanation: list[str]) -> list[str]:
    """The first two hops of each holder trace of an explanation, as one string each."""
    roots = []
    for i, line in enumerate(explanation[:-1]):
        if line == "retained via:":
            hops = [h.strip().lstrip("├─╰→ ").split("  ")[0] for h in explanation[i + 1 : i + 3]]
            roots.append(" ".join(hops))
    return roots


class Suite:
    """One suite run with the plant: plainly (counting) and scanned."""

    def __init__(self, path: Path, python: str, workers: int, tmp: Path) -> None:
        self.path = path
        self.cwd = path.parent if path.name == "tests" else path
        self.python = python
        self.tmp = tmp
        self.base = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
        self.base += ["-p", "memguard_plant", str(path)]
        self.workers = workers

    def env(self, kind: str, **extra: str) -> dict[str, str]:
        path = os.pathsep.join([str(self.tmp), os.environ.get("PYTHONPATH", "")])
        return {**os.environ, "PYTHONPATH": path, "PLANT_KIND": kind, **extra}

    def exercising(self, kind: str) -> tuple[set[str], float, str]:
        log = self.tmp / f"plant-{kind}.json"
        seconds, out = timed(
            [*self.base, "-p", "no:memguard", "-p", "no:xdist"],
            self.cwd,
            self.env(kind, PLANT_LOG=str(log)),
        )
        if not log.exists():
            return set(), seconds, out
        found = json.loads(log.read_text())
        passed = set(found["passed"])
        return {t for t, n in found["called"].items() if n and t in passed}, seconds, out

    def scan(self, kind: str) -> tuple[list[dict[str, object]], float, str]:
        report = self.tmp / f"scan-{kind}.json"
        cmd = [*self.base, "--memguard-scan=report", f"--memguard-json={report}"]
        if self.workers:
            cmd += ["-n", str(self.workers)]
        seconds, out = timed(cmd, self.cwd, self.env(kind))
        tests = json.loads(report.read_text())["tests"] if report.exists() else []
        return tests, seconds, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", type=Path, default=list(SUITES))
    parser.add_argument("--kind", action="append", choices=sorted(KINDS), help="default: all")
    parser.add_argument("--python", default=None, help="the suites' Python (see above)")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers (0: none)")
    parser.add_argument("--misses", action="store_true", help="list each missed test")
    args = parser.parse_args()
    python = args.python or (str(REAL_PYTHON) if REAL_PYTHON.exists() else sys.executable)
    kinds = args.kind or list(KINDS)
    bad = 0
    print(
        f"{'suite':<22} {'kind':<12} {'exercising':>10} {'confirmed':>9} {'missed':>6} "
        f"{'false':>5} {'plain cpu s':>11} {'scan cpu s':>10}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "memguard_plant.py").write_text(PLANT)
        for path in args.suites:
            suite = Suite(path.resolve(), python, args.workers, Path(tmp))
            name = suite.cwd.name[:22]
            base, base_seconds, out = suite.scan("none")
            if not base:
                print(f"{name}: the unplanted scan wrote no report\n{out[-3000:]}")
                return 2
            real = {str(t["nodeid"]) for t in base if t["scan"] == "confirmed"}
            statuses = ("confirmed", "suspected", "not replayable", "clean")
            counts = ", ".join(f"{sum(t['scan'] == s for t in base)} {s}" for s in statuses)
            if args.misses:
                for t in base:
                    if t["scan"] == "confirmed":
                        roots = holder_roots(list(t["explanation"]))[:1]
                        print(f"    unplanted: confirmed {t['nodeid']} {roots}")
                    elif t["scan"] == "suspected":
                        print(f"    unplanted: suspected {t['nodeid']}: {str(t['reason'])[:110]}")
            print(
                f"{name:<22} {'(none)':<12} {'-':>10} {len(real):>9} {'-':>6} {'-':>5} "
                f"{'':>11} {base_seconds:10.1f}"
            )
            print(f"    unplanted: {counts}")
            for kind in kinds:
                wanted, plain, out = suite.exercising(kind)
                tests, seconds, out = suite.scan(kind)
                if not tests:
                    print(f"{name} {kind}: the scan wrote no report\n{out[-3000:]}")
                    return 2
                holder = HOLDERS.get(kind, PLANT_HOLDER)
                by_id = {str(t["nodeid"]): t for t in tests}
                held = {
                    t
                    for t in wanted
                    if t in by_id
                    and by_id[t]["scan"] == "confirmed"
                    and any(holder in r for r in holder_roots(list(by_id[t]["explanation"])))
                }
                missed = sorted(wanted - held)
                false = sorted(
                    t
                    for t, r in by_id.items()
                    if r["scan"] == "confirmed" and t not in wanted and t not in real
                )
                bad += len(missed) + len(false)
                print(
                    f"{name:<22} {kind:<12} {len(wanted):>10} {len(held):>9} {len(missed):>6} "
                    f"{len(false):>5} {plain:11.1f} {seconds:10.1f}"
                )
                if args.misses:
                    for t in missed:
                        r = by_id.get(t, {})
                        roots = holder_roots(list(r.get("explanation", [])))[:1]
                        print(
                            f"    missed {t}: {r.get('scan', 'not scanned')}; "
                            f"{str(r.get('reason', ''))[:110]} {roots}"
                        )
                    for t in false:
                        roots = holder_roots(list(by_id[t]["explanation"]))
                        print(f"    false {t}: {str(by_id[t]['reason'])[:110]} {roots}")
    print(f"planted leaks missed or falsely confirmed: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
