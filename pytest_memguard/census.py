"""Which types grew: objgraph for gc-tracked objects, pympler for all objects.

Both cost what the calls left behind, never the heap. ``tracked_growth`` runs at the end of
every measured loop while the heap is still frozen, so ``gc.get_objects()`` returns only objects
made since warm-up. To explain a failure, ``new_objects`` adds the untracked objects those hold
and that old containers gained, or took in place of old items, during the explanation pass:
that is how untracked growth (``str``, ``bytes``, ``int``) held by an old list or dict, the
commonest leak, is seen, and what a full cache that evicts holds.
"""

from __future__ import annotations

import gc
import operator
import sys
from collections.abc import Callable, Iterable
from itertools import chain, compress
from typing import cast

import objgraph
from pympler import summary

from pytest_memguard.result import TypeGrowth

TOP_TYPES = 10
NOISE_BYTES = 1024
#: Untracked objects looked at, at most, to explain one failure.
MAX_WALK = 1_000_000


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


def _noise(count: int, size: int, min_count: int = 2) -> bool:
    """A lone small object is interpreter or census churn (a context, a cell), not a trend."""
    return count < min_count and size < NOISE_BYTES


def _type_name(cls: type) -> str:
    """objgraph's long name for a type (``module.qualname``), so the two tables line up."""
    return f"{cls.__module__}.{cls.__name__}"


def _biggest_first(t: TypeGrowth) -> tuple[int, int, str]:
    return (-t.size_delta, -t.count_delta, t.name)


def new_objects(
    made: list[object], gained: list[object], is_new: Callable[[object], bool]
) -> list[object]:
    """What the calls left alive: ``made`` and the untracked objects they and ``gained`` hold.

    ``made`` is every gc-tracked object made by the calls (``gc.get_objects()`` on a heap frozen
    before them), so a tracked object is never asked about: it is in ``made`` or it is old.
    What old containers ``gained`` may be old or new; untracked objects (``str``, ``bytes``,
    ``int``, tuples of those) are new when ``is_new`` says so, and are followed into what they
    hold. The walk never enters an old object, so it costs what the calls left behind, not the
    heap. It goes level by level, each read in C in a few large lists: tracemalloc traces the
    walk, and a small list per object, each traced, cost more than the rest of it.
    """
    found = list(made)
    level = _untracked(gained)
    level.extend(_untracked_parts(made))
    # No set of ids seen: untracked objects cannot form a cycle (the gc untracks only what
    # cannot), so the walk ends; a cap guards against a C extension that breaks the rule. One
    # object reached twice is found twice and counted once, in ``retained_types``.
    steps = MAX_WALK
    while level and steps > 0:
        del level[steps:]
        steps -= len(level)
        fresh = list(compress(level, map(is_new, level)))
        found.extend(fresh)
        level = _untracked_parts(fresh)
    return found


def held_by(
    gained: list[object], made: list[object], is_new: Callable[[object], bool]
) -> list[object]:
    """The new objects among ``gained`` and those they hold through new objects only: what
    the holders' growth keeps, without what else the calls left alive (a context's state, a
    cached last value). ``made`` are the new gc-tracked objects; untracked objects are new
    when ``is_new`` says so. Tracked objects may form cycles: each is taken once."""
    made_ids = set(map(id, made))
    seen: set[int] = set()
    found: list[object] = []
    level = list(gained)
    steps = MAX_WALK
    while level and steps > 0:
        del level[steps:]
        steps -= len(level)
        fresh = [
            obj
            for obj in level
            if id(obj) not in seen and (id(obj) in made_ids if gc.is_tracked(obj) else is_new(obj))
        ]
        seen.update(map(id, fresh))
        found.extend(fresh)
        level = _parts(fresh)
    return found


#: Objects whose referents are read in one C call.
_SLICE = 65_536
_KEYS = cast(Callable[[object], Iterable[object]], dict.keys)  # C: runs no user code


def _untracked_parts(objects: list[object]) -> list[object]:
    """The untracked objects that ``objects`` refer to (see :func:`_parts`)."""
    return _untracked(_parts(objects))


def _parts(objects: list[object]) -> list[object]:
    """What ``objects`` refer to, and the keys of the dicts among them (``gc.get_referents``
    skips a dict's ``str`` keys)."""
    parts: list[object] = []
    for start in range(0, len(objects), _SLICE):
        parts.extend(gc.get_referents(*objects[start : start + _SLICE]))
    dict_types = {cls for cls in set(map(type, objects)) if issubclass(cls, dict)}
    dicts = compress(objects, map(dict_types.__contains__, map(type, objects)))
    parts.extend(chain.from_iterable(map(_KEYS, dicts)))
    return parts


def _untracked(objects: list[object]) -> list[object]:
    return list(compress(objects, map(operator.not_, map(gc.is_tracked, objects))))


def retained_types(
    objects: list[object], limit: int = TOP_TYPES, *, min_count: int = 2
) -> tuple[TypeGrowth, ...]:
    """Count and size ``objects`` by type (pympler), with how many of each the gc tracks.

    An object listed twice counts once. A type with fewer than ``min_count`` small objects is
    churn (over one call, a leak of one object a call has only one).
    """
    objects = list({id(o): o for o in objects}.values())
    tracked = {
        str(name): int(count)
        for name, count, _ in summary.summarize([o for o in objects if gc.is_tracked(o)])  # type: ignore[no-untyped-call]
    }
    rows = []
    for name, count, size in summary.summarize(objects):  # type: ignore[no-untyped-call]
        if _noise(count, size, min_count):
            continue
        rows.append(TypeGrowth(_short(name), count, size, "pympler", tracked.get(name, 0)))
    objects.clear()
    rows.sort(key=_biggest_first)
    return tuple(rows[:limit])


def _short(name: str) -> str:
    """pympler names types by their repr: ``<class 'str'>`` reads better as ``str``."""
    if name.startswith("<class '") and name.endswith("'>"):
        return name[8:-2]
    return name
