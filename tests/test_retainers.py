"""Leak traces from module globals, read without running user code."""

from __future__ import annotations

import abc
import tracemalloc
import types
from collections import deque
from collections.abc import Iterator

import pytest

from pytest_memguard import retainers
from pytest_memguard.redact import Secrets
from pytest_memguard.retainers import MAX_WIDTH, Lengths, backref_chain, chains, holders


def grow(module: types.ModuleType, step, calls: int = 40) -> list[str]:
    lengths = Lengths()
    lengths.take()
    for i in range(calls):
        step(i)
    try:
        found = holders(lengths.grown(min_added=calls // 4), secrets=Secrets([("alice", "s3cret")]))
    finally:
        lengths.clear()
    return [line for holder in found for line in holder.trace]


def test_global_list_trace_names_module_attribute_and_sample(module: types.ModuleType) -> None:
    module.log = []
    lines = grow(module, lambda i: module.log.append(f"alice:s3cret{i}"))
    assert lines[0] == "module memguard_fake_app"
    assert lines[1].startswith("├─ .log")
    assert "list (+40 items" in lines[1]
    assert lines[2].startswith("╰→ [39]")
    assert "<redacted credential>" in lines[2]
    assert "s3cret" not in "".join(lines)


def test_untracked_dict_cache_is_found(module: types.ModuleType) -> None:
    module.tokens = {}  # str -> bool: not tracked by the gc
    lines = grow(module, lambda i: module.tokens.__setitem__(f"tok{i}", True))
    assert any(line.startswith("├─ .tokens") and "dict (+40 items" in line for line in lines)


@pytest.mark.parametrize("where", ["default", "keyword default", "closure", "attribute"])
def test_an_untracked_dict_cache_a_function_keeps_is_found(
    module: types.ModuleType, where: str
) -> None:
    # Functions' own referents are not read for untracked dicts: a cache they keep is held
    # through a tuple, a dict or a cell that the gc tracks.
    def remembering(seen: dict[str, bool]) -> types.FunctionType:
        if where == "default":

            def handler(key: str, _seen: dict[str, bool] = seen) -> None:
                _seen[key] = True
        elif where == "keyword default":

            def handler(key: str, *, _seen: dict[str, bool] = seen) -> None:
                _seen[key] = True
        elif where == "closure":

            def handler(key: str) -> None:
                seen[key] = True
        else:

            def handler(key: str) -> None:
                handler.seen[key] = True  # type: ignore[attr-defined]

            handler.seen = seen  # type: ignore[attr-defined]
        return handler  # type: ignore[return-value]

    module.handler = remembering({})
    lines = grow(module, lambda i: module.handler(f"tok{i}"))
    assert lines[0] == "module memguard_fake_app", lines
    assert any("dict (+40 items" in line for line in lines), lines


def test_class_attribute_path(module: types.ModuleType) -> None:
    class Registry:
        sessions: list[object] = []  # noqa: RUF012 - the leak under test

    module.Registry = Registry
    lines = grow(module, lambda i: Registry.sessions.append([i]))
    assert lines[1].startswith("├─ .Registry")
    assert lines[1].rstrip().endswith("type")
    assert lines[2].startswith("├─ .sessions")


def test_reading_never_runs_properties_or_proxies(module: types.ModuleType) -> None:
    from flask import request  # a LocalProxy: touching it outside a request raises

    class Trap:
        @property
        def boom(self) -> None:
            raise AssertionError("a property was run")

        def __repr__(self) -> str:
            raise AssertionError("a __repr__ was run")

        def __len__(self) -> int:
            raise AssertionError("a __len__ was run")

    module.proxy = request
    module.trap = Trap()
    module.items = []
    lines = grow(module, lambda i: module.items.append(Trap()))
    assert any(".items" in line for line in lines)
    assert lines[-1].startswith("╰→ [39]")
    assert "test_retainers.Trap <" in lines[-1]


def test_nothing_grew_gives_no_holder(module: types.ModuleType) -> None:
    module.log = []
    assert grow(module, lambda i: None) == []


def test_lengths_never_count_their_own_bookkeeping(module: types.ModuleType) -> None:
    lengths = Lengths()
    lengths.take()
    lengths.take()  # the second walk meets the first one's lists: still not a holder
    try:
        assert lengths.grown() == []
    finally:
        lengths.clear()
    assert lengths.containers == []


def test_chain_is_found_through_an_instance(module: types.ModuleType) -> None:
    class Audit:
        def __init__(self) -> None:
            self.records: list[str] = []

    module.audit = Audit()
    chain = backref_chain(module.audit.records)
    assert chain[0] is module
    assert chain[-1] is module.audit.records
    lines = grow(module, lambda i: module.audit.records.append(f"r{i}"))
    assert [line.split()[1] for line in lines[1:3]] == [".audit", ".records"]


def test_no_chain_from_a_module_says_so() -> None:
    def held_by_a_frame_only() -> list[object]:
        local: list[object] = []
        return backref_chain(local)

    assert len(held_by_a_frame_only()) == 1


def test_of_holders_that_gained_as_many_the_one_that_holds_more_comes_first(
    module: types.ModuleType,
) -> None:
    module.small = []
    module.big = list(range(500))
    lengths = Lengths()
    lengths.take()
    try:
        for i in range(2):
            module.small.append(f"s{i}")
            module.big.append(f"b{i}")
        grown = lengths.grown(min_added=2)
    finally:
        lengths.clear()
    assert [holder for _, holder in grown][:2] == [module.big, module.small]


def test_a_holder_a_module_reaches_is_named_before_one_only_a_frame_holds(
    module: types.ModuleType,
) -> None:
    # A class's dict of its subclasses, held in C, gains as a test that makes classes runs: it
    # may have gained more than the module global a user can open, which still comes first.
    local: list[object] = []
    module.log = []
    lengths = Lengths()
    lengths.take()
    try:
        for i in range(6):
            local.append(f"frame {i}")
        for i in range(2):
            module.log.append(f"log {i}")
        found = holders(lengths.grown(min_added=2), secrets=Secrets())
    finally:
        lengths.clear()
    assert [h.path for h in found][:2] == ["memguard_fake_app:log", ""], found
    assert found[1].trace[0].startswith("(no path from a module global"), found[1].trace


def new_since_tracing(obj: object) -> bool:
    return tracemalloc.get_object_traceback(obj) is not None


def test_a_full_cache_that_replaces_its_entries_is_named_and_an_untouched_one_is_not(
    module: types.ModuleType,
) -> None:
    module.cache = {f"old-{i}": f"v{i}" for i in range(64)}  # str -> str: untracked
    module.recent = deque((f"old-{i}" for i in range(32)), maxlen=32)
    module.idle = {f"k{i}": i for i in range(64)}
    module.log = [f"old-{i}" for i in range(16)]
    lengths = Lengths()
    tracemalloc.start(1)
    try:
        lengths.take(min_items=8)
        for i in range(40):
            module.cache[f"new-{i}"] = f"value-{i}"
            del module.cache[next(iter(module.cache))]
            module.recent.append(f"new-{i}")
            module.log.append(f"new-{i}")  # grows: a holder for grown(), not for replaced()
        replaced = lengths.replaced(min_new=8, is_new=new_since_tracing)
        grown = lengths.grown(min_added=8)
    finally:
        tracemalloc.stop()
        lengths.clear()
    assert [(n, obj) for n, obj in replaced if obj is module.cache] == [(40, module.cache)]
    assert [(n, obj) for n, obj in replaced if obj is module.recent] == [(32, module.recent)]
    assert not any(obj is module.idle or obj is module.log for _, obj in replaced)
    assert any(obj is module.log for _, obj in grown)


def test_subclasses_are_read_with_the_builtin_methods(module: types.ModuleType) -> None:
    class Loud(list):  # type: ignore[type-arg]
        def __len__(self) -> int:
            raise AssertionError("a __len__ was run")

        def __reversed__(self) -> Iterator[object]:
            raise AssertionError("a __reversed__ was run")

    module.loud = Loud(range(10))
    lines = grow(module, lambda i: list.append(module.loud, f"x{i}"))
    assert any(line.startswith("├─ .loud") and "(+40 items" in line for line in lines)


@pytest.mark.parametrize("meta", [type, abc.ABCMeta])
def test_a_class_attribute_is_traced_through_the_class_not_its_instances(
    module: types.ModuleType, meta: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Session(metaclass=meta):
        registry: list[object] = []  # noqa: RUF012 - the holder under test

    module.models = types.SimpleNamespace(Session=Session)  # not in the module's dict itself
    module.sessions = [Session() for _ in range(2 * MAX_WIDTH)]  # each refers to its class

    def no_forward_walk(*args: object) -> None:
        raise AssertionError("the instances' class pointers made a level too wide")

    # found by the backward search alone: the instances are not referrers to follow
    monkeypatch.setattr(retainers, "_forward", no_forward_walk)
    chain = backref_chain(Session.registry)
    assert chain[:3] == [module, module.__dict__, module.models]
    assert Session in chain
    assert chain[-1] is Session.registry


def test_a_holder_behind_a_wide_level_is_found_by_the_forward_walk(
    module: types.ModuleType,
) -> None:
    class Box:
        def __init__(self, shared: list[str]) -> None:
            self.shared = shared

    shared: list[str] = []
    module.boxes = [Box(shared) for _ in range(2 * MAX_WIDTH)]  # too many referrers
    chain = backref_chain(shared)
    assert chain[0] is module
    assert chain[-1] is shared
    # The box itself, or on Python 3.10 (no inline attributes) the box's __dict__ then the box.
    (index,) = [i for i, box in enumerate(module.boxes) if any(hop is box for hop in chain)]
    lines = grow(module, lambda i: shared.append(f"s{i}"))
    hops = [line.split()[1] for line in lines[1:4]]
    assert hops[0] == ".boxes"
    assert hops[1] == f"[{index}]"
    assert hops[2] == ".shared"


def test_a_class_known_only_through_an_instance_is_reached_by_its_class_pointer(
    module: types.ModuleType,
) -> None:
    def make() -> object:
        class Local:
            cache: dict[str, int] = {}  # noqa: RUF012 - the holder under test

        return Local()

    module.thing = make()
    cache = type(module.thing).cache
    chain = backref_chain(cache)
    assert chain[:3] == [module, module.__dict__, module.thing]
    assert chain[3] is type(module.thing)
    assert chain[-1] is cache


def test_chains_for_several_targets_at_once(module: types.ModuleType) -> None:
    module.a = []
    module.b = {"x": 1}
    module.deep = {"level": {"list": []}}
    targets: list[object] = [module.a, module.b, module.deep["level"]["list"], []]
    found = chains(targets)
    assert [chain[0] for chain in found[:3]] == [module] * 3
    assert [chain[-1] for chain in found] == targets
    assert found[3] == [targets[3]]  # held only by the list of targets: no path


def test_a_named_root_starts_a_chain_to_what_only_a_frame_holds() -> None:
    class State:
        def __init__(self) -> None:
            self.sessions: list[str] = []  # inline attributes on 3.11+: no dict until asked

    class App:
        def __init__(self) -> None:
            self.state = State()

    app = App()  # held by this frame only, as a test holds the app it drives
    target = app.state.sessions
    assert chains([target])[0] == [target]
    chain = chains([target], roots=[("app", app)])[0]
    assert type(chain[0]) is types.ModuleType
    assert chain[0].__name__ == "app"
    assert chain[-1] is target
    _, lines = retainers.trace(target, 1, secrets=Secrets(), chain=chain)
    assert lines[0] == "module app"
    assert [line.split()[1] for line in lines[1:3]] == [".state", ".sessions"]


def test_a_root_whose_class_defines_a_dict_property_runs_no_code() -> None:
    class Sneaky:
        @property
        def __dict__(self) -> dict[str, object]:  # type: ignore[override]
            raise AssertionError("user code ran")

    target: list[str] = []
    assert chains([target], roots=[("app", Sneaky())]) == [[target]]  # and nothing raised


def test_the_asyncio_module_is_never_traversed() -> None:
    """CPython 3.12's ``_asyncio`` hands out freed future iterators to ``gc.get_referents``
    (gh-122695); a heap walk after that never ends, so the search never asks for them."""
    import _asyncio

    held: list[object] = [1]
    assert retainers._referents(_asyncio) == []
    assert retainers._referents(_asyncio, held) == [1]


def test_the_backward_search_scans_the_heap_once_per_hop_for_all_targets(
    module: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    module.deep = {"a": {"b": {"c": []}}}
    module.shallow = []
    module.other = {"x": {"y": []}}
    targets: list[object] = [module.deep["a"]["b"]["c"], module.shallow, module.other["x"]["y"]]
    scans: list[int] = []
    real = retainers.gc.get_referrers

    def counted(*objs: object) -> list[object]:
        scans.append(len(objs))
        return real(*objs)

    monkeypatch.setattr(retainers.gc, "get_referrers", counted)
    found = chains(targets)
    monkeypatch.undo()
    assert [chain[0] for chain in found] == [module] * 3
    assert [chain[-1] for chain in found] == targets
    assert len(found[0]) == 6  # module, its __dict__, deep, a, b, c
    # One scan per hop of the deepest chain (4), not one per hop and target (4 + 1 + 3).
    assert len(scans) == 4
    assert scans[0] == 3  # the first hop searches the three targets together


class _Box:
    """An object whose attribute holds the leak: a chain of several hops."""

    def __init__(self) -> None:
        self.cache: dict[str, int] = {}


class _Held(list[int]):
    """A list that can be weakly referenced, to see the memo keep nothing alive."""


def test_a_memo_traces_a_holder_again_without_a_search_while_its_chain_holds(
    module: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan explains 20 of Flask's tests leaking into one click global: one heap scan
    per hop each time, where checking the chain found first costs a few referent reads."""
    module.box = _Box()
    memo = retainers.ChainMemo()
    first = chains([module.box.cache], memo=memo)[0]
    assert first[0] is module
    assert first[-1] is module.box.cache
    searches: list[int] = []
    search = retainers._search
    monkeypatch.setattr(retainers, "_search", lambda *a: searches.append(len(a[0])) or search(*a))
    again = chains([module.box.cache], memo=memo)[0]
    assert searches == []
    assert again == first
    assert all(a is b for a, b in zip(again, first, strict=True))
    other: list[int] = []
    module.other = other
    assert chains([module.box.cache, other], memo=memo)[1][-1] is other
    assert searches == [1]  # only the new target was searched


def test_a_memo_chain_that_no_longer_holds_is_searched_again(
    module: types.ModuleType,
) -> None:
    module.box = _Box()
    held = module.box.cache
    memo = retainers.ChainMemo()
    chains([held], memo=memo)
    module.box = _Box()  # the old box is gone: its chain no longer reaches the dict
    module.moved = {"cache": held}
    found = chains([held], memo=memo)[0]
    assert found[0] is module
    assert found[-1] is held
    assert found[2] is module.moved  # the new way, not a stale one
    assert chains([module.box.cache], memo=memo)[-1][-1] is module.box.cache


def test_a_memo_keeps_nothing_alive_and_stays_bounded(module: types.ModuleType) -> None:
    import weakref

    memo = retainers.ChainMemo()
    module.held = _Held()
    ref = weakref.ref(module.held)
    chains([module.held], memo=memo)
    del module.held
    assert ref() is None
    for i in range(retainers.MEMO_CHAINS + 10):
        setattr(module, f"list_{i}", [i])
        chains([getattr(module, f"list_{i}")], memo=memo)
    assert len(memo._chains) == retainers.MEMO_CHAINS
    assert memo.get(module.list_0) is None  # the oldest were dropped
    assert memo.get(getattr(module, f"list_{retainers.MEMO_CHAINS + 9}")) is not None


def test_a_memo_never_keeps_a_chain_from_a_root_object(module: types.ModuleType) -> None:
    """A root (the app a driver drives) is a stand-in module made per explanation."""

    class App:
        def __init__(self) -> None:
            self.state: list[int] = []

    app = App()
    memo = retainers.ChainMemo()
    chain = chains([app.state], roots=[("app", app)], memo=memo)[0]
    assert chain[-1] is app.state
    assert len(chain) > 1
    assert memo.get(app.state) is None
