"""LEAK: only every 10th call leaks - one in ten requests is sampled into a global list.

Why: to debug odd clients, ``SAMPLE_EVERY``-th request's user, path and headers are copied into
``_debug_samples``. Nine calls in ten retain nothing, the tenth retains a dict with a copy of the
headers (~750 bytes), so the growth is a staircase averaging ~75 bytes per call.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
HOLDER = "_debug_samples"

SAMPLE_EVERY = 10
_USERS = {"alice": "s3cret"}
_request_counter = itertools.count()
_debug_samples: list[dict[str, Any]] = []


def create_app() -> Flask:
    """Return an app that samples one request in ``SAMPLE_EVERY`` for debugging."""
    app = Flask(__name__)

    @app.get("/items")
    def items() -> Response | dict[str, Any]:
        auth = request.authorization
        if not authorized(auth, _USERS):
            return challenge("corpus")
        if next(_request_counter) % SAMPLE_EVERY == 0:
            _debug_samples.append(
                {
                    "user": auth.username,
                    "path": request.full_path,
                    "headers": dict(request.headers),
                    "at": time.time(),
                }
            )
        return {"items": ["apple", "pear"]}

    return app


def reset() -> None:
    """Forget samples and restart the counter."""
    global _request_counter
    _debug_samples.clear()
    _request_counter = itertools.count()


SCENARIO: dict[str, Any] = {"path": "/items", "auth": ("alice", "s3cret")}
