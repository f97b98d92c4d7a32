"""Which types grew: objgraph for gc-tracked objects, pympler for all objects.

Two costs, two moments. ``tracked_growth`` runs at the end of every measured loop while the
heap is still frozen, so ``gc.get_objects()`` returns only objects made since warm-up and the
count is O(new objects). ``full_census`` walks the whole heap with pympler (hundreds of ms), so
it runs only to explain a failure; it is the only way to see untracked growth (``str``,
``bytes``, ``int``) held by old containers, which is how the commonest leaks look.
"""

from __future__ import annotations

import gc
import sys
from array import array
from collections.abc import Callable

from pytest_memguard.result import TypeGrowth

TOP_TYPES = 10


def tracked_growth(limit: int = TOP_TYPES) -> tuple[TypeGrowth, ...]:
    """Types of the gc-tracked objects made since ``gc.freeze()`` that are still alive."""
    import objgraph

    new = gc.get_objects()
    try:
        counts = {
            name.removeprefix("builtins."): n
            for name, n in objgraph.typestats(objects=new, shortnames=False).items()
        }
        sizes: dict[str, int] = {}
        for obj in new:
            name = objgraph._long_typename(obj).removeprefix("builtins.")
            sizes[name] = sizes.get(name, 0) + sys.getsizeof(obj, 0)
    finally:
        del new
    rows = [
        TypeGrowth(name, count, sizes.get(name, 0), "objgraph") for name, count in counts.items()
    ]
    rows.sort(key=lambda t: (-t.size_delta, -t.count_delta, t.name))
    return tuple(rows[:limit])


class _Summary:
    """A pympler summary packed into three objects, so that it is easy to leave out of the next."""

    def __init__(self, exclude: tuple[object, ...] = ()) -> None:
        from pympler import muppy, summary

        objects = [o for o in muppy.get_objects() if not any(o is x for x in exclude)]
        rows = summary.summarize(objects)
        del objects
        self.names = "\n".join(str(row[0]) for row in rows)
        self.counts = array("q", (int(row[1]) for row in rows))
        self.sizes = array("q", (int(row[2]) for row in rows))

    def own(self) -> tuple[object, ...]:
        return (self, self.__dict__, self.names, self.counts, self.sizes)

    def table(self) -> dict[str, tuple[int, int]]:
        return {
            name: (count, size)
            for name, count, size in zip(
                self.names.split("\n"), self.counts, self.sizes, strict=True
            )
        }


def full_census(run: Callable[[], None], limit: int = TOP_TYPES) -> tuple[TypeGrowth, ...]:
    """Types whose live objects (tracked or not) grew while ``run()`` ran."""
    gc.collect()
    before = _Summary()
    run()
    gc.collect()
    after = _Summary(exclude=before.own())
    old = before.table()
    rows = []
    for name, (count, size) in after.table().items():
        c0, s0 = old.get(name, (0, 0))
        if size - s0 > 0 or count - c0 > 0:
            rows.append(TypeGrowth(_short(name), count - c0, size - s0, "pympler"))
    rows.sort(key=lambda t: (-t.size_delta, -t.count_delta, t.name))
    return tuple(rows[:limit])


def _short(name: str) -> str:
    """pympler names types by their repr: ``<class 'str'>`` reads better as ``str``."""
    if name.startswith("<class '") and name.endswith("'>"):
        return name[8:-2]
    return name
