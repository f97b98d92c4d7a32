"""CLEAN: an in-flight request registry filled in ``before_request``, emptied in teardown.

Why: each request is registered in ``_in_flight`` under an id kept on ``g``, so an admin view
can list running requests. ``teardown_request`` always pops the entry - even when the view
fails - so the registry only ever holds the requests currently being served.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from flask import Flask, Response, g, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}
_in_flight: dict[str, dict[str, Any]] = {}


def create_app() -> Flask:
    """Return an app that tracks in-flight requests."""
    app = Flask(__name__)

    @app.before_request
    def register() -> None:
        g.request_id = uuid.uuid4().hex
        _in_flight[g.request_id] = {"path": request.path, "started": time.time()}

    @app.teardown_request
    def unregister(exc: BaseException | None) -> None:
        _in_flight.pop(g.pop("request_id", ""), None)

    @app.get("/jobs")
    def jobs() -> Response | dict[str, Any]:
        auth = request.authorization
        if not authorized(auth, _USERS):
            return challenge("corpus")
        g.user = auth.username
        _in_flight[g.request_id]["user"] = g.user
        return {"running": len(_in_flight), "jobs": []}

    return app


def reset() -> None:
    """Forget any request still registered."""
    _in_flight.clear()


SCENARIO: dict[str, Any] = {"path": "/jobs", "auth": ("alice", "s3cret")}
