#!/usr/bin/env python3
"""Cases where a verdict was once silently wrong, each with its ground truth: one table row each.

    python benchmarks/integrity.py [--runs N]

The Flask corpus (``run.py``) covers apps; these cover the ways the plugin itself could be
fooled: its own record of credentials (the README's marker recipe with rotating
``basic_auth()`` headers), runs too short to judge, a ``unittest.TestCase`` item, and a bounded
cache that fills past its bound and must still be explained. Every case runs in one fresh
pytest session per repetition, with ``--memguard-json``; the verdict is read from the report,
the holder from the failure's leak trace, the time from pytest's JUnit XML.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Case:
    name: str
    truth: str  # "leak" or "clean"
    source: str  # a test module; its tests are this case's rows
    holder: str | None = None  # the attribute a leak's trace must show as a "├─ .HOLDER" hop


STATELESS_APP = """
import itertools
import pytest
from flask import Flask, request
import pytest_memguard

app = Flask(__name__)

@app.get("/")
def index():
    auth = request.authorization
    return ("hello " + auth.username) if auth else ("no", 401)

SEQ = itertools.count()
"""

CASES = (
    Case(
        "basic_auth_rotating_marker",
        "clean",
        STATELESS_APP
        + """
@pytest.mark.memguard(iterations=1000)
def test_case():
    i = next(SEQ)
    headers = pytest_memguard.basic_auth(f"user{i}", f"pw-{i}")
    assert app.test_client().get("/", headers=headers).status_code == 200
""",
    ),
    Case(
        "basic_auth_rotating_run",
        "clean",
        STATELESS_APP
        + """
def test_case(memguard):
    client = app.test_client()

    def login():
        i = next(SEQ)
        headers = pytest_memguard.basic_auth(f"user{i}", f"pw-{i}")
        assert client.get("/", headers=headers).status_code == 200

    memguard.run(login, iterations=1000)
""",
    ),
    *(
        Case(
            f"steady_66B_iterations_{n}",
            "leak",
            f"""
import pytest

_samples = []

@pytest.mark.memguard(iterations={n})
def test_case():
    _samples.append(str(len(_samples)).zfill(100))  # a new 100-character str per call
""",
            holder="_samples",
        )
        for n in (24, 40, 48, 200)
    ),
    Case(
        "unittest_leak",
        "leak",
        """
import unittest
import pytest

_audit = []

@pytest.mark.memguard
class TestLogin(unittest.TestCase):
    def test_case(self):
        _audit.append(bytearray(256))
""",
        holder="_audit",
    ),
    Case(
        "unittest_clean",
        "clean",
        """
import unittest
import pytest

@pytest.mark.memguard
class TestLogin(unittest.TestCase):
    def setUp(self):
        self.seen = []

    def test_case(self):
        self.seen.append(bytearray(256))
""",
    ),
    # Under its bound, a small leak on the auth path is caught only as a steady rise: on
    # CPython 3.10 Flask's request path moves a malloc'd buffer by ~0.6 KiB every few calls,
    # which hid both in the sum of the two counters (read "plateau" and passed).
    Case(
        "flask_rotating_leak_every_3rd",
        "leak",
        STATELESS_APP
        + """
KEPT = []

@app.get("/keep")
def keep():
    if next(SEQ) % 3 == 0:
        KEPT.append(request.authorization.password)  # ~22 B a call
    return "ok"

def test_case(memguard):
    memguard.flask(app, "/keep", auth=lambda i: (f"user{i}", f"pw-{i:06d}"), expect_status=200)
""",
        holder="KEPT",
    ),
    Case(
        "flask_header_leak_each_call",
        "leak",
        STATELESS_APP
        + """
import base64

KEPT = []
TOKEN = base64.b64encode(b"carol:headers-only-pw9").decode()

@app.get("/keep")
def keep():
    KEPT.append(request.authorization.password)  # ~67 B a call
    return "ok"

def test_case(memguard):
    memguard.flask(app, "/keep", headers={"Authorization": "Basic " + TOKEN}, expect_status=200)
""",
        holder="KEPT",
    ),
    Case(
        "flask_rotating_clean",
        "clean",
        STATELESS_APP
        + """
def test_case(memguard):
    memguard.flask(app, "/", auth=lambda i: (f"user{i}", f"pw-{i:06d}"), expect_status=200)
""",
    ),
    Case(
        "lru_512_over_32KiB",
        "leak",
        """
import functools
import itertools
import pytest

SEQ = itertools.count()

@functools.lru_cache(maxsize=512)
def token_valid(token):
    return len(token) > 3

@pytest.mark.memguard(max_growth_kb=32, iterations=1000)  # fills at call ~512, then stays full
def test_case():
    assert token_valid(f"token-{next(SEQ):08d}-" + "x" * 40)
""",
        holder="token_valid",
    ),
)


def run_once(case: Case, workdir: Path) -> dict[str, object]:
    """One fresh session of one case: verdict, holder named, seconds."""
    test = workdir / f"test_{case.name}.py"
    test.write_text(textwrap.dedent(case.source))
    report, junit = workdir / f"{case.name}.json", workdir / f"{case.name}.xml"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:randomly",
            "-p",
            "no:asyncio",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--memguard-json={report}",
            f"--junitxml={junit}",
            str(test),
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    tests = json.loads(report.read_text())["tests"] if report.exists() else []
    seconds = sum(float(t.get("time", 0)) for t in ET.parse(junit).iter("testcase"))
    if len(tests) != 1 or tests[0]["error"] or not tests[0]["measured"]:
        return {"verdict": "error", "detail": done.stdout[-400:], "seconds": seconds}
    (entry,) = tests
    named = any(f"├─ .{case.holder} " in line for line in entry["explanation"])
    return {
        "verdict": "clean" if entry["passed"] else "leak",
        "shape": entry["shape"],
        "growth_kb": entry["growth_kb"],
        "held": named if case.holder and not entry["passed"] else None,
        "seconds": seconds,
        "detail": entry["reason"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions per case (default 3)")
    parser.add_argument("--cases", help="comma-separated subset of the cases")
    args = parser.parse_args(argv)
    chosen = [c for c in CASES if not args.cases or c.name in args.cases.split(",")]
    rows: dict[str, list[dict[str, object]]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="memguard-integrity-") as tmp:
        for _ in range(args.runs):
            for case in chosen:
                rows[case.name].append(run_once(case, Path(tmp)))
    head = (
        f"{'case':<30} {'truth':<5} {'verdicts':<12} {'right':<5} {'shape':<8} {'held':<4} {'s':>6}"
    )
    print(head)
    print("-" * len(head))
    wrong = 0
    for case in chosen:
        runs = rows[case.name]
        verdicts = [str(r["verdict"]) for r in runs]
        right = all(v == case.truth for v in verdicts)
        held = [r["held"] for r in runs if r.get("held") is not None]
        held_text = "-" if not case.holder else ("yes" if held and all(held) else "no")
        right = right and held_text != "no"
        wrong += not right
        seconds = sorted(float(str(r["seconds"])) for r in runs)[len(runs) // 2]
        summary = "/".join(sorted(set(verdicts)))
        print(
            f"{case.name:<30} {case.truth:<5} {summary:<12} {'yes' if right else 'NO':<5}"
            f" {runs[-1].get('shape', '-')!s:<8} {held_text:<4} {seconds:6.2f}"
        )
        if not right:
            print(f"    {runs[-1]['detail']}")
    print("-" * len(head))
    print(f"{len(chosen) - wrong}/{len(chosen)} cases right over {args.runs} run(s) each")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
