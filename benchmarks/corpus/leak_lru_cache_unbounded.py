"""LEAK: ``functools.lru_cache(maxsize=None)`` on the credential check, fed rotating credentials.

Why: the check is memoised "because it runs on every request", but ``maxsize=None`` means the
cache never evicts: each distinct ``(user, password)`` pair adds a key, its two strings and a
cache entry (~250 bytes). A single user hits one entry; many clients grow it forever.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import challenge

GROUND_TRUTH = "leak"
HOLDER = "credentials_valid"  # the lru_cache wrapper, whose cache dict grows

_SIGNING_KEY = b"corpus-lru-signing"


def api_key_for(user: str) -> str:
    """API keys are an HMAC of the client name."""
    return hmac.new(_SIGNING_KEY, user.encode(), hashlib.sha256).hexdigest()[:32]


def rotating(i: int) -> tuple[str, str]:
    """Credentials of the i-th API client."""
    user = f"client{i}"
    return user, api_key_for(user)


@functools.lru_cache(maxsize=None)  # noqa: UP033 - spelled as in the code under study
def credentials_valid(user: str, password: str) -> bool:
    """Check an API key against its HMAC; memoised to keep hot clients cheap."""
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
    """Empty the memo."""
    credentials_valid.cache_clear()


SCENARIO: dict[str, Any] = {"path": "/me", "auth": rotating}
