"""LEAK: a ``logging.Handler`` subclass that keeps every ``LogRecord`` in a list.

Why: ``RecentLogHandler`` was meant to back a ``/debug/logs`` page showing recent activity, but
it appends each record and never trims, so every logged login retains a ``LogRecord`` with its
``__dict__`` and args (~600 bytes per request).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
HOLDER = "records"  # the list on the handler ``_recent``


class RecentLogHandler(logging.Handler):
    """Remember emitted records so they can be shown on a debug page."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


_USERS = {"alice": "s3cret"}
_recent = RecentLogHandler()
_log = logging.getLogger("corpus.leak_logging_handler")
_log.setLevel(logging.INFO)
_log.propagate = False
_log.addHandler(_recent)


def create_app() -> Flask:
    """Return an app that logs every authenticated request."""
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        auth = request.authorization
        if not authorized(auth, _USERS):
            _log.warning("failed login from %s", request.remote_addr)
            return challenge("corpus")
        _log.info("login ok user=%s path=%s", auth.username, request.path)
        return "ok"

    @app.get("/debug/logs")
    def debug_logs() -> dict[str, list[str]]:
        return {"lines": [r.getMessage() for r in _recent.records[-50:]]}

    return app


def reset() -> None:
    """Drop the remembered records."""
    _recent.records.clear()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
