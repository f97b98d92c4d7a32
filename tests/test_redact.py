"""Credentials never survive redaction, in any of their forms."""

from __future__ import annotations

import base64

from pytest_memguard.redact import REDACTED, Secrets, short_repr


def test_every_form_is_redacted() -> None:
    secrets = Secrets([("alice", "s3cret")])
    token = base64.b64encode(b"alice:s3cret").decode()
    text = f"pw s3cret pair alice:s3cret token {token} header Basic {token}"
    out = secrets.redact(text)
    assert "s3cret" not in out
    assert token not in out
    assert out.count(REDACTED) == 4


def test_unknown_basic_header_is_redacted_too() -> None:
    out = Secrets().redact("Authorization: Basic Ym9iOmh1bnRlcjI=")
    assert "Ym9iOmh1bnRlcjI" not in out


def test_short_repr_truncates_and_redacts() -> None:
    secrets = Secrets([("alice", "s3cret")])
    assert short_repr("alice:s3cret", secrets) == repr(REDACTED)
    assert short_repr(b"alice:s3cret", secrets).count("s3cret") == 0
    long = short_repr("x" * 500, secrets)
    assert len(long) == 80
    assert long.endswith("...")


def test_short_repr_never_calls_user_repr() -> None:
    class Loud:
        def __repr__(self) -> str:
            raise RuntimeError("user code ran")

    assert "Loud object" in short_repr(Loud(), Secrets())


def test_unicode_credentials() -> None:
    secrets = Secrets([("zoë", "pässwörd")])
    token = base64.b64encode("zoë:pässwörd".encode()).decode()
    assert secrets.redact(f"{token} pässwörd") == f"{REDACTED} {REDACTED}"
