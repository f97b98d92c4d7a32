"""The resource corpus keeps its interface: a leak names its count and marks one line."""

from __future__ import annotations

import pytest

from benchmarks.corpus import RESOURCE_SCENARIOS, SCENARIOS, bounds, holder, kind, load, made_at


@pytest.mark.parametrize("name", RESOURCE_SCENARIOS)
def test_each_resource_scenario_declares_its_ground_truth(name: str) -> None:
    module = load(name)
    assert name not in SCENARIOS  # the memory corpus's tools never run it
    assert module.__doc__.startswith(f"{module.GROUND_TRUTH.upper()}:")
    assert name.startswith("rleak_" if module.GROUND_TRUTH == "leak" else "rclean_")
    assert isinstance(bounds(module), dict)
    assert holder(module) is None
    if module.GROUND_TRUTH == "leak":
        assert kind(module) in ("fds", "threads", "tasks", "processes")
        assert made_at(module).startswith(f"{name}.py:")
    else:
        assert kind(module) is None
