"""LEAK: a directory opened with ``os.open`` per request to list it, never closed.

Why: the view opens the upload directory (``O_DIRECTORY``) for ``os.scandir(fd)``, which does
not close the descriptor it is given: one more open directory per request.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_DIR = tempfile.gettempdir()
_opened: list[int] = []  # only for reset()


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        fd = os.open(_DIR, os.O_RDONLY | os.O_DIRECTORY)  # resource made here
        _opened.append(fd)
        with os.scandir(fd) as entries:
            next(entries, None)
        return "ok"

    return app


def reset() -> None:
    """Close the forgotten directories."""
    while _opened:
        os.close(_opened.pop())


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
