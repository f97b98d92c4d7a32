"""The same Basic Auth leaks on other frameworks: each leaky variant fails, each fix passes.

Run ``pytest examples/frameworks --memguard-report`` (needs ``pip install
pytest-memguard[asgi,django]`` and FastAPI). Each failure names what grew and who holds it.
"""

from __future__ import annotations

import django_app  # noqa: F401 (configures Django, as a project's settings module does)
import fastapi_app
import pytest
import starlette_app
import wsgi_app

VARIANTS = pytest.mark.parametrize("leaky", [True, False], ids=["leaky", "fixed"])


def rotating(i):
    """A new API client on every call: a cache keyed by credentials grows with each one."""
    return (f"client{i}", "key")


@VARIANTS
def test_fastapi_profile(memguard, leaky):
    app = fastapi_app.create_app(leaky=leaky)
    memguard.asgi(app, "/profile", auth=("alice", "s3cret"), expect_status=200)


@VARIANTS
def test_starlette_tokens(memguard, leaky):
    app = starlette_app.create_app(leaky=leaky)
    memguard.asgi(app, "/token", auth=rotating, expect_status=200)


@VARIANTS
def test_wsgi_login(memguard, leaky):
    app = wsgi_app.create_app(leaky=leaky)
    memguard.wsgi(app, "/", auth=("alice", "s3cret"), expect_status=200)


@VARIANTS
def test_django_profile(memguard, leaky):
    variant = "leaky" if leaky else "fixed"
    memguard.django(f"/{variant}/profile", auth=("alice", "s3cret"), expect_status=200)
