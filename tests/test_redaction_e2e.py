"""End to end: no credential reaches any output, in any form, and nothing the plugin keeps
counts as growth (issues 10 and 11).

Each class of leak runs with every output on (terminal with ``-rA``, JSON, HTML, JUnit XML and a
saved baseline), and every output is searched for every form of the secret: plain, quoted,
escaped, base64, and any 8-character piece of a long one (a cut half is a leak too).
"""

from __future__ import annotations

import base64
import html
import json
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator

import pytest
from helpers import SETTLED_KB, SETTLED_SHAPES

#: Leaks here are ~100 B per call: over this bound, whatever their shape.
BOUND = "--memguard-max-growth-kb=16"
OUTPUTS = (
    "--memguard-json=out.json",
    "--memguard-html=out.html",
    "--junitxml=junit.xml",
    "--memguard-save-baseline=base.json",
    "--memguard-report",
    "-rA",
)
#: A piece of a long secret this long is a leak wherever it shows.
PIECE = 8


def _strings(node: object) -> Iterator[str]:
    """Every string in a JSON document, keys included."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def outputs(pytester: pytest.Pytester, result: pytest.RunResult) -> dict[str, str]:
    """Each output as written, plus its decoded text (JSON strings, unescaped HTML, XML text)."""
    found = {"terminal": result.stdout.str() + result.stderr.str()}
    for name, file in (("json", "out.json"), ("baseline", "base.json")):
        path = pytester.path / file
        if path.exists():
            raw = path.read_text(encoding="utf-8")
            found[name] = raw + "\n" + "\n".join(_strings(json.loads(raw)))
    page = pytester.path / "out.html"
    if page.exists():
        raw = page.read_text(encoding="utf-8")
        found["html"] = raw + "\n" + html.unescape(raw)
    junit = pytester.path / "junit.xml"
    if junit.exists():
        raw = junit.read_text(encoding="utf-8")
        tree = ET.fromstring(raw)
        texts = [t for e in tree.iter() for t in (e.text, e.tail, *e.attrib.values()) if t]
        found["junit"] = raw + "\n" + "\n".join(texts)
    return found


def forms(secret: str) -> set[str]:
    """The forms a secret takes in text, written independently of the plugin's own list."""
    raw = secret.encode()
    return {
        secret,
        repr(secret)[1:-1],
        ascii(secret)[1:-1],
        repr(raw)[2:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
    }


def token(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def leaks(found: dict[str, str], pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(output, piece) for every form of a pair's password, ``user:password`` or token that
    shows whole, and every ``PIECE``-character piece of a long one."""
    whole: set[str] = set()
    pieces: set[str] = set()
    for user, password in pairs:
        for secret in (password, f"{user}:{password}", token(user, password)):
            for form in forms(secret):
                whole.add(form)
                pieces.update(form[i : i + PIECE] for i in range(len(form) - PIECE + 1))
        whole.add(token(user, password).rstrip("="))
    hits: list[tuple[str, str]] = []
    for name, text in found.items():
        hits += [(name, s) for s in whole if len(s) >= 3 and s in text]
        hits += [
            (name, text[i : i + PIECE])
            for i in range(len(text) - PIECE + 1)
            if text[i : i + PIECE] in pieces
        ]
    return hits


def check(
    pytester: pytest.Pytester,
    result: pytest.RunResult,
    pairs: Iterable[tuple[str, str]],
    expect: Iterable[str] = ("terminal", "json", "html", "junit", "baseline"),
) -> dict[str, str]:
    """No output holds any form of the pairs; each expected output exists and says REDACTED
    somewhere (the secret was there to redact)."""
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
    found = outputs(pytester, result)
    assert set(expect) <= set(found), sorted(found)
    assert "<redacted credential>" in found["terminal"]
    hits = leaks(found, pairs)
    assert not hits, hits[:10]
    return found


# --- the plugin's own record never counts -------------------------------------------------------

ROTATING = """
import itertools
import pytest
import pytest_memguard
from flask import Flask

app = Flask(__name__)
app.add_url_rule("/", "index", lambda: "ok")

@pytest.fixture
def client():
    return app.test_client()

@pytest.fixture(scope="module")
def seq():
    return itertools.count()

@pytest.mark.memguard(warmup=1000, iterations=1000)
def test_login(client, seq):
    i = next(seq)
    headers = pytest_memguard.basic_auth(f"user{i}", "pw")
    assert client.get("/", headers=headers).status_code == 200

def test_run(memguard, client):
    seq = itertools.count()
    memguard.run(
        lambda: client.get("/", headers=pytest_memguard.basic_auth(f"u{next(seq)}", "pw-x")),
        warmup=1000,
        iterations=1000,
    )

def test_known_again(memguard):
    # Credentials of test_login, known to the session but new to this test.
    memguard.flask(app, "/", auth=lambda i: (f"user{i % 500}", "pw"), expect_status=200,
                   warmup=1000, iterations=1000)
"""


def test_rotating_basic_auth_on_a_clean_app_is_flat(sub, pytester: pytest.Pytester) -> None:
    """2,000 fresh credentials per test are remembered for redaction, and none of it counts;
    nor do those another test made, sent again (new to this test's own redaction)."""
    result = sub("--memguard-json=out.json", test_rotating=ROTATING)
    result.assert_outcomes(passed=3)
    entries = json.loads((pytester.path / "out.json").read_text())["tests"]
    assert len(entries) == 3
    for entry in entries:
        assert entry["shape"] in SETTLED_SHAPES, entry
        assert entry["growth_kb"] < SETTLED_KB, entry
        assert entry["iterations"] + entry["warmup"] >= 2000, entry


EVERYTHING_ON = """
import itertools
import pytest
import pytest_memguard
from flask import Flask

app = Flask(__name__)
app.add_url_rule("/", "index", lambda: "ok")
HELD = []  # named in ignore=: measured on every call
seq = itertools.count()

@pytest.mark.memguard(iterations=1000)
def test_marker_body():
    pytest_memguard.basic_auth(f"body{next(seq)}", "pw-body")

def test_empty_callable(memguard):
    memguard.run(lambda: None, iterations=1000, ignore=["test_guard:HELD"])

def test_rotating_run(memguard):
    memguard.run(lambda: pytest_memguard.basic_auth(f"run{next(seq)}", "pw-run"), iterations=1000)

def test_rotating_flask(memguard):
    memguard.flask(app, "/", auth=lambda i: (f"f{i}", f"pw-{i}"), expect_status=200,
                   iterations=1000)
"""


def test_no_plugin_structure_grows_per_call(sub, pytester: pytest.Pytester) -> None:
    """Every feature on (JSON, HTML, a baseline to compare, ignore=, rotating credentials to
    redact, an xdist worker): empty calls stay flat. One object kept per call would be
    ~64 KiB over these 1,000 calls."""
    pytester.makefile(".ini", pytest="[pytest]\nmemguard_ignore = test_guard:HELD\n")
    first = sub("--memguard-save-baseline=base.json", test_guard=EVERYTHING_ON)
    first.assert_outcomes(passed=4)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-n",
        "1",
        "--memguard-baseline=base.json",
        "--memguard-json=out.json",
        "--memguard-html=out.html",
        "--memguard-report",
        timeout=300,
    )
    result.assert_outcomes(passed=4)
    entries = json.loads((pytester.path / "out.json").read_text())["tests"]
    assert len(entries) == 4
    for entry in entries:
        assert entry["shape"] in SETTLED_SHAPES, entry
        assert entry["growth_kb"] < SETTLED_KB, entry  # freed memory (a dropped cache) is no growth
        assert entry["per_call_bytes"] < SETTLED_KB, entry
    assert (pytester.path / "out.html").stat().st_size > 0


# --- redaction, class by class -------------------------------------------------------------------

LONG_KEYS = """
import pytest_memguard
from flask import Flask, request

app = Flask(__name__)
SESSIONS = {}

@app.get("/")
def index():
    auth = request.authorization
    SESSIONS[auth.password] = request.headers["Authorization"].split()[1]
    return "ok"

def test_long_password_key(memguard):
    memguard.flask(
        app, "/", auth=lambda i: (f"alice{i}", f"correct-horse-battery-staple-{i:05d}"),
        expect_status=200,
    )
"""


def test_long_password_as_a_dict_key_leaves_no_prefix(run, pytester: pytest.Pytester) -> None:
    """The leak trace cuts keys to 40 characters: they are redacted before the cut."""
    result = run(BOUND, *OUTPUTS, test_keys=LONG_KEYS)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*.SESSIONS*dict*", "*╰→ [[]'<redacted credential>'[]]*"])
    pairs = [(f"alice{i}", f"correct-horse-battery-staple-{i:05d}") for i in range(1000)]
    found = check(pytester, result, pairs)
    assert "correct-h" not in "".join(found.values())


BARE_TOKEN = """
import base64
import itertools
import pytest
import pytest_memguard

TOKEN_CACHE = {}
HAND_BUILT = {}
seq = itertools.count(2000000)

def test_bare_token(memguard):
    def login():
        i = next(seq)
        headers = pytest_memguard.basic_auth(f"user{i}", f"pw-{i}")
        TOKEN_CACHE[headers["Authorization"].split()[1]] = True
    memguard.run(login)

@pytest.mark.memguard
def test_hand_built():
    i = next(seq)
    HAND_BUILT[base64.b64encode(f"user{i}:pw-{i}".encode()).decode()] = True
"""


def test_bare_base64_token_used_as_a_key(run, pytester: pytest.Pytester) -> None:
    """Known (made by basic_auth()) or built by hand: a key that is base64 of ``user:password``
    is a token, redacted whole."""
    result = run(BOUND, *OUTPUTS, test_token=BARE_TOKEN)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*.TOKEN_CACHE*",
            "*╰→ [[]'<redacted credential>'[]] bool True",
            "*.HAND_BUILT*",
            "*╰→ [[]'<redacted credential>'[]] bool True",
        ]
    )
    check(pytester, result, [(f"user{i}", f"pw-{i}") for i in range(2000000, 2002000)])


ESCAPED = """
from flask import Flask, request

app = Flask(__name__)
KEPT = []
KEPT_BYTES = []
PASSWORD = 'p\\\\a"ss\\'w\\tö-rd-'

@app.get("/")
def index():
    KEPT.append(request.authorization.password)
    KEPT_BYTES.append(request.authorization.password.encode())
    return "ok"

def test_escaped(memguard):
    memguard.flask(app, "/", auth=lambda i: ("zoë", PASSWORD + str(i)), expect_status=200)
"""


def test_backslash_quotes_tab_and_non_ascii_passwords(run, pytester: pytest.Pytester) -> None:
    """Shown as escaped reprs (of str and of bytes), which differ from the plain text."""
    result = run(BOUND, *OUTPUTS, test_escaped=ESCAPED)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*.KEPT *list*",
            "*╰→ *str '<redacted credential>'",
            "*.KEPT_BYTES*list*",
            "*╰→ *bytes b'<redacted credential>'",
        ]
    )
    check(pytester, result, [("zoë", "p\\a\"ss'w\tö-rd-" + str(i)) for i in range(1000)])


