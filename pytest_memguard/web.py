"""What every web driver shares: the auth specification, paths, statuses, labels, redaction.

A driver sends the configured request(s) once per call through a framework's test client; this
module knows nothing of any framework (each driver module imports its own lazily), so the
plugin loads in projects that guard plain callables.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any, TypeAlias

from pytest_memguard.errors import passthrough
from pytest_memguard.redact import Secrets, basic_token, collected, from_values, remember

Pair = tuple[str, str]
#: Status codes counted one by one (1-599); others share slot 0.
STATUS_SLOTS = 600
Auth: TypeAlias = "Pair | Sequence[Pair] | Callable[[int], Pair] | None"


class UnexpectedStatus(AssertionError):
    """The app answered with a status the test did not expect."""


class MissingExtra(ImportError):
    """A driver's framework is not installed: the message names the extra to install."""


def require(module: str, extra: str, driver: str) -> Any:
    """Import ``module`` for ``driver``, or say which extra of pytest-memguard brings it."""
    __tracebackhide__ = True
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(
            f"memguard.{driver}() needs {module.split('.')[0]}, which is not installed:"
            f" pip install pytest-memguard[{extra}]"
        ) from exc


def basic_auth(user: str, password: str) -> dict[str, str]:
    """The ``Authorization`` header for HTTP Basic Auth (RFC 7617, UTF-8)."""
    _check_pair((user, password), where="basic_auth()")
    remember(user, password)
    return {"Authorization": f"Basic {basic_token(user, password)}"}


def _check_pair(pair: object, *, where: str) -> Pair:
    __tracebackhide__ = True  # a usage error points at the test's own line
    if (
        not isinstance(pair, tuple)
        or len(pair) != 2
        or not all(isinstance(part, str) for part in pair)
    ):
        shape = (
            f"a {type(pair).__name__}" if not isinstance(pair, tuple) else f"a {len(pair)}-tuple"
        )
        raise TypeError(
            f"{where}: auth must be a (user, password) pair of str, got {shape}"
            " (a callable i -> (user, password) or a list of pairs also work)"
        )
    if ":" in pair[0]:
        remember(*pair)  # refused, yet a secret: the failing line shows it
        raise ValueError(f"{where}: a Basic Auth user name cannot contain ':' (RFC 7617)")
    return pair


