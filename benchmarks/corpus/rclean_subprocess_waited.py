"""CLEAN: a child process per request, waited for (``subprocess.run``).

Why: the view asks ``true`` (a stand-in for a converter) and waits for it: the process is
reaped before the response, so no child outlives its request.
"""

from __future__ import annotations

import subprocess
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
        done = subprocess.run(["true"], check=False)
        return f"converted {done.returncode}"

    return app


def reset() -> None:
    """Nothing outlives a request."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
