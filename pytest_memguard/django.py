"""Drive a Django project through its test client with HTTP Basic Auth, one request per call.

Django's test client leaves something behind on every request: it reconnects signal receivers
(``close_old_connections`` around each request, its own ``store_exc_info``), and each
``Signal.connect(weak=True)`` registers a ``weakref.finalize`` on the receiver's object, which
lives as long as that object: forever for a module's function, the run for the client. About
1 KB a request that is the client's, not the project's: this driver detaches those finalizers
after each call (they only flag dead receivers when their object dies, and the client
disconnects its receivers after each request anyway). Any other finalizer stays. (Measured on
Django 5.2; Django 6.1 passes a weakref callback instead and keeps nothing: nothing to detach.)

Django is imported when the driver is used; its settings must be configured (pytest-django
does it from ``DJANGO_SETTINGS_MODULE``), and its database fixtures work as for any test.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

from pytest_memguard.errors import MemguardUsageError
from pytest_memguard.web import WebCall, require


class DjangoCall(WebCall):
    """Send the request(s) through ``django.test.Client`` (or the one given) once per call."""

    kind = "django"

    def __init__(
        self, path: str | Sequence[str] = "/", *, client: object = None, **options: Any
    ) -> None:
        """``options``: the keywords of :class:`WebCall` (method, auth, headers...)."""
        __tracebackhide__ = True
        require("django", "django", "django")
        from django.conf import settings

        if not settings.configured:
            raise MemguardUsageError(
                "memguard.django() needs configured Django settings: set DJANGO_SETTINGS_MODULE"
                " (pytest-django reads it from the ini or --ds) or call settings.configure()"
            )
        super().__init__(path, **options)
        if client is None:
            from django.test import Client

            client = Client()
        elif not callable(getattr(client, "generic", None)):
            raise TypeError(
                "memguard.django(client=...) needs a django.test.Client (pytest-django's"
                f" `client` fixture), got {type(client).__name__}"
            )
        self.client: Any = client
        from django.db import close_old_connections

        # The objects whose signal finalizers are the client's machinery (see the module).
        self._machinery = (close_old_connections, client)

    def send(self, path: str, headers: dict[str, str]) -> int:
        __tracebackhide__ = True
        method = self.method.lower()
        request = getattr(self.client, method, None) if method.isidentifier() else None
        try:
            if request is not None and method in _CLIENT_METHODS:
                response = request(path, headers=headers, **self.request_kwargs)
            else:
                response = self.client.generic(
                    self.method, path, headers=headers, **self.request_kwargs
                )
        finally:
            _detach_finalizers(self._machinery)
        # Not closed again: the client's handler closed it with ``close_old_connections``
        # disconnected, which a second close would run (and touch the database).
        status: int = response.status_code
        return status


#: The test client's methods named after an HTTP method.
_CLIENT_METHODS = frozenset({"get", "post", "head", "options", "put", "patch", "delete", "trace"})


def _detach_finalizers(objects: tuple[object, ...]) -> None:
    """Detach the ``Signal`` finalizers registered on ``objects`` (see the module docstring).

    ``weakref.finalize._registry`` is CPython's private table of live finalizers (the same in
    3.10 to 3.13); there is no public way to list them.
    """
    from django.dispatch import Signal

    registry = getattr(weakref.finalize, "_registry", None)
    if not isinstance(registry, dict):
        return
    for finalizer in list(registry):
        info = finalizer.peek()
        if info is None or not any(info[0] is obj for obj in objects):
            continue
        if isinstance(getattr(info[1], "__self__", None), Signal):
            finalizer.detach()


__all__ = ["DjangoCall"]
