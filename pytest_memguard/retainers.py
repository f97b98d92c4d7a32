"""Who holds a leak: containers that gained or replaced items during the explanation pass,
traced back to a module global.

LeakCanary draws a leak trace from a GC root; this draws one from a module global. Objects are
read without running their code: only ``type()`` checks and the C-level methods of the builtin
containers (``list.__len__(o)``, ``dict.keys(o)``), never ``isinstance`` (a Flask ``request``
proxy answers ``__class__`` by looking up the request context, which raises outside one), never
``getattr`` (a property is user code), never a user ``__repr__``.

Whole-heap work is done in C wherever it can be: ``map`` over the C methods of the containers,
``itertools.compress`` to select, one ``gc.get_referrers`` per level of a search. A loaded test
suite has a million objects, and a Python loop over them costs seconds.
"""

from __future__ import annotations

import gc
import itertools
import operator
import sys
import types
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from typing import Any, cast

from pytest_memguard.redact import Secrets, short_repr


@dataclass(frozen=True)
class _Kind:
    """How to read one builtin container without running user code.

    ``items`` yields what it holds in insertion order (a dict's keys and values alike: the gc
    does not report ``str`` keys as referents); ``newest`` is its latest item and how a reader
    would index it (a key, an index, or ``MEMBER`` for a set), for the leak trace. ``base`` is
    the builtin itself: its C methods (``base.__len__``, ``base.__reversed__``) read a subclass
    without running its overrides.
    """

    base: type
    length: Callable[[Any], int]
    items: Callable[[Any], Iterable[object]]
    newest: Callable[[Any], tuple[object, object]]
    ordered: bool = True  # a set keeps no order: its newest items cannot be told apart
    per_item: int = 1  # objects ``items`` yields per item: a key and a value for a dict


def _dict_items(d: Any) -> Iterator[object]:
    for key, value in dict.items(d):
        yield key
        yield value


def _dict_newest(d: Any) -> tuple[object, object]:
    key = next(reversed(dict.keys(d)))
    return key, dict.__getitem__(d, key)


def _list_newest(o: Any) -> tuple[object, object]:
    return list.__len__(o) - 1, list.__getitem__(o, -1)


#: The "index" of a set's item: sets keep no order.
MEMBER = object()

_KINDS: tuple[tuple[type, _Kind], ...] = (
    (list, _Kind(list, list.__len__, list.__iter__, _list_newest)),
    (dict, _Kind(dict, dict.__len__, _dict_items, _dict_newest, per_item=2)),
    (
        set,
        _Kind(set, set.__len__, set.__iter__, lambda o: (MEMBER, next(set.__iter__(o))), False),
    ),
    (deque, _Kind(deque, deque.__len__, deque.__iter__, lambda o: (-1, deque.__getitem__(o, -1)))),
)
#: Leak traces shown per failure, the holders that gained most first.
MAX_HOLDERS = 3
#: Width of a hop's label in a leak trace, so that the types line up.
HOP_WIDTH = 24
#: A key shown in a trace is cut to this many characters (after redaction).
KEY_WIDTH = 40
#: Hops searched from a holder back to a module before giving up on a path.
MAX_DEPTH = 16


class Kinds(dict[type, "_Kind | None"]):
    """Which builtin container a type is, if any, remembered per type for one walk.

    A heap walk asks for every object, and four ``issubclass`` calls each would dominate it.
    Made per walk, never kept: it holds the types it has seen, user classes included.
    """

    def __missing__(self, cls: type) -> _Kind | None:
        kind = next((k for base, k in _KINDS if issubclass(cls, base)), None)
        self[cls] = kind
        return kind


def _kind(obj: object, kinds: Kinds | None = None) -> _Kind | None:
    return (kinds if kinds is not None else Kinds())[type(obj)]


#: Objects whose referents are read in one C call while looking for untracked dicts.
_SLICE = 65_536
_FUNCTION = types.FunctionType


