"""LEAK: a lock file opened with ``os.open`` per request and never closed.

Why: the view takes an advisory "lock" by opening a file with ``os.open`` and forgets to close
the descriptor. No Python object keeps it: the memory counters see nothing, only the count of
open descriptors rises, by one per request.
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
_LOCK = os.path.join(tempfile.gettempdir(), f"memguard-corpus-lock-{os.getpid()}")
_opened: list[int] = []  # only for reset(): the app itself forgets the descriptor


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        fd = os.open(_LOCK, os.O_RDWR | os.O_CREAT, 0o600)  # resource made here
        _opened.append(fd)
        return "locked"

    return app


def reset() -> None:
    """Close the forgotten descriptors (the test harness does what the app never does)."""
    while _opened:
        os.close(_opened.pop())


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
