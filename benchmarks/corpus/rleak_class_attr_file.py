"""LEAK: an audit file opened per request and appended to a class attribute.

Why: ``AuditTrail.files`` is a class-level list "so every trail shares it"; each request opens
the audit file again and appends it: one more open file per request.
"""

from __future__ import annotations

import os
import tempfile
from typing import IO, Any, ClassVar

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_PATH = os.path.join(tempfile.gettempdir(), f"memguard-corpus-trail-{os.getpid()}.log")


class AuditTrail:
    files: ClassVar[list[IO[str]]] = []

    def record(self, line: str) -> None:
        trail = open(_PATH, "a", encoding="utf-8")  # noqa: SIM115  # resource made here
        trail.write(line)
        trail.flush()
        AuditTrail.files.append(trail)


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        AuditTrail().record("seen\n")
        return "ok"

    return app


def reset() -> None:
    """Close every kept file."""
    while AuditTrail.files:
        AuditTrail.files.pop().close()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
