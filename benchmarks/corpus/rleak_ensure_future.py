"""LEAK: ``asyncio.ensure_future`` per request on the app's own (idle) event loop.

Why: the sync view drives an async client with ``loop.run_until_complete`` on one loop kept
for the app; the handler schedules a refresh with ``ensure_future`` and returns: the refresh
sleeps an hour, pending on the loop: one more task per request.
"""

from __future__ import annotations

import asyncio
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "tasks"

_USERS = {"alice": "s3cret"}
_loop = asyncio.new_event_loop()


async def _refresh() -> None:
    await asyncio.sleep(3600)


async def _handle() -> str:
    asyncio.ensure_future(_refresh())  # noqa: RUF006  # resource made here
    return "ok"


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        return _loop.run_until_complete(_handle())

    return app


def reset() -> None:
    """Cancel every pending task."""
    for task in asyncio.all_tasks(_loop):
        task.cancel()
    _loop.run_until_complete(asyncio.sleep(0))


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
