"""Credentials never survive redaction, in any of their forms."""

from __future__ import annotations

import base64
import contextvars
import gc
import html
import json
import sys
import urllib.parse
from dataclasses import replace

import pytest

from pytest_memguard.allocator import malloc_in_use
from pytest_memguard.redact import (
    REDACTED,
    Secrets,
    _Arena,
    collected,
    collecting,
    escaped_forms,
    from_values,
    remember,
    short_repr,
)


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


# --- every form of a credential ------------------------------------------------------------------

ODD = "p\\a\"s's\tö+/ &x-long"  # backslash, both quotes, TAB, non-ASCII, URL-special


def _token(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "shown",
    [
        ODD,
        f"zoë:{ODD}",
        _token("zoë", ODD),
        _token("zoë", ODD).rstrip("="),
        base64.urlsafe_b64encode(f"zoë:{ODD}".encode()).decode(),
        f"Basic {_token('zoë', ODD)}",
        urllib.parse.quote(ODD),
        urllib.parse.quote(ODD, safe=""),
        urllib.parse.quote_plus(ODD),
        urllib.parse.quote_plus(f"zoë:{ODD}"),
        repr(ODD),
        ascii(ODD),
        repr({"password": ODD}),
        repr(ODD.encode()),
        json.dumps(ODD),
        json.dumps({"pw": ODD}, ensure_ascii=False),
        html.escape(ODD),
        base64.b64encode(ODD.encode()).decode(),  # base64 of the password alone
        base64.b64encode(json.dumps({"pw": ODD}).encode()).decode(),
    ],
)
def test_every_form_of_a_credential_is_redacted(shown: str) -> None:
    secrets = Secrets([("zoë", ODD)])
    out = secrets.redact(f"before {shown} after")
    assert REDACTED in out
    assert out.startswith("before ")
    assert out.endswith(" after")
    for piece in ("s's", "x-long", "ö+/", _token("zoë", ODD)[:12]):
        assert piece not in out.replace("before", "").replace("after", "")


def test_unknown_basic_header_is_redacted_but_not_the_word_basic() -> None:
    secrets = Secrets()
    assert secrets.redact("Basic Ym9iOmh1bnRlcjI=") == f"Basic {REDACTED}"
    assert secrets.redact("Basic auth backend not configured") == (
        "Basic auth backend not configured"
    )


def test_a_token_built_by_hand_is_redacted_as_a_value() -> None:
    """A whole value that is base64 of ``user:password`` is a token, known or not."""
    secrets = Secrets()
    assert secrets.redact_value("dXNlcjIwMDAyNjk6cHctMjAwMDI2OQ==") == REDACTED
    assert secrets.redact_value("aGVsbG8gd29ybGQ=") == "aGVsbG8gd29ybGQ="  # "hello world"
    assert secrets.redact_value("AssertionError") == "AssertionError"


# --- halves left where text was cut --------------------------------------------------------------

LONG = "correct-horse-battery-staple"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"'{LONG[:11]}...' == 'x'", "' == 'x'"),  # saferepr keeps the start of a value
        (f"{{'pw': '...{LONG[-9:]}'}}", "{'pw': '..."),  # ... and its end
        (f"Skipping 83 identical leading characters\n- {LONG[-5:]}tail-b", "tail-b"),
        (f"Skipping 9 identical trailing characters\n+ head-a{LONG[:5]}", "+ head-a"),
        (f"{_token('alice', LONG)[:20]}...", "..."),
    ],
)
def test_parts_of_a_long_secret_at_a_cut_are_redacted(text: str, kept: str) -> None:
    out = Secrets([("alice", LONG)]).redact(text)
    assert REDACTED in out
    assert kept in out
    assert not any(LONG[i : i + 4] in out for i in range(len(LONG) - 3))


def test_a_user_name_alone_is_redacted_in_its_test_and_a_long_one_everywhere() -> None:
    secrets = Secrets()
    secrets.begin_test()
    secrets.add("alice", LONG)
    secrets.add("alice469", LONG)
    assert secrets.redact("user alice, alice_cache") == f"user {REDACTED}, {REDACTED}_cache"
    assert secrets.redact_value("alice") == REDACTED
    secrets.begin_test()  # another test: "alice" is a word like any other there
    assert secrets.redact("user alice, alice_cache") == "user alice, alice_cache"
    assert secrets.redact("user alice469x") == f"user {REDACTED}x"  # long: a secret anywhere


