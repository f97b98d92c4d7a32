"""CLEAN: ``ensure_future`` on the app's idle loop, the task awaited before returning."""

from __future__ import annotations

import asyncio
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}
_loop = asyncio.new_event_loop()


async def _refresh() -> None:
    await asyncio.sleep(0)


async def _handle() -> str:
    await asyncio.ensure_future(_refresh())
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
    """Nothing is kept."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
