"""``fixtures.py``: fresh function-scoped fixtures for a replay, and the pytest internals it
reads (these tests fail first when a pytest release changes them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_memguard import fixtures


@pytest.fixture(scope="module")
def shared() -> dict[str, int]:
    return {"made": 0}


@pytest.fixture
def per_test(shared: dict[str, int]) -> dict[str, int]:
    shared["made"] += 1
    return {"n": shared["made"]}


def test_the_pytest_internals_fixtures_py_reads_are_there(
    request: pytest.FixtureRequest, per_test: dict[str, int], tmp_path: object
) -> None:
    item = request.node
    assert isinstance(item, pytest.Function)
    state = item.session._setupstate
    assert item in state.stack
    assert callable(state.setup)
    assert callable(state.teardown_exact)
    assert callable(item._initrequest)
    assert item._request is request
    assert tuple(item._fixtureinfo.argnames) == ("request", "per_test", "tmp_path")
    defs = item._fixtureinfo.name2fixturedefs
    assert str(defs["per_test"][-1].scope) == "function"
    assert str(defs["shared"][-1].scope) == "module"
    assert isinstance(defs["shared"][-1]._finalizers, list)
    assert defs["per_test"][-1].cached_result is not None
    assert isinstance(item.stash._storage, dict)
    assert fixtures.supported(item)
    assert fixtures.has_function_fixtures(item)
    assert fixtures.function_scoped(item, "per_test")
    assert not fixtures.function_scoped(item, "shared")
    assert not fixtures.function_scoped(item, "no_such_fixture")


def test_refresh_sets_function_fixtures_up_again_and_keeps_the_others(
    request: pytest.FixtureRequest, per_test: dict[str, int], tmp_path: object
) -> None:
    item = request.node
    assert isinstance(item, pytest.Function)
    shared = item.funcargs["per_test"]
    first_path = item.funcargs["tmp_path"]
    module_fixture = item._fixtureinfo.name2fixturedefs["shared"][-1]
    finalizers = len(module_fixture._finalizers)
    for _ in range(5):
        fixtures.refresh(item)
    assert item.funcargs["per_test"] is not shared
    assert item.funcargs["per_test"]["n"] == shared["n"] + 5
    assert item.funcargs["tmp_path"] != first_path  # tmp_path's teardown found its stash
    # one finalizer per set-up fixture, not one per refresh
    assert len(module_fixture._finalizers) == finalizers


def test_a_fresh_call_calls_the_test_function_with_the_new_values(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_memguard import fixtures

        SEEN = []
        TORN = []

        @pytest.fixture
        def value():
            yield object()
            TORN.append(1)

        def check(request, value):
            SEEN.append(value)

        def test_replays(request, value):
            item = request.node
            item.obj = check  # what FreshCall calls
            replay = fixtures.FreshCall(item)
            replay()
            replay()
            assert len(SEEN) == 2 and SEEN[0] is not SEEN[1] and SEEN[0] is not value
            assert len(TORN) == 2  # the first call's and the first replay's
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=1)


def test_a_released_replay_lets_go_of_its_fixtures_until_restored(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import gc, weakref
        import pytest
        from pytest_memguard import fixtures

        class Value:
            pass

        TORN = []

        @pytest.fixture
        def value():
            yield Value()
            TORN.append(1)

        def test_release(request, value):
            item = request.node
            item.obj = lambda request, value: None  # what the replay calls
            replay = fixtures.FreshCall(item)
            replay()
            made = weakref.ref(item.funcargs["value"])
            replay.release()
            gc.collect()
            assert len(TORN) == 2  # the test's own values and the replay's: torn down
            assert made() is None  # and let go of, request and all
            assert item not in item.session._setupstate.stack
            replay.restore()
            assert isinstance(item.funcargs["value"], Value)
            assert item._request.node is item
            replay.restore()  # set up already: nothing more
            assert len(TORN) == 2
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=1)


def test_a_fixture_whose_setup_fails_on_a_refresh_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_memguard import fixtures

        CALLS = []

        @pytest.fixture
        def once():
            CALLS.append(1)
            if len(CALLS) > 1:
                raise RuntimeError("only once")

        def test_refresh(request, once):
            with pytest.raises(fixtures.FixtureRefreshError, match="setting its fixtures up"
                               " again raised RuntimeError: only once"):
                fixtures.refresh(request.node)
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")
    # pytest's own teardown then pops the failed setup quietly
    result.assert_outcomes(passed=1)


@pytest.fixture(scope="session")
def session_blocker() -> str:
    return "blocker"


@pytest.fixture(scope="class")
def class_setup(session_blocker: str) -> str:
    return session_blocker


@pytest.fixture
def per_call(class_setup: str) -> str:
    return class_setup


@pytest.mark.parametrize("run", range(2))
def test_refresh_leaves_no_finalizer_per_call_on_a_cached_fixture_chain(
    request: pytest.FixtureRequest, per_call: str, run: int
) -> None:
    """pytest-django's shape (a class fixture cached on a session one): requesting the cached
    class fixture again adds a finalizer to the session fixture on pytest 9, once per refresh
    unless fixtures.py drops the repeats. The second run finds the first one's finalizers
    before its own (only its own tail is read), and leaves them."""
    item = request.node
    assert isinstance(item, pytest.Function)
    blocker = item._fixtureinfo.name2fixturedefs["session_blocker"][-1]
    earlier = [f for f in blocker._finalizers if fixtures._other_item(f, item)]
    fixtures.refresh(item)
    after_one = len(blocker._finalizers)
    for _ in range(5):
        fixtures.refresh(item)
    assert len(blocker._finalizers) == after_one
    assert [f for f in blocker._finalizers if fixtures._other_item(f, item)] == earlier
    assert item.funcargs["per_call"] == "blocker"


@pytest.fixture(autouse=True)
def _autouse_per_test() -> None:
    """Like pytest-django's autouse fixtures: function-scoped, never named by the test."""


