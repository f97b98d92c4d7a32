"""What grew, counted by type: only what the calls left alive, never the rest of the heap."""

from __future__ import annotations

import gc
import tracemalloc

from pytest_memguard import census
from pytest_memguard.explain import _allocated_in_pass
from pytest_memguard.measure import frozen_heap
from pytest_memguard.result import TypeGrowth


def by_name(rows: tuple[TypeGrowth, ...]) -> dict[str, TypeGrowth]:
    return {row.name: row for row in rows}


def test_new_objects_counts_what_new_objects_hold_and_not_what_is_old() -> None:
    old = "an-old-string-" * 3
    kept: list[object] = []
    tracemalloc.start(1)
    try:
        with frozen_heap():
            for i in range(30):
                kept.append({"old": old, "new": f"token-{i}" * 4})  # a dict of atoms: untracked
                kept.append([f"item-{i}" * 4])  # a list: tracked, holding an untracked str
            made = gc.get_objects()
        found = census.new_objects(made, kept[-60:], _allocated_in_pass)
    finally:
        tracemalloc.stop()
    rows = by_name(census.retained_types(found))
    assert rows["str"].count_delta == 60  # the 30 tokens and 30 items; never the old string
    assert rows["dict"].count_delta == 30
    assert rows["dict"].tracked_delta == 0
    assert rows["list"].tracked_delta == 30
    kept.clear()


def test_an_object_reached_twice_counts_once() -> None:
    shared = object()
    rows = by_name(census.retained_types([shared, shared, *[object() for _ in range(3)]]))
    assert rows["object"].count_delta == 4
