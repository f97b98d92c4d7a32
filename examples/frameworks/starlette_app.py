"""A Starlette app with HTTP Basic Auth: the leaky variant caches a token per credential."""

from __future__ import annotations

import base64
import functools
import secrets

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_tokens: dict[str, str] = {}  # Authorization header -> token, never pruned


def _issue(header: str) -> str:
    return secrets.token_urlsafe(32)


@functools.lru_cache(maxsize=128)  # the fix: at most 128 tokens
def _issue_bounded(header: str) -> str:
    return secrets.token_urlsafe(32)


def create_app(*, leaky: bool) -> Starlette:
    async def token(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        user = base64.b64decode(header.removeprefix("Basic ") or "Og==").decode().split(":")[0]
        if not user.startswith("client"):
            return Response("login required", 401, {"WWW-Authenticate": "Basic"})
        issued = _tokens.setdefault(header, _issue(header)) if leaky else _issue_bounded(header)
        return JSONResponse({"access_token": issued})

    return Starlette(routes=[Route("/token", token)])
