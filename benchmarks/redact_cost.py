#!/usr/bin/env python3
"""What redaction costs on a large report: CPU seconds per ``Secrets.redact`` of one big text.

    python benchmarks/redact_cost.py [--kib 1024] [--runs 5]

Redaction runs on every report of every test (tracebacks, diffs, locals, captured output) and
on every result, so its cost is paid on clean runs too. The text is a failing test's long
report: traceback lines with code locations, ``--showlocals`` dicts, assertion diffs cut with
``...``, base64-looking ids and a few credentials glued inside words. Each row is a set of
known credentials, learnt outside (``everywhere``) or inside (``scoped``) the running test;
the time is the best of ``--runs`` (CPU time, so that other load on the machine counts less).
"""

from __future__ import annotations

import argparse
import base64
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_memguard.redact import REDACTED, Secrets

BLOCK = """\
    def test_login_{n}(client):
        headers = basic_auth("user{n}", "pw-{n}-secret")
>       assert client.get("/profile/{n}", headers=headers).status_code == 200
E       AssertionError: assert 401 == 200
E        +  where 401 = <WrapperTestResponse streamed [401 UNAUTHORIZED]>.status_code
client     = <FlaskClient <Flask 'app'>>
headers    = {{'Authorization': 'Basic {token}', 'X-Request-Id': 'c2Vzc2lvbi0{n:06d}Zm9v'}}
E       - {{'id': {n}, 'name': 'bob', 'roles': ['admin', 'user'], 'token': 'abcdefgh...'}}
E       + {{'id': {n}, 'name': 'bob', 'roles': ['admin'], 'session': 'xs3cret1_{n}_value'}}
tests/test_login.py:{n}: AssertionError
"""


def report(kib: int) -> str:
    """A report of about ``kib`` KiB, made of failing-test blocks."""
    blocks: list[str] = []
    size = 0
    n = 0
    while size < kib * 1024:
        token = base64.b64encode(f"user{n}:pw-{n}-secret".encode()).decode()
        block = BLOCK.format(n=n, token=token)
        blocks.append(block)
        size += len(block)
        n += 1
    return "".join(blocks)


def credentials(n: int, short: bool) -> list[tuple[str, str]]:
    if short:
        return [("bob", "s3cret"), ("u", "1")] + [(f"u{i}", f"p{i}") for i in range(n - 2)]
    return [("mallory", "s3cret")] + [(f"user{i}", f"pw-{i}-secret") for i in range(n - 1)]


def build(pairs: list[tuple[str, str]], scoped: bool) -> Secrets:
    secrets = Secrets()
    if scoped:
        secrets.begin_test()
    for user, password in pairs:
        secrets.add(user, password)
    return secrets


def best(fn: Callable[[], object], runs: int) -> float:
    times: list[float] = []
    for _ in range(runs):
        started = time.process_time()
        fn()
        times.append(time.process_time() - started)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--kib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    text = report(args.kib)
    rows = [
        ("no credentials", 0, False, False),
        ("1 credential, everywhere", 1, False, False),
        ("1 credential, scoped", 1, False, True),
        ("short ones (s3cret, 1, p0...), scoped", 100, True, True),
        ("100 credentials, scoped", 100, False, True),
        ("1,000 credentials, scoped", 1000, False, True),
        ("10,000 credentials, everywhere", 10000, False, False),
    ]
    print(f"one report of {len(text) / 1024:,.0f} KiB ({text.count(chr(10)):,} lines);")
    print(f"CPU seconds, best of {args.runs}")
    print(f"{'credentials':<40} {'learn s':>8} {'redact s':>9} {'MiB/s':>7} {'redacted':>9}")
    for name, n, short, scoped in rows:
        pairs = credentials(n, short) if n else []
        learn = best(lambda: build(pairs, scoped), 1)  # noqa: B023 (called at once)
        secrets = build(pairs, scoped)
        out = secrets.redact(text)
        seconds = best(lambda: secrets.redact(text), args.runs)  # noqa: B023
        rate = len(text) / 1024 / 1024 / seconds if seconds else float("inf")
        print(f"{name:<40} {learn:8.3f} {seconds:9.3f} {rate:7.1f} {out.count(REDACTED):9,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
