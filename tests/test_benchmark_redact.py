"""End to end: ``benchmarks/redact_cost.py`` prints its table on a small report, and every row
redacts what it knows (never timings)."""

from __future__ import annotations

from helpers import run_benchmark


def test_redact_cost_prints_a_row_per_credential_set() -> None:
    done = run_benchmark("redact_cost.py", "--kib", "16", "--runs", "1", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[2].split() == ["credentials", "learn", "s", "redact", "s", "MiB/s", "redacted"]
    rows = {line[:40].strip(): line[40:].split() for line in lines[3:]}
    assert len(rows) == 7
    redacted = {name: int(cells[-1].replace(",", "")) for name, cells in rows.items()}
    # Unknown "Basic" tokens only, then more with every credential known.
    assert 0 < redacted["no credentials"] < redacted["1 credential, everywhere"]
    assert redacted["1 credential, everywhere"] == redacted["1 credential, scoped"]
    assert redacted["100 credentials, scoped"] > redacted["1 credential, scoped"]
    assert redacted["10,000 credentials, everywhere"] >= redacted["100 credentials, scoped"]
