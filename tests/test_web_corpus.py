"""The web corpus in the suite: on every framework, leaks fail naming their holder, clean passes.

A subset of ``benchmarks/web_corpus`` (the benchmark, ``benchmarks/frameworks.py``, runs it
all): per framework the token cache and the per-request registration (whose holders are a
module global, ``app.state`` and Django's signal receivers) and the bounded cache (clean, the
one nearest its bound). One subprocess, only memguard loaded, every framework imported.
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

pytest.importorskip("fastapi")
pytest.importorskip("django")

from benchmarks.corpus import names_holder  # noqa: E402 (needs the path above)
from benchmarks.web_corpus import FRAMEWORKS, by_name  # noqa: E402

NAMES = [
    f"{framework}.{kind}"
    for framework in FRAMEWORKS
    for kind in ("leak_token_cache", "leak_registration", "clean_bounded_cache")
]

SOURCE = f"""\
import pytest

from benchmarks.web_corpus import BOUND_KB, by_name, drive


@pytest.fixture
def scenario(request):
    found = by_name(request.param)
    found.reset()
    yield found
    found.reset()


@pytest.mark.parametrize("scenario", {NAMES!r}, indirect=True)
def test_scenario(memguard, scenario):
    drive(memguard, scenario, max_growth_kb=BOUND_KB)
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Scenario -> its failure's text, or ``"(passed)"``."""
    root = tmp_path_factory.mktemp("web_corpus")
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "test_web_corpus.py").write_text(SOURCE)
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
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
            "-W",
            "ignore::DeprecationWarning",
            "--junitxml=report.xml",
            "test_web_corpus.py",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (root / "report.xml").exists(), done.stdout + done.stderr
    found = {}
    for case in ET.parse(root / "report.xml").iter("testcase"):
        name = case.get("name", "").removeprefix("test_scenario[").removesuffix("]")
        failure = case.find("failure")
        found[name] = "(passed)" if failure is None else failure.text or "(failed)"
    assert set(found) == set(NAMES), done.stdout + done.stderr
    return found


@pytest.mark.parametrize("name", NAMES)
def test_leaks_fail_naming_their_holder_and_clean_apps_pass(
    outcomes: dict[str, str], name: str
) -> None:
    scenario = by_name(name)
    text = outcomes[name]
    if scenario.truth == "clean":
        assert text == "(passed)", text
        return
    assert "LeakError" in text, text
    assert scenario.holder is not None
    assert names_holder(text, scenario.holder), text
    assert "measurement disturbed" not in text
