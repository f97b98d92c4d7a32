"""Fresh fixtures for a replayed test: the one module that reaches into pytest's internals.

A test replayed on the same fixture values grows whatever it adds to them (a route on its
``app``, an entry in ``monkeypatch``'s undo list), and a test that registers a setup-only
callback raises on its second call. pytest-rerunfailures and CPython's ``regrtest -R`` re-run
the whole protocol instead; this does the same for the function-scoped part: the item's own
entry of pytest's ``SetupState`` is torn down (its function-scoped fixtures' finalizers, in
pytest's order), a new ``FixtureRequest`` is made, and the item is set up again. Higher-scoped
fixtures stay. The last replay's fixtures are torn down by pytest's own teardown phase.

Private pytest API used, checked on pytest 8.4 and 9.2 (``tests/test_fixtures.py`` fails
if one of them changes): ``Session._setupstate`` with ``stack``, ``setup(item)`` and
``teardown_exact(nextitem)``; ``Function._initrequest()``, ``Function._request`` (set to
``False`` once torn down, as pytest's runner does), ``Function._fixtureinfo`` with
``argnames`` and ``name2fixturedefs``; ``FixtureDef.scope``, ``_finalizers`` and
``cached_result``; ``Stash._storage``; ``Config._tmp_path_factory._next_number``
(pytest 9: the ``tmp_path`` counter). And one of pluggy's (1.x, checked on 1.7):
``HookCaller._call_history``, the list a historic hook keeps of its calls.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest

#: The scope whose fixtures a refresh sets up anew.
FUNCTION = "function"


class FixtureRefreshError(Exception):
    """Tearing the test's fixtures down or setting them up again failed: the test cannot be
    replayed with fresh fixtures (the message says which step and why)."""


def supported(item: pytest.Item) -> bool:
    """Whether ``item`` can get fresh fixtures: a plain test function, set up by pytest."""
    state = getattr(item.session, "_setupstate", None)
    return (
        isinstance(item, pytest.Function)
        and hasattr(item, "_initrequest")
        and hasattr(item, "_fixtureinfo")
        and state is not None
        and item in getattr(state, "stack", {})
    )


def argnames(item: pytest.Function) -> tuple[str, ...]:
    """The names the test function takes, as pytest passes them."""
    return tuple(item._fixtureinfo.argnames)


def refresh(item: pytest.Function) -> None:
    """Tear down the item's function-scoped fixtures and set them up again.

    What the teardown takes out of ``item.stash`` is put back (``tmp_path`` deletes the
    phase results pytest stored there for it), and the finalizers that each setup of a
    function-scoped fixture leaves on the higher-scoped fixtures it uses are dropped once it
    is torn down: pytest leaves one per test, a replay would leave one per call. So are the
    calls of historic hooks the refresh made (see :func:`_history_lengths`).
    """
    __tracebackhide__ = True
    with _history_kept(item):
        _refresh(item)


def _refresh(item: pytest.Function) -> None:
    __tracebackhide__ = True
    _teardown(item)
    _setup(item)


def _teardown(item: pytest.Function) -> None:
    __tracebackhide__ = True
    state: Any = item.session._setupstate
    stash: dict[Any, object] = item.stash._storage
    kept = dict(stash)
    made = _replay_tmp_path(item)
    try:
        # Pops the entries after the parent's: the item's own, with its finalizers.
        state.teardown_exact(item.parent)
    except BaseException as exc:
        if not isinstance(exc, Exception):
            raise
        raise FixtureRefreshError(
            f"tearing its fixtures down raised {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        for key, value in kept.items():
            stash.setdefault(key, value)
    _drop_finished(item)
    if made is not None:
        # pytest numbers each new tmp_path one past the highest left on disk: with the last
        # replay's directory gone, the next gets the same name. A new name per call would
        # grow CPython 3.12's interned strings (pathlib interns every part) for good.
        shutil.rmtree(made, ignore_errors=True)
        _reuse_number(item, made)


def _setup(item: pytest.Function) -> None:
    __tracebackhide__ = True
    state: Any = item.session._setupstate
    item._initrequest()
    lengths = _finalizer_lengths(item)
    try:
        state.setup(item)
    except BaseException as exc:
        if not isinstance(exc, Exception):
            raise
        raise FixtureRefreshError(
            f"setting its fixtures up again raised {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        _drop_repeated(item, lengths)


def _history_lengths(item: pytest.Function) -> list[tuple[list[object], int]]:
    """Each historic hook's call history, with its length.

    pluggy keeps every call of a historic hook, to replay it to plugins registered later: a
    fixture that unregisters a plugin and registers it again on teardown (Flask's
    ``reset_logging`` with pytest's ``logging-plugin``) adds one ``pytest_plugin_registered``
    call per teardown, for good. pytest's run does that once per test; the replays' calls
    repeat it for a plugin already in the history, so they are dropped.
    """
    relay = getattr(item.config.pluginmanager, "hook", None)
    found = []
    for caller in vars(relay).values() if relay is not None else ():
        history = getattr(caller, "_call_history", None)
        if isinstance(history, list):
            found.append((history, len(history)))
    return found


@contextmanager
def _history_kept(item: pytest.Function) -> Iterator[None]:
    """The historic hooks' call histories as they were, whatever the block called."""
    histories = _history_lengths(item)
    try:
        yield
    finally:
        for history, length in histories:
            del history[length:]


#: The item's own first ``tmp_path`` (the test's normal call), never removed by a refresh.
FIRST_TMP_PATH = pytest.StashKey[object]()


def _replay_tmp_path(item: pytest.Function) -> str | None:
    """The ``tmp_path`` an earlier replay made, if the item uses one: removed once torn down
    (the test's own first one is kept, as pytest keeps it)."""
    defs = item._fixtureinfo.name2fixturedefs.get("tmp_path")
    cached = defs[-1].cached_result if defs else None
    if not cached or not isinstance(cached[0], os.PathLike):
        return None
    path = os.fspath(cached[0])
    first = item.stash.setdefault(FIRST_TMP_PATH, path)
    return None if path == first else path


def _reuse_number(item: pytest.Function, removed: str) -> None:
    """pytest 9 counts each ``tmp_path`` prefix in ``TempPathFactory._next_number`` instead
    of listing the directory: step it back to the removed directory's number."""
    counters = getattr(getattr(item.config, "_tmp_path_factory", None), "_next_number", None)
    name = os.path.basename(removed)
    stem = name.rstrip("0123456789")
    if not isinstance(counters, dict) or stem == name:
        return
    number = int(name[len(stem) :])
    if counters.get(stem.lower()) == number + 1:
        counters[stem.lower()] = number


def _drop_finished(item: pytest.Function) -> None:
    """Drop, from the item's higher-scoped fixtures, the finalizers of its function-scoped
    fixtures that were just torn down (calling them again would do nothing)."""
    for defs in item._fixtureinfo.name2fixturedefs.values():
        for fixturedef in defs:
            finalizers = getattr(fixturedef, "_finalizers", None)
            if str(fixturedef.scope) == FUNCTION or not isinstance(finalizers, list):
                continue
            # The item's setup appended them last; a session fixture's list holds one per
            # test of the run, so only its tail is read.
            while finalizers and _finished_here(finalizers[-1], item):
                finalizers.pop()


def _finalizer_lengths(item: pytest.Function) -> dict[int, int]:
    """How many finalizers each higher-scoped fixture of the item holds, by ``id``."""
    return {
        id(fixturedef): len(fixturedef._finalizers)
        for defs in item._fixtureinfo.name2fixturedefs.values()
        for fixturedef in defs
        if str(fixturedef.scope) != FUNCTION and isinstance(fixturedef._finalizers, list)
    }


def _drop_repeated(item: pytest.Function, lengths: dict[int, int]) -> None:
    """Drop the finalizers a setup just added that repeat one the item already left there.

    Requesting a cached higher-scoped fixture again (pytest-django's class-scoped
    ``_django_setup_unittest`` on its session-scoped ``django_db_blocker``) appends one more
    ``partial(finish)`` to each fixture it depends on on pytest 9: one per replay. The first
    stays; finishing twice would do nothing more.
    """
    for defs in item._fixtureinfo.name2fixturedefs.values():
        for fixturedef in defs:
            start = lengths.get(id(fixturedef))
            if start is None:
                continue
            finalizers = fixturedef._finalizers
            seen = _owners_before(finalizers, start, item)
            kept = [
                f
                for f in finalizers[start:]
                if (o := _owner_here(f, item)) is None or id(o) not in seen
            ]
            finalizers[start:] = kept


def _owners_before(finalizers: Sequence[object], start: int, item: pytest.Function) -> set[int]:
    """The ``id`` of each fixture definition whose ``finish`` the first ``start`` finalizers
    call for this item. Read from ``start`` backwards up to an earlier test's finalizer: the
    item's own were appended after those, and a session fixture's list holds one per test
    of the run, so reading it whole on each replay would make the scan quadratic."""
    seen: set[int] = set()
    for index in range(start - 1, -1, -1):
        finalizer = finalizers[index]
        if _other_item(finalizer, item):
            break
        owner = _owner_here(finalizer, item)
        if owner is not None:
            seen.add(id(owner))
    return seen


def _other_item(finalizer: object, item: pytest.Function) -> bool:
    """A ``partial(finish, request=...)`` left by another test's setup."""
    if not isinstance(finalizer, functools.partial):
        return False
    other = getattr(finalizer.keywords.get("request"), "_pyfuncitem", None)
    return other is not None and other is not item


def _owner_here(finalizer: object, item: pytest.Function) -> object | None:
    """The fixture definition whose ``finish`` the finalizer calls for this item, or None."""
    if not isinstance(finalizer, functools.partial):
        return None
    request = finalizer.keywords.get("request")
    owner: object | None = getattr(finalizer.func, "__self__", None)
    if owner is None or getattr(request, "_pyfuncitem", None) is not item:
        return None
    return owner


def _finished_here(finalizer: object, item: pytest.Function) -> bool:
    """``partial(fixturedef.finish, request=...)`` of a function-scoped fixture of this item
    that is no longer set up."""
    owner = _owner_here(finalizer, item)
    return (
        owner is not None
        and str(getattr(owner, "scope", "")) == FUNCTION
        and getattr(owner, "cached_result", True) is None
    )


class FreshCall:
    """A replay of the test function with fresh function-scoped fixtures for each call."""

    def __init__(self, item: pytest.Function) -> None:
        self.item = item
        self.names = argnames(item)
        self.function = item.obj

    def __call__(self) -> None:
        __tracebackhide__ = True
        refresh(self.item)
        funcargs = self.item.funcargs
        self.function(**{name: funcargs[name] for name in self.names})

    def release(self) -> None:
        """Tear down the fixtures the last call set up, as pytest's teardown phase would: what
        only they hold (the request, the values, an ``app`` and what it made) is gone when an
        explanation reads the heap. The next call, or :meth:`restore`, sets them up again."""
        __tracebackhide__ = True
        with _history_kept(self.item):
            _teardown(self.item)
        # As pytest's protocol does once a test is torn down: let go of the values and the
        # request (made by the last call's setup, it is not the code's).
        self.item.funcargs.clear()
        self.item._request = False  # type: ignore[assignment]

    def restore(self) -> None:
        """Set the fixtures up again after :meth:`release`, as a call leaves them for pytest's
        teardown phase; nothing if they are set up."""
        __tracebackhide__ = True
        if self.item in self.item.session._setupstate.stack:
            return
        with _history_kept(self.item):
            _setup(self.item)


def has_function_fixtures(item: pytest.Item) -> bool:
    """Whether the item uses any function-scoped fixture (else fresh ones change nothing)."""
    info = getattr(item, "_fixtureinfo", None)
    names = getattr(info, "name2fixturedefs", {}) if info is not None else {}
    return any(function_scoped(item, name) for name in names)


def takes_function_fixtures(item: pytest.Item) -> bool:
    """Whether the test function itself asks for a function-scoped fixture: only then can a
    replay on reused values trip over what an earlier call left in them. Autouse ones of
    plugins it never sees (pytest-django gives every test several) do not count."""
    info = getattr(item, "_fixtureinfo", None)
    names = getattr(info, "argnames", ()) if info is not None else ()
    return any(function_scoped(item, name) for name in names)


def function_scoped(item: pytest.Item, name: str) -> bool:
    """Whether ``name`` is a function-scoped fixture of ``item`` (its value is made per test)."""
    info = getattr(item, "_fixtureinfo", None)
    defs = getattr(info, "name2fixturedefs", {}).get(name) if info is not None else None
    if not defs:
        return False
    return str(getattr(defs[-1], "scope", "")) == FUNCTION