IN_THE_PATH = """
from flask import Flask, request

app = Flask(__name__)
KEPT = []

@app.get("/login")
def login():
    KEPT.append(request.args["password"])
    return "ok"

def test_path(memguard):
    memguard.flask(
        app, "/login?password=hunter2hunter2", auth=("bob", "hunter2hunter2"), expect_status=200
    )
"""


def test_password_in_the_path_is_redacted_in_labels_and_baseline_keys(
    run, pytester: pytest.Pytester
) -> None:
    result = run(BOUND, *OUTPUTS, test_path=IN_THE_PATH)
    result.assert_outcomes(failed=1)
    found = check(pytester, result, [("bob", "hunter2hunter2")])
    label = "flask GET /login?password=<redacted credential>"
    for name in ("terminal", "json", "html", "baseline"):
        assert label in found[name], name
    keys = json.loads((pytester.path / "base.json").read_text())["tests"]
    assert list(keys) == [f"test_path.py::test_path [{label}]"]


HEADERS_ONLY = """
import base64
from flask import Flask, request

app = Flask(__name__)
KEPT = []
TOKEN = base64.b64encode(b"carol:headers-only-pw9").decode()

@app.get("/")
def index():
    KEPT.append(request.authorization.password)
    return "ok"

def test_headers(memguard):
    memguard.flask(app, "/", headers={"Authorization": "Basic " + TOKEN}, expect_status=200)
"""


