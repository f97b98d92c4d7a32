"""The demo in examples/ does what the README promises: leaks caught, fixes pass."""

from __future__ import annotations

import base64
import fnmatch
import importlib.util
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
#: The demo command of the README, run from the repository root.
DEMO = ("examples", "--memguard-report")


@pytest.fixture
def examples(pytester: pytest.Pytester) -> pytest.Pytester:
    """A copy of the demo as a project of its own: its files and its pytest.ini."""
    for path in [*EXAMPLES.glob("*.py"), EXAMPLES / "pytest.ini"]:
        shutil.copy(path, pytester.path / path.name)
    return pytester


def line_of(text: str) -> int:
    source = (EXAMPLES / "leaky_app.py").read_text().splitlines()
    return next(i for i, line in enumerate(source, 1) if text in line)


def test_leaky_variant_fails_and_fixed_variant_passes(examples: pytest.Pytester) -> None:
    result = examples.runpytest_subprocess("-p", "no:cacheprovider", "--memguard-report")
    result.assert_outcomes(failed=3, passed=3)
    rows = (
        re.match(r"(\S+)(?: \[.*?\])?\s+(PASSED|FAILED)\s", line) for line in result.stdout.lines
    )
    outcomes = {m.group(1): m.group(2) for m in rows if m}
    assert {k: v for k, v in outcomes.items() if "leaky_app" in k} == {
        "test_auth_memory.py::test_login_does_not_leak[leaky_app]": "FAILED",
        "test_auth_memory.py::test_profile_is_bounded[leaky_app]": "FAILED",
        "test_auth_memory.py::test_rotating_credentials_are_bounded[leaky_app]": "FAILED",
    }
    assert all(v == "PASSED" for k, v in outcomes.items() if "fixed_app" in k)


def test_failure_names_the_growing_type_and_the_leaking_line(examples: pytest.Pytester) -> None:
    result = examples.runpytest_subprocess("-p", "no:cacheprovider", "-k", "login and leaky")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*still growing at ~* B/call*",
            "*str * +* objects*",
            f"*at leaky_app.py:{line_of('_auth_log.append')}",
        ]
    )


def test_credentials_never_appear_in_any_output(examples: pytest.Pytester) -> None:
    result = examples.runpytest_subprocess(
        "-p", "no:cacheprovider", "--tb=long", "--showlocals", "--memguard-report", "-rA"
    )
    output = result.stdout.str() + result.stderr.str()
    assert "LeakError" in output
    token = base64.b64encode(b"alice:s3cret").decode()
    for secret in ("s3cret", token, "alice:s3cret"):
        assert secret not in output.replace("test_auth_memory.py", "")


def failure_blocks() -> dict[str, list[str]]:
    """The real failure the README and the docs show, after their ``demo-failure`` marker."""
    blocks = {}
    for page in (ROOT / "README.md", ROOT / "docs" / "failures.md"):
        text = page.read_text(encoding="utf-8")
        found = re.search(r"<!-- demo-failure[^\n]*-->\n```\n(.*?)\n```", text, re.DOTALL)
        assert found, f"{page.name}: no failure block after a '<!-- demo-failure' marker"
        blocks[page.name] = found.group(1).splitlines()
    return blocks


def test_the_readme_demo_command_runs_in_file_order_and_shows_the_documented_failure(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pytest examples --memguard-report`` as a user types it: no option from this suite."""
    assert importlib.util.find_spec("pytest_randomly"), "a test extra: this check needs it"
    shutil.copytree(EXAMPLES, pytester.path / "examples")
    monkeypatch.delenv("PYTEST_ADDOPTS")  # set by conftest for inner runs; a user has none
    result = pytester.runpytest_subprocess(*DEMO)
    result.assert_outcomes(failed=3, passed=3)
    output = result.stdout.str()
    assert "randomly" not in output  # neither its seed line nor its plugin
    assert re.findall(r"^FAILED examples/test_auth_memory.py::(\w+)", output, re.M) == [
        "test_login_does_not_leak",
        "test_profile_is_bounded",
        "test_rotating_credentials_are_bounded",
    ]
    lines = result.stdout.lines
    for page, block in failure_blocks().items():
        for line in block:
            # Sizes, rates, counts and line numbers vary a little from run to run, and the
            # padding of the columns after them with their width.
            pattern = re.sub(r"\d[\d,.]*", "*", line.replace("[", "[[]"))
            pattern = re.sub(r"(?<=\S) {2,}", "*", pattern)
            assert fnmatch.filter(lines, pattern), f"{page}: not in the demo's output: {line!r}"


def test_framework_examples_fail_leaky_and_pass_fixed_naming_each_holder(
    pytester: pytest.Pytester,
) -> None:
    """``pytest examples/frameworks``: one leaky/fixed pair per framework, the same keywords."""
    shutil.copytree(EXAMPLES, pytester.path / "examples")
    result = pytester.runpytest_subprocess(
        "examples/frameworks", "-p", "no:cacheprovider", "-rA", "--tb=long", "--showlocals"
    )
    result.assert_outcomes(failed=4, passed=4)
    output = result.stdout.str()
    failed = set(re.findall(r"^FAILED \S+::(\w+\[\w+\])", output, re.M))
    assert failed == {
        "test_fastapi_profile[leaky]",
        "test_starlette_tokens[leaky]",
        "test_wsgi_login[leaky]",
        "test_django_profile[leaky]",
    }
    for hop in ("├─ .logins", "├─ ._tokens", "├─ ._auth_log", "├─ .receivers"):
        assert hop in output
    token = base64.b64encode(b"alice:s3cret").decode()
    for secret in ("s3cret", token):
        assert secret not in output.replace("test_frameworks.py", "")


def test_the_flask_demo_leaves_the_framework_examples_out(pytester: pytest.Pytester) -> None:
    shutil.copytree(EXAMPLES, pytester.path / "examples")
    result = pytester.runpytest_subprocess("examples", "-p", "no:cacheprovider", "--co", "-q")
    assert "frameworks" not in result.stdout.str()
