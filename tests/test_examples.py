"""The demo in examples/ does what the README promises: leaks caught, fixes pass."""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def examples(pytester: pytest.Pytester) -> pytest.Pytester:
    for path in EXAMPLES.glob("*.py"):
        shutil.copy(path, pytester.path / path.name)
    pytester.makeini("[pytest]\nconsole_output_style = classic\n")
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