# --- glued secrets, and nothing else rewritten ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("xs3cret1", f"x{REDACTED}1"),
        ("s3cret_value", f"{REDACTED}_value"),
        ("class S3cretHolder(s3cretBase)", f"class S3cretHolder({REDACTED}Base)"),
        ("{'k': 'xs3cret1'}", f"{{'k': 'x{REDACTED}1'}}"),
        ("╰→ .s3cret_cache  dict", f"╰→ .{REDACTED}_cache  dict"),
        ("mallory_was_here", f"{REDACTED}_was_here"),
        ("xmallory:s3cret1", f"x{REDACTED}1"),
        ("bWFsbG9yeTpzM2NyZXQ=", REDACTED),
    ],
)
def test_a_credential_glued_to_other_characters_is_redacted_in_its_test(
    text: str, shown: str
) -> None:
    secrets = Secrets()
    secrets.begin_test()
    secrets.add("mallory", "s3cret")
    assert secrets.redact(text) == shown


def test_short_credentials_of_another_test_are_whole_words_and_never_touch_locations() -> None:
    secrets = Secrets()
    secrets.begin_test()
    secrets.add("bob", "test")
    secrets.add("carl", "wrong")
    assert secrets.redact("module h08_wrong_password") == f"module h08_{REDACTED}_password"
    secrets.begin_test()
    assert secrets.redact("test_shortpw.py:3: in test_login") == "test_shortpw.py:3: in test_login"
    assert secrets.redact("module h08_wrong_password") == "module h08_wrong_password"
    assert secrets.redact("tests/test.py::test[test]") == "tests/test.py::test[test]"
    assert secrets.redact("password = 'wrong'") == f"password = '{REDACTED}'"
    assert secrets.redact("bob and carl") == "bob and carl"


def test_code_locations_are_never_rewritten_even_in_the_credentials_own_test() -> None:
    secrets = Secrets([("bob", "test")])
    assert secrets.redact("test_shortpw.py:3: in x") == "test_shortpw.py:3: in x"
    assert secrets.redact("tests/test.py::test[test]") == "tests/test.py::test[test]"
    assert secrets.redact("py test here") == f"py {REDACTED} here"


def test_a_one_character_credential_of_another_test_rewrites_nothing() -> None:
    """The defect seen in a real run: ``passed=1`` became ``passed=<redacted credential>``
    because an earlier test of the same process sent the password ``1``."""
    secrets = Secrets()
    secrets.begin_test()
    secrets.add("u", "1")
    assert secrets.redact("pw='1' passed=1") == f"pw='{REDACTED}' passed={REDACTED}"
    secrets.begin_test()
    text = "assert_outcomes(passed=1)\nE   - 1\n'1' u"
    assert secrets.redact(text) == text
    assert secrets.redact_value("1") == "1"
    assert secrets.redact("u:1 dTox") == f"{REDACTED} {REDACTED}"  # the pair and its token
    secrets.end_tests()
    assert secrets.redact(text) == text


def test_a_one_letter_password_leaves_prose_readable() -> None:
    secrets = Secrets([("bob", "e")])
    prose = "the failure, e.g. here: 1e-05 and e"
    assert secrets.redact(prose) == prose
    assert secrets.redact("pw='e' q=e&x") == f"pw='{REDACTED}' q={REDACTED}&x"
    assert secrets.redact("E         - e\nE         + other") == (
        f"E         - {REDACTED}\nE         + other"
    )
    assert secrets.redact_value("e") == REDACTED


def test_a_long_password_is_redacted_inside_words_but_not_in_paths() -> None:
    secrets = Secrets([("bob", "hunter2hunter2")])
    assert secrets.redact("xhunter2hunter2y") == f"x{REDACTED}y"
    assert secrets.redact("/tmp/hunter2hunter2/test_a.py:3") == "/tmp/hunter2hunter2/test_a.py:3"


# --- values before repr and cut ------------------------------------------------------------------


def test_a_long_key_is_redacted_before_it_is_cut() -> None:
    secrets = Secrets([("alice174", LONG)])
    for key in (LONG, "x" * 30 + LONG, _token("alice174", LONG), f"alice174:{LONG}"):
        shown = short_repr(key, secrets, limit=40)
        assert len(shown) <= 40
        assert not any(LONG[i : i + 4] in shown for i in range(len(LONG) - 3)), shown
        assert _token("alice174", LONG)[:8] not in shown


def test_short_repr_redacts_bytes_and_never_runs_subclass_code() -> None:
    class Sneaky(str):
        def __repr__(self) -> str:
            raise AssertionError("user code ran")

    secrets = Secrets([("alice", "s3cret-pw")])
    assert short_repr(Sneaky("s3cret-pw"), secrets) == repr(REDACTED)
    assert short_repr(bytearray(b"alice:s3cret-pw"), secrets) == repr(REDACTED.encode())
    assert short_repr(b"\xff\xfe s3cret-pw", secrets) == repr(b"\xff\xfe " + REDACTED.encode())