def test_credentials_passed_through_headers_are_collected(run, pytester: pytest.Pytester) -> None:
    result = run(BOUND, *OUTPUTS, test_headers=HEADERS_ONLY)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*.KEPT*", "*╰→ [[]*[]]*str '<redacted credential>'"])
    check(pytester, result, [("carol", "headers-only-pw9")])


SESSION_FIXTURE = {
    "conftest": """
import pytest
import pytest_memguard

@pytest.fixture(scope="session")
def admin_headers():
    return pytest_memguard.basic_auth("admin", "session-secret-77")
""",
    "test_session": """
TOKENS = []

def test_first(admin_headers):
    assert admin_headers["Authorization"].startswith("Basic ")

def test_second(memguard, admin_headers):
    token = admin_headers["Authorization"].split()[1]
    memguard.run(lambda: TOKENS.append(token.encode().decode()))

def test_third(admin_headers):
    token = admin_headers["Authorization"].split()[1]
    raise AssertionError(f"third test saw {token} for session-secret-77")
""",
}


def test_a_session_fixture_credential_is_redacted_in_every_test(
    run, pytester: pytest.Pytester
) -> None:
    """The fixture is built (and basic_auth() called) in the first test only."""
    result = run(BOUND, "--tb=long", "--showlocals", *OUTPUTS, **SESSION_FIXTURE)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_second _*",
            "*╰→ [[]*[]]*str '<redacted credential>'",
            "*_ test_third _*",
            "*third test saw <redacted credential> for <redacted credential>",
        ]
    )
    check(pytester, result, [("admin", "session-secret-77")])


