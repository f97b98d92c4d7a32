"""CLEAN: ``os.posix_spawn`` per request, the child waited for."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        pid = os.posix_spawn("/bin/true", ["true"], os.environ)
        os.waitpid(pid, 0)
        return "ok"

    return app


def reset() -> None:
    """Nothing is kept."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
