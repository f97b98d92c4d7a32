"""Who holds a leak: containers that grew during the explanation pass, traced back to a root.

LeakCanary draws a leak trace from a GC root; this draws one from a module global. Objects are
read without running their code: only ``type()`` checks and the C-level methods of the builtin
containers (``list.__len__(o)``, ``dict.keys(o)``), never ``isinstance`` (a Flask ``request``
proxy answers ``__class__`` by looking up the request context, which raises outside one), never
``getattr`` (a property is user code), never a user ``__repr__``.
"""

from __future__ import annotations

import gc
import itertools
import sys
import types
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pytest_memguard.redact import Secrets, short_repr


@dataclass(frozen=True)
class _Kind:
    """How to read one builtin container without running user code.

    ``items`` yields what it holds in insertion order (a dict's keys and values alike: the gc
    does not report ``str`` keys as referents); ``newest`` is its latest item and how a reader
    would index it (a key, an index, or ``MEMBER`` for a set), for the leak trace.
    """

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
    (list, _Kind(list.__len__, list.__iter__, _list_newest)),
    (dict, _Kind(dict.__len__, _dict_items, _dict_newest, per_item=2)),
    (set, _Kind(set.__len__, set.__iter__, lambda o: (MEMBER, next(set.__iter__(o))), False)),
    (deque, _Kind(deque.__len__, deque.__iter__, lambda o: (-1, deque.__getitem__(o, -1)))),
)
MAX_HOLDERS = 3
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


def _containers() -> Iterator[tuple[object, _Kind]]:
    """Every builtin container the gc tracks, and every untracked one that a tracked object holds.

    A dict of atoms (a ``str -> str`` token cache) is not tracked by the gc, so
    ``gc.get_objects()`` alone would miss the commonest leak holder wherever it lives: a module
    global, a class attribute, an instance attribute, the cache of an ``lru_cache``. Each
    tracked object's referents are read in C; an untracked dict held twice is yielded once.
    """
    kinds = Kinds()
    untracked: set[int] = set()
    for obj in gc.get_objects():
        kind = kinds[type(obj)]
        if kind is not None and obj is not kinds and obj is not untracked:  # not this walk's
            yield obj, kind
        for part in gc.get_referents(obj):
            if gc.is_tracked(part):
                continue
            kind = kinds[type(part)]
            if kind is not None and id(part) not in untracked:
                untracked.add(id(part))
                yield part, kind


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


class Lengths:
    """Every container that could hold a leak, with its length, to see which ones grew.

    It holds the containers themselves, for the length of one explanation pass: reading their
    lengths again is then a loop that allocates nothing (no ``id()`` ints, no lookups), which
    matters because tracemalloc traces every allocation made while it runs. A container the
    code drops during the pass is only kept alive until :meth:`clear`.
    """

    def __init__(self) -> None:
        self.containers: list[object] = []
        self.kinds: list[_Kind] = []
        self.lengths = array("q")

    def take(self) -> None:
        self.clear()
        own = (self.containers, self.kinds)
        for obj, kind in _containers():
            if any(obj is mine for mine in own):
                continue
            self.containers.append(obj)
            self.kinds.append(kind)
            self.lengths.append(kind.length(obj))

    def grown(
        self, *, min_added: int = 1, skip: Callable[[object], bool] = lambda obj: False
    ) -> list[tuple[int, object]]:
        """Containers that gained at least ``min_added`` items since :meth:`take`, most first.

        ``skip`` leaves out containers the caller does not count (the ones it ignores).
        """
        grown: list[tuple[int, object]] = []
        for obj, kind, before in zip(self.containers, self.kinds, self.lengths, strict=True):
            added = kind.length(obj) - before
            if added >= min_added and not skip(obj):
                grown.append((added, obj))
        grown.sort(key=_by_added, reverse=True)
        return grown

    def clear(self) -> None:
        self.containers.clear()
        self.kinds.clear()
        del self.lengths[:]


@dataclass(frozen=True)
class Holder:
    """A container that grew by ``added`` items, and the lines of its leak trace.

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
) -> tuple[Holder, ...]:
    """Leak traces of the first ``MAX_HOLDERS`` grown containers that are not ``ignored``.

    Holders whose path ``ignored(path)`` accepts are left out (known caches, ``ignore=``).
    """
    found: list[Holder] = []
    for added, obj in grown:
        if len(found) == MAX_HOLDERS:
            break
        path, lines = trace(obj, added, secrets=secrets)
        if not ignored(path):
            found.append(Holder(added, lines, path))
    return tuple(found)


def _by_added(entry: tuple[int, object]) -> int:
    return entry[0]


def backref_chain(
    target: object, is_root: Callable[[object], bool], *, max_depth: int
) -> list[object]:
    """The shortest chain of references from a root to ``target`` (``[root, ..., target]``).

    The breadth-first search of ``objgraph.find_backref_chain``, with two changes that make it
    one heap scan per hop rather than one per object queued: a referrer is tested as a root
    when it is found, not when it leaves the queue (a module's dict is referred to by each of
    its functions, and objgraph scans the heap for every one of them before it looks at the
    module), and no full collection first (the caller just made one). ``[target]`` if none.
    """
    parents: dict[int, object] = {id(target): target}
    queue: deque[tuple[object, int]] = deque([(target, 0)])
    own = {id(parents), id(queue)}
    while queue:
        obj, depth = queue.popleft()
        if depth >= max_depth:
            continue
        referrers = gc.get_referrers(obj)
        own.add(id(referrers))
        for referrer in referrers:
            if id(referrer) in parents or id(referrer) in own or type(referrer) is types.FrameType:
                continue
            parents[id(referrer)] = obj
            if is_root(referrer):
                chain = [referrer]
                while chain[-1] is not target:
                    chain.append(parents[id(chain[-1])])
                return chain
            queue.append((referrer, depth + 1))
        del referrers
    return [target]


def _is_root(obj: object) -> bool:
    return type(obj) is types.ModuleType and sys.modules.get(obj.__name__) is obj


def trace(holder: object, added: int, *, secrets: Secrets) -> tuple[str, tuple[str, ...]]:
    """The holder's path (``module:attr.attr``) and its leak trace, one line per named hop."""
    chain = backref_chain(holder, _is_root, max_depth=MAX_DEPTH)
    root = chain[0]
    lines: list[str] = []
    steps: list[tuple[str, object]] = []
    path = ""
    if isinstance(root, types.ModuleType) and len(chain) > 1:  # _is_root: a real module
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
    lines.extend(f"├─ {label:<24} {_type_name(child)}" for label, child in steps)
    size = _added_size(holder, added)
    lines.append(f"├─ {last:<24} {_type_name(holder)} (+{added:,} items, +{size / 1024:,.1f} KiB)")
    sample = _newest(holder)
    if sample is not None:
        key, value = sample
        index = "{member}" if key is MEMBER else f"[{_key_text(key, secrets)}]"
        lines.append(f"╰→ {index:<24} {_type_name(value)} {_describe(value, secrets)}")
    # Values (keys, items) were redacted before they were cut; names and places are code.
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


def _key_text(key: object, secrets: Secrets) -> str:
    """A key or an index as shown in a trace: redacted as a value first, then cut to 40."""
    return short_repr(key, secrets, limit=40)


def _added_size(holder: object, added: int) -> int:
    """Shallow size of the newest ``added`` items (keys and values for a dict)."""
    return sum(sys.getsizeof(item, 0) for item in added_items(holder, added))


def _type_name(obj: object) -> str:
    kind = type(obj)
    module = kind.__module__
    return kind.__name__ if module == "builtins" else f"{module}.{kind.__name__}"
