"""LEAK: a ``ThreadPoolExecutor`` made per request and kept, never shut down.

Why: the view builds a pool to render a report in the background and files it in ``_pools``
under the request id so that a status page could find it; nobody calls ``shutdown()``, so each
pool's worker thread waits for work forever: one more thread per request.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "threads"

_USERS = {"alice": "s3cret"}
_pools: dict[str, ThreadPoolExecutor] = {}


def _render(user: str) -> str:
    return f"report for {user}"


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        auth = request.authorization
        if not authorized(auth, _USERS):
            return challenge("corpus")
        pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="report")
        _pools[uuid.uuid4().hex] = pool
        return pool.submit(_render, auth.username).result()  # resource made here

    return app


def reset() -> None:
    """Shut every pool down."""
    while _pools:
        _pools.popitem()[1].shutdown(wait=True)


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
