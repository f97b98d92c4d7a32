"""LEAK: a mutable default argument accumulates every login.

Why: ``remember_login(user, when, history=[])`` was meant to build a fresh history per call,
but the default list is created once, at ``def`` time, and shared by every call. Each request
appends a ``(user, timestamp)`` tuple to it (~140 bytes) and it is never emptied.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
HOLDER = "remember_login"  # the function, whose default list grows

_USERS = {"alice": "s3cret"}


def remember_login(
    user: str,
    when: float,
    history: list[tuple[str, float]] = [],  # noqa: B006
) -> int:
    """Record a login and return how many logins ``user`` has in ``history``."""
    history.append((user, when))
    return sum(1 for name, _ in history[-100:] if name == user)


def create_app() -> Flask:
    """Return an app that greets users with their recent login count."""
    app = Flask(__name__)

    @app.get("/welcome")
    def welcome() -> Response | dict[str, Any]:
        auth = request.authorization
        if not authorized(auth, _USERS):
            return challenge("corpus")
        recent = remember_login(auth.username or "", time.time())
        return {"user": auth.username, "recent_logins": recent}

    return app


def reset() -> None:
    """Empty the shared default list."""
    remember_login.__defaults__[0].clear()  # type: ignore[index]


SCENARIO: dict[str, Any] = {"path": "/welcome", "auth": ("alice", "s3cret")}
