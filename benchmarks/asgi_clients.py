#!/usr/bin/env python3
"""Which client the ASGI driver uses: httpx's ASGITransport or Starlette's TestClient, measured.

    python benchmarks/asgi_clients.py [--runs 3]

For a clean FastAPI app (a sync and an async endpoint) and a Starlette app, each guarded run
of 220 calls goes through ``memguard.asgi`` (httpx's ``ASGITransport`` on one event loop, the
driver's choice) and through ``memguard.run`` over ``starlette.testclient.TestClient`` (entered
once, so its portal thread and the app's lifespan live for the whole run). The table shows,
per client: the verdict, whether memguard had to report "measurement disturbed" (another
thread ran during the measured calls), the median time of the guarded call alone, whether the
app's lifespan ran and whether an exception in a view reached the test as itself.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TESTS = """\
import contextlib
import json
import time
import warnings

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

RESULTS = {}
STARTED = []


@contextlib.asynccontextmanager
async def lifespan(app):
    STARTED.append(1)
    yield


def fastapi_app(sync):
    app = FastAPI(lifespan=lifespan)
    if sync:
        @app.get("/")
        def index():
            return {"ok": True}
    else:
        @app.get("/")
        async def index():
            return {"ok": True}

    @app.get("/boom")
    async def boom():
        raise ZeroDivisionError("app bug")

    return app


def starlette_app(sync):
    async def index(request):
        return PlainTextResponse("ok")

    async def boom(request):
        raise ZeroDivisionError("app bug")

    return Starlette(routes=[Route("/", index), Route("/boom", boom)], lifespan=lifespan)


APPS = {
    "fastapi sync def": lambda: fastapi_app(True),
    "fastapi async def": lambda: fastapi_app(False),
    "starlette": lambda: starlette_app(False),
}


def raises_itself(send):
    try:
        send()
    except ZeroDivisionError:
        return True
    except Exception:
        return False
    return False


@pytest.mark.parametrize("app_name", list(APPS))
@pytest.mark.parametrize("client", ["httpx ASGITransport", "starlette TestClient"])
def test_client(memguard, client, app_name):
    STARTED.clear()
    app = APPS[app_name]()
    auth = ("alice", "s3cret")
    if client == "httpx ASGITransport":
        started = time.perf_counter()
        result = memguard.asgi(app, "/", auth=auth, expect_status=200)
        seconds = time.perf_counter() - started
        lifespan_ran = bool(STARTED)
        # the driver's own run, stopped by the app's exception on its first call
        itself = raises_itself(lambda: memguard.asgi(APPS[app_name](), "/boom"))
    else:
        headers = memguard.basic_auth(*auth)
        with TestClient(app) as tc:
            started = time.perf_counter()
            result = memguard.run(lambda: tc.get("/", headers=headers).close())
            seconds = time.perf_counter() - started
            lifespan_ran = bool(STARTED)
            itself = raises_itself(lambda: tc.get("/boom"))
    RESULTS[f"{client}|{app_name}"] = {
        "passed": result.passed,
        "disturbed": bool(result.disturbed),
        "seconds": seconds,
        "lifespan": lifespan_ran,
        "exception_itself": itself,
    }


def test_zz_write(request):
    with open(request.config.rootpath / "results.json", "w") as out:
        json.dump(RESULTS, out)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs: list[dict[str, dict[str, object]]] = []
    with tempfile.TemporaryDirectory(prefix="memguard-asgi-clients-") as tmp:
        workdir = Path(tmp)
        (workdir / "test_clients.py").write_text(TESTS, encoding="utf-8")
        (workdir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
        env.pop("PYTEST_ADDOPTS", None)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        for _ in range(args.runs):
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-p", "pytest_memguard.plugin", "-q",
                 "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning", "test_clients.py"],
                cwd=workdir, env=env, capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            results = workdir / "results.json"
            if not results.exists():
                raise SystemExit(f"no results:\n{done.stdout[-3000:]}{done.stderr}")
            runs.append(json.loads(results.read_text(encoding="utf-8")))
            results.unlink()
    print(f"ASGI clients: a clean app guarded for 220 calls, median of {args.runs} run(s)")
    print(
        f"{'client':<22} {'app':<18} {'verdict':<8} {'disturbed':<9} {'time':>6}"
        f"  {'lifespan':<8} exception raised as itself"
    )
    ok = True
    for key in runs[0]:
        client, app = key.split("|")
        rows = [run[key] for run in runs]
        passed = all(row["passed"] for row in rows)
        disturbed = sum(bool(row["disturbed"]) for row in rows)
        seconds = statistics.median(float(str(row["seconds"])) for row in rows)
        lifespan = all(row["lifespan"] for row in rows)
        itself = all(row["exception_itself"] for row in rows)
        if client.startswith("httpx"):
            ok = ok and passed and not disturbed and lifespan and itself
        print(
            f"{client:<22} {app:<18} {'passed' if passed else 'FAILED':<8}"
            f" {f'{disturbed}/{len(rows)}':<9} {seconds:>5.2f}s  {'yes' if lifespan else 'no':<8}"
            f" {'yes' if itself else 'no'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
