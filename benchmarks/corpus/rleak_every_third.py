"""LEAK: every third request opens the export file again and keeps it.

Why: a "rotate every 3 requests" rule reopens the export file but appends the new file object
to ``_exports`` instead of replacing the old one: one more open file every 3 requests.
"""

from __future__ import annotations

import os
import tempfile
from typing import IO, Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_PATH = os.path.join(tempfile.gettempdir(), f"memguard-corpus-third-{os.getpid()}.csv")
_exports: list[IO[str]] = []
_served = [0]


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        _served[0] += 1
        if _served[0] % 3 == 0:
            _exports.append(open(_PATH, "a", encoding="utf-8"))  # noqa: SIM115  # resource made here
        return "ok"

    return app


def reset() -> None:
    """Close every export file."""
    _served[0] = 0
    while _exports:
        _exports.pop().close()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
