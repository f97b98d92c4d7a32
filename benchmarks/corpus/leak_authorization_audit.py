"""LEAK: ``request.authorization`` objects kept for auditing.

Why: each successful login appends the whole ``werkzeug`` ``Authorization`` object (with its
parameter dict and the password inside) to ``_audit_trail`` so ``/audit`` can list logins.
Nothing trims the trail, so every request retains a few hundred bytes.
"""

from __future__ import annotations

import hmac
from typing import Any, TypeGuard

from flask import Flask, Response, request
from werkzeug.datastructures import Authorization

from benchmarks.corpus._auth import challenge

GROUND_TRUTH = "leak"
HOLDER = "_audit_trail"

_USERS = {"alice": "s3cret", "bob": "hunter2"}
_audit_trail: list[Authorization] = []


def _valid(auth: Authorization | None) -> TypeGuard[Authorization]:
    """Constant-time check of Basic Auth credentials against ``_USERS``."""
    if auth is None or auth.type != "basic":
        return False
    expected = _USERS.get(auth.username or "", "")
    return hmac.compare_digest((auth.password or "").encode(), expected.encode())


def create_app() -> Flask:
    """Return an app with a protected report and an audit listing."""
    app = Flask(__name__)

    @app.get("/report")
    def report() -> Response | dict[str, Any]:
        auth = request.authorization
        if not _valid(auth):
            return challenge("reports")
        _audit_trail.append(auth)
        return {"rows": [], "user": auth.username}

    @app.get("/audit")
    def audit() -> dict[str, Any]:
        return {"logins": [a.username for a in _audit_trail[-20:]], "total": len(_audit_trail)}

    return app


def reset() -> None:
    """Clear the audit trail."""
    _audit_trail.clear()


SCENARIO: dict[str, Any] = {"path": "/report", "auth": [("alice", "s3cret"), ("bob", "hunter2")]}
