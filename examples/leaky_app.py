"""A Flask app with HTTP Basic Auth that leaks on the auth path, the way production apps do.

Two innocent-looking lines keep memory forever:

* every decoded ``user:password`` goes into ``_auth_log`` "for metrics";
* ``_token_cache`` remembers every Basic token it has checked and is never pruned, so it grows
  with every new credential (rotating API keys, many users).
"""

from __future__ import annotations

import hmac

from flask import Flask, Response, request

USERS = {"alice": "s3cret", "bob": "hunter2"}

_auth_log: list[str] = []  # "for metrics"
_token_cache: dict[str, bool] = {}  # "to skip the password check next time"


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
        _auth_log.append(f"{user}:{password}")  # leak 1: decoded credentials kept
        token = request.headers["Authorization"]
        if token not in _token_cache:  # leak 2: one entry per distinct token, forever
            _token_cache[token] = _check(user, password)
        if not _token_cache[token]:
            return Response("bad credentials", 401)
        return None

    @app.get("/")
    def index() -> str:
        return "hello"

    @app.get("/profile")
    def profile() -> dict[str, str]:
        return {"user": request.authorization.username if request.authorization else ""}

    return app