def _referents(*objects: object) -> list[object]:
    """``gc.get_referents(*objects)``, never of the ``_asyncio`` module.

    CPython 3.12 (gh-122695) traverses that module's free list of dead future iterators:
    ``gc.get_referents`` hands them out, dropping them frees them a second time, the free list
    becomes a cycle, and the next heap walk (``gc.get_referrers``) never ends. Any asyncio
    code leaves iterators there (an ASGI app driven by memguard does); the module holds no
    user data. Filtered in C: a slice of the heap at a time costs no Python loop.
    """
    unsafe = sys.modules.get("_asyncio")
    if unsafe is not None and any(map(operator.is_, objects, repeat(unsafe))):
        objects = tuple(compress(objects, map(operator.is_not, objects, repeat(unsafe))))
    return gc.get_referents(*objects)


def _containers(own: Sequence[object] = ()) -> list[list[object]]:
    """Every builtin container the gc tracks, and every untracked one a tracked object holds:
    one list per entry of ``_KINDS``, leaving out the objects in ``own``.

    A dict of atoms (a ``str -> str`` token cache) is not tracked by the gc, so
    ``gc.get_objects()`` alone would miss the commonest leak holder wherever it lives: a module
    global, a class attribute, an instance attribute, the cache of an ``lru_cache``. Only an
    exact ``dict`` can be untracked (lists, sets, deques and dict subclasses always are
    tracked), so the untracked ones are the exact dicts among what tracked objects refer to,
    read in C a slice of the heap at a time. Functions are not read: a third of what the heap
    refers to, and the only dicts of atoms they hold themselves are their annotations, keyword
    defaults and attributes (a cache kept in a default, a closure or an attribute is held by a
    tuple, a cell or a ``__dict__`` that the gc tracks, and is found there).
    """
    objects = gc.get_objects()
    kinds = Kinds()
    kind_of = {cls: kind for cls in set(map(type, objects)) if (kind := kinds[cls]) is not None}
    mine = {id(objects), *map(id, own)}
    containers = list(compress(objects, map(kind_of.__contains__, map(type, objects))))
    holders = list(compress(objects, map(operator.is_not, map(type, objects), repeat(_FUNCTION))))
    untracked: dict[int, object] = {}
    for start in range(0, len(holders), _SLICE):
        parts = _referents(*holders[start : start + _SLICE])
        dicts = list(compress(parts, map(operator.is_, map(type, parts), repeat(dict))))
        del parts
        fresh = list(compress(dicts, map(operator.not_, map(gc.is_tracked, dicts))))
        untracked.update(zip(map(id, fresh), fresh, strict=True))
        del dicts, fresh
    del objects, holders
    containers.extend(untracked.values())
    untracked.clear()
    groups: list[list[object]] = []
    for _, kind in _KINDS:
        of_kind = {cls for cls, k in kind_of.items() if k is kind}
        group = list(compress(containers, map(of_kind.__contains__, map(type, containers))))
        groups.append(
            list(compress(group, map(operator.not_, map(mine.__contains__, map(id, group)))))
        )
    containers.clear()
    return groups


def contents(container: object, kinds: Kinds | None = None) -> list[object]:
    """What a builtin container holds, keys included (gc.get_referents skips ``str`` keys)."""
    kind = _kind(container, kinds)
    if kind is None:
        return []
    try:
        return list(kind.items(container))
    except Exception:  # changed size while read, or a broken subclass: nothing to report
        return []


def added_items(container: object, added: int) -> list[object]:
    """The newest ``added`` items of a container (keys and values for a dict); a set, which
    keeps no order, gives all its items."""
    kind = _kind(container)
    if kind is None or added <= 0:
        return []
    try:
        items = list(kind.items(container))
    except Exception:
        return []
    return items[-added * kind.per_item :] if kind.ordered else items


#: What an empty container's newest item is, for :meth:`Lengths.replaced`.
_EMPTY = object()


def _newest_items(kind: _Kind, group: list[object]) -> Iterator[object]:
    """The newest item of each container of ``group`` (its last key for a dict), in C."""
    return map(next, map(kind.base.__reversed__, group), repeat(_EMPTY))  # type: ignore[attr-defined]


