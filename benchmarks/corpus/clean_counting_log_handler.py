"""CLEAN: every request is logged to a handler that formats the record and keeps only counts.

Why: ``LevelCountingHandler`` formats each record (so formatter bugs still surface) and bumps a
per-level counter for metrics, then drops the record. The counter has one key per level, so
logging thousands of requests retains nothing new.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"


class LevelCountingHandler(logging.Handler):
    """Format records, count them per level and discard them."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)
        self.counts[record.levelname] += 1


_USERS = {"alice": "s3cret"}
_metrics = LevelCountingHandler()
_log = logging.getLogger("corpus.clean_counting_log_handler")
_log.setLevel(logging.INFO)
_log.propagate = False
_log.addHandler(_metrics)


def create_app() -> Flask:
    """Return an app that logs every request."""
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        auth = request.authorization
        if not authorized(auth, _USERS):
            _log.warning("failed login from %s", request.remote_addr)
            return challenge("corpus")
        _log.info("login ok user=%s path=%s", auth.username, request.path)
        return "ok"

    return app


def reset() -> None:
    """Zero the counters."""
    _metrics.counts.clear()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
