"""LEAK: a ``subprocess.Popen`` with pipes per request, kept and never waited for.

Why: the view starts a ``cat`` filter with stdin and stdout pipes to stream a report through
it and files it in ``_filters``; nobody closes the pipes or waits: one more process (and two
more descriptors) per request.
"""

from __future__ import annotations

import subprocess
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "processes"

_USERS = {"alice": "s3cret"}
_filters: list[subprocess.Popen[bytes]] = []


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        flt = subprocess.Popen(  # resource made here
            ["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        _filters.append(flt)
        return "ok"

    return app


def reset() -> None:
    """Close every filter's pipes and wait for it."""
    while _filters:
        flt = _filters.pop()
        flt.kill()
        flt.communicate()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
