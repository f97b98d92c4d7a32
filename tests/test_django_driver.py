"""The Django driver: Basic Auth through Django's test client, under pytest-django's database
fixtures, without the client's own signal finalizers counted as the project's growth."""

from __future__ import annotations

import sys

import pytest

from pytest_memguard.web import MissingExtra

pytest.importorskip("django")
pytest.importorskip("pytest_django")

SETTINGS = """
SECRET_KEY = "test"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
ROOT_URLCONF = "urls"
MIDDLEWARE = []
USE_TZ = True
"""

URLS = """
import base64

from django.contrib.auth.models import User
from django.http import JsonResponse
from django.urls import path

_logins = []  # "for metrics": every decoded credential, forever


def credentials(request):
    header = request.headers.get("Authorization", "")
    user, _, password = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
    return user, password


def clean(request):
    return JsonResponse({"user": credentials(request)[0]})


def leaky(request):
    user, password = credentials(request)
    _logins.append((user, password, dict(request.headers)))
    return JsonResponse({"user": user})


def db(request):
    User.objects.get_or_create(username=credentials(request)[0])
    return JsonResponse({"users": User.objects.count()})


def boom(request):
    raise ZeroDivisionError("app bug")


urlpatterns = [path("clean", clean), path("leaky", leaky), path("db", db), path("boom", boom)]
"""

TESTS = """
import pytest

import pytest_memguard.django as driver


def test_clean_2000_calls(memguard):
    memguard.django("/clean", auth=("alice", "s3cret"), expect_status=200, iterations=2000)


def test_leaky(memguard):
    memguard.django("/leaky", auth=("alice", "s3cret"), expect_status=200)


@pytest.mark.django_db
def test_db_with_the_client_fixture(memguard, client):
    memguard.django("/db", client=client, auth=("alice", "s3cret"), expect_status=200)


def test_boom(memguard):
    memguard.django("/boom")


def test_clean_without_detaching_is_what_a_naive_driver_sees(memguard, monkeypatch):
    monkeypatch.setattr(driver, "_detach_finalizers", lambda objects: None)
    memguard.django("/clean", auth=("alice", "s3cret"), expect_status=200)
"""


def connect_registers_finalizers() -> bool:
    """Whether ``Signal.connect`` registers a ``weakref.finalize`` (Django 5.2 does; 6.1
    passes a weakref callback instead, and its test client keeps nothing per request)."""
    import weakref

    from django.dispatch import Signal

    def receiver(**kwargs: object) -> None:
        return None

    before = len(weakref.finalize._registry)
    Signal().connect(receiver)
    return len(weakref.finalize._registry) > before


def test_django_driver_end_to_end(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nconsole_output_style = classic\nDJANGO_SETTINGS_MODULE = settings\n"
        "pythonpath = .\n"
    )
    pytester.makepyfile(settings=SETTINGS, urls=URLS, test_django=TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:xdist", "--memguard-report", "-rA", timeout=300
    )
    naive_grows = connect_registers_finalizers()
    result.assert_outcomes(passed=3 - naive_grows, failed=2 + naive_grows)
    result.stdout.fnmatch_lines(
        ["PASSED *::test_db_with_the_client_fixture", "PASSED *::test_clean_2000_calls"]
    )
    result.stdout.fnmatch_lines(
        [
            "FAILED *::test_leaky - LeakError: memguard: django GET /leaky*",
            "FAILED *::test_boom - ZeroDivisionError: app bug",
        ]
    )
    output = result.stdout.str()
    assert "├─ ._logins" in output
    if naive_grows:  # the naive driver's growth: the signal finalizers
        result.stdout.fnmatch_lines(["FAILED *::test_clean_without_detaching_is_what_a*"])
        assert "├─ ._registry" in output
    assert "s3cret" not in output.replace("test_django.py", "")


def test_unconfigured_settings_say_how_to_configure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bare="""
        def test_it(memguard):
            memguard.django("/")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:django")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*needs configured Django settings: set DJANGO_SETTINGS_MODULE*"])


def test_missing_django_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_memguard.django import DjangoCall

    monkeypatch.setitem(sys.modules, "django", None)
    with pytest.raises(MissingExtra, match=r"pip install pytest-memguard\[django\]"):
        DjangoCall("/")
