"""Bare WSGI apps (no framework): three leaks on the auth path and three clean apps."""

from __future__ import annotations

import functools
import itertools
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from benchmarks.web_corpus import credentials, standard, valid

Environ = dict[str, Any]

_auth_log: list[str] = []  # "for metrics"
_tokens: dict[str, str] = {}  # "user:password" -> issued token, never pruned
_subscribers: dict[int, Callable[[], None]] = {}  # "notify on logout", never unsubscribed
_ids = itertools.count()


@functools.lru_cache(maxsize=64)
def _bounded_token(user: str, password: str) -> str:
    return secrets.token_urlsafe(32)


def app_for(kind: str) -> Callable[[Environ, Callable[..., Any]], Iterable[bytes]]:
    def app(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        pair = credentials(environ.get("HTTP_AUTHORIZATION"))
        if not valid(pair) or pair is None:
            start_response("401 Unauthorized", [("WWW-Authenticate", "Basic")])
            return [b"login required"]
        user, password = pair
        body = user
        if kind == "global_list":
            _auth_log.append(f"{user}:{password}")  # leak
        elif kind == "token_cache":
            body = _tokens.setdefault(f"{user}:{password}", secrets.token_urlsafe(32))  # leak
        elif kind == "registration":
            _subscribers[next(_ids)] = functools.partial(print, user)  # leak
        elif kind == "bounded_cache":
            body = _bounded_token(user, password)
        elif kind == "request_state":
            environ["app.user"] = {"name": user, "scopes": ["read", "write"]}
            body = environ["app.user"]["name"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body.encode()]

    return app


def reset() -> None:
    _auth_log.clear()
    _tokens.clear()
    _subscribers.clear()
    _bounded_token.cache_clear()


SCENARIOS = standard(
    "wsgi",
    app_for,
    reset,
    {"global_list": "_auth_log", "token_cache": "_tokens", "registration": "_subscribers"},
)
