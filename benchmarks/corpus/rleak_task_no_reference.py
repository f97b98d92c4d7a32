"""LEAK: an asyncio task per request on a background loop, with no reference kept.

Why: the app runs an event loop in a thread for an async client; each request schedules a
"watch" coroutine there and drops the future. The coroutine sleeps for an hour: one more
pending task per request, known only to the loop.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "tasks"

_USERS = {"alice": "s3cret"}
_loop = asyncio.new_event_loop()
threading.Thread(target=_loop.run_forever, name="corpus-loop", daemon=True).start()


async def _watch(user: str) -> None:
    await asyncio.sleep(3600)


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        auth = request.authorization
        if not authorized(auth, _USERS):
            return challenge("corpus")
        asyncio.run_coroutine_threadsafe(_watch(auth.username), _loop)  # resource made here
        return "watching"

    return app


def _cancel_all() -> None:
    for task in asyncio.all_tasks(_loop):
        task.cancel()


def reset() -> None:
    """Cancel every pending task, and wait until the loop has."""
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0), _loop).result(timeout=10)
    _loop.call_soon_threadsafe(_cancel_all)
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0.01), _loop).result(timeout=10)


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
