"""FastAPI apps with ``HTTPBasic``: three leaks on the auth path and three clean apps."""

from __future__ import annotations

import contextvars
import functools
import secrets
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from benchmarks.web_corpus import standard, valid

security = HTTPBasic()

_auth_log: list[str] = []  # "for metrics"
_tokens: dict[tuple[str, str], str] = {}  # credentials -> issued token, never pruned
_current_user: contextvars.ContextVar[str] = contextvars.ContextVar("current_user")


def checked(
    credentials: Annotated[HTTPBasicCredentials, Depends(security)],
) -> HTTPBasicCredentials:
    if not valid((credentials.username, credentials.password)):
        raise HTTPException(401, headers={"WWW-Authenticate": "Basic"})
    return credentials


Checked = Annotated[HTTPBasicCredentials, Depends(checked)]


def logged(credentials: Checked) -> str:
    _auth_log.append(f"{credentials.username}:{credentials.password}")  # leak
    return credentials.username


def token(credentials: Checked) -> str:
    key = (credentials.username, credentials.password)
    if key not in _tokens:  # leak: one entry per client, forever
        _tokens[key] = secrets.token_urlsafe(32)
    return _tokens[key]


@functools.lru_cache(maxsize=64)
def bounded_token(user: str, password: str) -> str:
    return secrets.token_urlsafe(32)


def app_for(kind: str) -> FastAPI:
    app = FastAPI()
    app.state.listeners = []

    if kind == "global_list":

        @app.get("/")
        def index(user: Annotated[str, Depends(logged)]) -> dict[str, str]:
            return {"user": user}

    elif kind == "token_cache":

        @app.get("/")
        async def index(value: Annotated[str, Depends(token)]) -> dict[str, str]:
            return {"token": value}

    elif kind == "registration":

        @app.get("/")
        async def index(request: Request, credentials: Checked) -> dict[str, str]:
            # leak: a "notify on logout" callback registered on every request
            request.app.state.listeners.append(functools.partial(print, credentials.username))
            return {"user": credentials.username}

    elif kind == "stateless":

        @app.get("/")
        def index(credentials: Checked) -> dict[str, str]:
            return {"user": credentials.username}

    elif kind == "bounded_cache":

        @app.get("/")
        def index(credentials: Checked) -> dict[str, str]:
            return {"token": bounded_token(credentials.username, credentials.password)}

    else:  # request-scoped state: request.state and a context variable, gone after the request

        @app.get("/")
        async def index(request: Request, credentials: Checked) -> dict[str, Any]:
            request.state.user = credentials.username
            _current_user.set(credentials.username)
            return {"user": request.state.user, "ctx": _current_user.get()}

    return app


def reset() -> None:
    _auth_log.clear()
    _tokens.clear()
    bounded_token.cache_clear()


SCENARIOS = standard(
    "fastapi",
    app_for,
    reset,
    {"global_list": "_auth_log", "token_cache": "_tokens", "registration": "listeners"},
)
