"""Starlette apps decoding Basic Auth by hand: three leaks on the auth path and three clean ones."""

from __future__ import annotations

import collections
import functools
import secrets
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from benchmarks.web_corpus import credentials, standard, valid

_auth_log: list[tuple[str, str]] = []  # "for metrics"
_listeners: list[Any] = []  # callbacks "to notify on logout", never removed
_MAX_TOKENS = 64


def app_for(kind: str) -> Starlette:
    async def index(request: Request) -> Response:
        pair = credentials(request.headers.get("authorization"))
        if not valid(pair) or pair is None:
            return Response("login required", 401, {"WWW-Authenticate": "Basic"})
        user, password = pair
        state = request.app.state
        if kind == "global_list":
            _auth_log.append((user, password))  # leak
        elif kind == "token_cache":
            state.tokens.setdefault(pair, secrets.token_urlsafe(32))  # leak: app.state.tokens
        elif kind == "registration":
            _listeners.append(functools.partial(print, f"{user} logged out"))  # leak
        elif kind == "bounded_cache":
            cache = state.bounded
            cache[pair] = cache.pop(pair, None) or secrets.token_urlsafe(32)
            while len(cache) > _MAX_TOKENS:
                cache.popitem(last=False)
        elif kind == "request_state":
            request.state.user = user
            request.state.scopes = ["read", "write"]
        return JSONResponse({"user": user})

    app = Starlette(routes=[Route("/", index)])
    app.state.tokens = {}
    app.state.bounded = collections.OrderedDict()
    return app


def reset() -> None:
    _auth_log.clear()
    _listeners.clear()


SCENARIOS = standard(
    "starlette",
    app_for,
    reset,
    {"global_list": "_auth_log", "token_cache": "tokens", "registration": "_listeners"},
)
