"""Keep Basic Auth credentials out of every message, report and file the plugin writes.

A :class:`Secrets` knows the credentials the driver sends (or can recompute them when they are
produced per call), and replaces the password, ``user:password``, the base64 token and the
header value wherever they occur, plus any ``Basic <token>`` it sees. It keeps strings only.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

REDACTED = "<redacted credential>"
MAX_REPR = 80

_BASIC = re.compile(r"(?i)\bbasic\s+[A-Za-z0-9+/=_-]{4,}")


def basic_token(user: str, password: str) -> str:
    """The RFC 7617 token: base64 of UTF-8 ``user:password``."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def secret_forms(user: str, password: str) -> list[str]:
    """Every form in which a credential pair could leak into text, longest first."""
    token = basic_token(user, password)
    forms = [f"Basic {token}", token, f"{user}:{password}", password]
    return sorted({f for f in forms if f}, key=len, reverse=True)


class Secrets:
    """A set of strings that must never be shown."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._forms: set[str] = set()
        for user, password in pairs:
            self.add(user, password)

    def add(self, user: str, password: str) -> None:
        self._forms.update(secret_forms(user, password))

    def update(self, other: Secrets) -> None:
        self._forms.update(other._forms)

    def __bool__(self) -> bool:
        return bool(self._forms)

    def redact(self, text: str) -> str:
        for form in sorted(self._forms, key=len, reverse=True):
            if form in text:
                text = text.replace(form, REDACTED)
        return _BASIC.sub(f"Basic {REDACTED}", text)


def short_repr(obj: object, secrets: Secrets, limit: int = MAX_REPR) -> str:
    """A redacted, truncated repr that never runs more than ``repr`` of a builtin."""
    try:
        text = repr(obj) if isinstance(obj, (str, bytes, int, float)) else object.__repr__(obj)
    except Exception:  # a broken __repr__ must not hide the verdict
        text = f"<{type(obj).__name__}>"
    if isinstance(obj, bytes):
        text = secrets.redact(text)
        try:
            text = secrets.redact(obj.decode("utf-8", "replace"))
            text = repr(text.encode())
        except Exception:
            pass
    text = secrets.redact(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
