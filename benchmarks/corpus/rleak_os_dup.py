"""LEAK: the log file's descriptor duplicated per request and never closed.

Why: the view hands a "private copy" of the shared log descriptor (``os.dup``) to a report
writer that keeps the number and never closes it: one more raw descriptor per request.
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
_LOG = os.open(
    os.path.join(tempfile.gettempdir(), f"memguard-corpus-dup-{os.getpid()}.log"),
    os.O_WRONLY | os.O_CREAT | os.O_APPEND,
    0o600,
)
_writers: list[int] = []


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        copy = os.dup(_LOG)  # resource made here
        _writers.append(copy)
        return "ok"

    return app


def reset() -> None:
    """Close every copy (the shared descriptor stays)."""
    while _writers:
        os.close(_writers.pop())


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
