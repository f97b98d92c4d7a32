"""LEAK: a SQLite connection opened per request and stashed for "reuse" that never happens.

Why: the view opens the audit database on every request and appends the connection to
``_connections`` so that a later job can flush it; nothing ever closes them. Each request keeps
one more file descriptor open (and ~100 KiB of SQLite page cache).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_DB = os.path.join(tempfile.gettempdir(), f"memguard-corpus-audit-{os.getpid()}.db")
_connections: list[sqlite3.Connection] = []


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        db = sqlite3.connect(_DB)  # resource made here
        db.execute("CREATE TABLE IF NOT EXISTS audit (user TEXT)")
        _connections.append(db)
        return "ok"

    return app


def reset() -> None:
    """Close every stashed connection."""
    while _connections:
        _connections.pop().close()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
