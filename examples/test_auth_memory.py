"""The demo: the leaky variant fails every check, the fixed variant passes them all.

Run ``pytest examples`` and read the failures: each names what grew and where it was made.
"""

from __future__ import annotations

import pytest
from conftest import rotating


@pytest.mark.memguard(max_growth_kb=64)
def test_login_does_not_leak(client, auth_headers):
    assert client.get("/", headers=auth_headers).status_code == 200


def test_profile_is_bounded(memguard, app):
    result = memguard.flask(app, "/profile", auth=("alice", "s3cret"), expect_status=200)
    assert result.shape in ("flat", "plateau")


def test_rotating_credentials_are_bounded(memguard, app):
    memguard.flask(app, "/", auth=rotating, expect_status=200, max_growth_kb=64)
