"""LEAK: every export keeps its ~4 KiB CSV body in a module-level dict.

Why: ``POST /exports`` renders a CSV report and stores the bytes under a fresh export id so the
client can download it again from ``/exports/<id>``. Exports never expire, so each call retains
a buffer larger than 512 bytes (outside pymalloc's small-object arenas) plus its key.
"""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
HOLDER = "_exports"

_USERS = {"alice": "s3cret"}
_exports: dict[str, bytes] = {}


def render_report(user: str, rows: int = 85) -> bytes:
    """Render a CSV of ``rows`` fake invoice lines (~48 bytes per row, ~4 KiB in all)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["invoice", "customer", "amount_cents", "currency", "status"])
    for n in range(rows):
        writer.writerow([f"INV-{n:08d}", f"{user}@example.com", 1999 * (n + 1), "EUR", "paid"])
    return out.getvalue().encode("utf-8")


def create_app() -> Flask:
    """Return an app with an export endpoint and a download endpoint."""
    app = Flask(__name__)

    @app.post("/exports")
    def create_export() -> Response:
        auth = request.authorization
        if not authorized(auth, _USERS):
            return challenge("exports")
        export_id = uuid.uuid4().hex
        _exports[export_id] = body = render_report(auth.username or "")
        return Response(body, 201, {"Location": f"/exports/{export_id}"}, mimetype="text/csv")

    @app.get("/exports/<export_id>")
    def download(export_id: str) -> Response:
        return Response(_exports[export_id], mimetype="text/csv")

    return app


def reset() -> None:
    """Delete all stored exports."""
    _exports.clear()


SCENARIO: dict[str, Any] = {
    "path": "/exports",
    "method": "POST",
    "auth": ("alice", "s3cret"),
    "expect_status": 201,
}
