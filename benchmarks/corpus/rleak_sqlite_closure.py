"""LEAK: a SQLite connection per request captured in a closure kept as a "finalizer".

Why: the view opens the database and registers a lambda that would commit and close it at
the end of the day: the lambdas pile up, each keeps its connection open.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_DB = os.path.join(tempfile.gettempdir(), f"memguard-corpus-closure-{os.getpid()}.db")
_end_of_day: list[Callable[[], None]] = []


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        db = sqlite3.connect(_DB, check_same_thread=False)  # resource made here
        db.execute("SELECT 1").fetchone()
        _end_of_day.append(lambda: db.close())
        return "ok"

    return app


def reset() -> None:
    """Run every finalizer."""
    while _end_of_day:
        _end_of_day.pop()()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
