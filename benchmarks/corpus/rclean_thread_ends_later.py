"""CLEAN: a thread per request that ends 0.3 s after its request.

Why: the view hands a slow notification to a daemon thread that takes 0.3 s; the count of
live threads rises while requests come faster than that, then each thread ends on its own.
Nothing stays: after the run every thread has ended. While requests come, ~50 threads are in
flight, and their states and frames (~300 KiB) are a working set that stays level: ``BOUNDS``
says so to the memory verdict (``max_growth_kb=1024``); the count of threads needs no bound.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"
BOUNDS = {"max_growth_kb": 1024}

_USERS = {"alice": "s3cret"}


def _notify() -> None:
    time.sleep(0.3)


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        threading.Thread(target=_notify, daemon=True).start()
        return "ok"

    return app


def reset() -> None:
    """Wait for the notifications still running."""
    for thread in threading.enumerate():
        if getattr(thread, "_target", None) is _notify:
            thread.join()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