SAID_ELSEWHERE = """
import urllib.parse
import warnings
import pytest
import pytest_memguard
from flask import Flask, request

app = Flask(__name__)
QUOTED = []

@app.get("/")
def index():
    QUOTED.append(urllib.parse.quote(request.authorization.password))
    return "ok"

def test_url_quoted(memguard):
    memguard.flask(app, "/", auth=lambda i: ("zed", f"pa ss+wo/rd&{i}"), expect_status=200)

def test_warns(record_property):
    pytest_memguard.basic_auth("bob", "warn-pw-k7q1")
    record_property("login", "bob:warn-pw-k7q1")
    print("logging in with warn-pw-k7q1")
    warnings.warn(UserWarning("login failed for bob:warn-pw-k7q1"))

def test_xfails():
    pytest_memguard.basic_auth("bob", "xfail-pw-z9x2")
    pytest.xfail("backend rejected xfail-pw-z9x2")
"""


def test_url_quoted_passwords_warnings_xfail_reasons_output_and_properties(
    run, pytester: pytest.Pytester
) -> None:
    result = run(BOUND, *OUTPUTS, "-o", "junit_logging=all", test_said=SAID_ELSEWHERE)
    result.assert_outcomes(failed=1, passed=1, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "*UserWarning: login failed for <redacted credential>",
            "*XFAIL test_said.py::test_xfails - backend rejected <redacted credential>",
        ]
    )
    result.stdout.fnmatch_lines(["logging in with <redacted credential>"])
    junit = (pytester.path / "junit.xml").read_text()
    assert 'name="login" value="&lt;redacted credential&gt;"' in junit
    assert "logging in with &lt;redacted credential&gt;" in junit
    pairs = [("zed", f"pa ss+wo/rd&{i}") for i in range(1000)]
    check(pytester, result, [*pairs, ("bob", "warn-pw-k7q1"), ("bob", "xfail-pw-z9x2")])


