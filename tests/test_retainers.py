"""Leak traces from module globals, read without running user code."""

from __future__ import annotations

import types

from pytest_memguard.redact import Secrets
from pytest_memguard.retainers import Lengths, backref_chain, holders


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
