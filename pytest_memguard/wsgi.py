"""Drive any WSGI callable through werkzeug's test client (werkzeug comes with Flask).

The app's exceptions reach the test as they are raised: werkzeug's client calls the app in the
test's own thread and catches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pytest_memguard.web import WebCall


class WsgiCall(WebCall):
    """Send the request(s) to a WSGI app (or through a werkzeug test client) once per call."""

    kind = "wsgi"

    def __init__(
        self, app_or_client: object, path: str | Sequence[str] = "/", **options: Any
    ) -> None:
        """``options``: the keywords of :class:`WebCall` (method, auth, headers...)."""
        __tracebackhide__ = True
        self.client = self.make_client(app_or_client)
        super().__init__(path, **options)

    def make_client(self, app_or_client: object) -> Any:
        """A werkzeug test client: the one given, or a new one for a WSGI callable."""
        __tracebackhide__ = True  # a usage error points at the test's own line
        if _is_client(app_or_client):
            return app_or_client
        if not callable(app_or_client):
            raise TypeError(
                "memguard.wsgi() needs a WSGI app (a callable (environ, start_response)) or a"
                f" werkzeug test client, got {type(app_or_client).__name__}"
            )
        from werkzeug.test import Client

        return Client(app_or_client)

    def roots(self) -> tuple[tuple[str, object], ...]:
        app = getattr(self.client, "application", None)
        return (("app", app),) if app is not None else ()

    def send(self, path: str, headers: dict[str, str]) -> int:
        __tracebackhide__ = True
        response = self.client.open(
            path, method=self.method, headers=headers, **self.request_kwargs
        )
        status: int = response.status_code
        response.close()
        return status


def _is_client(value: object) -> bool:
    """A werkzeug test client (Flask's included): it opens requests and knows its app."""
    return callable(getattr(value, "open", None)) and hasattr(value, "application")


__all__ = ["WsgiCall"]
