"""CLEAN: a fixed pool of 4 SQLite connections that opens them lazily, one every 16 requests.

Why: the pool hands out its connections round robin and opens a new one only when it has
served 16 requests per connection open, up to 4: the count of open descriptors rises during
the first ~50 requests (past the warm-up) and then stays. ``BOUNDS`` allows those 4
(``max_fds=4``): a pool that fills is not a leak while it stays within its size.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"
BOUNDS = {"max_fds": 4}

_USERS = {"alice": "s3cret"}
_DB = os.path.join(tempfile.gettempdir(), f"memguard-corpus-pool-{os.getpid()}.db")
POOL_SIZE = 4


class Pool:
    """Round-robin connections, opened lazily up to ``POOL_SIZE``, each with its one cursor
    (``Connection.execute`` would make a cursor per call, and the connection keeps a weak
    reference to each one it made until it next prunes them, every 200 cursors)."""

    def __init__(self) -> None:
        self.connections: list[sqlite3.Connection] = []
        self.cursors: list[sqlite3.Cursor] = []
        self.served = 0

    def get(self) -> sqlite3.Cursor:
        if len(self.connections) < POOL_SIZE and self.served >= 16 * len(self.connections):
            connection = sqlite3.connect(_DB, check_same_thread=False)
            self.connections.append(connection)
            self.cursors.append(connection.cursor())
        self.served += 1
        return self.cursors[self.served % len(self.cursors)]

    def close(self) -> None:
        self.cursors.clear()
        while self.connections:
            self.connections.pop().close()
        self.served = 0


_pool = Pool()


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        _pool.get().execute("SELECT 1").fetchone()
        return "ok"

    return app


def reset() -> None:
    """Close the pool; the next app fills it again."""
    _pool.close()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
