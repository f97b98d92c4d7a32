"""End to end: ``benchmarks/run.py --quick`` prints its table and memguard's verdicts.

The benchmark is how the README's claims are regenerated; this keeps it runnable. It checks
verdicts and the table's shape, never timings (those belong to the benchmark, not to a test).
"""

from __future__ import annotations

from helpers import run_benchmark


def test_quick_benchmark_prints_the_table_and_the_verdicts() -> None:
    done = run_benchmark(
        "run.py",
        "--quick",
        "--scenarios",
        "leak_global_list,clean_stateless",
        "--no-memray",
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {
        line.split()[0]: line.split()
        for line in done.stdout.splitlines()
        if line.startswith(("leak_global_list ", "clean_stateless "))
    }
    header = next(line.split() for line in done.stdout.splitlines() if line.startswith("scenario"))
    # scenario, truth, then one verdict per memguard mode: marker, fixture, marker+basic_auth
    assert header[:5] == ["scenario", "truth", "marker", "fixture", "auth"], header
    assert rows["leak_global_list"][1:5] == ["leak", "leak", "leak", "leak"], done.stdout
    assert rows["clean_stateless"][1:5] == ["clean", "clean", "clean", "clean"], done.stdout
    assert "target checks" in done.stdout
    assert "leaks caught  1/1" in done.stdout
    # then whether memguard's failures named the leak's holder (the module's HOLDER)
    assert header[5] == "held", header
    assert rows["leak_global_list"][5] == "yes", done.stdout
    assert rows["clean_stateless"][5] == "-", done.stdout
    assert "every caught leak names its holder (memguard marker): 1/1" in done.stdout
    assert "every caught leak names its holder (memguard fixture): 1/1" in done.stdout
    assert "every caught leak names its holder (memguard marker+basic_auth): 1/1" in done.stdout


def test_integrity_cases_are_all_judged_right() -> None:
    """Each way a verdict was once silently wrong is a row, and every row is right."""
    done = run_benchmark("integrity.py", "--runs", "1", timeout=300)
    rows = [line.split() for line in done.stdout.splitlines() if line.split()[:1] != ["case"]]
    cases = {row[0]: row for row in rows if len(row) >= 7 and row[1] in ("leak", "clean")}
    assert {"basic_auth_rotating_marker", "unittest_leak", "lru_512_over_32KiB"} <= set(cases)
    assert all(row[3] == "yes" for row in cases.values()), done.stdout + done.stderr
    assert done.returncode == 0, done.stdout + done.stderr


def test_sensitivity_benchmark_prints_its_tables_and_meets_its_rule() -> None:
    done = run_benchmark("sensitivity.py", "--quick", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("leak ") and "caught" in line for line in lines), done.stdout
    assert any(line.startswith("smallest steady leak caught 3/3: ") for line in lines)
    few = lines.index(next(line for line in lines if line.strip().startswith("iterations")))
    assert [line.split()[0] for line in lines[few + 1 : few + 5]] == ["16", "24", "40", "48"]
    assert "MISSED" not in done.stdout


def test_resource_benchmark_catches_its_leaks_with_their_lines() -> None:
    """The corpus part only: the cost is a timing, which belongs to the benchmark."""
    done = run_benchmark(
        "resources.py",
        "--scenarios",
        "rleak_raw_fd,rleak_thread_per_request,rclean_thread_finishes",
        "--cost-runs",
        "0",
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("r")]
    verdicts = {(r[0], r[2]): r[3:5] for r in rows}
    for mode in ("marker", "fixture"):
        assert verdicts["rleak_raw_fd", mode] == ["caught", "fds"], done.stdout
        assert verdicts["rleak_thread_per_request", mode] == ["caught", "threads"], done.stdout
        assert verdicts["rclean_thread_finishes", mode][0] == "ok", done.stdout
    assert all(r[-2] == "yes" for r in rows if r[0].startswith("rleak")), done.stdout