TRUNCATED = """
import pytest_memguard

SECRET = "correct-horse-battery-staple-" * 12

def test_showlocals():
    pytest_memguard.basic_auth("dave", SECRET)
    data = {"pw": SECRET, "other": "x" * 300}
    assert data["pw"] == "nope"

def test_diff():
    pytest_memguard.basic_auth("erin", "tr0ub4dor&3-is-a-long-secret")
    a = "A" * 60 + "tr0ub4dor&3-is-a-long-secret" + "tail-a"
    b = "A" * 60 + "tr0ub4dor&3-is-a-long-secret" + "tail-b"
    assert a == b
"""


@pytest.mark.parametrize("verbosity", [[], ["-v"], ["-vv"]])
def test_pytest_own_truncation_leaves_no_piece(
    run, pytester: pytest.Pytester, verbosity: list[str]
) -> None:
    """saferepr cuts values in the middle ("..."), diffs skip identical leading characters:
    the halves left at the cut are redacted."""
    result = run("--tb=long", "--showlocals", *verbosity, *OUTPUTS, test_trunc=TRUNCATED)
    result.assert_outcomes(failed=2)
    pairs = [
        ("dave", "correct-horse-battery-staple-" * 12),
        ("erin", "tr0ub4dor&3-is-a-long-secret"),
    ]
    found = check(pytester, result, pairs, expect=("terminal", "junit"))
    assert "tail-a" in found["terminal"]  # the diff itself is still there


# --- nothing else is rewritten -------------------------------------------------------------------


GLUED = """
import warnings
import pytest_memguard

class Xs3cret1Session:
    pass

s3cret_cache = {}

def fetch_s3cret_token():
    s3cret_cache[f"xs3cret1-{len(s3cret_cache)}"] = Xs3cret1Session()

def test_glued(memguard, record_property):
    pytest_memguard.basic_auth("mallory", "s3cret")
    record_property("note", "mallory_was_here with s3cret_value")
    warnings.warn(UserWarning("user mallory_1 sent xs3cret1"))
    memguard.run(fetch_s3cret_token)
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]])
def test_a_credential_glued_to_other_characters_never_shows(
    sub, pytester: pytest.Pytester, workers: list[str]
) -> None:
    """The password and the user name glued inside words: a class, a module global and a
    function named after it, a dict key, a property, a warning. Every output, under xdist too."""
    result = sub(
        BOUND, "-W", "always", "--tb=long", "--showlocals", *OUTPUTS, *workers, test_glued=GLUED
    )
    result.assert_outcomes(failed=1)
    found = check(pytester, result, [("mallory", "s3cret")])
    assert not [(name, text) for name, text in found.items() if "mallory" in text]
    result.stdout.fnmatch_lines(["*retained via:*", "*.<redacted credential>_cache*"])
    result.stdout.fnmatch_lines(["*UserWarning: user <redacted credential>_1 sent x*"])


HOSTILE_AUTH = """
from flask import Flask, request

app = Flask(__name__)
SESSIONS = {}

@app.get("/")
def index():
    auth = request.authorization
    SESSIONS[f"sess_{auth.username}_{auth.password}x{len(SESSIONS)}"] = auth.password
    return "ok"

PAIRS = [("mallory", "a.b*c+(d)?"), ("zoë", "pä ss:wörd"), ("re", "YWJjZA=="), ("pc", "%41%42")]
PAIRS.append(("nopass-user", ""))

def test_list(memguard):
    memguard.flask(app, "/", auth=PAIRS, expect_status=200)

def test_callable(memguard):
    memguard.flask(app, "/", auth=lambda i: ("trudy", f"s3cret{i}"), expect_status=200)

