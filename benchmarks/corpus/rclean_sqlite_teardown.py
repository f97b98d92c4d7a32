"""CLEAN: a SQLite connection per request on ``g``, closed in ``teardown_appcontext``.

Why: the Flask tutorial's pattern: ``get_db()`` opens the connection on first use in a request
and the teardown closes it, even when the view fails. No descriptor outlives its request.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from typing import Any

from flask import Flask, Response, g, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}
_DB = os.path.join(tempfile.gettempdir(), f"memguard-corpus-tutorial-{os.getpid()}.db")


def get_db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = sqlite3.connect(_DB)
    db: sqlite3.Connection = g.db
    return db


def create_app() -> Flask:
    app = Flask(__name__)

    @app.teardown_appcontext
    def close_db(exc: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        db = get_db()
        db.execute("CREATE TABLE IF NOT EXISTS audit (user TEXT)")
        return "ok"

    return app


def reset() -> None:
    """Nothing outlives a request."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
