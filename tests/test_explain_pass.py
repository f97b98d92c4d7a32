"""The explanation pass, called directly: types, holders and sites of what the calls kept."""

from __future__ import annotations

import gc
import threading
import tracemalloc
import types

import pytest

from pytest_memguard import resources
from pytest_memguard.explain import explain
from pytest_memguard.guard import (
    EXPLAIN_CALLS,
    EXPLAIN_MIN_CALLS,
    explain_calls,
    guard,
    kept_more_every_call,
)
from pytest_memguard.redact import Secrets
from pytest_memguard.result import TypeGrowth
from pytest_memguard.settings import Settings


def by_name(rows: tuple[TypeGrowth, ...]) -> dict[str, TypeGrowth]:
    return {row.name: row for row in rows}


def test_explain_names_type_holder_and_site_of_an_old_list(module: types.ModuleType) -> None:
    module.log = []

    def calls() -> None:
        for i in range(40):
            module.log.append(f"alice:s3cret{i}" * 2)

    found = explain(calls, Secrets([("alice", "s3cret")]), calls=40)
    rows = by_name(found.types)
    assert rows["str"].count_delta == 40
    assert rows["str"].tracked_delta == 0
    assert found.holders[0].path == "memguard_fake_app:log"
    assert "(+40 items" in found.holders[0].trace[1]
    assert any("test_explain_pass.py" in site for site in found.sites)
    assert not tracemalloc.is_tracing()
    assert gc.get_freeze_count() == 0


def test_explain_keeps_no_reference_to_what_it_looked_at(module: types.ModuleType) -> None:
    import weakref

    class Session:
        pass

    module.sessions = []

    def calls() -> None:
        for _ in range(30):
            module.sessions.append(Session())

    explain(calls, Secrets(), calls=30)
    refs = [weakref.ref(s) for s in module.sessions]
    module.sessions.clear()
    gc.collect()
    assert all(ref() is None for ref in refs)


@pytest.mark.parametrize(
    ("per_call", "measured", "expected"),
    [
        (80.0, 400, EXPLAIN_CALLS),  # a slow leak: the most calls
        (8_000.0, 200, EXPLAIN_MIN_CALLS),  # a fast leak: the fewest
        (2_000.0, 400, 33),  # enough to retain 64 KiB
        (0.0, 200, EXPLAIN_CALLS),  # over the bound but not growing: no rate to size by
        (80.0, 12, 12),  # never more calls than were measured
    ],
)
def test_explanation_calls_follow_the_leak_rate(
    per_call: float, measured: int, expected: int
) -> None:
    assert explain_calls(per_call, measured) == expected


def test_explain_traces_a_leak_every_tenth_call_and_an_instance_held_dict(
    module: types.ModuleType,
) -> None:
    class Store:
        def __init__(self) -> None:
            self.tokens: dict[str, str] = {}  # str -> str: the gc does not track it

    module.store = Store()
    module.rare = []
    n = [0]

    def calls() -> None:
        for _ in range(50):
            n[0] += 1
            module.store.tokens[f"token-{n[0]}"] = "x" * 40
            if n[0] % 10 == 0:
                module.rare.append(f"sample-{n[0]}")

    found = explain(calls, Secrets(), calls=50)
    assert {h.path for h in found.holders} == {
        "memguard_fake_app:store.tokens",
        "memguard_fake_app:rare",
    }


def test_explain_names_a_full_cache_and_counts_what_it_replaced(module: types.ModuleType) -> None:
    module.tokens = {f"old-{i}": "x" * 40 for i in range(100)}  # full: 100 entries at most
    module.idle = [f"idle-{i}" for i in range(100)]
    n = [0]

    def calls() -> None:
        for _ in range(50):
            n[0] += 1
            module.tokens[f"token-{n[0]}"] = f"user-{n[0]}" * 8
            del module.tokens[next(iter(module.tokens))]

    found = explain(calls, Secrets(), calls=50)
    assert [h.path for h in found.holders] == ["memguard_fake_app:tokens"]
    assert "dict (50 of 100 items new" in found.holders[0].trace[1]
    assert by_name(found.types)["str"].count_delta == 100  # the new keys and values


