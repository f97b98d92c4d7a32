"""CLEAN: an asyncio task per request on a background loop, awaited through its future.

Why: the same background loop as the task leak, but the view waits for the coroutine's
result (``future.result()``): every task is done before the response.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}
_loop = asyncio.new_event_loop()
threading.Thread(target=_loop.run_forever, name="corpus-loop-clean", daemon=True).start()


async def _lookup(user: str) -> str:
    await asyncio.sleep(0)
    return user.upper()


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        auth = request.authorization
        if not authorized(auth, _USERS):
            return challenge("corpus")
        future = asyncio.run_coroutine_threadsafe(_lookup(auth.username or ""), _loop)
        return future.result(timeout=10)

    return app


def reset() -> None:
    """Nothing outlives a request."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
