"""CLEAN: a page rendered with ``render_template_string`` for the authenticated user.

Why: the template source is a constant and the user name is passed as context, never baked
into the source, so rendering allocates only temporaries (the compiled template is rebuilt
and dropped each call). Nothing survives the request. Caveat for detectors: each compile
churns CPython's interned-string dict, which resizes once (a one-off ~0.5 MiB step after a
few thousand calls in a fresh process) and then stays flat - a step, not a slope.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, render_template_string, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret", "bob": "hunter2"}

PAGE = """<!doctype html>
<title>Account of {{ user }}</title>
<h1>Welcome back, {{ user | title }}</h1>
<ul>
{% for item in items %}  <li>{{ loop.index }}. {{ item.name }}: {{ item.qty }}</li>
{% endfor %}</ul>
"""


def create_app() -> Flask:
    """Return an app rendering an account page from an inline template."""
    app = Flask(__name__)

    @app.get("/account")
    def account() -> Response | str:
        auth = request.authorization
        if not authorized(auth, _USERS):
            return challenge("corpus")
        items = [{"name": "widget", "qty": 3}, {"name": "gadget", "qty": 1}]
        return render_template_string(PAGE, user=auth.username, items=items)

    return app


def reset() -> None:
    """Nothing to reset: rendering keeps no state."""


SCENARIO: dict[str, Any] = {"path": "/account", "auth": [("alice", "s3cret"), ("bob", "hunter2")]}