def test_only_fixtures_the_test_asks_for_make_auto_judge_again(
    request: pytest.FixtureRequest, shared: dict[str, int]
) -> None:
    item = request.node
    assert fixtures.has_function_fixtures(item)  # the autouse one
    assert not fixtures.takes_function_fixtures(item)


def test_replays_reuse_one_tmp_path_name_and_keep_the_tests_own(
    request: pytest.FixtureRequest, tmp_path: object
) -> None:
    """A new directory name per replay would grow CPython 3.12's interned strings for good
    (pathlib interns every part): each replay's directory is removed at the next refresh and
    its name used again; the test's own first one stays."""
    item = request.node
    assert isinstance(item, pytest.Function)
    own = item.funcargs["tmp_path"]
    names = set()
    for _ in range(6):
        fixtures.refresh(item)
        names.add(item.funcargs["tmp_path"].name)
    assert len(names) == 1, names
    assert own.is_dir()
    assert own.name not in names


class _Plugin:
    """A plugin a fixture registers again on teardown, as Flask's ``reset_logging`` does."""


@pytest.fixture
def registers_again(pytestconfig: pytest.Config) -> Iterator[None]:
    manager = pytestconfig.pluginmanager
    plugin = manager.get_plugin("memguard-test-plugin") or _Plugin()
    if not manager.is_registered(plugin):
        manager.register(plugin, "memguard-test-plugin")
    manager.unregister(plugin)
    yield
    manager.register(plugin, "memguard-test-plugin")


def test_refresh_drops_the_historic_hook_calls_it_made(
    request: pytest.FixtureRequest, pytestconfig: pytest.Config, registers_again: None
) -> None:
    """pluggy keeps each ``pytest_plugin_registered`` call (a historic hook) in a list; a
    refresh's own calls are dropped, so the replays leave it as pytest's run would."""
    item = request.node
    assert isinstance(item, pytest.Function)
    history = pytestconfig.pluginmanager.hook.pytest_plugin_registered._call_history
    assert isinstance(history, list)
    before = len(history)
    for _ in range(3):
        fixtures.refresh(item)
    assert len(history) == before
    assert not pytestconfig.pluginmanager.has_plugin("memguard-test-plugin")  # set up again
