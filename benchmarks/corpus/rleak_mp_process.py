"""LEAK: a ``multiprocessing.Process`` per request, started and never joined.

Why: the view forks a worker to build a thumbnail and keeps the ``Process`` in ``_workers``;
the worker sleeps on a queue that never delivers: one more child per request.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "processes"

_USERS = {"alice": "s3cret"}
_fork = multiprocessing.get_context("fork")
_workers: list[multiprocessing.process.BaseProcess] = []


def _thumbnail() -> None:
    time.sleep(600)


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        worker = _fork.Process(target=_thumbnail, daemon=True)
        worker.start()  # resource made here
        _workers.append(worker)
        return "ok"

    return app


def reset() -> None:
    """Kill and join every worker."""
    while _workers:
        worker = _workers.pop()
        worker.kill()
        worker.join()
        worker.close()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
