"""CLEAN: a watchdog ``threading.Timer`` per request, cancelled when the request is done."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}


def _too_slow() -> None:
    pass


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        watchdog = threading.Timer(30, _too_slow)
        watchdog.start()
        try:
            return "ok"
        finally:
            watchdog.cancel()
            watchdog.join()

    return app


def reset() -> None:
    """Nothing is kept."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
