"""A FastAPI app with HTTP Basic Auth: the leaky variant keeps every login on ``app.state``."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials

USERS = {"alice": "s3cret"}
security = HTTPBasic()


def user(credentials: Annotated[HTTPBasicCredentials, Depends(security)]) -> str:
    expected = USERS.get(credentials.username, "")
    if not hmac.compare_digest(credentials.password.encode(), expected.encode()):
        raise HTTPException(401, headers={"WWW-Authenticate": "Basic"})
    return credentials.username


def create_app(*, leaky: bool) -> FastAPI:
    app = FastAPI()
    app.state.logins = []

    @app.get("/profile")
    async def profile(request: Request, name: Annotated[str, Depends(user)]) -> dict[str, str]:
        if leaky:
            request.app.state.logins.append(request.headers["authorization"])  # kept forever
        else:
            request.state.login = name  # request-scoped: gone with the request
        return {"user": name}

    return app