class Lengths:
    """Every container that could hold a leak, with its length, to see which ones grew; and
    each ordered one holding ``min_items`` or more, with its newest item, to see which ones
    replaced what they held.

    It holds the containers themselves, for the length of one explanation pass. Reading them
    again is then a few ``map`` and ``compress`` calls in C that allocate almost nothing (no
    index, no ``id()``, no argument tuple: exact builtins are measured with ``len``, which
    runs no user code on them; only subclasses need ``list.__len__`` and the like): it runs
    while tracemalloc traces every allocation, at a cost of microseconds each. A container
    the code drops during the pass is only kept alive until :meth:`clear`.
    """

    def __init__(self) -> None:
        # One slot per kind and exactness: exact builtins first, then their subclasses.
        self.kinds = [kind for _, kind in _KINDS] * 2
        self.measures: list[Callable[[Any], int]] = [len] * len(_KINDS)
        self.measures.extend(kind.length for _, kind in _KINDS)
        self.groups: list[list[object]] = [[] for _ in self.kinds]
        self.lengths = [array("q") for _ in self.kinds]
        self.full: list[list[object]] = [[] for _ in self.kinds]
        self.full_lengths = [array("q") for _ in self.kinds]
        self.newest: list[list[object]] = [[] for _ in self.kinds]

    @property
    def containers(self) -> list[object]:
        return [obj for group in self.groups for obj in group]

    def take(self, *, min_items: int = 2) -> None:
        """Read every container; watch for replaced items in those with ``min_items`` or more."""
        self.clear()
        own = (self, *vars(self).values(), *self.groups, *self.full, *self.newest)
        exact, subclass = self.groups[: len(_KINDS)], self.groups[len(_KINDS) :]
        for (base, _), found, mine, theirs in zip(
            _KINDS, _containers(own), exact, subclass, strict=True
        ):
            is_base = list(map(operator.is_, map(type, found), repeat(base)))
            mine.extend(compress(found, is_base))
            theirs.extend(compress(found, map(operator.not_, is_base)))
        for slot, kind in enumerate(self.kinds):
            group, lengths = self.groups[slot], self.lengths[slot]
            lengths.extend(map(self.measures[slot], group))
            if kind.ordered:
                big = list(map(operator.ge, lengths, repeat(min_items)))
                self.full[slot].extend(compress(group, big))
                self.full_lengths[slot].extend(compress(lengths, big))
                self.newest[slot].extend(_newest_items(kind, self.full[slot]))

    def grown(
        self, *, min_added: int = 1, skip: Callable[[object], bool] = lambda obj: False
    ) -> list[tuple[int, object]]:
        """Containers that gained at least ``min_added`` items since :meth:`take`, most first;
        of those that gained as many, the one that holds more first: it has grown for longer
        (a leak's holder over the whole run, where a class's dict of its subclasses gains as
        many over a pass of a test that makes classes).

        ``skip`` leaves out containers the caller does not count (the ones it ignores).
        """
        grown: list[tuple[int, int, object]] = []
        for measure, group, before in zip(self.measures, self.groups, self.lengths, strict=True):
            added = array("q", map(operator.sub, map(measure, group), before))
            more = list(map(operator.ge, added, repeat(min_added)))
            lengths = compress(before, more)
            for count, obj, length in zip(
                compress(added, more), compress(group, more), lengths, strict=True
            ):
                if not skip(obj):
                    grown.append((count, length + count, obj))
        grown.sort(key=_by_added_then_held, reverse=True)
        return [(count, obj) for count, _, obj in grown]

    def replaced(
        self,
        *,
        min_new: int,
        is_new: Callable[[object], bool],
        skip: Callable[[object], bool] = lambda obj: False,
    ) -> list[tuple[int, object]]:
        """Containers that hold ``min_new`` or more items made since :meth:`take` without having
        grown by as many, most first: a full cache that evicts an old entry for each new one.

        A container that stays full gains nothing, yet it is what keeps the memory over the
        bound. Only the containers whose newest item changed are read item by item (a set,
        which keeps no order, is never). ``is_new`` tells an object made since :meth:`take`.
        """
        found: list[tuple[int, object]] = []
        for slot, kind in enumerate(self.kinds):
            if not kind.ordered:
                continue
            full, before = self.full[slot], self.full_lengths[slot]
            changed = list(map(operator.is_not, self.newest[slot], _newest_items(kind, full)))
            for length, obj in zip(compress(before, changed), compress(full, changed), strict=True):
                now = kind.length(obj)
                if now < min_new or now - length >= min_new or skip(obj):
                    continue
                count, _ = new_items(obj, is_new)
                if count >= min_new:
                    found.append((count, obj))
        found.sort(key=_by_added, reverse=True)
        return found

    def clear(self) -> None:
        for kept in (*self.groups, *self.full, *self.newest):
            kept.clear()
        for numbers in (*self.lengths, *self.full_lengths):
            del numbers[:]