class WebCall:
    """A callable that sends the configured request(s) once per call; ``send`` is the driver's.

    It keeps the auth specification, not a growing record of what it sent: each credential it
    sends, and any ``Basic`` header in ``headers``, is remembered by the session for redaction
    (set aside outside the counters while measuring); :meth:`secrets` recomputes them.
    """

    #: The driver's name, as in ``memguard.<kind>()`` and the label ``<kind> GET /path``.
    kind = "web"

    def __init__(
        self,
        path: str | Sequence[str] = "/",
        *,
        method: str = "GET",
        auth: Any = None,
        headers: Mapping[str, str] | None = None,
        expect_status: int | None = None,
        request_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        __tracebackhide__ = True
        where = f"memguard.{self.kind}()"
        self.paths = _paths(path, where)
        if not isinstance(method, str):
            raise TypeError(f"{where}: method must be a str, got {type(method).__name__}")
        self.method = method.upper()
        self._pair_for = _auth(auth, where)
        self.headers = dict(headers or {})
        known = collected()
        if known is not None:  # learnt now, before any measuring: no record per call
            known.update(from_values([self.headers]))
            for pair in (
                auth if isinstance(auth, list) else [auth] if isinstance(auth, tuple) else []
            ):
                known.add(*pair)
        if expect_status is not None and (
            isinstance(expect_status, bool) or not isinstance(expect_status, int)
        ):
            raise TypeError(f"{where}: expect_status must be an int such as 200")
        self.expect_status = expect_status
        self.request_kwargs = dict(request_kwargs or {})
        self.calls = 0
        # Responses per status code, preallocated: counting a call allocates nothing.
        self._statuses = array("q", bytes(8 * STATUS_SLOTS))

    @property
    def label(self) -> str:
        return f"{self.kind} {self.method} {', '.join(self.paths)}"

    def shown_label(self, secrets: Secrets) -> str:
        """The label with credentials in a path or query string redacted."""
        return f"{self.kind} {self.method} {', '.join(map(secrets.redact_value, self.paths))}"

    def send(self, path: str, headers: dict[str, str]) -> int:
        """Send one request and return its status code; each driver says how."""
        raise NotImplementedError

    def count(self, path: str, status: int) -> None:
        """Count a response's status; raise when the test expected another one."""
        __tracebackhide__ = True
        self._statuses[status if 0 < status < STATUS_SLOTS else 0] += 1
        if self.expect_status is not None and status != self.expect_status:
            raise UnexpectedStatus(
                f"expected status {self.expect_status} for {self.method} {path},"
                f" got {status} (call {self.calls})"
            )

    def __call__(self) -> None:
        """One call: this call's headers (the fixed ones and its Basic Auth pair), each path
        sent. Built here, not in a helper: an allocation site's traceback (tracemalloc keeps
        ten frames) must still reach the test's own line."""
        __tracebackhide__ = True
        pair = self._pair_for(self.calls)
        self.calls += 1
        headers = dict(self.headers)
        if pair is not None:
            remember(*pair)
            headers["Authorization"] = f"Basic {basic_token(*pair)}"
        for path in self.paths:
            self.count(path, self.send(path, headers))

    @passthrough
    def running(self) -> Iterator[None]:
        """Around the whole guarded run: what the driver sets up and restores (none here)."""
        yield

    def own_threads(self) -> Collection[int]:
        """Native ids of threads that run the app for this driver while a call waits."""
        return ()

    def roots(self) -> tuple[tuple[str, object], ...]:
        """Named objects a leak trace may start from: the driven app, held by the test."""
        return ()

    def statuses(self) -> dict[int, int]:
        """Status code -> responses that had it (0: a code outside 1-599)."""
        return {code: n for code, n in enumerate(self._statuses) if n}

    def secrets(self) -> Secrets:
        """Every credential this driver sent, plus any in the fixed headers."""
        secrets = from_values([self.headers])
        for i in range(self.calls):
            pair = self._pair_for(i)
            if pair is not None:
                secrets.add(*pair)
        return secrets


def _paths(path: object, where: str) -> tuple[str, ...]:
    __tracebackhide__ = True  # a usage error points at the test's own line
    paths = (path,) if isinstance(path, str) else path
    if (
        not isinstance(paths, (list, tuple))
        or not paths
        or not all(isinstance(p, str) and p for p in paths)
    ):
        raise TypeError(
            f"{where}: path must be a non-empty str such as '/profile' or a list of them,"
            f" got {type(path).__name__}"
        )
    return tuple(paths)


def _auth(auth: object, where: str) -> Callable[[int], Pair | None]:
    __tracebackhide__ = True  # a usage error points at the test's own line
    if auth is None:
        return lambda i: None
    if isinstance(auth, tuple):
        pair = _check_pair(auth, where=where)
        return lambda i: pair
    if isinstance(auth, list):
        if not auth:
            raise ValueError(f"{where}: auth list is empty; give at least one pair")
        pairs = [_check_pair(p, where=where) for p in auth]
        return lambda i: pairs[i % len(pairs)]
    if callable(auth):
        produce = auth

        def per_call(i: int) -> Pair:
            return _check_pair(produce(i), where=f"{where} auth callable")

        return per_call
    raise TypeError(
        f"{where}: auth must be a (user, password) pair, a list of pairs,"
        f" a callable i -> (user, password) or None; got {type(auth).__name__}"
    )


def only_errors(statuses: dict[int, int]) -> bool:
    """Whether every response was a 404 or a server error: the run measured error pages."""
    return bool(statuses) and all(code == 404 or code >= 500 for code in statuses)


__all__ = ["MissingExtra", "UnexpectedStatus", "WebCall", "basic_auth", "only_errors"]
