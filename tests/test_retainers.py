"""Leak traces from module globals, read without running user code."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest

from pytest_memguard.redact import Secrets
from pytest_memguard.retainers import Lengths, growing_holders


@pytest.fixture
def module() -> Iterator[types.ModuleType]:
    mod = types.ModuleType("memguard_fake_app")
    sys.modules[mod.__name__] = mod
    yield mod
    del sys.modules[mod.__name__]


def grow(module: types.ModuleType, step, calls: int = 40) -> list[str]:
    lengths = Lengths()
    lengths.take()
    for i in range(calls):
        step(i)
    holders = growing_holders(lengths, min_added=calls // 4, secrets=Secrets([("alice", "s3cret")]))
    return [line for holder in holders for line in holder.trace]


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