def new_items(container: object, is_new: Callable[[object], bool]) -> tuple[int, list[object]]:
    """How many items of a container are new (a dict entry is when its key or its value is),
    and the new objects themselves."""
    kind = _kind(container)
    if kind is None:
        return 0, []
    items = contents(container)
    fresh = list(map(is_new, items))
    new = list(compress(items, fresh))
    if kind.per_item == 1:
        return len(new), new
    entries = sum(map(operator.or_, fresh[::2], fresh[1::2]))
    return entries, new


@dataclass(frozen=True)
class Holder:
    """A container that gained (or, full, replaced) ``added`` items, and its leak trace.

    ``path`` is the holder as users name it in ``ignore=``: ``module:attribute.attribute``.
    """

    added: int
    trace: tuple[str, ...]
    path: str = ""


def holders(
    grown: list[tuple[int, object]],
    *,
    secrets: Secrets,
    ignored: Callable[[str], bool] = lambda path: False,
    replaced: list[tuple[int, object]] | None = None,
    roots: Sequence[tuple[str, object]] = (),
    memo: ChainMemo | None = None,
) -> tuple[Holder, ...]:
    """Leak traces of the first ``MAX_HOLDERS`` containers that are not ``ignored``: those that
    ``grown`` first, then those that ``replaced`` items (a full cache); of those searched, the
    ones a module (or a root) reaches come before the ones only a frame, a thread or C code
    holds (a base class's dict of its subclasses), which a user cannot look up.

    Holders whose path ``ignored(path)`` accepts are left out (known caches, ``ignore=``). The
    chains of up to ``MAX_CANDIDATES`` of them are searched together, from the modules and
    from ``roots`` (see :func:`chains`; ``memo`` has the chains of earlier explanations).
    """
    candidates = [(added, obj, False) for added, obj in grown]
    candidates.extend((count, obj, True) for count, obj in replaced or ())
    del candidates[MAX_CANDIDATES:]
    targets = [obj for _, obj, _ in candidates]
    try:
        found_chains = chains(targets, roots=roots, memo=memo)
    finally:
        targets.clear()
    found: list[Holder] = []
    searched = sorted(zip(candidates, found_chains, strict=True), key=_unreached)  # stable
    for (added, obj, full), chain in searched:
        if len(found) == MAX_HOLDERS:
            break
        path, lines = trace(obj, added, secrets=secrets, chain=chain, replaced=full)
        if not ignored(path):
            found.append(Holder(added, lines, path))
    candidates.clear()
    found_chains.clear()
    searched.clear()
    return tuple(found)


def _unreached(searched: tuple[object, list[object]]) -> bool:
    """Whether a candidate's chain is the holder alone: nothing a user can name reaches it."""
    return len(searched[1]) == 1


def _by_added(entry: tuple[int, object]) -> int:
    return entry[0]


def _by_added_then_held(entry: tuple[int, int, object]) -> tuple[int, int]:
    return entry[0], entry[1]


#: Candidate holders whose chains are searched, at most.
MAX_CANDIDATES = 8
#: A backward search level with more objects than this is left to the forward walk.
MAX_WIDTH = 64
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: its instances refer to their class
_FLAGS = type.__dict__["__flags__"]  # read from the C struct: a metaclass cannot override it


def _is_heap_type(cls: type) -> bool:
    """A class made by a ``class`` statement (or ``type()``): its instances refer to it."""
    return bool(_FLAGS.__get__(cls) & _HEAPTYPE)


def backref_chain(target: object, *, max_depth: int = MAX_DEPTH) -> list[object]:
    """The shortest chain of references from a module to ``target``: ``[module, ..., target]``,
    or ``[target]`` if there is none. See :func:`chains`."""
    return chains([target], max_depth=max_depth)[0]