def test_the_reads_after_the_pass_run_one_frame_deep_and_hand_back_what_they_return() -> None:
    """tracemalloc reads a line number per frame per allocation: from a test's stack that is
    ~10x the cost it is from a fresh thread's, and the reads after the pass allocate per
    container."""
    from pytest_memguard.explain import _shallow

    def work() -> tuple[int, int]:
        made = bytearray(64)  # not from a free list: traced
        frames = tracemalloc.get_object_traceback(made)
        assert frames is not None
        return threading.get_ident(), len(frames)

    tracemalloc.start(10)
    try:
        ident, depth = _shallow(work)
    finally:
        tracemalloc.stop()
    assert ident != threading.get_ident()
    assert depth == 2  # the work and the thread's runner: pytest's frames are not read


def test_the_reads_thread_is_gone_from_the_thread_count_when_they_return() -> None:
    """The next test's thread baseline (and the resource counts) must never see it: a thread
    that released its lock still has to exit, so each return is checked at once, many times."""
    from pytest_memguard.explain import _shallow

    before = resources.count_threads()
    seen = [(_shallow(resources.count_threads), resources.count_threads()) for _ in range(200)]
    assert {during for during, _ in seen} == {before + 1}  # it did run in a thread of its own
    assert {after for _, after in seen} == {before}
    assert threading.active_count() == len(threading.enumerate())  # threading never listed it


def test_what_the_reads_after_the_pass_raise_is_raised_to_the_caller() -> None:
    from pytest_memguard.explain import _shallow

    error = ValueError("changed size during iteration")

    def work() -> None:
        raise error

    with pytest.raises(ValueError, match="changed size") as raised:
        _shallow(work)
    assert raised.value is error


def test_the_reads_run_in_the_callers_thread_when_no_thread_can_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import _thread

    from pytest_memguard.explain import _shallow

    def refuse(*args: object) -> int:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(_thread, "start_new_thread", refuse)
    assert _shallow(threading.get_ident) == threading.get_ident()


@pytest.mark.parametrize(
    ("blocks", "steady"),
    [
        ((1, 2, 3), True),
        ((2, 4, 7, 9), True),
        ((1, 1, 2), False),  # a call that kept nothing
        ((0, 1, 2), False),  # the first call kept nothing either
        ((3, 3, 3, 6, 6, 6), False),  # a thinned run: calls not sampled repeat the last sample
        ((2, 1, 3), False),
        ((), False),
    ],
)
def test_a_run_is_steady_when_every_call_kept_more(blocks: tuple[int, ...], steady: bool) -> None:
    assert kept_more_every_call(blocks) is steady


def test_a_site_that_kept_a_block_per_call_comes_before_a_larger_one_off(
    module: types.ModuleType,
) -> None:
    module.log = []
    module.table = None

    def once() -> None:
        module.table = bytes(4096)  # one block, made by the pass's first call only

    def per_call() -> None:
        module.log.append("x" * 100 + str(len(module.log)))

    def calls() -> None:
        for _ in range(2):
            if module.table is None:
                once()
            per_call()

    # As in a guarded run, the pass's own code has run before: CPython 3.10 caches a frame per
    # function on its first call, and the plugin's would be a site of three blocks here.
    explain(lambda: None, Secrets(), calls=2)
    found = explain(calls, Secrets(), calls=2)
    first = next(line for line in found.sites if not line.startswith(" "))
    per_call_line = f"test_explain_pass.py:{per_call.__code__.co_firstlineno + 1}"
    assert first.endswith(per_call_line), found.sites
    assert any(
        line.endswith(f"test_explain_pass.py:{once.__code__.co_firstlineno + 1}")
        for line in found.sites
    ), found.sites  # the one-off is still shown, after it


def test_what_the_pass_itself_keeps_is_never_a_site_of_the_callers_line(
    module: types.ModuleType,
) -> None:
    # Called from user code (``memguard.run`` in a test), every allocation of the pass's own
    # (its list of the objects the calls left, its first snapshot) has only the caller's line
    # left once the plugin's frames are hidden: it must not be shown as an allocation site.
    module.kept = []

    def calls() -> None:
        for n in range(2):
            module.kept.append({"n": n})

    found = explain(calls, Secrets(), calls=2)
    line = test_what_the_pass_itself_keeps_is_never_a_site_of_the_callers_line.__code__
    caller = f"test_explain_pass.py:{line.co_firstlineno + 12}"
    heads = [site for site in found.sites if not site.startswith(" ")]
    assert heads, "the leak itself has a site"
    assert not any(site.endswith(caller) for site in heads), found.sites


