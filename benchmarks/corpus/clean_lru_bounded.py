"""CLEAN: ``lru_cache(maxsize=128)`` on the credential check, fed rotating credentials.

Why: every new client adds a cache entry until 128 are held; from then on each miss evicts the
least recently used entry. Memory grows for the first 128 calls and then plateaus.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import challenge

GROUND_TRUTH = "clean"

_SIGNING_KEY = b"corpus-lru-bounded"


def api_key_for(user: str) -> str:
    """API keys are an HMAC of the client name."""
    return hmac.new(_SIGNING_KEY, user.encode(), hashlib.sha256).hexdigest()[:32]


def rotating(i: int) -> tuple[str, str]:
    """Credentials of the i-th API client."""
    user = f"client{i}"
    return user, api_key_for(user)


@functools.lru_cache(maxsize=128)
def credentials_valid(user: str, password: str) -> bool:
    """Check an API key against its HMAC; the 128 most recent answers are kept."""
    return hmac.compare_digest(password, api_key_for(user))


def create_app() -> Flask:
    """Return an app whose ``/me`` endpoint needs a valid API key."""
    app = Flask(__name__)

    @app.get("/me")
    def me() -> Response | dict[str, str]:
        auth = request.authorization
        if auth is None or not credentials_valid(auth.username or "", auth.password or ""):
            return challenge("api")
        return {"client": auth.username or ""}

    return app


def reset() -> None:
    """Empty the cache."""
    credentials_valid.cache_clear()


SCENARIO: dict[str, Any] = {"path": "/me", "auth": rotating}
