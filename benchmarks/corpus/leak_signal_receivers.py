"""LEAK: a ``request_finished`` signal receiver connected inside the view, once per request.

Why: to time the whole request the view connects a fresh closure to Flask's
``request_finished`` with ``weak=False`` (a weak closure would vanish before the signal fires).
Nobody disconnects it, so blinker keeps every closure, its cells and its bookkeeping sets
(~700 bytes per call) - and each finished request calls all of the old ones too.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, request, request_finished

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
HOLDER = "receivers"  # blinker's dict on request_finished

_USERS = {"alice": "s3cret"}
_latency_ms: dict[str, float] = {}  # last request latency per user, shown on a dashboard


def create_app() -> Flask:
    """Return an app that records per-user request latency via a signal."""
    app = Flask(__name__)

    @app.get("/dashboard")
    def dashboard() -> Response | dict[str, Any]:
        auth = request.authorization
        if not authorized(auth, _USERS):
            return challenge("dash")
        user = auth.username or ""
        started = time.perf_counter()

        def record_latency(sender: Flask, response: Response, **extra: Any) -> None:
            _latency_ms[user] = (time.perf_counter() - started) * 1000.0

        # weak=False: a weakly connected local closure would be collected before the signal fires
        request_finished.connect(record_latency, weak=False)
        return {"user": user, "last_latency_ms": _latency_ms.get(user)}

    return app


def reset() -> None:
    """Disconnect every receiver this module connected and forget latencies."""
    for receiver in list(request_finished.receivers.values()):
        if getattr(receiver, "__module__", None) == __name__:
            request_finished.disconnect(receiver)
    _latency_ms.clear()


SCENARIO: dict[str, Any] = {"path": "/dashboard", "auth": ("alice", "s3cret")}
