"""Django views decoding Basic Auth: three leaks on the auth path and three clean apps.

Importing this module configures Django (settings in code, this module as the URLconf) unless
a project already did: the benchmark and the suite run it in processes of their own.
"""

from __future__ import annotations

import functools
import secrets
from collections import OrderedDict
from typing import Any

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        SECRET_KEY="web-corpus",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
        DATABASES={},
        USE_TZ=True,
    )
    django.setup()

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from benchmarks.web_corpus import credentials, standard, valid

_auth_log: list[str] = []  # "for metrics"
_tokens: dict[tuple[str, str], str] = {}  # credentials -> issued token, never pruned
_bounded: OrderedDict[tuple[str, str], str] = OrderedDict()
_MAX_TOKENS = 64


def _view(kind: str) -> Any:
    def view(request: HttpRequest) -> HttpResponse:
        pair = credentials(request.headers.get("Authorization"))
        if not valid(pair) or pair is None:
            return HttpResponse("login required", status=401, headers={"WWW-Authenticate": "Basic"})
        user, password = pair
        if kind == "global_list":
            _auth_log.append(f"{user}:{password}")  # leak
        elif kind == "token_cache":
            _tokens.setdefault(pair, secrets.token_urlsafe(32))  # leak
        elif kind == "registration":
            # leak: a strong receiver per request ("audit the end of this user's request")
            request_finished.connect(functools.partial(_audit, user), weak=False)
        elif kind == "bounded_cache":
            _bounded[pair] = _bounded.pop(pair, None) or secrets.token_urlsafe(32)
            while len(_bounded) > _MAX_TOKENS:
                _bounded.popitem(last=False)
        elif kind == "request_state":
            request.session_user = {"name": user, "scopes": ["read", "write"]}  # type: ignore[attr-defined]
        return JsonResponse({"user": user})

    return view


def _audit(user: str, **kwargs: Any) -> None:
    return None


KINDS = (
    "global_list",
    "token_cache",
    "registration",
    "stateless",
    "bounded_cache",
    "request_state",
)
urlpatterns = [path(f"{kind}/", _view(kind)) for kind in KINDS]


def reset() -> None:
    _auth_log.clear()
    _tokens.clear()
    _bounded.clear()
    for receiver in list(request_finished.receivers):
        target = receiver[1]
        if isinstance(target, functools.partial) and target.func is _audit:
            request_finished.disconnect(target)


SCENARIOS = standard(
    "django",
    lambda kind: None,
    reset,
    {"global_list": "_auth_log", "token_cache": "_tokens", "registration": "receivers"},
    path=lambda kind: f"/{kind}/",
)
