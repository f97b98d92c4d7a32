"""CLEAN: a ``FileHandler`` added for one request, then removed and closed in ``finally``."""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}
_PATH = os.path.join(tempfile.gettempdir(), f"memguard-corpus-handler2-{os.getpid()}.log")
_log = logging.getLogger("memguard.corpus.handler2")
_log.propagate = False


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        handler = logging.FileHandler(_PATH)
        _log.addHandler(handler)
        try:
            _log.warning("request")
        finally:
            _log.removeHandler(handler)
            handler.close()
        return "ok"

    return app


def reset() -> None:
    """Nothing is kept."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
