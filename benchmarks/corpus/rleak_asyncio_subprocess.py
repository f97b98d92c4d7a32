"""LEAK: ``asyncio.create_subprocess_exec`` per request on the app's loop, never waited for.

Why: the async helper starts a ``sleep`` child with asyncio and keeps the ``Process`` handle
in ``_children``; nobody waits for it: one more child per request.
"""

from __future__ import annotations

import asyncio
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "processes"

_USERS = {"alice": "s3cret"}
_loop = asyncio.new_event_loop()
_children: list[asyncio.subprocess.Process] = []


async def _start() -> str:
    child = await asyncio.create_subprocess_exec("sleep", "600")  # resource made here
    _children.append(child)
    return "ok"


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        return _loop.run_until_complete(_start())

    return app


def reset() -> None:
    """Kill and wait for every child."""

    async def stop() -> None:
        while _children:
            child = _children.pop()
            child.kill()
            await child.wait()

    _loop.run_until_complete(stop())


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