def chains(
    targets: Sequence[object],
    *,
    max_depth: int = MAX_DEPTH,
    roots: Sequence[tuple[str, object]] = (),
    memo: ChainMemo | None = None,
) -> list[list[object]]:
    """For each target, the shortest chain ``[module, ..., target]`` from a module in
    ``sys.modules``, or ``[target]`` if there is none within ``max_depth`` references.

    A leak holder is usually a few references from its module (a global, a class attribute,
    an instance's attribute), so each target is first searched backwards, one
    ``gc.get_referrers(*level)`` per level: a heap scan in C per hop, not per object. The
    search stops at a module's ``__dict__`` (its module is the root), and does not follow an
    instance's reference to its class (every instance of a class has one). A target left
    unfound once a level is wider than ``MAX_WIDTH`` (it is held through pytest's own objects,
    a frame, many instances) is looked for in one breadth-first walk forward from every
    module, shared by all such targets: one bounded pass over what the modules reach. The
    collector is paused meanwhile: nothing may change under the search.

    ``roots`` are named objects that a chain may also start from, after the modules: the app
    a web driver drives, which the test holds in a frame, not in a module. Each becomes a
    module of that name whose globals are the object's attributes, so its leak trace reads
    ``module <name>`` then ``├─ .state`` and on, as for a module global.

    ``memo`` has the chains found by earlier searches of the run: a target found before is
    traced through the same chain while every hop still refers to the next (see
    :class:`ChainMemo`), and the chains searched here are added to it.
    """
    known = [memo.get(target) if memo is not None else None for target in targets]
    pending = [target for target, chain in zip(targets, known, strict=True) if chain is None]
    # The lists here refer to the targets and their known hops: not referrers to follow.
    mine = {id(targets), id(known), id(pending), *(id(c) for c in known if c is not None)}
    searched = iter(_search(pending, max_depth, roots, mine) if pending else [])
    found = [chain if chain is not None else next(searched) for chain in known]
    if memo is not None:
        for chain, known_chain in zip(found, known, strict=True):
            if known_chain is None:
                memo.put(chain)
    pending.clear()
    return found


def _search(
    targets: Sequence[object],
    max_depth: int,
    roots: Sequence[tuple[str, object]],
    mine: set[int],
) -> list[list[object]]:
    """The search of :func:`chains`; ``mine`` has the ids of the caller's own lists."""
    modules = _modules() + [_as_module(name, obj) for name, obj in roots]
    dicts = {id(module.__dict__): (rank, module) for rank, module in enumerate(modules)}
    enabled = gc.isenabled()
    gc.disable()
    try:
        own = {id(targets), id(dicts), *mine}  # the search's own lists refer to targets
        found = _backward(targets, dicts, own, max_depth)
        pending = [i for i, chain in enumerate(found) if chain is None]
        if pending:
            forward = _forward([targets[i] for i in pending], modules, max_depth)
            for i, chain in zip(pending, forward, strict=True):
                found[i] = chain
    finally:
        if enabled:
            gc.enable()
    return [
        chain if chain is not None else [target]
        for chain, target in zip(found, targets, strict=True)
    ]


#: Chains a :class:`ChainMemo` keeps, at most (the oldest are dropped first).
MEMO_CHAINS = 64


class ChainMemo:
    """The chains found by earlier explanations of a run, as the ids of their hops from a
    module named in ``sys.modules``; ints only, so it keeps nothing alive.

    The scan explains every confirmed test, and the tests of one suite often leak into the
    same holder (click's ``_default_text_stdout`` in 20 of Flask's): the backward search costs
    a heap scan per hop (~35 ms on Flask's suite), checking a known chain costs one
    ``gc.get_referents`` per hop. A chain is used again only if its module is still the one in
    ``sys.modules`` and each hop still refers to the next, ending at the target itself (so a
    reused id can never lead elsewhere). A chain that appears later through another module is
    not looked for: the holder keeps the name it was first traced by.
    """

    def __init__(self) -> None:
        self._chains: dict[int, tuple[str, tuple[int, ...]]] = {}

    def get(self, target: object) -> list[object] | None:
        """The remembered chain to ``target``, checked hop by hop, or None."""
        entry = self._chains.get(id(target))
        if entry is None:
            return None
        name, ids = entry
        module = sys.modules.get(name)
        if type(module) is not types.ModuleType or id(module) != ids[0]:
            return None
        chain: list[object] = [module]
        for wanted in ids[1:]:
            hop = next((o for o in _referents(chain[-1]) if id(o) == wanted), None)
            if hop is None:
                return None
            chain.append(hop)
        return chain if chain[-1] is target else None

    def put(self, chain: Sequence[object]) -> None:
        """Remember a chain that starts at a module of ``sys.modules`` (not at a root)."""
        module = chain[0]
        if len(chain) < 2 or type(module) is not types.ModuleType:
            return
        name = module.__name__
        if sys.modules.get(name) is not module:
            return
        self._chains.pop(id(chain[-1]), None)
        self._chains[id(chain[-1])] = (name, tuple(map(id, chain)))
        while len(self._chains) > MEMO_CHAINS:
            del self._chains[next(iter(self._chains))]