def test_over_one_traced_call_the_types_and_first_site_are_what_the_holder_gained(
    module: types.ModuleType,
) -> None:
    # One traced call leaves alive, besides its leak, what it made in place of older objects:
    # a context's state (each ContextVar.set or reset makes a new one) and a last value kept
    # in a global. By count they look like the leak's one object; the holder tells them apart.
    import contextvars

    state: contextvars.ContextVar[object] = contextvars.ContextVar("memguard_test_state")
    module.log = []
    module.last = None

    class Request:
        pass

    def call() -> None:
        state.reset(state.set(object()))
        module.last = Request()
        module.last.payload = "y" * 400 + str(len(module.log))  # larger than the leak
        module.log.append("x" * 40 + str(len(module.log)))

    found = explain(call, Secrets(), calls=1, lead=call, lead_calls=1)
    assert [(t.name, t.count_delta) for t in found.types] == [("str", 1)], found.types
    assert found.holders[0].path == "memguard_fake_app:log"
    first = next(site for site in found.sites if not site.startswith(" "))
    assert first.endswith(f"test_explain_pass.py:{call.__code__.co_firstlineno + 4}"), found.sites


def test_allocations_that_differ_below_the_frames_shown_are_one_site(
    module: types.ModuleType,
) -> None:
    module.log = []

    def keep() -> None:
        module.log.append("x" * 60 + str(len(module.log)))

    def middle() -> None:
        keep()

    def outer() -> None:
        middle()

    def first() -> None:
        outer()

    def second() -> None:
        outer()

    def calls() -> None:
        for _ in range(3):
            first()
            second()

    found = explain(calls, Secrets(), calls=3)
    line = f"test_explain_pass.py:{keep.__code__.co_firstlineno + 1}"
    heads = [site for site in found.sites if site.endswith(line)]
    assert len(heads) == 1, found.sites  # both callers' tracebacks, summed
    blocks = int(heads[0].split(" in +")[1].split(" blocks")[0])
    assert blocks >= 6, heads  # 6 strings (and the list's array as it grew)


class _Fixtures:
    """Fresh fixtures as the plugin's replay has them, counting what the guard asks of them."""

    def __init__(self, fail_release: bool = False) -> None:
        self.released = self.restored = 0
        self.fail_release = fail_release

    def release(self) -> None:
        self.released += 1
        if self.fail_release:
            raise RuntimeError("a fixture's teardown broke")

    def restore(self) -> None:
        self.restored += 1


def test_a_failed_verdicts_explanation_tears_the_fixtures_down_and_sets_them_up_again() -> None:
    kept: list[bytes] = []
    fixtures = _Fixtures()
    result = guard(
        lambda: kept.append(bytes(512)), Settings(iterations=20), label="leak", fixtures=fixtures
    )
    assert not result.passed
    assert result.explanation
    assert (fixtures.released, fixtures.restored) == (1, 1)  # the types' pass; no count failed
    passing = _Fixtures()
    assert guard(lambda: None, Settings(iterations=20), label="clean", fixtures=passing).passed
    assert (passing.released, passing.restored) == (0, 0)  # nothing explained: left as set up


def test_a_teardown_that_raises_while_explaining_is_the_failure_with_its_call() -> None:
    kept: list[bytes] = []
    fixtures = _Fixtures(fail_release=True)
    with pytest.raises(RuntimeError, match="teardown broke") as raised:
        guard(
            lambda: kept.append(bytes(512)),
            Settings(iterations=20),
            label="leak",
            fixtures=fixtures,
        )
    notes = "\n".join(getattr(raised.value, "__notes__", ()))
    assert "memguard: raised tearing down the fixtures of call" in notes
    assert "explaining a failed verdict: still growing" in notes
    assert fixtures.restored == 1  # set up again all the same
