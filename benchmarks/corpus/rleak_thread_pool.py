"""LEAK: a ``multiprocessing.pool.ThreadPool`` made per request and never closed.

Why: the view maps a check over a few items with a fresh ``ThreadPool(2)`` and keeps it: each
pool keeps 2 workers and 3 handler threads: five more threads per request.
"""

from __future__ import annotations

from multiprocessing.pool import ThreadPool
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "threads"

_USERS = {"alice": "s3cret"}
_pools: list[ThreadPool] = []


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        pool = ThreadPool(2)  # resource made here
        _pools.append(pool)
        return str(sum(pool.map(abs, [-1, 2])))

    return app


def reset() -> None:
    """Terminate every pool."""
    while _pools:
        pool = _pools.pop()
        pool.terminate()
        pool.join()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
