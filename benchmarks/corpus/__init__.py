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

:data:`RESOURCE_SCENARIOS` (``rleak_*``, ``rclean_*``) leak or keep bounded what is not memory:
file descriptors, sockets, threads, asyncio tasks, child processes. They have the same
interface, and instead of ``HOLDER`` a leak names:

* ``KIND``: the count that rises, ``"fds"``, ``"threads"``, ``"tasks"`` or ``"processes"``
  (read it with :func:`kind`);
* the line that makes the resource, marked with the comment ``# resource made here``
  (read it with :func:`made_at`): memguard's failure must name it as ``file.py:LINE``.

A clean one may set ``BOUNDS`` (keywords such as ``{"max_fds": 4}``, a pool that fills lazily,
or ``max_growth_kb``, a working set of work in flight; read with :func:`bounds`) and says why
in its docstring. ``benchmarks/resources.py`` runs them.
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


#: Resource leaks first, then resource-clean apps (see the module docstring).
RESOURCE_SCENARIOS: list[str] = [
    "rleak_sqlite_stash",
    "rleak_raw_fd",
    "rleak_socket_open",
    "rleak_thread_per_request",
    "rleak_executor_per_request",
    "rleak_task_no_reference",
    "rleak_child_process",
    "rleak_os_pipe",
    "rleak_os_dup",
    "rleak_socketpair",
    "rleak_epoll",
    "rleak_selector",
    "rleak_eventfd",
    "rleak_mmap",
    "rleak_mkstemp",
    "rleak_temporary_file",
    "rleak_class_attr_file",
    "rleak_file_handler",
    "rleak_http_connection",
    "rleak_connection_closure",
    "rleak_pty",
    "rleak_dir_fd",
    "rleak_sqlite_closure",
    "rleak_start_new_thread",
    "rleak_thread_subclass",
    "rleak_timer",
    "rleak_thread_pool",
    "rleak_ensure_future",
    "rleak_task_set",
    "rleak_call_soon_task",
    "rleak_popen_pipes",
    "rleak_posix_spawn",
    "rleak_mp_process",
    "rleak_process_pool",
    "rleak_asyncio_subprocess",
    "rleak_every_third",
    "rleak_two_sockets",
    "rleak_after_fifty",
    "rclean_sqlite_teardown",
    "rclean_fixed_pool",
    "rclean_thread_finishes",
    "rclean_shared_executor",
    "rclean_subprocess_waited",
    "rclean_task_awaited",
    "rclean_pipe_closed",
    "rclean_selector_with",
    "rclean_temporary_file_with",
    "rclean_file_handler_removed",
    "rclean_connection_closed",
    "rclean_socket_pool",
    "rclean_thread_ends_later",
    "rclean_timer_cancelled",
    "rclean_thread_pool_closed",
    "rclean_task_cancelled",
    "rclean_ensure_future_awaited",
    "rclean_popen_communicate",
    "rclean_posix_spawn_waited",
    "rclean_mp_joined",
    "rclean_asyncio_subprocess_waited",
    "rclean_pty_mmap_closed",
]
#: The comment that marks the line making a resource leak's resource.
MADE_HERE = "# resource made here"
_KINDS = ("fds", "threads", "tasks", "processes")


def load(name: str) -> ModuleType:
    """Import and return the scenario module ``name`` (one of ``SCENARIOS`` or
    ``RESOURCE_SCENARIOS``)."""
    if name not in SCENARIOS and name not in RESOURCE_SCENARIOS:
        raise KeyError(f"unknown corpus scenario {name!r}")
    return importlib.import_module(f"{__name__}.{name}")


def bound_kb(module: ModuleType) -> int:
    """The scenario's growth bound in KiB: its ``BOUND_KB``, or :data:`DEFAULT_BOUND_KB`."""
    value = getattr(module, "BOUND_KB", DEFAULT_BOUND_KB)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise TypeError(f"{module.__name__}.BOUND_KB must be a positive int, got {value!r}")
    return value


def holder(module: ModuleType) -> str | None:
    """The attribute that keeps a leak scenario's growth (its ``HOLDER``); ``None`` when clean
    (or a resource leak without one).

    Raises ``TypeError`` when a leak lacks a non-empty ``HOLDER`` or a clean scenario has one.
    """
    value = getattr(module, "HOLDER", None)
    if getattr(module, "KIND", None) is not None and value is None:
        return None  # a resource leak names its line (made_at), not necessarily a holder
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


def kind(module: ModuleType) -> str | None:
    """The count a resource leak raises (its ``KIND``); ``None`` for a clean scenario."""
    value = getattr(module, "KIND", None)
    if module.GROUND_TRUTH == "clean":
        if value is not None:
            raise TypeError(f"{module.__name__} is clean and must not set KIND")
        return None
    if value not in _KINDS:
        raise TypeError(f"{module.__name__}.KIND must be one of {_KINDS}, got {value!r}")
    return str(value)


def made_at(module: ModuleType) -> str:
    """``file.py:LINE`` of the line marked :data:`MADE_HERE` in a resource leak's source."""
    path = module.__file__ or ""
    with open(path, encoding="utf-8") as source:
        lines = [i for i, line in enumerate(source, 1) if line.rstrip().endswith(MADE_HERE)]
    if len(lines) != 1:
        raise TypeError(f"{module.__name__} must mark exactly one line with {MADE_HERE!r}")
    return f"{path.rsplit('/', 1)[-1]}:{lines[0]}"


def bounds(module: ModuleType) -> dict[str, int]:
    """The keywords (``max_fds``...) a scenario's guarded runs get: its ``BOUNDS``, or none."""
    value = getattr(module, "BOUNDS", {})
    allowed = {f"max_{k}" for k in _KINDS} | {"max_growth_kb"}
    if not isinstance(value, dict) or not all(k in allowed for k in value):
        raise TypeError(f"{module.__name__}.BOUNDS must map max_fds... to ints, got {value!r}")
    return dict(value)