def test_refused(memguard):
    memguard.flask(app, "/", auth=("ma:llory", "refused-pw"), expect_status=200)
"""


def test_hostile_credentials_sent_as_a_list_or_per_call_never_show(
    run, pytester: pytest.Pytester
) -> None:
    """Sent by the Flask driver, kept by the app in keys glued to other text; a pair refused
    (a user name with ``:``) is still kept out of the failure that shows it."""
    result = run(BOUND, "--tb=long", *OUTPUTS, test_hostile=HOSTILE_AUTH)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["*.SESSIONS*dict*", "*╰→ [[]'sess_<redacted credential>*"])
    result.stdout.fnmatch_lines(["E*ValueError: *user name cannot contain ':'*"])
    pairs = [("mallory", "a.b*c+(d)?"), ("zoë", "pä ss:wörd"), ("re", "YWJjZA=="), ("pc", "%41%42")]
    pairs += [("ma:llory", "refused-pw"), ("nopass-user", "")]
    pairs += [("trudy", f"s3cret{i}") for i in range(300)]
    found = check(pytester, result, pairs)
    users = ("mallory", "trudy", "nopass-user")
    assert not [name for name, text in found.items() if any(u in text for u in users)]


SHORT_FILES = {
    "h08_wrong_password": """
import pytest_memguard

def test_wrong():
    pytest_memguard.basic_auth("bob", "wrong")
    import h08_wrong_password
    assert h08_wrong_password.__name__ == "other", "wrong module"
""",
    "test_shortpw": """
import pytest_memguard

def test_short(memguard):
    pytest_memguard.basic_auth("bob", "test")
    log = []
    memguard.run(lambda: log.append(bytes(1000)))
""",
    "test_short_e": """
import pytest_memguard

def test_e():
    pytest_memguard.basic_auth("bob", "e")
    value = "the quick brown fox jumped over the lazy dog, e.g. here"
    assert value == "e"
""",
    "test_short_one": """
import pytest_memguard

def test_one():
    pytest_memguard.basic_auth("u", "1")

def check(passed, word):
    assert passed == 2, word

def test_two():
    check(passed=1, word="bob e u wrongly tested, wrong None")
""",
}


def test_short_credentials_are_redacted_in_their_test_and_rewrite_no_other(
    run, pytester: pytest.Pytester
) -> None:
    """In its own test a password of 3+ characters is redacted even glued to a word (a module
    named after it); a 1-character one only as a value. Another test's output keeps every
    word: ``passed=1`` stays, though an earlier test sent the password ``1``. Locations are
    never rewritten."""
    files = ("h08_wrong_password.py", "test_shortpw.py", "test_short_e.py", "test_short_one.py")
    result = run(BOUND, *files, **SHORT_FILES)
    result.assert_outcomes(passed=1, failed=4)
    result.stdout.fnmatch_lines(
        [
            "*_ test_wrong _*",
            "E*AssertionError: <redacted credential> module",
            "E*assert 'h08_<redacted credential>_password' == 'other'",
            "h08_wrong_password.py:6: AssertionError",
            "*_ test_short _*",
            "LeakError: memguard: run(<redacted credential>_short.<locals>.<lambda>): *",
            "test_shortpw.py:6: guarded here",
            "*_ test_e _*",
            "E*AssertionError: assert 'the quick br...*e.g. here' == '<redacted credential>'",
            "E*- <redacted credential>",
            "E*+ the quick brown fox jumped over the lazy dog, e.g. here",
            "test_short_e.py:6: AssertionError",
            "*_ test_two _*",
            '>*check(passed=1, word="bob e u wrongly tested, wrong None")',
            "E*AssertionError: bob e u wrongly tested, wrong None",
            "E*assert 1 == 2",
            "test_short_one.py:7: AssertionError",
        ]
    )
    result.stdout.fnmatch_lines(["FAILED test_shortpw.py::test_short - *"])
    test_two = result.stdout.str().split("_ test_two _")[1].split("short test summary")[0]
    assert "redacted" not in test_two


SKIPS = """
import warnings
import pytest
import pytest_memguard

