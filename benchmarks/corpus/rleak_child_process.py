"""LEAK: a child process started per request and never waited for.

Why: the view starts a helper process to warm a cache and files the ``Popen`` in ``_helpers``
for a status page; nobody waits for it (or stops it): one more child process per request.
"""

from __future__ import annotations

import subprocess
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "processes"

_USERS = {"alice": "s3cret"}
_helpers: list[subprocess.Popen[bytes]] = []


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        helper = subprocess.Popen(  # resource made here
            ["sleep", "600"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        _helpers.append(helper)
        return "warming"

    return app


def reset() -> None:
    """Stop and wait for every helper."""
    while _helpers:
        helper = _helpers.pop()
        helper.kill()
        helper.wait()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
