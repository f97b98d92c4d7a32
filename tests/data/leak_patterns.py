"""Six leak patterns of Flask Basic Auth apps, each guarded; every one must fail and explain."""

import base64
import logging

import pytest
from flask import Flask, request, request_finished

_seen = []  # global list
_cache = {}  # unbounded dict cache


class Registry:
    sessions = []  # class attribute registry  # noqa: RUF012 - the leak under test


_errors = []  # exceptions kept with tracebacks


class KeepAll(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


audit = logging.getLogger("patterns.audit")
audit.addHandler(KeepAll())
audit.propagate = False
audit.setLevel(logging.INFO)

app = Flask("patterns")


@app.get("/list")
def r_list():
    a = request.authorization
    _seen.append(f"{a.username}:{a.password}")
    return "ok"


@app.get("/dict")
def r_dict():
    token = request.headers["Authorization"]
    _cache[token] = {"user": request.authorization.username}
    return "ok"


@app.get("/class")
def r_class():
    Registry.sessions.append({"user": request.authorization.username})
    return "ok"


@app.get("/signal")
def r_signal():
    user = request.authorization.username

    def on_finished(sender, response, **extra):
        return user

    request_finished.connect(on_finished, app, weak=False)
    return "ok"


@app.get("/log")
def r_log():
    audit.info("login %s", request.authorization.username)
    return "ok"


@app.get("/bad")
def r_bad():
    try:
        base64.b64decode(request.headers["Authorization"].split()[1], validate=True)
    except Exception as exc:
        _errors.append(exc)
        return "bad header", 401
    return "ok"


def rotating(i):
    return (f"alice{i}", "s3cret")


@pytest.mark.parametrize("path", ["/list", "/dict", "/class", "/signal", "/log"])
def test_pattern(memguard, path):
    memguard.flask(app, path, auth=rotating, expect_status=200)


def test_bad_header(memguard):
    memguard.flask(app, "/bad", headers={"Authorization": "Basic !!!notbase64"}, expect_status=401)
