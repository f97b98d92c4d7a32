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
