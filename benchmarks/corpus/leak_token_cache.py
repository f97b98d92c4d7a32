"""LEAK: a token cache (dict) keyed by credentials, without any bound or expiry.

Why: ``/token`` hands out one bearer token per ``user:password`` and remembers it in ``_tokens``
so a client asking twice gets the same token. With a fixed login the dict holds one entry and
looks harmless; with rotating credentials (many API clients) it gains an entry per new client,
about 200 bytes each, and never forgets one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import challenge

GROUND_TRUTH = "leak"
HOLDER = "_tokens"

_SIGNING_KEY = b"corpus-api-key-signing"
_tokens: dict[str, str] = {}  # "user:password" -> issued bearer token


def api_key_for(user: str) -> str:
    """API keys are an HMAC of the client name, so any ``clientN`` has a valid key."""
    return hmac.new(_SIGNING_KEY, user.encode(), hashlib.sha256).hexdigest()[:32]


def rotating(i: int) -> tuple[str, str]:
    """Credentials of the i-th API client."""
    user = f"client{i}"
    return user, api_key_for(user)


def create_app() -> Flask:
    """Return an app that exchanges Basic Auth credentials for a bearer token."""
    app = Flask(__name__)

    @app.get("/token")
    def token() -> Response | dict[str, str]:
        auth = request.authorization
        user, password = (auth.username or "", auth.password or "") if auth else ("", "")
        if not user or not hmac.compare_digest(password, api_key_for(user)):
            return challenge("api")
        cache_key = f"{user}:{password}"
        issued = _tokens.get(cache_key)
        if issued is None:
            issued = _tokens[cache_key] = secrets.token_urlsafe(32)
        return {"access_token": issued, "token_type": "bearer"}

    return app


def reset() -> None:
    """Drop every issued token."""
    _tokens.clear()


SCENARIO: dict[str, Any] = {"path": "/token", "auth": rotating}
