"""LEAK: ``loop.call_soon_threadsafe`` per request that starts a task on another thread's loop.

Why: the view asks the app's background loop to start a "presence" coroutine for the user;
the coroutine loops forever: one more pending task per request, made on the loop's thread.
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
threading.Thread(target=_loop.run_forever, name="corpus-presence", daemon=True).start()


async def _presence(user: str) -> None:
    while True:
        await asyncio.sleep(60)


def _start_presence(user: str) -> None:
    _loop.create_task(_presence(user))  # noqa: RUF006  # resource made here


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        _loop.call_soon_threadsafe(_start_presence, "alice")
        return "ok"

    return app


def reset() -> None:
    """Cancel every task of the loop, on its thread, and wait until it has."""

    async def cancel() -> None:
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()
        await asyncio.sleep(0)

    asyncio.run_coroutine_threadsafe(asyncio.sleep(0), _loop).result(timeout=10)
    asyncio.run_coroutine_threadsafe(cancel(), _loop).result(timeout=10)


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
