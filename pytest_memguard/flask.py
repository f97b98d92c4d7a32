"""Drive a Flask app through its test client with HTTP Basic Auth, one request per call.

Flask is imported lazily (only its test client's interface is used), so the plugin loads in
projects that guard plain callables.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeAlias

from pytest_memguard.errors import passthrough
from pytest_memguard.redact import Secrets, basic_token, collected, from_values, remember

Pair = tuple[str, str]
#: Status codes counted one by one (1-599); others share slot 0.
STATUS_SLOTS = 600
Auth: TypeAlias = "Pair | Sequence[Pair] | Callable[[int], Pair] | None"


class UnexpectedStatus(AssertionError):
    """The app answered with a status the test did not expect."""


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
        raise ValueError(f"{where}: a Basic Auth user name cannot contain ':' (RFC 7617)")
    return pair


class FlaskCall:
    """A callable that sends the configured request(s) once per call.

    It keeps the auth specification, not a growing record of what it sent: each credential it
    sends, and any ``Basic`` header in ``headers``, is remembered by the session for redaction
    (set aside outside the counters while measuring); :meth:`secrets` recomputes them.
    """

    def __init__(
        self,
        app_or_client: object,
        path: str | Sequence[str] = "/",
        *,
        method: str = "GET",
        auth: Any = None,
        headers: Mapping[str, str] | None = None,
        expect_status: int | None = None,
        request_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        __tracebackhide__ = True
        self.client = _client(app_or_client)
        self.paths = _paths(path)
        if not isinstance(method, str):
            raise TypeError(f"memguard.flask(): method must be a str, got {type(method).__name__}")
        self.method = method.upper()
        self._pair_for = _auth(auth)
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
            raise TypeError("memguard.flask(): expect_status must be an int such as 200")
        self.expect_status = expect_status
        self.request_kwargs = dict(request_kwargs or {})
        self.calls = 0
        # Responses per status code, preallocated: counting a call allocates nothing.
        self._statuses = array("q", bytes(8 * STATUS_SLOTS))

    @property
    def label(self) -> str:
        return f"flask {self.method} {', '.join(self.paths)}"

    def shown_label(self, secrets: Secrets) -> str:
        """The label with credentials in a path or query string redacted."""
        return f"flask {self.method} {', '.join(map(secrets.redact_value, self.paths))}"

    def __call__(self) -> None:
        __tracebackhide__ = True
        pair = self._pair_for(self.calls)
        self.calls += 1
        headers = dict(self.headers)
        if pair is not None:
            remember(*pair)
            headers["Authorization"] = f"Basic {basic_token(*pair)}"
        for path in self.paths:
            response = self.client.open(
                path, method=self.method, headers=headers, **self.request_kwargs
            )
            status = response.status_code
            response.close()
            self._statuses[status if 0 < status < STATUS_SLOTS else 0] += 1
            if self.expect_status is not None and status != self.expect_status:
                raise UnexpectedStatus(
                    f"expected status {self.expect_status} for {self.method} {path},"
                    f" got {status} (call {self.calls})"
                )

    @passthrough
    def propagating(self) -> Iterator[None]:
        """Let the app's exceptions reach the test, as in ``app.testing``, then restore."""
        __tracebackhide__ = True
        app = getattr(self.client, "application", None)
        config = getattr(app, "config", None)
        if not isinstance(config, dict):
            yield
            return
        missing = object()
        saved = config.get("PROPAGATE_EXCEPTIONS", missing)
        config["PROPAGATE_EXCEPTIONS"] = True
        try:
            yield
        finally:
            if saved is missing:
                config.pop("PROPAGATE_EXCEPTIONS", None)
            else:
                config["PROPAGATE_EXCEPTIONS"] = saved

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


def _client(app_or_client: object) -> Any:
    __tracebackhide__ = True  # a usage error points at the test's own line
    if callable(getattr(app_or_client, "test_client", None)):
        return app_or_client.test_client()  # type: ignore[attr-defined]
    if callable(getattr(app_or_client, "open", None)) and hasattr(app_or_client, "application"):
        return app_or_client
    raise TypeError(
        "memguard.flask() needs a Flask app or its test client (app.test_client()),"
        f" got {type(app_or_client).__name__}"
    )


def _paths(path: object) -> tuple[str, ...]:
    __tracebackhide__ = True  # a usage error points at the test's own line
    paths = (path,) if isinstance(path, str) else path
    if (
        not isinstance(paths, (list, tuple))
        or not paths
        or not all(isinstance(p, str) and p for p in paths)
    ):
        raise TypeError(
            "memguard.flask(): path must be a non-empty str such as '/profile' or a list of them,"
            f" got {type(path).__name__}"
        )
    return tuple(paths)


def _auth(auth: object) -> Callable[[int], Pair | None]:
    __tracebackhide__ = True  # a usage error points at the test's own line
    if auth is None:
        return lambda i: None
    if isinstance(auth, tuple):
        pair = _check_pair(auth, where="memguard.flask()")
        return lambda i: pair
    if isinstance(auth, list):
        if not auth:
            raise ValueError("memguard.flask(): auth list is empty; give at least one pair")
        pairs = [_check_pair(p, where="memguard.flask()") for p in auth]
        return lambda i: pairs[i % len(pairs)]
    if callable(auth):
        produce = auth

        def per_call(i: int) -> Pair:
            return _check_pair(produce(i), where="memguard.flask() auth callable")

        return per_call
    raise TypeError(
        "memguard.flask(): auth must be a (user, password) pair, a list of pairs,"
        f" a callable i -> (user, password) or None; got {type(auth).__name__}"
    )


def only_errors(statuses: dict[int, int]) -> bool:
    """Whether every response was a 404 or a server error: the run measured error pages."""
    return bool(statuses) and all(code == 404 or code >= 500 for code in statuses)


__all__ = ["FlaskCall", "UnexpectedStatus", "basic_auth", "only_errors"]
