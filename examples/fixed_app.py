"""The same app, fixed: a stateless credential check and a bounded cache.

* the metrics count requests instead of keeping what the user sent;
* ``_check`` is an ``lru_cache(maxsize=128)``: it fills, then evicts, so memory plateaus.
"""

from __future__ import annotations

import functools
import hmac
from collections import Counter

from flask import Flask, Response, request

USERS = {"alice": "s3cret", "bob": "hunter2"}

_logins: Counter[str] = Counter()  # bounded by the number of known users


@functools.lru_cache(maxsize=128)
def _check(user: str, password: str) -> bool:
    expected = USERS.get(user.split("-")[0], "")
    return hmac.compare_digest(password.encode(), expected.encode())


def create_app() -> Flask:
    app = Flask(__name__)

    @app.before_request
    def require_basic_auth() -> Response | None:
        auth = request.authorization
        if auth is None or auth.type != "basic":
            return Response("login required", 401, {"WWW-Authenticate": 'Basic realm="demo"'})
        user, password = auth.username or "", auth.password or ""
        if not _check(user, password):
            return Response("bad credentials", 401)
        _logins[user.split("-")[0]] += 1
        return None

    @app.get("/")
    def index() -> str:
        return "hello"

    @app.get("/profile")
    def profile() -> dict[str, str]:
        return {"user": request.authorization.username if request.authorization else ""}

    return app
