"""CLEAN: a token cache keyed by credentials, capped at 256 entries (oldest evicted first).

Why: the same idea as an unbounded token cache, but ``_remember`` pops the oldest entry of the
``OrderedDict`` once ``MAX_TOKENS`` are held. With a new client per call the cache fills during
the first few hundred calls and then stays at 256 entries.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict
from typing import Any

from flask import Flask, Response, request

GROUND_TRUTH = "clean"

MAX_TOKENS = 256
_SIGNING_KEY = b"corpus-bounded-tokens"
_tokens: OrderedDict[tuple[str, str], str] = OrderedDict()


def api_key_for(user: str) -> str:
    """API keys are an HMAC of the client name."""
    return hmac.new(_SIGNING_KEY, user.encode(), hashlib.sha256).hexdigest()[:32]


def rotating(i: int) -> tuple[str, str]:
    """Credentials of the i-th API client."""
    user = f"client{i}"
    return user, api_key_for(user)


def _remember(key: tuple[str, str], token: str) -> None:
    _tokens[key] = token
    while len(_tokens) > MAX_TOKENS:
        _tokens.popitem(last=False)


def create_app() -> Flask:
    """Return an app that exchanges Basic Auth credentials for a bearer token."""
    app = Flask(__name__)

    @app.get("/token")
    def token() -> Response | dict[str, str]:
        auth = request.authorization
        user, password = (auth.username or "", auth.password or "") if auth else ("", "")
        if not user or not hmac.compare_digest(password, api_key_for(user)):
            return Response("Unauthorized", 401, {"WWW-Authenticate": 'Basic realm="api"'})
        issued = _tokens.get((user, password))
        if issued is None:
            issued = secrets.token_urlsafe(32)
            _remember((user, password), issued)
        else:
            _tokens.move_to_end((user, password))
        return {"access_token": issued, "token_type": "bearer"}

    return app


def reset() -> None:
    """Drop every cached token."""
    _tokens.clear()


SCENARIO: dict[str, Any] = {"path": "/token", "auth": rotating}
