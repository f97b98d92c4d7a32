"""LEAK: tasks kept in a set "so they are not garbage collected", never discarded.

Why: the asyncio docs advise keeping a reference to background tasks; this app adds each one
to ``_background`` on its loop thread but never adds the ``discard`` callback, and the task
waits for a reply that never comes: one more pending task per request.
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
threading.Thread(target=_loop.run_forever, name="corpus-task-set", daemon=True).start()
_background: set[asyncio.Task[None]] = set()


async def _await_reply() -> None:
    await asyncio.get_running_loop().create_future()


async def _spawn() -> None:
    _background.add(asyncio.get_running_loop().create_task(_await_reply()))  # resource made here


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        asyncio.run_coroutine_threadsafe(_spawn(), _loop).result(timeout=5)
        return "ok"

    return app


def reset() -> None:
    """Cancel every kept task on the loop's thread."""

    async def cancel() -> None:
        for task in list(_background):
            task.cancel()
        _background.clear()
        await asyncio.sleep(0)

    asyncio.run_coroutine_threadsafe(cancel(), _loop).result(timeout=10)


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
