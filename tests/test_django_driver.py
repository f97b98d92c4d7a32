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


def test_django_driver_end_to_end(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nconsole_output_style = classic\nDJANGO_SETTINGS_MODULE = settings\n"
        "pythonpath = .\n"
    )
    pytester.makepyfile(settings=SETTINGS, urls=URLS, test_django=TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:xdist", "--memguard-report", "-rA", timeout=300
    )
    result.assert_outcomes(passed=2, failed=3)
    result.stdout.fnmatch_lines(
        ["PASSED *::test_db_with_the_client_fixture", "PASSED *::test_clean_2000_calls"]
    )
    result.stdout.fnmatch_lines(
        [
            "FAILED *::test_leaky - LeakError: memguard: django GET /leaky*",
            "FAILED *::test_boom - ZeroDivisionError: app bug",
            "FAILED *::test_clean_without_detaching_is_what_a_naive_driver_sees - LeakError*",
        ]
    )
    output = result.stdout.str()
    assert "├─ ._logins" in output
    assert "├─ ._registry" in output  # the naive driver's growth: the signal finalizers
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
