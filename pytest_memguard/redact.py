"""Keep Basic Auth credentials out of every message, report and file the plugin writes.

A :class:`Secrets` knows the credentials the driver sends (or can recompute them when they are
produced per call), and replaces the password, ``user:password``, the base64 token and the
header value wherever they occur, plus any ``Basic <token>`` it sees. It keeps strings only.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator
from contextvars import ContextVar

from pytest_memguard.errors import passthrough

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


#: The credentials seen while the current test runs (set by the plugin around each test), so that
#: headers built with ``basic_auth()`` in a fixture are redacted too. A ContextVar, not a global:
#: it is unset outside a test and per thread.
_collector: ContextVar[Secrets | None] = ContextVar("memguard_secrets", default=None)


@passthrough
def collecting(secrets: Secrets) -> Iterator[Secrets]:
    """Remember into ``secrets`` every credential pair built while the block runs."""
    __tracebackhide__ = True
    token = _collector.set(secrets)
    try:
        yield secrets
    finally:
        _collector.reset(token)


def remember(user: str, password: str) -> None:
    """Record a credential pair for redaction if a test is collecting them."""
    secrets = _collector.get()
    if secrets is not None:
        secrets.add(user, password)


def from_values(values: Iterable[object]) -> Secrets:
    """Credentials found in fixture values: Basic headers in mappings, and header strings.

    Only plain ``dict`` and ``str`` values are read (one level into a dict), never user objects.
    """
    secrets = Secrets()
    for value in values:
        texts: list[object] = [value]
        if type(value) is dict:
            texts = list(dict.values(value))
        for text in texts:
            if type(text) is str:
                _add_header(secrets, text)
    return secrets


def _add_header(secrets: Secrets, header: str) -> None:
    match = re.fullmatch(r"(?i)basic\s+([A-Za-z0-9+/=]+)", header.strip())
    if not match:
        return
    try:
        user, _, password = base64.b64decode(match.group(1), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return
    secrets.add(user, password)


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
