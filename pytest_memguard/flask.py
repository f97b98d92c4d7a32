"""Drive a Flask app through its test client with HTTP Basic Auth, one request per call.

The WSGI driver with what Flask adds: the app's own test client (an app context per request)
and ``PROPAGATE_EXCEPTIONS`` while driving, so that an exception in a view fails the test as
itself instead of as a 500. Flask is imported lazily (only its test client's interface is
used), so the plugin loads in projects that guard plain callables.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pytest_memguard.errors import passthrough
from pytest_memguard.web import UnexpectedStatus, basic_auth, only_errors
from pytest_memguard.wsgi import WsgiCall, _is_client


class FlaskCall(WsgiCall):
    """A callable that sends the configured request(s) once per call through Flask's client."""

    kind = "flask"

    def make_client(self, app_or_client: object) -> Any:
        __tracebackhide__ = True  # a usage error points at the test's own line
        if callable(getattr(app_or_client, "test_client", None)):
            return app_or_client.test_client()  # type: ignore[attr-defined]
        if _is_client(app_or_client):
            return app_or_client
        raise TypeError(
            "memguard.flask() needs a Flask app or its test client (app.test_client()),"
            f" got {type(app_or_client).__name__}"
        )

    @passthrough
    def running(self) -> Iterator[None]:
        """Let the app's exceptions reach the test, as in ``app.testing``, then restore."""
        __tracebackhide__ = True
        app = getattr(self.client, "application", None)
        config = getattr(app, "config", None)
        if not isinstance(config, dict):
            yield
            return
        missing = object()
        saved = config.get("PROPAGATE_EXCEPTIONS", missing)
        config["PROPAGATE_EXCEPTIONS"] = True
        try:
            yield
        finally:
            if saved is missing:
                config.pop("PROPAGATE_EXCEPTIONS", None)
            else:
                config["PROPAGATE_EXCEPTIONS"] = saved

    propagating = running  # its name before the other drivers came


__all__ = ["FlaskCall", "UnexpectedStatus", "basic_auth", "only_errors"]
