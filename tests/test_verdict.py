"""The verdict on synthetic series: the three shapes, extension, and the bound."""

from __future__ import annotations

import random

import pytest

from pytest_memguard import verdict
from pytest_memguard.measure import Samples


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


# --- noise, steady rises and one-time steps (issue 10) ----------------------------------------


def jitter(n: int, amplitude: int, seed: int = 1) -> list[int]:
    """Two-state noise like another thread's allocator state: 0 or ``amplitude`` per call."""
    rng = random.Random(seed)
    return [amplitude * rng.randint(0, 1) for _ in range(n)]


def test_noise_is_the_second_largest_fall_between_calls() -> None:
    assert verdict.noise(linear(200, 64)) == 0
    assert verdict.noise([0, 500, 100, 400, 350]) == 50  # falls 400 and 50
    assert verdict.noise([2048, 0, 0]) == 0  # one fall from the baseline on: a one-time event
    assert verdict.noise(jitter(200, 2300)) == 2300


def test_a_steady_leak_is_growing_however_few_the_calls_the_settings_accept() -> None:
    for n in range(verdict.MIN_ITERATIONS, 120):
        assert verdict.trend(linear(n, 64)).shape == "growing", n
        assert verdict.extension(linear(n, 64), iterations=n, limit_bytes=64 * 1024) == n


