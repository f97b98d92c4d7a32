"""LEAK: from the 50th request on, each request keeps a journal file open.

Why: a "journal mode" switches on after 50 requests (a warm-up rule in the app) and then
opens the journal per request and keeps it: nothing for 50 requests, then one more open file
per request.
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
_PATH = os.path.join(tempfile.gettempdir(), f"memguard-corpus-journal-{os.getpid()}.log")
_journals: list[IO[str]] = []
_served = [0]


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        _served[0] += 1
        if _served[0] > 50:
            _journals.append(open(_PATH, "a", encoding="utf-8"))  # noqa: SIM115  # resource made here
        return "ok"

    return app


def reset() -> None:
    """Close every journal and start counting again."""
    _served[0] = 0
    while _journals:
        _journals.pop().close()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
