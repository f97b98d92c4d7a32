"""The --memguard-report table as pure text."""

from __future__ import annotations

from conftest import result

from pytest_memguard.report import terminal


def test_the_table_escapes_lone_surrogates_and_stays_aligned() -> None:
    odd = result("test_caf\udce9.py::test_a", 1.0, label="run(f\udcff)")
    lines = terminal.render([odd, result("test_b.py::test_b", 2.0)])
    assert lines[1].startswith("test_caf\\udce9.py::test_a [run(f\\udcff)]  PASSED")
    assert lines[0].index("verdict") == lines[1].index("PASSED") == lines[2].index("PASSED")
    assert terminal.missing_lines(["t\udcff"]) == [
        "MISSING t\\udcff: no memguard result (its xdist worker crashed before reporting)"
    ]