def test_windows_of_one_call_cannot_tell_a_rise_from_a_step() -> None:
    # the settings' minimum: the second half of the calls makes 4 windows of 2 calls
    n = verdict.MIN_ITERATIONS
    assert (n - n // 2) // verdict.WINDOWS == 2
    assert verdict.trend(linear(n - 2, 128)).shape == "plateau"


def test_a_filling_cache_plus_one_noise_step_in_the_last_window_is_a_plateau() -> None:
    # A ring buffer that stops filling just inside the last window, and one 64-byte message
    # of another thread there (xdist's worker): over the bound, so it is not run longer.
    series = [80 * min(i + 1, 170) for i in range(200)]
    series[190:] = [s + 64 for s in series[190:]]
    assert verdict.extension(series, iterations=200, limit_bytes=8 * 1024) == 0
    d = verdict.decide(series, limit_bytes=8 * 1024)
    assert (d.shape, d.passed) == ("plateau", False)
    assert d.reason.startswith("retained 13.3 KiB over the bound of 8.0 KiB")


def test_one_step_in_every_window_is_not_steady_growth() -> None:
    # a rise made of one step per window is still worth a longer run, never a verdict alone
    series = [4096 * ((i + 1) // 25) for i in range(200)]
    assert verdict.trend(series).rising
    assert verdict.trend(series).shape == "plateau"
    assert verdict.extension(series, iterations=200, limit_bytes=64 * 1024) == 200


def test_jitter_is_not_growth_and_a_flat_series_within_its_noise_is_flat() -> None:
    for seed in range(50):
        t = verdict.trend(jitter(400, 2300, seed))
        assert (t.shape, t.noise_bytes) == ("flat", 2300), seed


def test_a_leak_larger_than_the_jitter_is_still_caught() -> None:
    series = [64 * 8 * (i + 1) + j for i, j in enumerate(jitter(400, 2300))]
    t = verdict.trend(series)
    assert t.shape == "growing"
    assert t.rate == pytest.approx(512, rel=0.1)


def test_a_one_time_step_is_not_counted_and_is_named() -> None:
    series = [0] * 150 + [964_400] * 50
    d = verdict.decide(series, limit_bytes=64 * 1024)
    assert (d.shape, d.passed, d.growth_bytes) == ("flat", True, 0)
    assert d.steps == (verdict.Step(call=151, size_bytes=964_400),)
    assert d.reason == (
        "flat at 0.0 KiB; not counted: +941.8 KiB at call 151, a one-time step"
        " (8x more than all else retained)"
    )


def test_a_step_among_real_growth_counts() -> None:
    # a cache whose table doubles while it fills: the step is part of what it keeps
    series = [min(i + 1, 100) * 1024 + (64 * 1024 if i >= 60 else 0) for i in range(200)]
    d = verdict.decide(series, limit_bytes=64 * 1024)
    assert d.steps == ()
    assert (d.shape, d.passed, d.growth_bytes) == ("plateau", False, 164 * 1024)


def test_small_steps_always_count() -> None:
    series = [0] * 100 + [verdict.STEP_MIN_BYTES - 1] * 100
    assert verdict.decide(series, limit_bytes=8 * 1024).passed is False


def test_a_leak_beside_a_one_time_step_is_extended_and_judged_without_it() -> None:
    series = [72 * (i + 1) + (2 * 1024 * 1024 if i >= 80 else 0) for i in range(200)]
    assert verdict.extension(series, iterations=200, limit_bytes=64 * 1024) == 200
    d = verdict.decide(series, limit_bytes=64 * 1024)
    assert d.shape == "growing"
    assert d.growth_bytes == 72 * 199  # the step's call keeps its 72 bytes in the step
    assert d.rate == pytest.approx(72)
    assert "would cross the bound" in d.reason
    assert "a one-time step" in d.reason


# --- the two counters judged apart as well as together -------------------------------------


def _blocks_and_malloc(n: int, *, every: int, jitter: int) -> tuple[list[int], list[int]]:
    """A block kept every ``every`` calls, beside a malloc'd buffer of ``jitter`` bytes that
    comes and goes every few calls (Flask's on 3.10)."""
    blocks = [64 * (i // every) for i in range(1, n + 1)]
    malloc = [jitter if (i // 3) % 2 else 0 for i in range(n)]
    return blocks, malloc


def test_a_slow_leak_in_one_counter_is_growing_though_the_other_hides_it_in_the_sum() -> None:
    blocks, malloc = _blocks_and_malloc(200, every=3, jitter=900)
    total = [b + m for b, m in zip(blocks, malloc, strict=True)]
    assert verdict.trend(total).shape != "growing"  # the sum's noise is the buffer
    d = verdict.decide(total, limit_bytes=64 * 1024, parts=(blocks, malloc))
    assert (d.shape, d.passed) == ("growing", False)
    assert d.rate == pytest.approx(64 / 3, rel=0.1)
    assert d.growth_bytes == total[-1]  # the growth is the sum's


def test_a_rise_in_one_counter_is_extended_before_it_is_judged() -> None:
    blocks, malloc = _blocks_and_malloc(200, every=3, jitter=900)
    total = [b + m for b, m in zip(blocks, malloc, strict=True)]
    assert verdict.extension(total, iterations=200, limit_bytes=64 * 1024) == 0
    more = verdict.extension(total, iterations=200, limit_bytes=64 * 1024, parts=(blocks, malloc))
    assert more == 200


def test_a_counter_that_fills_and_stops_beside_jitter_passes() -> None:
    blocks = plateau(200, 64, 60)
    malloc = [900 if (i // 3) % 2 else 0 for i in range(200)]
    total = [b + m for b, m in zip(blocks, malloc, strict=True)]
    d = verdict.decide(total, limit_bytes=64 * 1024, parts=(blocks, malloc))
    assert (d.shape, d.passed) == ("plateau", True)


def test_an_object_moving_from_one_counter_to_the_other_is_not_growth() -> None:
    # A list whose item array outgrows pymalloc's 512 bytes moves it to malloc: one counter
    # falls as the other rises, once.
    blocks = [64 * 8 if i < 150 else 0 for i in range(200)]
    malloc = [0 if i < 150 else 600 for i in range(200)]
    total = [b + m for b, m in zip(blocks, malloc, strict=True)]
    d = verdict.decide(total, limit_bytes=64 * 1024, parts=(blocks, malloc))
    assert d.passed
    assert d.shape != "growing"


def test_the_counters_are_not_judged_apart_when_ignored_holders_grew() -> None:
    # An ignored holder of large buffers grows in malloc and is taken out of the sum only:
    # judged alone, the malloc bytes would rise steadily though the sum is flat.
    blocks = tuple(range(200))
    malloc = tuple(1024 * (i + 1) for i in range(200))
    ignored = tuple(64 * b + m for b, m in zip(blocks, malloc, strict=True))
    samples = Samples(blocks, malloc, 20, (), ignored)
    assert samples.parts == ()
    d = verdict.decide(samples.retained, limit_bytes=64 * 1024, parts=samples.parts)
    assert (d.shape, d.passed) == ("flat", True)
    assert Samples(blocks, malloc, 20).parts == (tuple(64 * b for b in blocks), malloc)


def test_a_failed_decision_read_again_after_threads_ended_passes_only_within_the_bound() -> None:
    rising = [3000 * i for i in range(1, 201)]  # threads still running: their memory rises
    failed = verdict.decide(rising, limit_bytes=64 * 1024)
    assert not failed.passed
    settled = verdict.settled(failed, 2048, threads=57)
    assert (settled.passed, settled.shape, settled.growth_bytes) == (True, "plateau", 2048)
    assert "the 57 thread(s) still running after call 200 had ended" in settled.reason
    assert verdict.settled(failed, 512, threads=57).shape == "flat"
    assert verdict.settled(failed, 65 * 1024, threads=57) is failed  # kept: still a failure
    passed = verdict.decide([0] * 200, limit_bytes=64 * 1024)
    assert verdict.settled(passed, 0, threads=3) is passed
