"""LEAK: Flask-HTTPAuth ``verify_password`` caching results per (user, password), unbounded.

Why: the verify callback memoises its verdict in ``_verified`` keyed by the credential pair to
skip the key check on repeat visits. With one user that is a single entry; with rotating
credentials every new pair adds a tuple key and two strings (~250 bytes) that stay forever.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Flask
from flask_httpauth import HTTPBasicAuth

GROUND_TRUTH = "leak"
HOLDER = "_verified"

_SIGNING_KEY = b"corpus-httpauth-signing"
_verified: dict[tuple[str, str], str | None] = {}
auth = HTTPBasicAuth(realm="api")


def api_key_for(user: str) -> str:
    """API keys are an HMAC of the client name."""
    return hmac.new(_SIGNING_KEY, user.encode(), hashlib.sha256).hexdigest()[:32]


def rotating(i: int) -> tuple[str, str]:
    """Credentials of the i-th API client."""
    user = f"client{i}"
    return user, api_key_for(user)


@auth.verify_password
def verify_password(username: str, password: str) -> str | None:
    """Return the user name when the key matches; remember the verdict."""
    key = (username, password)
    if key not in _verified:
        ok = bool(username) and hmac.compare_digest(password, api_key_for(username))
        _verified[key] = username if ok else None
    return _verified[key]


def create_app() -> Flask:
    """Return an app with one Flask-HTTPAuth protected endpoint."""
    app = Flask(__name__)

    @app.get("/profile")
    @auth.login_required
    def profile() -> dict[str, str]:
        return {"client": auth.current_user()}

    return app


def reset() -> None:
    """Forget cached verdicts."""
    _verified.clear()


SCENARIO: dict[str, Any] = {"path": "/profile", "auth": rotating}