def _modules() -> list[types.ModuleType]:
    """The modules a chain may start from, the most recently imported first: on a tie, a
    chain from the test's or the app's module reads better than one from a library that
    re-exports the same object, and a package is imported before the modules it re-exports."""
    seen: set[int] = set()
    modules = []
    for module in reversed(list(sys.modules.values())):
        if type(module) is types.ModuleType and id(module) not in seen:
            seen.add(id(module))
            modules.append(module)
    return modules


def _as_module(name: str, obj: object) -> types.ModuleType:
    """A stand-in module for a root object: its globals are the object's attributes, read
    without running its code (the C ``__dict__`` slot of its class, never a property)."""
    module = types.ModuleType(name)
    slot = next(
        (k.__dict__["__dict__"] for k in type(obj).__mro__ if "__dict__" in k.__dict__), None
    )
    if type(slot) is types.GetSetDescriptorType:
        # Read through the slot: Python 3.11+ keeps an instance's attributes inline, and its
        # gc referents are then the values, with no dict to read names from.
        attributes = slot.__get__(obj)
        if type(attributes) is dict:
            for key, value in dict.items(attributes):
                if type(key) is str and not key.startswith("__"):
                    module.__dict__[key] = value
    return module


def _backward(
    targets: Sequence[object],
    dicts: dict[int, tuple[int, types.ModuleType]],
    caller: set[int],
    max_depth: int,
) -> list[list[object] | None]:
    """The chain to each target searched backwards level by level, all targets at once (one
    ``gc.get_referrers`` over the union of their levels per hop: a heap scan per hop, not per
    hop and target); ``None`` for a target once its level is too wide or ``max_depth`` is
    reached. ``caller`` has the ids of the caller's own objects: not referrers to follow."""
    # Per target: id(referrer) -> what it refers to, and its current level.
    toward: list[dict[int, object]] = [{id(target): target} for target in targets]
    levels: list[list[object]] = [[target] for target in targets]
    found: list[list[object] | None] = [None] * len(targets)
    active = list(range(len(targets)))
    own = {id(toward), id(levels), id(found), id(active), *map(id, toward), *caller}
    own.update(map(id, levels))
    for _ in range(max_depth):
        searching = []
        for i in active:
            level = levels[i]
            roots = [dicts[id(obj)] for obj in level if id(obj) in dicts]
            if roots:  # a module's __dict__: the chain ends at its module
                _, module = min(roots, key=_by_added)
                chain: list[object] = [module, module.__dict__]
                while chain[-1] is not targets[i]:
                    chain.append(toward[i][id(chain[-1])])
                found[i] = chain
                own.add(id(chain))
            elif level and len(level) <= MAX_WIDTH:
                searching.append(i)
        active = searching
        own.add(id(active))
        if not active:
            break
        ats = [{id(obj): obj for obj in levels[i]} for i in active]
        union = list({key: obj for at in ats for key, obj in at.items()}.values())
        own.update(map(id, ats))
        own.update((id(ats), id(union)))
        referrers = gc.get_referrers(*union)
        own.add(id(referrers))
        above: list[list[object]] = [[] for _ in active]
        own.update(map(id, above))
        own.add(id(above))
        for referrer in referrers:
            if id(referrer) in own or type(referrer) is types.FrameType:
                continue
            for slot, i in enumerate(active):
                if id(referrer) in toward[i]:
                    continue
                child = _refers_to(referrer, ats[slot])
                if child is not None:
                    toward[i][id(referrer)] = child
                    above[slot].append(referrer)
        del referrers, union
        for slot, i in enumerate(active):
            levels[i] = above[slot]
        ats.clear()
    return found