def test_skip():
    pytest_memguard.basic_auth("bob", "s3cret-skip")
    pytest.skip("Basic auth backend not configured for s3cret-skip")

def test_warns():
    pytest_memguard.basic_auth("dan", "warned-pw-5")
    warnings.warn(UserWarning("dan:warned-pw-5 was refused"))

@pytest.mark.xfail(reason="known broken")
def test_xfail():
    pytest_memguard.basic_auth("carl", "xf-secret-1")
    assert 0, "xf-secret-1"
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]])
def test_skip_and_xfail_reports_keep_their_structure(
    sub, pytester: pytest.Pytester, workers: list[str]
) -> None:
    """A skip's (path, lineno, reason) tuple stays a tuple: -rs, JUnit XML and xdist work;
    a worker's warnings reach the controller redacted."""
    result = sub("-p", "no:randomly", "-rsx", "--junitxml=junit.xml", *workers, test_skips=SKIPS)
    result.assert_outcomes(passed=1, skipped=1, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "*UserWarning: <redacted credential> was refused",
            "SKIPPED [[]1[]] test_skips.py:7: Basic auth backend not configured for"
            " <redacted credential>",
        ]
    )
    check(
        pytester,
        result,
        [("bob", "s3cret-skip"), ("carl", "xf-secret-1"), ("dan", "warned-pw-5")],
        expect=("terminal", "junit"),
    )
    skipped = ET.parse(pytester.path / "junit.xml").getroot().iter("skipped")
    assert any("auth backend not configured" in s.get("message", "") for s in skipped)


def test_the_checker_finds_every_planted_form() -> None:
    """The checker itself finds a planted secret in every form and piece."""
    planted = {
        "plain": "x correct-horse-battery-staple y",
        "piece": "cut 'correct-horse-b...' here",
        "escaped": repr("p\\a'ss") + " " + urllib.parse.quote_plus("pa ss+wo"),
        "token": token("bob", "hunter22"),
    }
    pairs = [("alice", "correct-horse-battery-staple"), ("bob", "hunter22")]
    pairs += [("c", "p\\a'ss"), ("d", "pa ss+wo")]
    assert {name for name, _ in leaks(planted, pairs)} == set(planted)


# --- credentials given as test parameters ----------------------------------------------------

PARAMETRIZED = """
import pytest
from flask import Flask, request

app = Flask(__name__)
KEPT = []

@app.get("/")
def index():
    KEPT.append(request.authorization.password)
    return "ok"

@pytest.mark.parametrize("user,password", [("admin", "hunter2x9"), ("admin", "other-pw-77")])
def test_login(memguard, user, password):
    memguard.flask(app, "/", auth=(user, password), expect_status=200)
"""


@pytest.mark.parametrize("workers", [(), ("-n", "2")])
def test_credentials_in_parametrize_ids_are_redacted_in_what_the_plugin_writes(
    run, pytester: pytest.Pytester, workers: tuple[str, ...]
) -> None:
    """pytest's own lines (failure headers, the short summary) show node ids as pytest makes
    them; the plugin's table and files show the ids redacted, each run with its parameters'
    indices so that the two keep their own baseline entries, and no result is missing."""
    result = run(BOUND, *OUTPUTS, *workers, test_params=PARAMETRIZED)
    result.assert_outcomes(failed=2)
    table = result.stdout.str().split("memguard report")[1].split("short test summary")[0]
    assert "[<reda" in table
    assert "hunter2x9" not in table
    assert "MISSING" not in result.stdout.str()
    found = outputs(pytester, result)
    del found["terminal"], found["junit"]  # pytest's own
    assert not leaks(found, [("admin", "hunter2x9"), ("admin", "other-pw-77")])
    keys = json.loads((pytester.path / "base.json").read_text())["tests"]
    assert sorted(k.split("#")[1].split("]")[0] for k in keys) == ["0-0", "1-1"], keys
