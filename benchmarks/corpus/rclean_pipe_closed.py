"""CLEAN: a pipe per request to a helper thread, both ends closed in ``finally``."""

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
        read_end, write_end = os.pipe()
        try:
            os.write(write_end, b"x")
            return os.read(read_end, 1).decode()
        finally:
            os.close(read_end)
            os.close(write_end)

    return app


def reset() -> None:
    """Nothing is kept."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
