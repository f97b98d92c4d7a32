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

import objgraph

from pytest_memguard.result import TypeGrowth
from pytest_memguard.retainers import contents, untracked_containers

TOP_TYPES = 10
NOISE_BYTES = 1024


def tracked_growth(limit: int = TOP_TYPES) -> tuple[TypeGrowth, ...]:
    """Types of the gc-tracked objects made since ``gc.freeze()`` that are still alive.

    Written without closures or comprehensions over locals: those would make cell objects
    here, after the freeze, and the census would count its own.
    """
    new = gc.get_objects()
    sizes: dict[str, int] = {}
    try:
        counts = objgraph.typestats(objects=new, shortnames=False)
        for obj in new:
            name = _type_name(type(obj))
            sizes[name] = sizes.get(name, 0) + sys.getsizeof(obj, 0)
    finally:
        del new
    rows = []
    for name, count in counts.items():
        if _noise(count, sizes.get(name, 0)):
            continue
        rows.append(
            TypeGrowth(name.removeprefix("builtins."), count, sizes.get(name, 0), "objgraph")
        )
    rows.sort(key=_biggest_first)
    return tuple(rows[:limit])


def _noise(count: int, size: int) -> bool:
    """A lone small object is interpreter or census churn (a context, a cell), not a trend."""
    return count < 2 and size < NOISE_BYTES


def _type_name(cls: type) -> str:
    """objgraph's long name for a type (``module.qualname``), so the two tables line up."""
    return f"{cls.__module__}.{cls.__name__}"


def _biggest_first(t: TypeGrowth) -> tuple[int, int, str]:
    return (-t.size_delta, -t.count_delta, t.name)


class _Summary:
    """A pympler summary packed into three objects, so that it is easy to leave out of the next."""

    def __init__(self, exclude: tuple[object, ...] = ()) -> None:
        from pympler import muppy, summary

        objects = muppy.get_objects()
        # muppy walks from gc-tracked objects; a dict of str -> bool held by a module (a token
        # cache) is untracked, so add those containers and what they hold.
        for container, _ in untracked_containers():
            objects.append(container)
            objects.extend(contents(container))
        excluded = {id(x) for x in exclude} | {id(exclude)}
        unique = {id(o): o for o in objects if id(o) not in excluded}
        del objects
        rows = summary.summarize(list(unique.values()))  # type: ignore[no-untyped-call]
        unique.clear()
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


def full_census(
    run: Callable[[], None],
    *,
    exclude: Callable[[], tuple[object, ...]] = tuple,
    limit: int = TOP_TYPES,
) -> tuple[TypeGrowth, ...]:
    """Types whose live objects (tracked or not) grew while ``run()`` ran.

    ``exclude()`` names the caller's own bookkeeping after the run, not to be counted.
    """
    gc.collect()
    before = _Summary()
    tracked_before = objgraph.typestats(shortnames=False)
    run()
    gc.collect()
    tracked_after = objgraph.typestats(shortnames=False)
    bookkeeping = (*_own(tracked_before), *_own(tracked_after))
    after = _Summary(exclude=(*before.own(), bookkeeping, *bookkeeping, *exclude()))
    old = before.table()
    rows = []
    for name, (count, size) in after.table().items():
        c0, s0 = old.get(name, (0, 0))
        if not _noise(count - c0, size - s0):
            short = _short(name)
            long = short if "." in short else f"builtins.{short}"
            tracked = tracked_after.get(long, 0) - tracked_before.get(long, 0)
            rows.append(TypeGrowth(short, count - c0, size - s0, "pympler", tracked))
    rows.sort(key=_biggest_first)
    return tuple(rows[:limit])


def _own(counts: dict[str, int]) -> tuple[object, ...]:
    return (counts, *counts.keys(), *counts.values())


def _short(name: str) -> str:
    """pympler names types by their repr: ``<class 'str'>`` reads better as ``str``."""
    if name.startswith("<class '") and name.endswith("'>"):
        return name[8:-2]
    return name
