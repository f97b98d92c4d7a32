"""LEAK: ``tempfile.mkstemp()`` per request; the path is used, the descriptor forgotten.

Why: the view asks for a unique file name with ``mkstemp`` and writes the report through the
path, forgetting that ``mkstemp`` also returned an open descriptor.
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
_paths: list[str] = []
_fds: list[int] = []  # only for reset(): the app forgets them


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        fd, path = tempfile.mkstemp(prefix="memguard-corpus-report-")  # resource made here
        _fds.append(fd)
        _paths.append(path)
        with open(path, "w", encoding="utf-8") as report:
            report.write("report")
        return "ok"

    return app


def reset() -> None:
    """Close the forgotten descriptors and remove the files."""
    while _fds:
        os.close(_fds.pop())
    while _paths:
        os.unlink(_paths.pop())


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
