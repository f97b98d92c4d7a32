"""The verdict on synthetic series: the three shapes, extension, and the bound."""

from __future__ import annotations

import pytest

from pytest_memguard import verdict


def linear(n: int, per_call: int) -> list[int]:
    return [per_call * (i + 1) for i in range(n)]


def plateau(n: int, per_call: int, full_at: int) -> list[int]:
    return [per_call * min(i + 1, full_at) for i in range(n)]


def test_flat_series_is_flat_and_passes() -> None:
    d = verdict.decide([64] * 200, limit_bytes=64 * 1024)
    assert (d.shape, d.passed) == ("flat", True)


def test_steady_growth_fails_even_far_under_the_bound() -> None:
    d = verdict.decide(linear(200, 72), limit_bytes=64 * 1024)
    assert d.shape == "growing"
    assert not d.passed
    assert d.rate == pytest.approx(72)
    assert d.crosses_at == 200 + (64 * 1024 - 72 * 200 + 71) // 72
    assert "would cross the bound after" in d.reason


def test_growth_every_tenth_call_is_still_growing() -> None:
    series = [72 * ((i + 1) // 10) for i in range(200)]
    assert verdict.trend(series).shape == "growing"


def test_cache_that_fills_then_stops_is_a_plateau_under_the_bound() -> None:
    d = verdict.decide(plateau(200, 80, 50), limit_bytes=64 * 1024)
    assert (d.shape, d.passed, d.growth_bytes) == ("plateau", True, 4000)


def test_plateau_over_the_bound_fails_with_its_size() -> None:
    d = verdict.decide(plateau(200, 1024, 100), limit_bytes=64 * 1024)
    assert (d.shape, d.passed) == ("plateau", False)
    assert "over the bound of 64.0 KiB" in d.reason


def test_one_step_in_the_tail_is_not_growth() -> None:
    series = [0] * 150 + [128] * 50
    assert verdict.trend(series).shape == "flat"


def test_a_rise_is_extended_once_before_it_is_judged() -> None:
    rising = linear(200, 72)
    assert verdict.extension(rising, iterations=200, limit_bytes=64 * 1024) == 200
    assert verdict.extension(linear(400, 72), iterations=200, limit_bytes=64 * 1024) == 0
    assert verdict.extension([0] * 200, iterations=200, limit_bytes=64 * 1024) == 0


def test_a_rise_already_over_the_bound_is_not_extended() -> None:
    assert verdict.extension(linear(200, 1024), iterations=200, limit_bytes=64 * 1024) == 0


def test_cache_still_filling_at_first_then_plateau_after_extension() -> None:
    series = plateau(400, 80, 256)
    assert verdict.trend(series[:200]).shape == "growing"
    assert verdict.trend(series).shape == "plateau"


def test_short_and_empty_series() -> None:
    assert verdict.trend([]).shape == "flat"
    assert verdict.trend([10, 20, 30]).shape == "flat"
