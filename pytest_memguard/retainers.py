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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import objgraph

from pytest_memguard.redact import Secrets, short_repr

#: Builtin container bases whose length can be read without user code, with that reader.
_LENGTH: tuple[tuple[type, Callable[[Any], int]], ...] = (
    (list, list.__len__),
    (dict, dict.__len__),
    (set, set.__len__),
    (deque, deque.__len__),
)
MAX_HOLDERS = 3
MAX_DEPTH = 16


def _base(cls: type) -> tuple[type, Callable[[Any], int]] | None:
    for base, length in _LENGTH:
        if issubclass(cls, base):
            return base, length
    return None


def _containers() -> Iterator[tuple[object, Callable[[Any], int]]]:
    """Every builtin container the gc tracks, plus untracked ones held by modules and classes.

    A dict of strings to bools (a token cache) is not tracked by the gc, so ``gc.get_objects()``
    alone would miss the commonest leak holder.
    """
    for obj in gc.get_objects():
        found = _base(type(obj))
        if found is not None:
            yield obj, found[1]
    yield from untracked_containers()


def untracked_containers() -> Iterator[tuple[object, Callable[[Any], int]]]:
    """Containers the gc does not track, held by a module global or a class attribute."""
    for module in list(sys.modules.values()):
        namespace = _namespace(module)
        for value in namespace:
            found = _base(type(value))
            if found is not None and not gc.is_tracked(value):
                yield value, found[1]
            elif isinstance(type(value), type) and issubclass(type(value), type):
                for attribute in _namespace(value):
                    found = _base(type(attribute))
                    if found is not None and not gc.is_tracked(attribute):
                        yield attribute, found[1]


def contents(container: object) -> list[object]:
    """What a builtin container holds, keys included (gc.get_referents skips ``str`` keys)."""
    kind = type(container)
    try:
        if issubclass(kind, dict):
            return [*dict.keys(container), *dict.values(container)]  # type: ignore[arg-type]
        if issubclass(kind, list):
            return list(list.__iter__(container))  # type: ignore[arg-type]
        if issubclass(kind, set):
            return list(set.__iter__(container))  # type: ignore[arg-type]
        if issubclass(kind, deque):
            return list(deque.__iter__(container))  # type: ignore[arg-type]
    except Exception:
        return []
    return []


def _namespace(obj: object) -> list[object]:
    """The values of a module's or class's ``__dict__``, read without running user code."""
    try:
        namespace = object.__getattribute__(obj, "__dict__")
    except Exception:
        return []
    if type(namespace) is dict:
        return list(dict.values(namespace))
    if type(namespace) is types.MappingProxyType:
        return list(namespace.values())
    return []


class Lengths:
    """The length of every container that could hold a leak, packed in two arrays.

    Arrays, not a dict: the census after the calls must not count this bookkeeping.
    """

    def __init__(self) -> None:
        self.ids = array("Q")
        self.lengths = array("q")

    def take(self) -> None:
        del self.ids[:], self.lengths[:]
        for obj, length in _containers():
            self.ids.append(id(obj))
            self.lengths.append(length(obj))

    def own(self) -> tuple[object, ...]:
        return (self, self.__dict__, self.ids, self.lengths)


@dataclass(frozen=True)
class Holder:
    """A container that grew by ``added`` items, and the lines of its leak trace.

    ``path`` is the holder as users name it in ``ignore=``: ``module:attribute.attribute``.
    """

    added: int
    trace: tuple[str, ...]
    path: str = ""

    def own(self) -> tuple[object, ...]:
        return (self, self.__dict__, self.trace, *self.trace, self.path)


def growing_holders(
    before: Lengths,
    *,
    min_added: int,
    secrets: Secrets,
    ignored: Callable[[str], bool] = lambda path: False,
) -> tuple[Holder, ...]:
    """Containers that gained at least ``min_added`` items since ``before``, biggest first.

    Holders whose path ``ignored(path)`` accepts are left out (known caches, ``ignore=``).
    """
    old = dict(zip(before.ids, before.lengths, strict=True))
    grown: list[tuple[int, Any]] = []
    seen: set[int] = set()
    for obj, length in _containers():
        if id(obj) not in old or id(obj) in seen:
            continue
        seen.add(id(obj))
        added = length(obj) - old[id(obj)]
        if added >= min_added:
            grown.append((added, obj))
    del old
    grown.sort(key=_by_added, reverse=True)
    # A holder inside another grown holder (the dict of a list's owner...) is the same leak.
    holders: list[Holder] = []
    try:
        for added, obj in grown:
            if len(holders) == MAX_HOLDERS:
                break
            path, lines = trace(obj, added, secrets=secrets)
            if not ignored(path):
                holders.append(Holder(added, lines, path))
    finally:
        grown.clear()
    return tuple(holders)


