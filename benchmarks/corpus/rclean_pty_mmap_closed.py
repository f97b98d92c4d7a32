"""CLEAN: a pseudo-terminal and a memory map per request, both closed."""

from __future__ import annotations

import mmap
import os
import pty
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
        primary, secondary = pty.openpty()
        os.close(secondary)
        os.close(primary)
        with mmap.mmap(-1, 4096) as scratch:
            scratch[:2] = b"ok"
            return scratch[:2].decode()

    return app


def reset() -> None:
    """Nothing is kept."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
