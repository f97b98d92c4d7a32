"""A Django view with HTTP Basic Auth: the leaky variant connects a signal receiver per request.

Django is configured here (settings in code, this module as the URLconf); a project does it in
its settings module, which pytest-django reads from ``DJANGO_SETTINGS_MODULE``.
"""

from __future__ import annotations

import base64
import functools
from typing import Any

import django
from django.conf import settings

if not settings.configured:
    settings.configure(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"], SECRET_KEY="demo")
    django.setup()

from django.core.signals import request_finished
from django.http import HttpRequest, JsonResponse
from django.urls import path


def _audit(user: str, **kwargs: Any) -> None:
    """Write "request of <user> finished" to the audit log."""


def _user(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    return base64.b64decode(header.removeprefix("Basic ") or "Og==").decode().split(":")[0]


def leaky(request: HttpRequest) -> JsonResponse:
    # A strong receiver per request: the signal keeps every one of them.
    request_finished.connect(functools.partial(_audit, _user(request)), weak=False)
    return JsonResponse({"user": _user(request)})


def fixed(request: HttpRequest) -> JsonResponse:
    _audit(_user(request))  # audit now: nothing registered
    return JsonResponse({"user": _user(request)})


urlpatterns = [path("leaky/profile", leaky), path("fixed/profile", fixed)]
