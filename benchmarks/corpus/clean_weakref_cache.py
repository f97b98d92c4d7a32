"""CLEAN: user objects cached in a ``weakref.WeakValueDictionary``.

Why: the cache lets concurrent requests for one user share a ``User`` object, but it holds
them only weakly: when the request ends and the last strong reference goes, the entry removes
itself. With a new client per call the dict never holds more than the in-flight users.
"""

from __future__ import annotations

import hashlib
import hmac
import weakref
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import challenge

GROUND_TRUTH = "clean"

_SIGNING_KEY = b"corpus-weakref"


def api_key_for(user: str) -> str:
    """API keys are an HMAC of the client name."""
    return hmac.new(_SIGNING_KEY, user.encode(), hashlib.sha256).hexdigest()[:32]


class User:
    """A user loaded from the (pretend) database."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.api_key = api_key_for(name)
        self.roles = ["reader"]


_live_users: weakref.WeakValueDictionary[str, User] = weakref.WeakValueDictionary()


def load_user(name: str) -> User:
    """Return the live ``User`` for ``name``, loading it if no request holds one."""
    user = _live_users.get(name)
    if user is None:
        user = _live_users[name] = User(name)
    return user


def rotating(i: int) -> tuple[str, str]:
    """Credentials of the i-th API client."""
    user = f"client{i}"
    return user, api_key_for(user)


def create_app() -> Flask:
    """Return an app that resolves the Basic Auth user through the weak cache."""
    app = Flask(__name__)

    @app.get("/whoami")
    def whoami() -> Response | dict[str, Any]:
        auth = request.authorization
        if auth is None:
            return challenge("api")
        user = load_user(auth.username or "")
        if not hmac.compare_digest(auth.password or "", user.api_key):
            return challenge("api")
        return {"user": user.name, "roles": user.roles}

    return app


def reset() -> None:
    """Drop any cached users still alive."""
    _live_users.clear()


SCENARIO: dict[str, Any] = {"path": "/whoami", "auth": rotating}
