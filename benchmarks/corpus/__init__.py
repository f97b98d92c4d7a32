"""A corpus of small Flask apps with HTTP Basic Auth, each one a known leak or known clean.

Every module in ``SCENARIOS`` exposes the same interface:

* ``GROUND_TRUTH``: ``"leak"`` or ``"clean"`` (the docstring's first line starts with
  ``LEAK:`` or ``CLEAN:`` and the rest says why);
* ``create_app() -> flask.Flask``: a fresh app (module-level state is where leaks live);
* ``reset() -> None``: clears that module-level state so a fresh run starts clean;
* ``SCENARIO``: keyword arguments for ``memguard.flask(app, **SCENARIO)``: ``path`` (a str or
  a list of str, cycled), ``auth`` (a ``(user, password)`` pair, a module-level callable
  ``i -> (user, password)`` for rotating credentials, a list of pairs cycled, or ``None``)
  and optionally ``headers``, ``method`` and ``expect_status``;
* ``BOUND_KB`` (optional): the growth bound every mode of ``benchmarks/run.py`` gets for this
  scenario, in KiB; :data:`DEFAULT_BOUND_KB` when absent. A module that sets it says in its
  docstring why its steady state needs more (read it with :func:`bound_kb`).
* ``HOLDER`` (leaks only): the attribute name, without the leading dot, of the container that
  keeps the leak, as memguard's leak trace shows it in a ``├─ .HOLDER`` hop: a module global
  (``_auth_log``), a class or instance attribute (``registry``, ``records``), blinker's
  ``receivers``, the function whose ``lru_cache`` or default argument holds the leak
  (``credentials_valid``, ``remember_login``). ``benchmarks/run.py`` reports whether each
  failure names it and ``tests/test_corpus_explained.py`` requires it (read it with
  :func:`holder`). Clean modules have none.

``benchmarks/corpus_check.py`` verifies every ground truth independently with ``tracemalloc``.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType

#: The bound of a scenario that does not set ``BOUND_KB``, in KiB.
DEFAULT_BOUND_KB = 64

#: Module names, in a stable order: leaks first, then clean apps.
SCENARIOS: list[str] = [
    "leak_global_list",
    "leak_token_cache",
    "leak_lru_cache_unbounded",
    "leak_authorization_audit",
    "leak_signal_receivers",
    "leak_logging_handler",
    "leak_class_registry",
    "leak_exception_traceback",
    "leak_large_buffers",
    "leak_small_latency_samples",
    "leak_every_tenth",
    "leak_httpauth_cache",
    "leak_default_mutable_arg",
    "clean_stateless",
    "clean_lru_bounded",
    "clean_deque_audit",
    "clean_weakref_cache",
    "clean_jinja_template",
    "clean_regex_validation",
    "clean_session",
    "clean_counting_log_handler",
    "clean_big_temporary",
    "clean_g_teardown",
    "clean_httpauth",
    "clean_bounded_token_cache",
]


def load(name: str) -> ModuleType:
    """Import and return the scenario module ``name`` (one of ``SCENARIOS``)."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown corpus scenario {name!r}")
    return importlib.import_module(f"{__name__}.{name}")


def bound_kb(module: ModuleType) -> int:
    """The scenario's growth bound in KiB: its ``BOUND_KB``, or :data:`DEFAULT_BOUND_KB`."""
    value = getattr(module, "BOUND_KB", DEFAULT_BOUND_KB)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise TypeError(f"{module.__name__}.BOUND_KB must be a positive int, got {value!r}")
    return value


def holder(module: ModuleType) -> str | None:
    """The attribute that keeps a leak scenario's growth (its ``HOLDER``); ``None`` when clean.

    Raises ``TypeError`` when a leak lacks a non-empty ``HOLDER`` or a clean scenario has one.
    """
    value = getattr(module, "HOLDER", None)
    if module.GROUND_TRUTH == "clean":
        if value is not None:
            raise TypeError(f"{module.__name__} is clean and must not set HOLDER")
        return None
    if not isinstance(value, str) or not value or value.startswith("."):
        raise TypeError(
            f"{module.__name__}.HOLDER must be an attribute name without the dot, got {value!r}"
        )
    return value


def names_holder(text: str, name: str) -> bool:
    """Whether a memguard failure ``text`` has a leak-trace hop ``├─ .name`` (``name`` whole)."""
    return re.search(rf"├─ \.{re.escape(name)}(?:\s|$)", text, re.MULTILINE) is not None
