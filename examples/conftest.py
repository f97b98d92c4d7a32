"""Fixtures shared by the example tests: one app per variant, and Basic Auth headers."""

from __future__ import annotations

import importlib

import pytest
from flask import Flask
from flask.testing import FlaskClient

import pytest_memguard


@pytest.fixture(params=["leaky_app", "fixed_app"])
def app(request: pytest.FixtureRequest) -> Flask:
    module = importlib.import_module(request.param)
    return module.create_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def auth_headers() -> dict[str, str]:
    return pytest_memguard.basic_auth("alice", "s3cret")


def rotating(i: int) -> tuple[str, str]:
    """A new API-key user name on every call, as many clients would send."""
    return (f"alice-{i}", "s3cret")