# --- the record of credentials costs the measured code nothing -----------------------------------


def _add_many(secrets: Secrets, start: int, n: int) -> None:
    for i in range(start, start + n):
        secrets.add(f"user{i}", f"pw-{i}")


ARENA_SLACK_BLOCKS = 16


@pytest.mark.parametrize("arena_bytes", [1 << 20, 256])  # 256: it grows many times
def test_credentials_added_while_measuring_move_no_counter(arena_bytes: int) -> None:
    secrets = Secrets([("alice", "s3cret")])
    secrets._arena = _Arena(arena_bytes)
    with secrets.measuring():
        _add_many(secrets, 0, 100)  # warm the loop itself
        gc.collect()
        blocks, malloc = sys.getallocatedblocks(), malloc_in_use()
        _add_many(secrets, 100, 5000)
        gc.collect()
        # One block per credential would be 5,000; the map's own regrowth may leave a few
        # (up to 8 on CPython 3.10, 2 on newer), never more with more credentials.
        assert sys.getallocatedblocks() - blocks <= ARENA_SLACK_BLOCKS
        assert malloc_in_use() - malloc <= 0
        assert secrets.redact("user4999:pw-4999") == REDACTED  # known while measuring
    assert len(secrets) == 5101  # learnt after


def test_without_measuring_credentials_are_learnt_at_once() -> None:
    secrets = Secrets()
    secrets.add("bob", "hunter2hunter2")
    assert secrets._arena is None
    assert len(secrets) == 1
    other = Secrets()
    other.update(secrets)
    assert other.redact("hunter2hunter2") == REDACTED


# --- where credentials come from -----------------------------------------------------------------


def test_headers_in_fixture_values_are_found_without_running_user_code() -> None:
    class Trap(dict[str, str]):
        def values(self):  # type: ignore[override]
            raise AssertionError("user code ran")

    header = f"Basic {_token('carol', 'fixture-pw-1')}"
    found = from_values(
        [
            {"headers": {"Authorization": header}},
            [("Authorization", header.replace("carol", "x"))],
            header.encode(),
            Trap(a=f"Basic {_token('dave', 'never-read')}"),
        ]
    )
    assert found.redact("fixture-pw-1") == REDACTED
    assert found.redact("never-read") == "never-read"


def test_remember_records_only_while_a_session_collects() -> None:
    secrets = Secrets()
    outer = collected()  # this suite's own session
    contextvars.Context().run(remember, "bob", "outside-pw-1")  # no session there
    with collecting(secrets):
        assert collected() is secrets
        remember("bob", "inside-pw-22")
    assert collected() is outer
    assert secrets.redact("inside-pw-22 outside-pw-1") == f"{REDACTED} outside-pw-1"


def test_lone_surrogates_are_redacted_and_never_raise() -> None:
    secrets = Secrets([("\udcff", "pw\udcff-long-pass")])
    assert secrets.redact("x pw\udcff-long-pass y") == f"x {REDACTED} y"
    assert short_repr(b"pw\xed\xb3\xbf-long-pass", secrets) == repr(REDACTED.encode())


# --- hostile credentials -------------------------------------------------------------------------

HOSTILE = [
    "a.b*c+(d)?[e]|^$",  # regex metacharacters
    "pässwörd✓",  # non-ASCII
    "pass word",  # a space
    "pa:ss:wd",  # colons: the user name ends at the first
    "x" * 5000,  # very long
    "test",  # common words
    "None",
    "%41%42%43",  # percent-encoded-looking
    "YWJjZA==",  # base64-looking
    "\\d+'\"",  # backslash and quotes
    "ab",
    "1",
    "",  # empty: the user name and the token are still secrets
]
OTHER_TEST = "assert_outcomes(passed=1) is None: test 'ok' e.g. ab, x=1"


@pytest.mark.parametrize("password", HOSTILE, ids=lambda p: repr(p[:12]))
def test_hostile_passwords_are_redacted_glued_in_their_test_and_nowhere_else(
    password: str,
) -> None:
    secrets = Secrets()
    secrets.begin_test()
    secrets.add("mallory", password)
    pair, token = f"mallory:{password}", _token("mallory", password)
    shown = [f"x{pair}1", f"x{token}1", f"Basic {token}", repr({"k": pair}), json.dumps(pair)]
    if len(password) >= 3:
        shown += [f"x{password}1", repr(f"x{password}1"), urllib.parse.quote(f"_{password}_")]
    elif password:
        shown += [repr(password), f"?pw={password}&"]
    else:
        shown += ["xmallory1"]
    for text in shown:
        out = secrets.redact(text)
        assert REDACTED in out, text
        assert secrets.redact(out) == out  # twice is once: the marker is never a secret
        if len(password) >= 3:
            assert password not in out
        assert "mallory" not in out
        assert token.rstrip("=") not in out
    secrets.begin_test()  # another test in the same worker
    assert secrets.redact(OTHER_TEST) == OTHER_TEST
    assert secrets.redact(f"x{token}1") == f"x{REDACTED}1"  # the token is a secret anywhere


