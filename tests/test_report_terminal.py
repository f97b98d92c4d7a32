"""The --memguard-report table as pure text."""

from __future__ import annotations

from helpers import result

from pytest_memguard.report import terminal


def test_the_table_escapes_lone_surrogates_and_stays_aligned() -> None:
    odd = result("test_caf\udce9.py::test_a", 1.0, label="run(f\udcff)")
    lines = terminal.render([odd, result("test_b.py::test_b", 2.0)])
    assert lines[1].startswith("test_caf\\udce9.py::test_a [run(f\\udcff)]  PASSED")
    assert lines[0].index("verdict") == lines[1].index("PASSED") == lines[2].index("PASSED")
    assert terminal.missing_lines(["t\udcff"]) == [
        "MISSING t\\udcff: no memguard result (its xdist worker crashed before reporting)"
    ]


def _long(n: int) -> object:
    nodeid = f"tests/integration/auth/test_basic_auth_endpoints.py::test_login_rotating_{n}"
    return result(nodeid, 12.5 * n, label="flask GET /api/v1/profile")


def test_the_table_fits_the_terminal_keeping_test_verdict_and_growth() -> None:
    results = [_long(1), _long(2)]
    wide = terminal.render(results)
    assert max(len(line) for line in wide[:3]) > 80  # the case this is about
    lines = terminal.render(results, width=80)
    table = lines[:3]
    assert all(len(line) <= 80 for line in table), table
    assert table[0].split()[:3] == ["test", "verdict", "growth"]
    assert "PASSED" in table[1]
    assert "25.0 KiB" in table[2]
    # shortened from the middle: both ends of the node id stay
    assert table[1].startswith("tests/integ")
    assert "..." in table[1]
    assert "profile]" in table[1]
    assert "(left out to fit 80 columns: top growing type, limit" in "\n".join(lines)


def test_a_wide_terminal_keeps_every_column() -> None:
    lines = terminal.render([_long(1)], width=300)
    assert lines[0].split("  ")[0].strip() == "test"
    assert "top growing type" in lines[0]
    assert "limit" in lines[0]
    assert not any(line.startswith("(left out") for line in lines)


def test_web_runs_show_their_status_codes() -> None:
    from dataclasses import replace

    web = replace(result("t.py::test_web", 1.0), statuses={200: 200, 404: 20})
    lines = terminal.render([web, result("t.py::test_plain", 1.0)])
    header = lines[0]
    assert "status" in header
    column = header.index("status")
    assert lines[1][column:].startswith("200,404")
    assert lines[2][column:].startswith("-")
