"""A failure points at the culprit: every corpus leak's explanation names the container holding it.

Each leak module of ``benchmarks/corpus`` says in ``HOLDER`` which attribute keeps its growth;
one subprocess runs every leak through ``memguard.flask`` (as ``benchmarks/run.py``'s fixture
mode does) and each scenario's failure must be a ``LeakError`` whose leak trace has the hop
``├─ .HOLDER``. The benchmark reports the same fact (its ``held`` column); this keeps it true.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.corpus import (  # noqa: E402 (needs the path above)
    SCENARIOS,
    holder,
    load,
    names_holder,
)

LEAKS = [name for name in SCENARIOS if load(name).GROUND_TRUTH == "leak"]

SOURCE = """\
import pytest

from benchmarks.corpus import SCENARIOS, bound_kb, load

LEAKS = [name for name in SCENARIOS if load(name).GROUND_TRUTH == "leak"]


@pytest.fixture
def module(request):
    module = load(request.param)
    module.reset()
    yield module
    module.reset()


@pytest.mark.parametrize("module", LEAKS, indirect=True)
def test_leak(memguard, module):
    memguard.flask(module.create_app(), **module.SCENARIO, max_growth_kb=bound_kb(module))
"""


@pytest.fixture(scope="module")
def failures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """One subprocess for all leaks: scenario -> (failure message, full failure text).

    Only memguard is loaded (as in the benchmark), from this checkout; the JUnit XML gives each
    test's whole failure text, as the report's ``longrepr``.
    """
    root = tmp_path_factory.mktemp("corpus")
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "test_corpus_leaks.py").write_text(SOURCE)
    env = dict(os.environ)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.pop("PYTEST_ADDOPTS", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "pytest_memguard.plugin",
            "-p",
            "no:cacheprovider",
            "-q",
            "--junitxml=report.xml",
            "test_corpus_leaks.py",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert (root / "report.xml").exists(), output
    result = {}
    for case in ET.parse(root / "report.xml").iter("testcase"):
        name = case.get("name", "")
        failure = case.find("failure")
        scenario = name.removeprefix("test_leak[").removesuffix("]")
        if failure is None:
            result[scenario] = ("(passed)" if case.find("error") is None else "(error)", "")
        else:
            result[scenario] = (failure.get("message", ""), failure.text or "")
    assert set(result) == set(LEAKS), output
    return result


def test_every_leak_names_a_holder_and_no_clean_app_does() -> None:
    assert LEAKS, "no leak scenarios"
    for name in SCENARIOS:
        module = load(name)
        assert (holder(module) is not None) == (module.GROUND_TRUTH == "leak"), name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("    ├─ ._auth_log               list (+50 items, +3.0 KiB)", True),
        ("E       ├─ ._auth_log               list", True),
        ("    ├─ ._auth_log", True),
        ("    ├─ ._auth_log_v2            list (+50 items)", False),
        ("    ├─ .x_auth_log              list", False),
        ("    ╰→ ._auth_log               str", False),
        ("    ├─ [0]                      list  # ._auth_log", False),
        ("  module benchmarks.corpus.leak_global_list._auth_log", False),
    ],
)
def test_names_holder_wants_a_whole_hop(text: str, expected: bool) -> None:
    assert names_holder(f"LeakError: memguard\n{text}\n  allocated at:", "_auth_log") is expected


@pytest.mark.parametrize("scenario", LEAKS)
def test_leak_failure_names_its_holder(failures: dict[str, tuple[str, str]], scenario: str) -> None:
    message, text = failures[scenario]
    assert "LeakError" in message, f"{scenario} did not fail with a LeakError: {message}\n{text}"
    held_by = holder(load(scenario))
    assert held_by is not None
    trace = "\n".join(line for line in text.splitlines() if "├─" in line or "╰→" in line)
    assert names_holder(text, held_by), (
        f"{scenario}: no hop '├─ .{held_by}' in the leak trace:\n{trace or text}"
    )