def test_the_marker_itself_is_never_redacted_again() -> None:
    secrets = Secrets([("red", "redacted"), ("cred", "credential>")])
    once = secrets.redact("redacted credential> <redacted credential>")
    assert once == f"{REDACTED} {REDACTED} {REDACTED}"
    assert secrets.redact(once) == once


def test_credentials_learnt_outside_a_test_are_redacted_in_every_test() -> None:
    """A header built at import (a module constant) is every test's."""
    secrets = Secrets()
    secrets.add("bob", "s3cret")
    secrets.begin_test()
    assert secrets.redact("xs3cret1") == f"x{REDACTED}1"
    secrets.begin_test()
    assert secrets.redact("xs3cret1") == f"x{REDACTED}1"


def test_a_credential_of_another_test_is_redacted_where_it_can_only_be_one() -> None:
    secrets = Secrets()
    secrets.begin_test()
    secrets.add("bob", "s3cret")
    secrets.add("carol", "hunter2hunter2")
    secrets.begin_test()
    text = "bob's s3cret_value, xhunter2hunter2y, pw='s3cret', bob:s3cret"
    assert secrets.redact(text) == (
        f"bob's s3cret_value, x{REDACTED}y, pw='{REDACTED}', {REDACTED}"
    )
    assert secrets.redact_value("s3cret") == REDACTED  # a whole value: a leak trace's key


def test_a_result_is_redacted_in_every_text_but_its_node_id() -> None:
    from pytest_memguard.report_redaction import redact_result
    from pytest_memguard.result import MemguardResult, ResourceGrowth, TypeGrowth

    secrets = Secrets()
    secrets.begin_test()
    secrets.add("mallory", "s3cret")
    result = MemguardResult(
        passed=False,
        growth_kb=1.0,
        limit_kb=0.5,
        iterations=10,
        warmup=2,
        per_call_bytes=8.0,
        shape="growing",
        reason="retained by fetch_s3cret_token",
        types=(TypeGrowth("app.Xs3cret1Session", 5, 500),),
        nodeid="tests/test_s3cret.py::test_s3cret",
        label="run(fetch_s3cret_token)",
        explanation=("├─ .s3cret_cache  dict", "  +1.0 KiB at tests/test_s3cret.py:3"),
        ignored=("app:mallory_cache",),
        rejudged="held by s3cret_fixture",
        resources=(ResourceGrowth("fds", False, "growing", 3, 0, what="/tmp/s3cret.db"),),
    )
    shown = redact_result(result, secrets)
    assert "s3cret" not in repr(replace(shown, nodeid="", explanation=shown.explanation[:1]))
    assert "mallory" not in repr(shown)
    assert shown.nodeid == result.nodeid
    assert shown.types[0].name == f"app.X{REDACTED}1Session"
    assert shown.explanation[1] == "  +1.0 KiB at tests/test_s3cret.py:3"  # a location
    assert redact_result(shown, secrets) == shown
    assert redact_result(result, Secrets()) is result  # nothing known: nothing to do


def test_a_short_secret_cut_by_pytest_leaves_no_part_in_its_test() -> None:
    secrets = Secrets()
    secrets.begin_test()
    secrets.add("mallory", "s3cret7")
    assert secrets.redact("assert 'aaaa...s3cre...' == 'x'") == (
        f"assert 'aaaa...{REDACTED}...' == 'x'"
    )
    assert secrets.redact("'...ret7' and 'mallo...'") == f"'...{REDACTED}' and '{REDACTED}...'"


def test_url_forms_are_urllib_s_for_every_ascii_character_and_beyond() -> None:
    for text in [f"pw{chr(c)}x" for c in range(128)] + ["pässwörd:1", "a b/c", "\udcff~"]:
        forms = escaped_forms(text)
        for quoted in (
            urllib.parse.quote(text, errors="surrogatepass"),
            urllib.parse.quote(text, safe="", errors="surrogatepass"),
            urllib.parse.quote_plus(text, errors="surrogatepass"),
        ):
            assert quoted in forms, (text, quoted)
