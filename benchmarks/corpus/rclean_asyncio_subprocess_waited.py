"""CLEAN: ``asyncio.create_subprocess_exec`` per request, the child waited for."""

from __future__ import annotations

import asyncio
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}
_loop = asyncio.new_event_loop()


async def _run() -> str:
    child = await asyncio.create_subprocess_exec("true")
    return str(await child.wait())


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        return _loop.run_until_complete(_run())

    return app


def reset() -> None:
    """Nothing is kept."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
