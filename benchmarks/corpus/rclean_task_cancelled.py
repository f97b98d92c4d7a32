"""CLEAN: a task per request on the app's background loop, cancelled when the request ends."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}
_loop = asyncio.new_event_loop()
threading.Thread(target=_loop.run_forever, name="corpus-cancel", daemon=True).start()


async def _keepalive() -> None:
    await asyncio.sleep(3600)


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        future = asyncio.run_coroutine_threadsafe(_keepalive(), _loop)
        future.cancel()
        return "ok"

    return app


def reset() -> None:
    """Nothing is kept."""
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0.01), _loop).result(timeout=10)


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
