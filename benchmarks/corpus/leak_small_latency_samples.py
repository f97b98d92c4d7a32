"""LEAK: a small one - a ``(timestamp, duration)`` tuple per request kept for a p99 endpoint.

Why: ``after_request`` appends one small tuple to ``_samples`` so ``/stats`` can compute a
latency percentile "over all requests". A tuple of two floats plus its list slot is ~100 bytes,
so the growth is slow and easy to miss - but it never stops.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, g, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
HOLDER = "_samples"

_USERS = {"alice": "s3cret"}
_samples: list[tuple[float, float]] = []  # (finished at, duration in seconds)


def create_app() -> Flask:
    """Return an app that samples every request's latency."""
    app = Flask(__name__)

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def record_latency(response: Response) -> Response:
        now = time.perf_counter()
        _samples.append((time.time(), now - g.started))
        return response

    @app.get("/ping")
    def ping() -> Response | str:
        auth = request.authorization
        if not authorized(auth, _USERS):
            return challenge("corpus")
        return "pong"

    @app.get("/stats")
    def stats() -> dict[str, float]:
        durations = sorted(d for _, d in _samples)
        return {"p99": durations[int(len(durations) * 0.99)] if durations else 0.0}

    return app


def reset() -> None:
    """Forget the samples."""
    _samples.clear()


SCENARIO: dict[str, Any] = {"path": "/ping", "auth": ("alice", "s3cret")}