def _refers_to(referrer: object, at: dict[int, object]) -> object | None:
    """The object of ``at`` that ``referrer`` refers to, not counting an instance's reference
    to its own class."""
    cls = type(referrer)
    own_class = id(cls) in at and _is_heap_type(cls)
    for part in _referents(referrer):
        if id(part) in at:
            if own_class and part is cls:
                own_class = False  # the class pointer, seen once; a second one is an attribute
                continue
            return part
    return None


def _forward(
    targets: list[object], modules: list[types.ModuleType], max_depth: int
) -> list[list[object] | None]:
    """Chains to ``targets``, breadth first from ``modules``: one level of the walk is one
    ``gc.get_referents`` over the level, in slices. Only gc-tracked objects are entered: an
    untracked object holds only atoms and untracked tuples (the gc untracks nothing else),
    so it leads to no container, though it may be a target itself (a dict of atoms)."""
    wanted = {id(target): target for target in targets}
    depth_of: dict[int, int] = {}
    levels: list[list[object]] = [list(modules)]
    seen = set(map(id, modules))
    for depth in range(1, max_depth + 1):
        level = levels[-1]
        reached: dict[int, object] = {}
        for start in range(0, len(level), _SLICE):
            parts = _referents(*level[start : start + _SLICE])
            for key in wanted.keys() & map(id, parts):
                depth_of.setdefault(key, depth)
            if len(depth_of) < len(wanted) and depth < max_depth:
                tracked = list(compress(parts, map(gc.is_tracked, parts)))
                reached.update(zip(map(id, tracked), tracked, strict=True))
                del tracked
            del parts
        if len(depth_of) == len(wanted) or not reached:
            break
        fresh = reached.keys() - seen
        seen |= fresh
        levels.append(list(compress(reached.values(), map(fresh.__contains__, reached.keys()))))
        reached.clear()
        del fresh
    seen.clear()
    found: list[list[object] | None] = []
    for target in targets:
        at = depth_of.get(id(target))
        found.append(None if at is None else _walk_back(target, levels, at))
    levels.clear()
    return found


def _walk_back(target: object, levels: list[list[object]], depth: int) -> list[object] | None:
    chain = [target]
    for level in reversed(levels[:depth]):
        parent = _parent(chain[-1], level)
        if parent is None:  # cannot happen: every object of a level is reached from the last
            return None
        chain.append(parent)
    chain.reverse()
    return chain


def _parent(child: object, level: list[object]) -> object | None:
    """The first object of ``level`` that refers to ``child``, in growing slices read in C; an
    instance whose only reference is to its class only if no other object refers to it."""
    instances = issubclass(type(child), type) and _is_heap_type(cast(type, child))
    fallback = None
    start, size = 0, 64
    while start < len(level):
        part = level[start : start + size]
        start, size = start + size, min(size * 2, 4096)
        if not any(map(operator.is_, _referents(*part), repeat(child))):
            continue
        for candidate in part:
            hits = sum(map(operator.is_, _referents(candidate), repeat(child)))
            if instances and type(candidate) is child:
                hits -= 1
                fallback = candidate if fallback is None else fallback
            if hits > 0:
                return candidate
    return fallback


def trace(
    holder: object,
    added: int,
    *,
    secrets: Secrets,
    chain: list[object] | None = None,
    replaced: bool = False,
) -> tuple[str, tuple[str, ...]]:
    """The holder's path (``module:attr.attr``) and its leak trace, one line per named hop.

    ``chain`` is the holder's from :func:`chains` (searched here if not given); ``replaced``
    says that the holder did not grow but holds ``added`` new items in place of old ones.
    """
    if chain is None:
        chain = backref_chain(holder)
    root = chain[0]
    lines: list[str] = []
    steps: list[tuple[str, object]] = []
    path = ""
    if type(root) is types.ModuleType and len(chain) > 1:  # chains: a module in sys.modules
        lines.append(f"module {root.__name__}")
        hidden = False
        for parent, child in itertools.pairwise(chain):
            # After a hidden hop the dict is a namespace: its keys are names, not data.
            label = _edge(parent, child, secrets, namespace=hidden)
            hidden = not label
            if label:  # "" is a hidden hop: a module's or an object's __dict__
                steps.append((label, child))
        names = [label[1:] if label.startswith(".") else label for label, _ in steps]
        path = f"{root.__name__}:{'.'.join(names)}"
    else:
        lines.append("(no path from a module global: held by a frame, a thread or C code)")
    last = steps.pop()[0] if steps else "?"
    lines.extend(f"├─ {label:<{HOP_WIDTH}} {_type_name(child)}" for label, child in steps)
    size = _added_size(holder, added)
    gained = f"{added:,} of {_length(holder):,} items new" if replaced else f"+{added:,} items"
    lines.append(f"├─ {last:<{HOP_WIDTH}} {_type_name(holder)} ({gained}, +{size / 1024:,.1f} KiB)")
    sample = _newest(holder)
    if sample is not None:
        key, value = sample
        index = "{member}" if key is MEMBER else f"[{_key_text(key, secrets)}]"
        lines.append(f"╰→ {index:<{HOP_WIDTH}} {_type_name(value)} {_describe(value, secrets)}")
    # Values (keys, items) were redacted before they were cut; names are redacted with the
    # whole result (report_redaction.redact_result), places never are.
    return path, tuple(lines)


