"""CLEAN: a token cache keyed by credentials, capped at 256 entries (oldest evicted first).

Why: the same idea as an unbounded token cache, but ``_remember`` pops the oldest entry of the
``OrderedDict`` once ``MAX_TOKENS`` are held. With a new client per call the cache fills after
256 calls and then stays at 256 entries.

Bound: ``BOUND_KB = 128``, not the corpus's default 64, because the budget is 256 tokens and a
user who sets that budget picks a bound that fits it. Measured with ``tracemalloc`` (as
``benchmarks/corpus_check.py`` does): the full cache holds ~106 KiB, ~420 B per entry (the
``(user, password)`` key and its strings, the token, and the ``OrderedDict``'s share of its
table). Of that, 13 KiB is a one-off step at call 342: the 342nd insertion (evictions leave
their slots used) fills the 512-slot table, which is rebuilt at 1024 slots and stays there.
Retained growth over the end of a 20-call warm-up is 75 KiB at call 220, 86 KiB at 256 and
99 KiB from call 342 on (flat to call 1000). memguard's own estimate runs a little higher:
85 KiB at call 220, a plateau at ~101 KiB after 420 calls. The benchmark's 220 calls never
fill the cache, so memguard's verdict rests on its rule of extending a still-rising run that
is under the bound once, to 420 calls (400 measured), where the second half is no longer
rising in every window and the plateau is judged: ~101 KiB against 128, a 27 KiB margin.
With 64 the run is already over the bound at call 220 and fails without being extended.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import challenge

GROUND_TRUTH = "clean"
BOUND_KB = 128

MAX_TOKENS = 256
_SIGNING_KEY = b"corpus-bounded-tokens"
_tokens: OrderedDict[tuple[str, str], str] = OrderedDict()


def api_key_for(user: str) -> str:
    """API keys are an HMAC of the client name."""
    return hmac.new(_SIGNING_KEY, user.encode(), hashlib.sha256).hexdigest()[:32]


def rotating(i: int) -> tuple[str, str]:
    """Credentials of the i-th API client."""
    user = f"client{i}"
    return user, api_key_for(user)


def _remember(key: tuple[str, str], token: str) -> None:
    _tokens[key] = token
    while len(_tokens) > MAX_TOKENS:
        _tokens.popitem(last=False)


def create_app() -> Flask:
    """Return an app that exchanges Basic Auth credentials for a bearer token."""
    app = Flask(__name__)

    @app.get("/token")
    def token() -> Response | dict[str, str]:
        auth = request.authorization
        user, password = (auth.username or "", auth.password or "") if auth else ("", "")
        if not user or not hmac.compare_digest(password, api_key_for(user)):
            return challenge("api")
        issued = _tokens.get((user, password))
        if issued is None:
            issued = secrets.token_urlsafe(32)
            _remember((user, password), issued)
        else:
            _tokens.move_to_end((user, password))
        return {"access_token": issued, "token_type": "bearer"}

    return app


def reset() -> None:
    """Drop every cached token."""
    _tokens.clear()


SCENARIO: dict[str, Any] = {"path": "/token", "auth": rotating}
