"""CLEAN: a ``ThreadPool`` per request used in a ``with`` block and joined."""

from __future__ import annotations

from multiprocessing.pool import ThreadPool
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        pool = ThreadPool(2)
        try:
            return str(sum(pool.map(abs, [-1, 2])))
        finally:
            pool.close()
            pool.join()

    return app


def reset() -> None:
    """Nothing is kept."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