def _describe(value: object, secrets: Secrets) -> str:
    """A short, safe description: a function says where it was defined."""
    if type(value) is types.FunctionType:
        code = value.__code__
        return (
            f"{value.__qualname__}() at {code.co_filename.rsplit('/', 1)[-1]}:{code.co_firstlineno}"
        )
    return short_repr(value, secrets)


def _edge(parent: Any, child: object, secrets: Secrets, *, namespace: bool = False) -> str:
    """How ``parent`` refers to ``child``, as a reader would write it; "" for a hidden hop.

    A key of a data dict is a value (it may be a credential, a token): redacted, then cut. A
    ``namespace`` (the ``__dict__`` of a module, a class or an object) holds names: kept.
    """
    kind = type(parent)
    if kind is types.ModuleType:
        return ""  # module -> its __dict__
    if issubclass(kind, dict):
        for key, value in dict.items(parent):
            if value is child:
                if type(key) is str and key.isidentifier():
                    name = key if namespace else secrets.redact_value(key)
                    if name == key:
                        return f".{key}"
                return f"[{_key_text(key, secrets)}]"
            if key is child:
                return "(a dict key)"
        return "(a dict)"
    if issubclass(kind, (list, tuple)):
        for index, value in enumerate(parent):
            if value is child:
                return f"[{index}]"
    if kind is types.CellType:
        return "(closure cell)"
    if kind is types.FunctionType:
        return f"{parent.__qualname__}()"
    if kind is types.MethodType:
        return "(bound method)"
    if issubclass(kind, type):
        return ""  # class -> its __dict__: the attribute name follows
    return _attribute(parent, child)


def _attribute(instance: object, child: object) -> str:
    """``.name`` when ``child`` is an attribute of ``instance``, read from its own ``__dict__``.

    CPython may keep attribute values inline, so the instance refers to them directly; reading
    ``__dict__`` through ``object.__getattribute__`` runs no property or ``__getattr__``.
    """
    try:
        namespace = object.__getattribute__(instance, "__dict__")
    except Exception:
        namespace = None
    if type(namespace) is dict:
        if namespace is child:
            return ""  # instance -> its __dict__: the attribute name follows
        for key, value in dict.items(namespace):
            if value is child and type(key) is str:
                return f".{key}"
    return f"({type(instance).__name__})"


def _newest(holder: object) -> tuple[object, object] | None:
    kind = _kind(holder)
    try:
        return kind.newest(holder) if kind is not None and kind.length(holder) else None
    except Exception:  # the explanation must never hide the verdict
        return None


def _length(holder: object) -> int:
    kind = _kind(holder)
    return kind.length(holder) if kind is not None else 0


def _key_text(key: object, secrets: Secrets) -> str:
    """A key or an index as shown in a trace: redacted as a value first, then cut."""
    return short_repr(key, secrets, limit=KEY_WIDTH)


def _added_size(holder: object, added: int) -> int:
    """Shallow size of the newest ``added`` items (keys and values for a dict)."""
    return sum(sys.getsizeof(item, 0) for item in added_items(holder, added))


def _type_name(obj: object) -> str:
    kind = type(obj)
    module = kind.__module__
    return kind.__name__ if module == "builtins" else f"{module}.{kind.__name__}"