def _by_added(entry: tuple[int, Any]) -> int:
    return entry[0]


def _is_root(obj: object) -> bool:
    return type(obj) is types.ModuleType and sys.modules.get(obj.__name__) is obj


def trace(holder: object, added: int, *, secrets: Secrets) -> tuple[str, tuple[str, ...]]:
    """The holder's path (``module:attr.attr``) and its leak trace, one line per named hop."""
    chain = objgraph.find_backref_chain(holder, _is_root, max_depth=MAX_DEPTH)
    lines: list[str] = []
    steps: list[tuple[str, object]] = []
    if len(chain) > 1:
        lines.append(f"module {chain[0].__name__}")
        for parent, child in itertools.pairwise(chain):
            label = _edge(parent, child)
            if label:  # "" is a hidden hop: a module's or an object's __dict__
                steps.append((label, child))
    else:
        lines.append("(no path from a module global: held by a frame, a thread or C code)")
    path = ""
    if len(chain) > 1:
        names = [label[1:] if label.startswith(".") else label for label, _ in steps]
        path = f"{chain[0].__name__}:{'.'.join(names)}"
    last = steps.pop()[0] if steps else "?"
    lines.extend(f"├─ {label:<24} {_type_name(child)}" for label, child in steps)
    size = _added_size(holder, added)
    lines.append(f"├─ {last:<24} {_type_name(holder)} (+{added:,} items, +{size / 1024:,.1f} KiB)")
    sample = _newest(holder)
    if sample is not None:
        key, value = sample
        lines.append(f"╰→ {key:<24} {_type_name(value)} {_describe(value, secrets)}")
    return secrets.redact(path), tuple(secrets.redact(line) for line in lines)


def _describe(value: object, secrets: Secrets) -> str:
    """A short, safe description: a function says where it was defined."""
    if type(value) is types.FunctionType:
        code = value.__code__
        return (
            f"{value.__qualname__}() at {code.co_filename.rsplit('/', 1)[-1]}:{code.co_firstlineno}"
        )
    return short_repr(value, secrets)


def _edge(parent: Any, child: object) -> str:
    """How ``parent`` refers to ``child``, as a reader would write it; "" for a hidden hop."""
    kind = type(parent)
    if kind is types.ModuleType:
        return ""  # module -> its __dict__
    if issubclass(kind, dict):
        for key, value in dict.items(parent):
            if value is child:
                return f".{key}" if type(key) is str and key.isidentifier() else f"[{key!r:.40}]"
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


def _newest(holder: Any) -> tuple[str, object] | None:
    kind = type(holder)
    try:
        if issubclass(kind, list) and list.__len__(holder):
            index = list.__len__(holder) - 1
            return f"[{index}]", list.__getitem__(holder, index)
        if issubclass(kind, deque) and deque.__len__(holder):
            return "[-1]", deque.__getitem__(holder, -1)
        if issubclass(kind, dict) and dict.__len__(holder):
            key = next(reversed(dict.keys(holder)))
            return f"[{_key_text(key)}]", dict.__getitem__(holder, key)
        if issubclass(kind, set) and set.__len__(holder):
            return "{member}", next(iter(set.__iter__(holder)))
    except Exception:  # the explanation must never hide the verdict
        return None
    return None


def _key_text(key: object) -> str:
    return short_repr(key, Secrets(), limit=40)


def _added_size(holder: Any, added: int) -> int:
    """Shallow size of the newest ``added`` items (values for a dict)."""
    kind = type(holder)
    items: list[object] = []
    try:
        if issubclass(kind, list):
            items = list.__getitem__(holder, slice(-added, None))
        elif issubclass(kind, deque):
            items = list(deque.__iter__(holder))[-added:]
        elif issubclass(kind, dict):
            keys = list(dict.keys(holder))[-added:]
            items = [*keys, *(dict.__getitem__(holder, k) for k in keys)]
        elif issubclass(kind, set):
            items = list(set.__iter__(holder))[:added]
        return sum(sys.getsizeof(item, 0) for item in items)
    except Exception:
        return 0
    finally:
        items = []


def _type_name(obj: object) -> str:
    kind = type(obj)
    module = kind.__module__
    return kind.__name__ if module == "builtins" else f"{module}.{kind.__name__}"
