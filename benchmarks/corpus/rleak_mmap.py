"""LEAK: a data file mapped with ``mmap`` per request, the mapping kept.

Why: the view maps a lookup table to read one record and caches the mapping in ``_maps``; the
file object is closed, but ``mmap`` keeps its own duplicate of the descriptor: one more open
descriptor (and mapping) per request.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_TABLE = os.path.join(tempfile.gettempdir(), f"memguard-corpus-table-{os.getpid()}.bin")
with open(_TABLE, "wb") as _f:
    _f.write(b"x" * 4096)
_maps: list[mmap.mmap] = []


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        with open(_TABLE, "rb") as table:
            mapping = mmap.mmap(table.fileno(), 0, access=mmap.ACCESS_READ)  # resource made here
        _maps.append(mapping)
        return mapping[:1].decode()

    return app


def reset() -> None:
    """Close every mapping."""
    while _maps:
        _maps.pop().close()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
