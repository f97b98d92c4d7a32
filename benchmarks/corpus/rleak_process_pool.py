"""LEAK: a ``ProcessPoolExecutor`` per request, used once and kept.

Why: the view offloads a checksum to a fresh one-worker process pool and keeps the pool; its
worker process waits for more work forever: one more child per request.
"""

from __future__ import annotations

import multiprocessing
import zlib
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "processes"

_USERS = {"alice": "s3cret"}
_fork = multiprocessing.get_context("fork")
_pools: list[ProcessPoolExecutor] = []


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        pool = ProcessPoolExecutor(max_workers=1, mp_context=_fork)
        _pools.append(pool)
        return str(pool.submit(zlib.crc32, b"data").result())  # resource made here

    return app


def reset() -> None:
    """Shut every pool down."""
    while _pools:
        _pools.pop().shutdown(wait=True)


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
