"""Every failure explains itself: what grew, who holds it (a leak trace), where it was made."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

PATTERNS = (Path(__file__).parent / "data" / "leak_patterns.py").read_text()


def line_of(text: str) -> int:
    return next(i for i, line in enumerate(PATTERNS.splitlines(), 1) if text in line)


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One subprocess run of all six patterns (an in-process run would share log handlers)."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("patterns")
    (root / "test_leak_patterns.py").write_text(PATTERNS)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "--tb=long",
            "--showlocals",
            "-rA",
            "test_leak_patterns.py",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.stdout + done.stderr


def section(output: str, test: str) -> str:
    match = re.search(rf"_+ {re.escape(test)} _+\n(.*?)(?=\n_{{5,}} |\n=+ )", output, re.S)
    assert match, f"no failure section for {test}"
    return match.group(1)


@pytest.mark.parametrize(
    ("test", "trace", "sample", "allocated"),
    [
        ("test_pattern[/list]", ["._seen * list (+* items"], "str", "_seen.append"),
        ("test_pattern[/dict]", ["._cache * dict (+* items"], "dict", "_cache[token] ="),
        (
            "test_pattern[/class]",
            [".Registry * type", ".sessions * list (+* items"],
            "dict",
            "Registry.sessions.append",
        ),
        (
            "test_pattern[/signal]",
            [".request_finished * blinker.base.NamedSignal", ".receivers * dict (+* items"],
            "function r_signal.<locals>.on_finished() at",
            "def on_finished",
        ),
        (
            "test_pattern[/log]",
            [
                ".audit * logging.Logger",
                ".handlers * list",
                "[[]0] * *KeepAll",
                ".records * list (+* items",
            ],
            "logging.LogRecord",
            None,
        ),
        # The retained memory is frames and tracebacks, allocated inside Flask and werkzeug.
        ("test_bad_header", ["._errors * list (+* items"], "binascii.Error", None),
    ],
)
def test_each_pattern_names_holder_type_and_site(
    output: str, test: str, trace: list[str], sample: str, allocated: str | None
) -> None:
    text = section(output, test)
    lines = text.splitlines()
    assert any("still growing" in line for line in lines), text
    start = next(i for i, line in enumerate(lines) if line.strip() == "retained via:")
    block = lines[start:]
    # the shortest path may start at the test module or at the library that defines the global
    assert block[1].strip() in ("module test_leak_patterns", "module flask.signals")
    pytest.LineMatcher(block).fnmatch_lines([f"*├─ {t}*" for t in trace] + [f"*╰→ *{sample}*"])
    over = re.search(r"top growing types over (\d+) more calls:", text)
    assert over, text
    assert 20 <= int(over.group(1)) <= 50  # sized by the leak rate (guard.explain_calls)
    if allocated is not None:
        pytest.LineMatcher(lines).fnmatch_lines(
            ["*allocated at:", f"*at test_leak_patterns.py:{line_of(allocated)}*"]
        )


def test_all_six_fail_and_no_secret_appears(output: str) -> None:
    assert "6 failed" in output
    token = base64.b64encode(b"alice0:s3cret").decode()
    assert "s3cret" not in output
    assert token not in output
    assert "<redacted credential>" in output


FULL_CACHES = """
import functools
import itertools

import pytest

_keys = itertools.count()


@functools.lru_cache(maxsize=512)
def lookup(key):
    return "value-" * 16 + key


@pytest.mark.memguard(max_growth_kb=32)
def test_lru_cache():
    for _ in range(4):  # full after 128 calls, well within the measured ones
        lookup(f"key-{next(_keys)}" * 4)


MAX_TOKENS = 256
_tokens = {}
_users = itertools.count()


def remember(token, user):
    _tokens[token] = user
    while len(_tokens) > MAX_TOKENS:
        del _tokens[next(iter(_tokens))]  # the oldest


@pytest.mark.memguard(max_growth_kb=32)
def test_token_cache():
    for _ in range(4):
        i = next(_users)
        remember(f"token-{i:08d}" * 4, f"user-{i}" * 8)
"""


@pytest.mark.parametrize(
    ("test", "hops"),
    [
        (
            "test_lru_cache",
            ["├─ .lookup * functools._lru_cache_wrapper", "├─ * dict (* of 512 items new, *"],
        ),
        ("test_token_cache", ["├─ ._tokens * dict (* of 256 items new, *"]),
    ],
)
def test_a_full_cache_over_the_bound_names_its_holder(sub, test: str, hops: list[str]) -> None:
    """A bounded cache that filled during the measured calls stays full and gains nothing in
    the explanation pass, yet it holds the memory: its trace says so."""
    result = sub("-p", "no:randomly", "-k", test, test_full_caches=FULL_CACHES)
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "shape plateau" in text, text
    result.stdout.fnmatch_lines(
        ["*over the bound of 32.0 KiB*", "*top growing types*", "*str *", "*retained via:"]
        + [f"*{hop}*" for hop in hops]
        + ["*╰→ *"]
    )
