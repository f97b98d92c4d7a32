"""LEAK: a ``selectors.DefaultSelector()`` per request, kept and never closed.

Why: a view makes a selector to wait on a socket with a timeout and stores it in a dict by
request number "to reuse it later"; it is never reused nor closed.
"""

from __future__ import annotations

import selectors
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_selectors: dict[int, selectors.BaseSelector] = {}


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        selector = selectors.DefaultSelector()  # resource made here
        _selectors[len(_selectors)] = selector
        return "ok"

    return app


def reset() -> None:
    """Close every selector."""
    while _selectors:
        _selectors.popitem()[1].close()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
