"""Settings: validation messages and precedence, resolved in one place."""

from __future__ import annotations

import math

import pytest

from pytest_memguard import settings as s
from pytest_memguard.settings import Settings, SettingsError


def test_defaults() -> None:
    assert s.resolve() == Settings(200, 20, 64.0, False)


def test_precedence_later_layers_win() -> None:
    ini = s.layer({"iterations": "50", "warmup": "5"}, source=lambda k: f"ini {k}")
    cli = s.layer({"iterations": "80", "warmup": None}, source=lambda k: f"--{k}")
    marker = s.check_keywords({"iterations": 120}, source="marker")
    resolved = s.resolve(ini, cli, marker)
    assert (resolved.iterations, resolved.warmup) == (120, 5)
    assert s.resolve(ini, cli).iterations == 80


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"iterations": 0}, "iterations=0 is not valid"),
        ({"warmup": -1}, "warmup=-1 is not valid"),
        ({"max_growth_kb": "abc"}, "max_growth_kb='abc' is not valid"),
        ({"max_growth_kb": math.nan}, "max_growth_kb=nan"),
        ({"max_growth_kb": math.inf}, "max_growth_kb=inf"),
        ({"max_growth_kb": -5}, "KiB > 0"),
        ({"iterations": True}, "iterations=True"),
        ({"iterations": 2.5}, "iterations=2.5"),
        ({"max_grwth_kb": 1}, "did you mean 'max_growth_kb'?"),
        ({"bogus": 1}, "use one of max_growth_kb, iterations, warmup"),
    ],
)
def test_bad_keywords_name_the_problem_and_the_source(keywords: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=r"^marker: ") as info:
        s.check_keywords(keywords, source="marker")
    assert message in str(info.value)


def test_none_keyword_means_unset() -> None:
    assert s.check_keywords({"iterations": None}, source="x") == {}


def test_bad_ini_value_names_the_key() -> None:
    with pytest.raises(SettingsError, match="ini memguard_warmup: warmup='many'"):
        s.layer({"warmup": "many"}, source=lambda k: f"ini memguard_{k}")


def test_limit_bytes() -> None:
    assert Settings(max_growth_kb=1.5).limit_bytes == 1536


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1e308, "max_growth_kb=1e+308"),
        ("1e308", "max_growth_kb=1e+308"),
        (10**401, "max_growth_kb=<an integer of about 402 digits>"),
        (s.MAX_GROWTH_KB + 1, f"max_growth_kb={s.MAX_GROWTH_KB + 1}"),
        ("9" * 400, "max_growth_kb=inf"),
    ],
)
def test_a_bound_beyond_one_tib_is_refused_before_it_can_overflow(
    value: object, shown: str
) -> None:
    with pytest.raises(SettingsError) as info:
        s.check_keywords({"max_growth_kb": value}, source="marker")
    message = str(info.value)
    assert message.startswith(f"marker: {shown}")
    assert "at most 1,073,741,824 (1 TiB)" in message


def test_the_largest_bound_still_makes_an_exact_byte_limit() -> None:
    settings = s.resolve(s.check_keywords({"max_growth_kb": s.MAX_GROWTH_KB}, source="x"))
    assert settings.limit_bytes == 1024**4


def test_a_value_whose_repr_fails_or_is_huge_still_gets_a_message() -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    with pytest.raises(SettingsError, match=r"iterations=<a Hostile object> is not valid"):
        s.check_keywords({"iterations": Hostile()}, source="marker")
    with pytest.raises(SettingsError, match=r"iterations=<an integer of about 5001 digits>"):
        s.check_keywords({"iterations": 10**5000}, source="marker")
    with pytest.raises(SettingsError, match=r"iterations='9999.*\.\.\. is not valid"):
        s.check_keywords({"iterations": "9" * 5000}, source="marker")
