"""CLEAN: Flask-HTTPAuth ``HTTPBasicAuth`` with a verify callback that caches nothing.

Why: ``verify_password`` recomputes the client's key and compares it in constant time on every
request. Flask-HTTPAuth keeps the current user on the request context only, so even with a new
client per call nothing outlives the request.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Flask
from flask_httpauth import HTTPBasicAuth

GROUND_TRUTH = "clean"

_SIGNING_KEY = b"corpus-httpauth-clean"
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
    """Return the user name when the key matches."""
    if username and hmac.compare_digest(password, api_key_for(username)):
        return username
    return None


def create_app() -> Flask:
    """Return an app with one Flask-HTTPAuth protected endpoint."""
    app = Flask(__name__)

    @app.get("/profile")
    @auth.login_required
    def profile() -> dict[str, str]:
        return {"client": auth.current_user()}

    return app


def reset() -> None:
    """Nothing to reset: verification keeps no state."""


SCENARIO: dict[str, Any] = {"path": "/profile", "auth": rotating}
