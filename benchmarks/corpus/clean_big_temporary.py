"""CLEAN: a 1 MiB scratch ``bytearray`` allocated and freed on every call.

Why: the view assembles a large payload in a temporary buffer to checksum it and returns only
the digest. The buffer is garbage as soon as the view returns; peak memory jumps by 1 MiB per
call but retained memory does not grow.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"

SCRATCH_BYTES = 1024 * 1024
_USERS = {"alice": "s3cret"}


def checksum_payload(seed: bytes) -> str:
    """Fill a 1 MiB buffer with a pattern derived from ``seed`` and hash its head and tail."""
    buffer = bytearray(SCRATCH_BYTES)
    block = hashlib.sha256(seed).digest() * 128  # 4 KiB
    buffer[: len(block)] = block
    buffer[-len(block) :] = block
    return hashlib.sha256(memoryview(buffer)[:8192]).hexdigest()


def create_app() -> Flask:
    """Return an app computing a checksum over a large temporary buffer."""
    app = Flask(__name__)

    @app.get("/checksum")
    def checksum() -> Response | dict[str, Any]:
        auth = request.authorization
        if not authorized(auth, _USERS):
            return challenge("corpus")
        return {"sha256": checksum_payload((auth.username or "").encode()), "size": SCRATCH_BYTES}

    return app


def reset() -> None:
    """Nothing to reset: the buffer is freed per call."""


SCENARIO: dict[str, Any] = {"path": "/checksum", "auth": ("alice", "s3cret")}
