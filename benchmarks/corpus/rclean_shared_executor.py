"""CLEAN: one module-level ``ThreadPoolExecutor`` shared by every request.

Why: the pool is made once with a fixed size and reused; its worker threads start on demand
and stay, which is the pool's job, not a leak: their count never rises past the pool's size.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="shared")


def _render(user: str) -> str:
    return f"report for {user}"


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        auth = request.authorization
        if not authorized(auth, _USERS):
            return challenge("corpus")
        return _pool.submit(_render, auth.username).result()

    return app


def reset() -> None:
    """The pool lives as long as the process, as in production."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
