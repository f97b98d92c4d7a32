"""A bare WSGI app with HTTP Basic Auth: the leaky variant logs every decoded credential."""

from __future__ import annotations

import base64
import collections
from collections.abc import Callable, Iterable
from typing import Any

_auth_log: list[str] = []  # "for metrics"
_recent: collections.deque[str] = collections.deque(maxlen=100)  # the fix: the last 100 only


def create_app(*, leaky: bool) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        header = environ.get("HTTP_AUTHORIZATION", "")
        decoded = base64.b64decode(header.removeprefix("Basic ") or "Og==").decode()
        user = decoded.split(":")[0]
        (_auth_log if leaky else _recent).append(decoded)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"hello {user}".encode()]

    return app
