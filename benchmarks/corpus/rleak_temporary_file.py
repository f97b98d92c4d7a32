"""LEAK: a ``tempfile.TemporaryFile()`` per request kept in a dict as a "spool".

Why: the view spools a large upload to an anonymous temporary file and keeps it for a later
step that never comes: one more open (deleted) file per request.
"""

from __future__ import annotations

import tempfile
from typing import IO, Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_spools: dict[int, IO[bytes]] = {}


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        spool = tempfile.TemporaryFile()  # noqa: SIM115  # resource made here
        spool.write(b"upload")
        _spools[id(spool)] = spool
        return "ok"

    return app


def reset() -> None:
    """Close every spool."""
    while _spools:
        _spools.popitem()[1].close()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
