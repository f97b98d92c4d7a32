"""A corpus of small web apps with HTTP Basic Auth on four frameworks, each a known leak or clean.

Per framework (FastAPI, Starlette, Django, a bare WSGI app) three leaks on the auth path (a
global list of decoded credentials, an unbounded token cache, a registration per request) and
three clean apps (stateless, a bounded cache, request-scoped state). Each framework's module
(``fastapi_apps``, ...) lists its :class:`Scenario` objects in ``SCENARIOS``; a leak names in
``holder`` the attribute that keeps it, as memguard's leak trace shows it in a ``├─ .holder``
hop (``benchmarks.corpus.names_holder`` reads it). The framework modules are imported only when
asked for, so that a run of one framework loads no other.

``benchmarks/frameworks.py`` runs them through memguard's drivers and pytest-memray's
``limit_leaks``; ``tests/test_web_corpus.py`` runs a subset in the suite.
"""

from __future__ import annotations

import base64
import binascii
import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: The framework modules, in the order of the benchmark's table.
FRAMEWORKS = ("fastapi", "starlette", "django", "wsgi")
#: The growth bound every scenario gets, in KiB (the Flask corpus's default).
BOUND_KB = 64


@dataclass(frozen=True)
class Scenario:
    """One app and the request that exercises it."""

    name: str  # "<framework>.<leak_|clean_...>"
    truth: str  # "leak" or "clean"
    app: Callable[[], Any]  # a fresh app (ASGI or WSGI callable; None for Django: its URLconf)
    reset: Callable[[], None]  # clears the module-level state where leaks live
    path: str = "/"
    auth: Any = ("alice", "s3cret")  # a pair, or a callable i -> pair (rotating credentials)
    holder: str | None = None
    why: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def framework(self) -> str:
        return self.name.split(".", 1)[0]


#: The six scenarios of every framework: kind, ground truth, and whether the credentials rotate
#: (a cache keyed by them grows only with new ones).
KINDS = (
    ("global_list", "leak", False),
    ("token_cache", "leak", True),
    ("registration", "leak", False),
    ("stateless", "clean", False),
    ("bounded_cache", "clean", True),
    ("request_state", "clean", False),
)


def standard(
    framework: str,
    app_for: Callable[[str], Any],
    reset: Callable[[], None],
    holders: dict[str, str],
    path: Callable[[str], str] = lambda kind: "/",
) -> list[Scenario]:
    """A framework's :data:`KINDS`: ``app_for(kind)`` builds each app, ``holders`` names each
    leak's holder by kind."""
    return [
        Scenario(
            f"{framework}.{truth}_{kind}",
            truth,
            functools.partial(app_for, kind),
            reset,
            path=path(kind),
            auth=rotating if rotates else ("alice", "s3cret"),
            holder=holders[kind] if truth == "leak" else None,
        )
        for kind, truth, rotates in KINDS
    ]


def scenarios(frameworks: tuple[str, ...] = FRAMEWORKS) -> list[Scenario]:
    """Every scenario of ``frameworks``, leaks first within each."""
    found: list[Scenario] = []
    for framework in frameworks:
        module = importlib.import_module(f"{__name__}.{framework}_apps")
        found.extend(sorted(module.SCENARIOS, key=lambda s: (s.truth != "leak", s.name)))
    return found


def by_name(name: str) -> Scenario:
    framework = name.split(".", 1)[0]
    for scenario in scenarios((framework,)):
        if scenario.name == name:
            return scenario
    raise KeyError(f"unknown web corpus scenario {name!r}")


def credentials(header: str | None) -> tuple[str, str] | None:
    """The ``(user, password)`` of a ``Basic`` Authorization header, or ``None``."""
    if not header or not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def rotating(i: int) -> tuple[str, str]:
    """The i-th API client's credentials: a new one every call, as many clients send."""
    return f"client{i}", f"key-{i:06d}"


def valid(pair: tuple[str, str] | None) -> bool:
    """Known users, and any ``clientN`` whose key is ``key-N``."""
    if pair is None:
        return False
    user, password = pair
    if user.startswith("client"):
        return password == f"key-{int(user[6:] or 0):06d}"
    return {"alice": "s3cret"}.get(user) == password


def drive(memguard: Any, scenario: Scenario, **keywords: Any) -> Any:
    """Guard the scenario's request with the memguard driver of its framework."""
    common = {"auth": scenario.auth, "expect_status": 200, **scenario.kwargs, **keywords}
    if scenario.framework == "django":
        return memguard.django(scenario.path, **common)
    if scenario.framework == "wsgi":
        return memguard.wsgi(scenario.app(), scenario.path, **common)
    return memguard.asgi(scenario.app(), scenario.path, **common)
