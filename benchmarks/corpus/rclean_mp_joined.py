"""CLEAN: a ``multiprocessing.Process`` per request, joined and closed."""

from __future__ import annotations

import multiprocessing
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}
_fork = multiprocessing.get_context("fork")


def _noop() -> None:
    pass


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        worker = _fork.Process(target=_noop)
        worker.start()
        worker.join()
        worker.close()
        return "ok"

    return app


def reset() -> None:
    """Nothing is kept."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
