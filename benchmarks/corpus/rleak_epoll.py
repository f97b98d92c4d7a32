"""LEAK: an ``select.epoll()`` made per request and kept on a session object.

Why: each request builds a poller "to wait for the upstream" and keeps it in ``_pollers``;
nobody closes it: one more ``eventpoll`` descriptor per request.
"""

from __future__ import annotations

import select
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_pollers: list[select.epoll] = []


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        poller = select.epoll()  # resource made here
        _pollers.append(poller)
        return "ok"

    return app


def reset() -> None:
    """Close every poller."""
    while _pollers:
        _pollers.pop().close()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
