"""LEAK: ``os.posix_spawn`` per request, the child never waited for.

Why: the view spawns a ``sleep`` "keeper" with ``os.posix_spawn`` and forgets its pid: one more
child process per request (a zombie once it exits).
"""

from __future__ import annotations

import os
import signal
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "processes"

_USERS = {"alice": "s3cret"}
_pids: list[int] = []  # only for reset(): the app forgets them


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        pid = os.posix_spawn("/bin/sleep", ["sleep", "600"], os.environ)  # resource made here
        _pids.append(pid)
        return "ok"

    return app


def reset() -> None:
    """Kill and wait for every child."""
    while _pids:
        pid = _pids.pop()
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
