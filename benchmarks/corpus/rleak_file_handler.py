"""LEAK: a ``logging.FileHandler`` added to the app's logger on every request.

Why: the view "makes sure" the audit logger writes to a file by adding a handler each time;
each handler opens the file: one more open descriptor (and one more handler) per request.
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_PATH = os.path.join(tempfile.gettempdir(), f"memguard-corpus-handler-{os.getpid()}.log")
_log = logging.getLogger("memguard.corpus.handler")
_log.propagate = False


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        _log.addHandler(logging.FileHandler(_PATH))  # resource made here
        return "ok"

    return app


def reset() -> None:
    """Remove and close every handler."""
    for handler in list(_log.handlers):
        _log.removeHandler(handler)
        handler.close()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
