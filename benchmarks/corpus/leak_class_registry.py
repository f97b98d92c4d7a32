"""LEAK: a class-level registry of sessions (``UserSession.registry``) that only logout empties.

Why: every authenticated request opens a ``UserSession`` which adds itself to a class attribute
list so admins can see who is active. Only ``/logout`` removes one, and API clients using
Basic Auth never log out, so each call retains a session object (~250 bytes).
"""

from __future__ import annotations

import secrets
import time
from typing import Any, ClassVar

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
HOLDER = "registry"  # the class attribute ``UserSession.registry``

_USERS = {"alice": "s3cret"}


class UserSession:
    """An authenticated session; all live sessions are listed in ``registry``."""

    registry: ClassVar[list[UserSession]] = []

    def __init__(self, user: str, remote_addr: str | None) -> None:
        self.id = secrets.token_hex(8)
        self.user = user
        self.remote_addr = remote_addr
        self.started = time.time()
        UserSession.registry.append(self)

    def close(self) -> None:
        UserSession.registry.remove(self)


def create_app() -> Flask:
    """Return an app that opens a session per authenticated request."""
    app = Flask(__name__)

    @app.get("/orders")
    def orders() -> Response | dict[str, Any]:
        auth = request.authorization
        if not authorized(auth, _USERS):
            return challenge("shop")
        session = UserSession(auth.username or "", request.remote_addr)
        return {"session": session.id, "orders": []}

    @app.post("/logout/<session_id>")
    def logout(session_id: str) -> tuple[str, int]:
        for session in UserSession.registry:
            if session.id == session_id:
                session.close()
        return "", 204

    return app


def reset() -> None:
    """Forget all sessions."""
    UserSession.registry.clear()


SCENARIO: dict[str, Any] = {"path": "/orders", "auth": ("alice", "s3cret")}
