"""Known caches and ignore= entries are kept out of verdicts, and shown as ignored."""

from __future__ import annotations

import pytest

from pytest_memguard.caches import CacheDropper, IgnoreList
from pytest_memguard.errors import MemguardUsageError

TOKEN_APP = """
import pytest
TOKENS = {}
n = [0]

def remember():
    n[0] += 1
    TOKENS[f"token-{n[0]}"] = "x" * 40
"""


def test_known_cache_filling_is_not_a_leak_and_is_listed(run, pytester: pytest.Pytester) -> None:
    result = run(
        "--memguard-report",
        "--memguard-json=report.json",
        test_re="""
        import re, pytest
        n = [0]

        @pytest.mark.memguard(max_growth_kb=16)
        def test_unique_patterns():
            n[0] += 1
            assert re.match(f"user{n[0]}:[a-z]+", f"user{n[0]}:abc")
        """,
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["ignored in test_re.py::test_unique_patterns: re:_cache (built-in: compiled regular*"]
    )
    import json

    entry = json.loads((pytester.path / "report.json").read_text())["tests"][0]
    assert any(item.startswith("re:_cache (built-in:") for item in entry["ignored"])


def test_ignored_holder_is_kept_out_of_the_verdict(run, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(tokenapp=TOKEN_APP)
    result = run(
        test_tok="""
        import pytest, tokenapp

        @pytest.mark.memguard(max_growth_kb=1000)
        def test_without_ignore():
            tokenapp.remember()

        @pytest.mark.memguard(max_growth_kb=1000, ignore=["tokenapp:TOKENS"])
        def test_with_ignore():
            tokenapp.remember()

        def test_fixture_ignore(memguard):
            result = memguard.run(tokenapp.remember, ignore=["tokenapp:TOKENS"])
            assert result.passed and result.shape != "growing"
            assert result.ignored[-1].startswith("tokenapp:TOKENS (ignore=): up to +")
        """,
    )
    result.assert_outcomes(failed=1, passed=2)
    result.stdout.fnmatch_lines(["*_ test_without_ignore _*", "*├─ .TOKENS * dict (+* items*"])


def test_ignored_holders_of_any_object_size_are_taken_out_as_the_counters_see_them(run) -> None:
    # A float is 24 bytes but one block (counted 64); a 1 KiB buffer is a block and a malloc
    # chunk: sized in bytes, each left a steady rest that read as growing. A leak beside an
    # ignored holder is still caught.
    result = run(
        test_sizes="""
        import pytest

        LATENCIES, BODIES, PAIRS, AUDIT = [], [], {}, []

        @pytest.mark.memguard(ignore=["test_sizes:LATENCIES"])
        def test_floats():
            LATENCIES.append(len(LATENCIES) + 0.5)

        @pytest.mark.memguard(ignore=["test_sizes:BODIES"])
        def test_buffers():
            BODIES.append(bytes(1024 + len(BODIES) % 7))

        @pytest.mark.memguard(ignore=["test_sizes:PAIRS"])
        def test_dict_of_tuples():
            PAIRS[f"k{len(PAIRS)}"] = (len(PAIRS) * 1000, "x" * 600)

        @pytest.mark.memguard(ignore=["test_sizes:LATENCIES"])
        def test_leak_beside_it():
            LATENCIES.append(len(LATENCIES) + 0.5)
            AUDIT.append("y" * 90 + str(len(AUDIT)))
        """,
    )
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*_ test_leak_beside_it _*", "*├─ .AUDIT * list (+* items*"])


def test_ini_ignore_and_bad_holder(run, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(tokenapp=TOKEN_APP)
    pytester.makeini(
        "[pytest]\nconsole_output_style = classic\nmemguard_ignore =\n    tokenapp:TOKENS\n"
    )
    pytester.makepyfile(
        test_ini="""
        import pytest, tokenapp

        @pytest.mark.memguard(max_growth_kb=1000)
        def test_ini_ignores_it():
            tokenapp.remember()

        @pytest.mark.memguard(ignore=["tokenapp:NOPE"])
        def test_bad_holder():
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*ignore='tokenapp:NOPE': cannot find it*module:attribute*"])
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


def test_ignore_list_matching_and_resolution() -> None:
    ignore = IgnoreList(["json:JSONDecoder", "LogRecord", "collections:OrderedDict"])
    assert ignore.holders == ("json:JSONDecoder", "collections:OrderedDict")
    assert ignore.type("logging.LogRecord")
    assert ignore.type("LogRecord")
    assert not ignore.type("Record")
    assert ignore.holder("json:JSONDecoder.parse_object")
    assert not ignore.holder("json:JSONDecoderX")
    import collections
    import json

    assert ignore.resolve() == [json.JSONDecoder, collections.OrderedDict]
    with pytest.raises(MemguardUsageError, match="ignore='nosuchmodule_x:Y': cannot find it"):
        IgnoreList(["nosuchmodule_x:Y"]).resolve()


def test_dropper_records_only_after_warmup() -> None:
    import re

    dropper = CacheDropper()
    re.compile("warm-up pattern [0-9]+")
    dropper()  # end of warm-up: emptied, not recorded
    assert dropper.names() == ()
    re.compile("measured pattern [a-z]+")
    dropper()
    assert dropper.names() == ("re:_cache",)
    assert re._cache == {}


def test_holder_sizes_follow_growth_without_sizing_the_whole_holder_again() -> None:
    from pytest_memguard.caches import HolderSizes, counted_size

    tokens: dict[str, str] = {}
    log: list[bytes] = []
    sizes = HolderSizes([tokens, log])
    assert sizes() == counted_size([tokens]) + counted_size([log])
    for n in range(2000):
        tokens[f"token-{n:06d}"] = f"user-{n}"
        log.append(bytes(100 + n % 7))
        total = sizes()
    exact = counted_size([tokens]) + counted_size([log])
    assert exact <= total <= exact * 1.05  # shared parts may count twice, never less
    tokens.clear()  # shrank: sized whole again
    assert sizes() == counted_size([tokens]) + counted_size([log])


def test_counted_size_is_the_counters_view_and_runs_no_user_code() -> None:
    from pytest_memguard.caches import counted_size
    from pytest_memguard.measure import BLOCK_BYTES

    class Sized:
        def __sizeof__(self) -> int:
            raise AssertionError("user code ran")

    floats = [0.5 + n for n in range(10)]
    assert counted_size(floats) == 10 * BLOCK_BYTES  # 24 bytes each, one block each
    assert counted_size([bytes(1000)]) == BLOCK_BYTES + 1056  # 1,033 bytes: a block, a chunk
    assert counted_size([None, True, 7, int, len]) == 0  # shared, not the holder's
    assert counted_size([{"key": "value-1"}]) == 4 * BLOCK_BYTES  # dict, table, key, value
    assert counted_size([Sized()]) >= BLOCK_BYTES
