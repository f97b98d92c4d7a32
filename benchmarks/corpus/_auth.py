"""The Basic Auth check that corpus apps share where the auth path is not what they are about.

Apps whose leak (or whose point) lies in the auth path keep their own code, so that each leak
reads where it happens; the others call these two.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import TypeGuard

from flask import Response
from werkzeug.datastructures import Authorization


def authorized(auth: Authorization | None, users: Mapping[str, str]) -> TypeGuard[Authorization]:
    """Constant-time check of Basic Auth credentials against ``users`` (name -> password)."""
    if auth is None:
        return False
    expected = users.get(auth.username or "", "")
    return hmac.compare_digest((auth.password or "").encode(), expected.encode())


def challenge(realm: str) -> Response:
    """The 401 that asks the client for Basic Auth credentials."""
    return Response("Unauthorized", 401, {"WWW-Authenticate": f'Basic realm="{realm}"'})
