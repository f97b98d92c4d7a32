"""LEAK: a ``threading.Thread`` subclass started per request that polls until stopped.

Why: ``Poller`` runs a loop until its ``stop`` event is set; the view starts one per request
and never stops it: one more thread per request.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "threads"

_USERS = {"alice": "s3cret"}
_stop = threading.Event()


class Poller(threading.Thread):
    def __init__(self, stop: threading.Event) -> None:
        super().__init__(name="poller", daemon=True)
        self.stop = stop

    def run(self) -> None:
        while not self.stop.wait(0.5):
            pass


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        Poller(_stop).start()  # resource made here
        return "ok"

    return app


def reset() -> None:
    """Stop every poller."""
    global _stop
    _stop.set()
    _stop = threading.Event()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
