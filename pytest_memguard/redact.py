"""Keep Basic Auth credentials out of every message, report and file the plugin writes.

One :class:`Secrets` per session learns each credential pair as it is made or sent
(``basic_auth()``, the Flask driver, ``Authorization`` headers in fixture values) and keeps it
for the whole session. A secret glued to other characters (``xs3cret1``) is still a secret, but
a one-letter password found inside words would make every message unreadable: each form is
redacted by its length, and short ones only in the output of the test that used the credential
(:func:`secret_forms`). Values the plugin shows (leak-trace keys and items) are redacted before
they are repr'd or cut (:meth:`Secrets.redact_value`, :func:`short_repr`); text made by others
(pytest's tracebacks, warnings, labels) is redacted by :meth:`Secrets.redact`, which knows each
credential in every form it takes in text (plain, ``user:password``, base64 with or without
``Basic``, URL-quoted, repr-, JSON- and HTML-escaped, bytes), any base64 text that decodes to
one, the halves of a long one left where pytest cut a value (``...``, a diff that skipped
identical characters), and never rewrites a code location (``path.py:12``, a node id).

Credentials made while a guarded run measures go to an anonymous memory map, which neither
``sys.getallocatedblocks()`` nor ``malloc`` counts, and are learnt when the run is over: the
plugin's record of them never shows as the app's growth.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import html
import itertools
import json
import mmap
import re
import urllib.parse
from collections.abc import Collection, Iterable, Iterator
from contextlib import suppress
from contextvars import ContextVar
from typing import NamedTuple

from pytest_memguard.errors import passthrough

REDACTED = "<redacted credential>"
MAX_REPR = 80

#: A credential text (the password, the user name, ``user:password``, the token) this long is
#: a secret wherever it occurs, in the output of every test of the session (outside code
#: locations): no word is that long by chance.
LONG = 8
#: One shorter than ``LONG`` but at least this long is redacted wherever it occurs in the output
#: of the test that used it (glued inside ``xs3cret1`` too), and in other tests' output only as
#: a quoted value (a password) or not at all (a user name): the password ``None`` of one test
#: must not rewrite every other test's messages.
SHORT = 3
#: The shortest part of a secret redacted where text was cut: next to ``...``, or at either end
#: of a line of pytest's "Skipping N identical ..." diffs (a secret redacted as a substring and
#: longer than this).
MIN_CUT_PART = 4


class Mode(NamedTuple):
    """How a form is matched in text.

    A very short credential (under ``SHORT``) is found quoted (``'e'``) or after ``=``, and the
    quotes and ``=`` stay: as a bare letter it would rewrite every word.
    ``cut``: a part of the form left at a cut is redacted too; not for ``user:password``, whose
    start is only the user name.
    """

    whole: bool  # must not split a word
    lead: int = 0  # characters of the match kept before the redaction
    trail: int = 0  # ... and after it
    cut: bool = False


ANY = Mode(whole=False, cut=True)
PAIR = Mode(whole=False)
WORD = Mode(whole=True)
QUOTED = Mode(whole=False, lead=1, trail=1)
ASSIGNED = Mode(whole=True, lead=1)
#: Forms are found through their first ``HEAD`` characters, shorter ones one by one.
HEAD = 4

_B64_CHARS = "-A-Za-z0-9+/_"
_B64_RUN = re.compile(rf"(?<![{_B64_CHARS}=])[{_B64_CHARS}]{{4,}}={{0,2}}(?![{_B64_CHARS}=])")
_BASIC = re.compile(rf"(?i)\bbasic\s+([{_B64_CHARS}]{{4,}}={{0,2}})")
_HEADER = re.compile(rf"(?i)\s*basic\s+([{_B64_CHARS}]+={{0,2}})\s*")
#: Code locations, never rewritten: ``path/file.py``, ``file.py:12``, ``file.py::test[id]``.
_LOCATION = re.compile(r"[^\s'\"()\[\]{}<>,;=]*\.py[cdiw]?(?![\w])(?::\d+)?(?:::[^\s'\"]*)?")
Spans = list[tuple[int, int]]
_SNAKE = re.compile(r"[a-z_-]+")
_PLAIN = re.compile(r"[A-Za-z0-9._~-]*")
_UNESCAPED = re.compile(r"[ !#$%()*+,./0-9:;=?@A-Z\[\]^_`a-z{|}~-]*")
_CUT = re.compile(r"\.\.\.|\u2026")
_DIFF_LINE_START = re.compile(r"^(?:E[ \t]+)?[-+?] [ \t'\"(\[{]*", re.M)
_LINE_VALUE = re.compile(r"^(?:E[ \t]+)?(?:[-+?] )?[ \t]*(\S.*?)[ \t]*$", re.M)
_DIFF_LINE_END = re.compile(r"(?<=\S)[ \t'\",)\]}]*$", re.M)


def basic_token(user: str, password: str) -> str:
    """The RFC 7617 token: base64 of UTF-8 ``user:password``."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _py_escapes(text: str) -> set[str]:
    """``text`` as it shows inside a repr: either quote style, ASCII-only or not."""
    forms: set[str] = set()
    for show in (repr, ascii):
        forms.add(show(text)[1:-1])
        forms.add(show(text + "'\"")[1:-4])  # inside a repr that escapes single quotes
    raw = text.encode("utf-8", "surrogatepass")
    forms.add(repr(raw)[2:-1])
    forms.add(repr(raw + b"'\"")[2:-4])
    return forms


#: ``urllib.parse``'s three quotings of each ASCII character, made by ``urllib.parse`` itself:
#: ``str.translate`` with them quotes ASCII text the same, ~6x faster (a run with rotating
#: credentials learns hundreds of pairs).
_URL_TABLES = tuple(
    {c: quote(chr(c)) for c in range(128)}
    for quote in (
        urllib.parse.quote,
        lambda ch: urllib.parse.quote(ch, safe=""),
        urllib.parse.quote_plus,
    )
)


def _url_quoted(text: str) -> tuple[str, ...]:
    """``text`` as ``quote``, ``quote(safe="")`` and ``quote_plus`` write it."""
    if text.isascii():
        return tuple(text.translate(table) for table in _URL_TABLES)
    lone = "surrogatepass"  # a lone surrogate (from a file name) must not stop redaction
    return (
        urllib.parse.quote(text, errors=lone),
        urllib.parse.quote(text, safe="", errors=lone),
        urllib.parse.quote_plus(text, errors=lone),
    )


def escaped_forms(text: str) -> set[str]:
    """Every form ``text`` takes once written into a repr, bytes, a URL, JSON or HTML."""
    if _PLAIN.fullmatch(text):  # nothing to escape anywhere: the common case, made fast
        return {text} if text else set()
    forms = {text, *_url_quoted(text)}
    if _UNESCAPED.fullmatch(text):  # printable ASCII that no repr, JSON or HTML escapes
        return forms
    forms |= {html.escape(text), html.escape(text, quote=False)}
    forms |= _py_escapes(text)
    forms |= {json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
    for form in list(forms):  # a repr inside a repr, such as a header dict shown as text
        forms |= _py_escapes(form)
    forms.discard("")
    return forms


def _tokens(user: str, password: str) -> set[str]:
    raw = f"{user}:{password}".encode("utf-8", "surrogatepass")
    tokens = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return tokens | {token.rstrip("=") for token in tokens}


class Forms(NamedTuple):
    """A credential's forms in text, with how each is matched, and the texts that are it
    when they are an entire value: ``everywhere`` in the session's output, ``scoped`` in the
    output of the test that used it (or every test's, when no test was running)."""

    everywhere: dict[str, Mode]
    scoped: dict[str, Mode]
    values_everywhere: set[str]
    values_scoped: set[str]


def secret_forms(user: str, password: str) -> Forms:
    """Every form of a credential pair in text, sorted by where it is redacted.

    By the length of the plain text (the token, ``user:password``, the password, the user):
    ``LONG`` or more, a substring everywhere. ``SHORT`` or more, a substring in its test; in
    other tests the token and ``user:password`` as a whole word, the password as a quoted
    value (``'wrong'``, never the word ``None`` of a message), the user name not at all.
    Shorter, a quoted value or after ``=``, in its test only.
    """
    forms = Forms({}, {}, set(), set())
    if not user and not password:
        return forms
    pair = f"{user}:{password}"
    tokens = _tokens(user, password)
    for token in tokens:
        _classify(forms, {token}, len(token), ANY, kind="pair")
    _classify(forms, escaped_forms(pair), len(pair), PAIR, kind="pair")
    if password:
        _classify(forms, escaped_forms(password), len(password), ANY, kind="password")
    if user:
        _classify(forms, escaped_forms(user), len(user), ANY, kind="user")
    for text, least in ((pair, SHORT), (password, SHORT), (user, LONG)):
        if text:
            if len(text) >= least:
                forms.values_everywhere.add(text)
            forms.values_scoped.add(text)
    forms.values_everywhere.update(tokens)
    return forms


def _classify(forms: Forms, texts: set[str], length: int, substring: Mode, *, kind: str) -> None:
    """File ``texts`` (the forms of one plain text ``length`` long, a ``pair``, ``password``
    or ``user``) under its rule."""
    for form in texts:
        if length >= LONG:
            forms.everywhere.setdefault(form, substring)
            continue
        if length >= SHORT:
            forms.scoped.setdefault(form, substring)
        else:  # a quoted value or a query parameter, never a letter of a word
            _quoted(forms.scoped, form, assigned=True)
        if length >= SHORT and kind == "pair":
            forms.everywhere.setdefault(form, WORD)
        elif length >= SHORT and kind == "password":
            _quoted(forms.everywhere, form, assigned=False)


def _quoted(forms: dict[str, Mode], form: str, *, assigned: bool) -> None:
    for quoted in (f"'{form}'", f'"{form}"'):
        forms.setdefault(quoted, QUOTED)
    if assigned:
        forms.setdefault(f"={form}", ASSIGNED)


def _looks_basic(run: str, decoded: str) -> bool:
    """A whole value that is base64 of printable ``user:password``: a Basic token."""
    return len(run) >= LONG and ":" in decoded and decoded.isprintable()


def _b64_text(run: str) -> str | None:
    """What a base64 run (standard or URL-safe, padded or not) decodes to, as far as it goes:
    a run cut short (a truncated repr) is decoded up to its last whole quantum."""
    body = run.rstrip("=")
    urlsafe = "-" in body or "_" in body
    if urlsafe and ("+" in body or "/" in body):
        return None
    if len(body) % 4 == 1:
        body = body[:-1]
    try:
        raw = base64.b64decode(
            body + "=" * (-len(body) % 4), altchars=b"-_" if urlsafe else None, validate=True
        )
    except (binascii.Error, ValueError):
        return None
    text = raw.decode("utf-8", "replace")
    # Not UTF-8 text (an identifier read as base64 gives bytes): nothing to redact. A cut run
    # may end inside a character.
    return None if "\ufffd" in text[:-2] else text


class _Index:
    """The forms of the known credentials, arranged to find them in text quickly; grown one
    credential at a time, never rebuilt (a session may learn thousands)."""

    def __init__(self) -> None:
        self.heads: dict[str, dict[int, dict[str, Mode]]] = {}  # first HEAD chars -> forms
        self.short: dict[str, Mode] = {}  # forms shorter than HEAD
        self._starts: list[str] = []  # long forms, to ask "is this the start of a secret?"
        self._ends: list[str] = []  # ... reversed, "is this the end of one?"
        self._sorted = True
        self.longest = 0
        self.heads_of_cut: set[str] = set()
        self.tails_of_cut: set[str] = set()

    def add(self, form: str, mode: Mode) -> None:
        forms = (
            self.short
            if len(form) < HEAD
            else self.heads.setdefault(form[:HEAD], {}).setdefault(len(form), {})
        )
        known = forms.get(form)
        forms[form] = mode = mode if known is None else _wider(known, mode)
        if mode.cut and len(form) > MIN_CUT_PART and not (known is not None and known.cut):
            self._starts.append(form)
            self._ends.append(form[::-1])
            self._sorted = False
            self.longest = max(self.longest, len(form))
            self.heads_of_cut.add(form[:MIN_CUT_PART])
            self.tails_of_cut.add(form[-MIN_CUT_PART:])

    def _sort(self) -> None:
        if not self._sorted:
            self._starts.sort()  # appended runs: timsort merges them cheaply
            self._ends.sort()
            self._sorted = True

    @property
    def starts(self) -> list[str]:
        self._sort()
        return self._starts

    @property
    def ends(self) -> list[str]:
        self._sort()
        return self._ends

    def find(self, text: str) -> list[tuple[int, int]]:
        """Spans of ``text`` that are a known form, word rules applied."""
        spans: list[tuple[int, int]] = []
        for i in _positions(text, self.heads.keys(), HEAD):
            for length, forms in self.heads[text[i : i + HEAD]].items():
                mode = forms.get(text[i : i + length])
                if mode is not None:
                    _add_match(spans, text, i, i + length, mode)
        for form, mode in self.short.items():
            at = text.find(form)
            while at >= 0:
                _add_match(spans, text, at, at + len(form), mode)
                at = text.find(form, at + 1)
        return spans

    def cut_parts(self, text: str) -> list[tuple[int, int]]:
        """Ends and starts of long secrets left where the text was cut: next to ``...``, and
        at the start (end) of each line of a pytest diff that skipped identical leading
        (trailing) characters."""
        if not self.starts:
            return []
        edges: set[tuple[int, int]] = set()  # (position, side: -1 the text before, 1 after)
        for m in _CUT.finditer(text):
            edges |= {(m.start(), -1), (m.end(), 1)}
        if "identical leading characters" in text:
            edges |= {(m.end(), 1) for m in _DIFF_LINE_START.finditer(text)}
        if "identical trailing characters" in text:
            edges |= {(m.start(), -1) for m in _DIFF_LINE_END.finditer(text)}
        spans: list[tuple[int, int]] = []
        for at, side in edges:
            found = self._before(text, at) if side < 0 else self._after(text, at)
            if found is not None:
                spans.append(found)
        return spans

    def _before(self, text: str, at: int) -> tuple[int, int] | None:
        """The longest start of a secret that ends at ``at``."""
        for start in range(max(at - self.longest, 0), at - MIN_CUT_PART + 1):
            if text[start : start + MIN_CUT_PART] in self.heads_of_cut and _starts_one(
                self.starts, text[start:at]
            ):
                return start, at
        return None

    def _after(self, text: str, at: int) -> tuple[int, int] | None:
        """The longest end of a secret that starts at ``at``."""
        for end in range(min(at + self.longest, len(text)), at + MIN_CUT_PART - 1, -1):
            if text[end - MIN_CUT_PART : end] in self.tails_of_cut and _starts_one(
                self.ends, text[at:end][::-1]
            ):
                return at, end
        return None


#: Up to this many distinct grams are searched one by one (``str.find`` runs in C); more, and
#: the text is read once, position by position.
FIND_EACH = 256


def _positions(text: str, grams: Collection[str], size: int) -> list[int]:
    """Sorted positions in ``text`` where one of ``grams`` (each ``size`` long) starts."""
    if len(grams) <= FIND_EACH:
        found: list[int] = []
        for gram in grams:
            at = text.find(gram)
            while at >= 0:
                found.append(at)
                at = text.find(gram, at + 1)
        return sorted(found)
    return [i for i in range(len(text) - size + 1) if text[i : i + size] in grams]


def _starts_one(sorted_forms: list[str], part: str) -> bool:
    i = bisect.bisect_left(sorted_forms, part)
    return i < len(sorted_forms) and sorted_forms[i].startswith(part)


def _wider(a: Mode, b: Mode) -> Mode:
    """One form of two credentials: matched as widely as either asks."""
    return Mode(a.whole and b.whole, min(a.lead, b.lead), min(a.trail, b.trail), a.cut or b.cut)


def _add_match(spans: Spans, text: str, start: int, end: int, mode: Mode) -> None:
    if not mode.whole or _whole(text, start, end):
        spans.append((start + mode.lead, end - mode.trail))


def _whole(text: str, start: int, end: int) -> bool:
    """The span does not split a word: no letter or digit glued to a letter or digit edge."""
    if start > 0 and _wordy(text[start]) and _wordy(text[start - 1]):
        return False
    return not (end < len(text) and _wordy(text[end - 1]) and _wordy(text[end]))


def _wordy(char: str) -> bool:
    return char.isalnum() or char == "_"


def _replace(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with every span (merged where they overlap or touch) replaced by REDACTED."""
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out: list[str] = []
    pos = 0
    for s, e in merged:
        out += [text[pos:s], REDACTED]
        pos = e
    out.append(text[pos:])
    return "".join(out)


def _outside(spans: Spans, protected: Spans) -> Spans:
    """The spans that overlap no protected span, found by bisection: a large report has
    thousands of both."""
    if not protected or not spans:
        return spans
    merged: Spans = []
    for ps, pe in sorted(protected):
        if merged and ps <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], pe))
        else:
            merged.append((ps, pe))
    ends = [pe for _, pe in merged]
    kept: Spans = []
    for s, e in spans:
        i = bisect.bisect_right(ends, s)  # the first protected span ending after s
        if i == len(merged) or merged[i][0] >= e:
            kept.append((s, e))
    return kept


def _record(text: str) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    return len(raw).to_bytes(4, "little") + raw


class _Arena:
    """Credential pairs recorded while a guarded run measures, outside both counters.

    An anonymous memory map is neither pymalloc blocks nor ``malloc``'d bytes, and writing into
    it (length-prefixed UTF-8, its file position marking the end) allocates nothing that stays:
    the record costs the measured code nothing. When full, it is replaced by one twice as large,
    which frees the old map object as it makes the new one: the counters do not move either.
    """

    def __init__(self, size: int = 1 << 20) -> None:
        self._map = mmap.mmap(-1, size)

    def put(self, user: str, password: str) -> None:
        record = _record(user) + _record(password)
        if self._map.tell() + len(record) > len(self._map):
            self._grow(self._map.tell() + len(record))
        self._map.write(record)

    def _grow(self, need: int) -> None:
        size = len(self._map) * 2
        while size < need:
            size *= 2
        bigger = mmap.mmap(-1, size)
        bigger.write(self._map[: self._map.tell()])
        self._map.close()
        self._map = bigger

    def __len__(self) -> int:
        """Bytes recorded and not drained yet."""
        return self._map.tell()

    def drain(self) -> list[tuple[str, str]]:
        """The pairs recorded since the last drain, oldest first; the arena is empty after."""
        data = self._map[: self._map.tell()]
        self._map.seek(0)
        texts: list[str] = []
        at = 0
        while at < len(data):
            n = int.from_bytes(data[at : at + 4], "little")
            texts.append(data[at + 4 : at + 4 + n].decode("utf-8", "surrogatepass"))
            at += 4 + n
        return list(zip(texts[::2], texts[1::2], strict=True))

    def close(self) -> None:
        self._map.close()


class _Scope:
    """The forms and whole values of the credentials redacted in one set of outputs."""

    def __init__(self) -> None:
        self.index = _Index()
        self.values: set[str] = set()
        self.pairs: set[tuple[str, str]] = set()

    def learn(self, forms: dict[str, Mode], values: set[str]) -> None:
        for form, mode in forms.items():
            self.index.add(form, mode)
        self.values |= values


class Secrets:
    """The credentials known in a session, and the redaction of what might show them.

    It keeps strings only, never user objects. Forms that can only be a secret are redacted in
    the whole session's output; short ones in the output of the test that used the credential
    (between :meth:`begin_test` calls), or in every output when it was learnt outside a test
    (at import, by hand). While :meth:`measuring`, new credentials are set aside in an
    :class:`_Arena` and learnt when the measurement is over (or when something is redacted), so
    that the record of them never counts as growth of the code under test.
    """

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._pairs: dict[tuple[str, str], None] = {}
        self._everywhere = _Scope()  # forms of every credential, redacted in every output
        self._ambient = _Scope()  # scoped forms of those learnt outside a test
        self._test: _Scope | None = None  # scoped forms of those the running test used
        self._reach = 0  # how far a credential's text reaches, in any of its forms
        self._arena: _Arena | None = None
        self._measuring = 0
        for user, password in pairs:
            self.add(user, password)

    def add(self, user: str, password: str) -> None:
        """Know a credential pair from now on; set aside (uncounted) while measuring."""
        if (user, password) in self._scope().pairs:
            return
        if self._measuring and self._arena is not None:
            self._arena.put(user, password)
            return
        self._learn(user, password)

    def _scope(self) -> _Scope:
        return self._test if self._test is not None else self._ambient

    def _learn(self, user: str, password: str) -> None:
        scope = self._scope()
        if (user, password) in scope.pairs:
            return
        scope.pairs.add((user, password))
        forms = secret_forms(user, password)
        scope.learn(forms.scoped, forms.values_scoped)
        if (user, password) not in self._pairs:
            self._pairs[(user, password)] = None
            self._everywhere.learn(forms.everywhere, forms.values_everywhere)
            self._reach = max(self._reach, len(f"{user}:{password}") * 2)  # base64: 4 of 3

    def begin_test(self) -> None:
        """A test starts: from now on, short forms are redacted in its output only (until the
        next test, so that the warnings recorded after its teardown are redacted too)."""
        self._sync()
        self._test = _Scope()

    def end_tests(self) -> None:
        """The tests are over: what is redacted now (summaries, files) is every test's."""
        self._sync()
        self._test = None

    def _scopes(self) -> tuple[_Scope, ...]:
        self._sync()
        if self._test is None:
            return (self._everywhere, self._ambient)
        return (self._everywhere, self._ambient, self._test)

    def _sync(self) -> None:
        """Learn what was set aside while measuring."""
        if self._arena is not None and len(self._arena):
            for user, password in self._arena.drain():
                self._learn(user, password)

    @passthrough
    def measuring(self) -> Iterator[None]:
        """Set credentials made in the block aside, outside the memory counters.

        The arena is made here, before the block measures anything. Without memory maps (a
        platform that has none) credentials are learnt at once, and counted.
        """
        __tracebackhide__ = True
        if self._arena is None:
            with suppress(OSError, ValueError):
                self._arena = _Arena()
        self._measuring += 1
        try:
            yield
        finally:
            self._measuring -= 1
            if not self._measuring:
                self._sync()

    def update(self, other: Secrets) -> None:
        other._sync()
        for user, password in other._pairs:
            self.add(user, password)

    def __bool__(self) -> bool:
        return bool(self._pairs) or bool(self._arena is not None and len(self._arena))

    def __len__(self) -> int:
        """Credential pairs known (including those set aside)."""
        self._sync()
        return len(self._pairs)

    def close(self) -> None:
        """Release the arena (the session is over)."""
        self._sync()
        if self._arena is not None:
            self._arena.close()
            self._arena = None

    def reach(self) -> int:
        """How far past a cut a known credential can start and still show before it."""
        self._sync()
        return self._reach

    def redact(self, text: str) -> str:
        """``text`` with every known credential, in any form, and any ``Basic`` token replaced.

        Code locations (``file.py:12``, node ids) and ``<redacted credential>`` itself are
        never rewritten, a short credential only as a whole word or value (see
        :func:`secret_forms`); parts of a long secret left where the text was cut are
        replaced too.
        """
        scopes = self._scopes()
        protected = _protected(text)
        spans = self._encoded(text, scopes)
        for scope in scopes:
            spans += scope.index.find(text)
        # A line that is all one value (a diff line "- e") is that value, however short.
        spans += [
            m.span(1)
            for m in _LINE_VALUE.finditer(text)
            if any(m.group(1) in scope.values for scope in scopes)
        ]
        spans = _outside(spans, protected)
        if spans:
            text = _replace(text, spans)
            protected = _protected(text)
        cut = [
            span for scope in scopes if scope.index.starts for span in scope.index.cut_parts(text)
        ]
        cut = _outside(cut, protected)
        return _replace(text, cut) if cut else text

    def _encoded(self, text: str, scopes: tuple[_Scope, ...]) -> Spans:
        """Base64 runs that hide a credential: after ``Basic`` any ``x:y``, else a known one."""
        spans: Spans = []
        for m in _BASIC.finditer(text):
            decoded = _b64_text(m.group(1))
            if decoded is not None and ":" in decoded:
                spans.append(m.span(1))
        if self._pairs:
            for m in _B64_RUN.finditer(text):
                run = m.group()
                # A snake_case word is not base64 of text (whose encoding mixes cases): skip.
                if len(run) >= LONG and not _SNAKE.fullmatch(run):
                    decoded = _b64_text(run)
                    if decoded is not None and _known(decoded, scopes):
                        spans.append(m.span())
        return spans

    def redact_value(self, value: str) -> str:
        """A value about to be shown (a key, an item), before any repr or cut: the whole of it
        when it is a credential, its token, base64 of one, or base64 of any ``user:password``
        (a token built by hand, never shown to the plugin); else its text redacted."""
        scopes = self._scopes()
        core = value.strip()
        if any(core in scope.values for scope in scopes):
            return REDACTED
        if _B64_RUN.fullmatch(core):
            decoded = _b64_text(core)
            if decoded is not None and (_known(decoded, scopes) or _looks_basic(core, decoded)):
                return REDACTED
        return self.redact(value)


def _known(text: str, scopes: tuple[_Scope, ...]) -> bool:
    core = text.strip()
    return any(core in scope.values or scope.index.find(text) for scope in scopes)


_MARK = re.compile(re.escape(REDACTED))


def _protected(text: str) -> Spans:
    """Spans never rewritten: code locations, and what was redacted already (a password
    ``redacted`` must not redact the marker again)."""
    return [m.span() for m in _LOCATION.finditer(text)] + [m.span() for m in _MARK.finditer(text)]


#: The credentials of the running session, so that headers built with ``basic_auth()`` anywhere
#: (a fixture of any scope, a test, a guarded call) are redacted in every report. A ContextVar,
#: not a global: it is unset outside a session, and an in-process pytest run inside a test
#: (pytester) has its own.
_collector: ContextVar[Secrets | None] = ContextVar("memguard_secrets", default=None)


@passthrough
def collecting(secrets: Secrets) -> Iterator[Secrets]:
    """Remember into ``secrets`` every credential pair built while the block runs."""
    __tracebackhide__ = True
    token = _collector.set(secrets)
    try:
        yield secrets
    finally:
        try:
            _collector.reset(token)
        except ValueError:  # left from another context: nothing to restore there
            _collector.set(None)


def collected() -> Secrets | None:
    """The running session's credentials, if a session is collecting them."""
    return _collector.get()


def remember(user: str, password: str) -> None:
    """Record a credential pair for redaction if a session is collecting them."""
    secrets = _collector.get()
    if secrets is not None:
        secrets.add(user, password)


#: At most this many items of one fixture value are read for headers.
MAX_SCANNED = 64


def from_values(values: Iterable[object]) -> Secrets:
    """Credentials found in fixture values: ``Basic`` header strings (or bytes), alone or in
    plain dicts, lists and tuples up to two levels deep.

    Only builtin types are read, by their exact type, never user objects or their code.
    """
    secrets = Secrets()
    for value in values:
        _scan(value, secrets, depth=2)
    return secrets


def _scan(value: object, secrets: Secrets, depth: int) -> None:
    kind = type(value)
    if type(value) is str:
        _add_header(secrets, value)
    elif type(value) is bytes:
        _add_header(secrets, value.decode("latin-1"))
    elif depth and kind in (dict, list, tuple):
        items = dict.values(value) if kind is dict else value  # type: ignore[arg-type]
        for item in itertools.islice(items, MAX_SCANNED):  # type: ignore[call-overload]
            _scan(item, secrets, depth - 1)


def _add_header(secrets: Secrets, header: str) -> None:
    match = _HEADER.fullmatch(header)
    decoded = _b64_text(match.group(1)) if match else None
    if decoded is None or "\ufffd" in decoded:
        return
    user, sep, password = decoded.partition(":")
    if sep:
        secrets.add(user, password)


def short_repr(obj: object, secrets: Secrets, limit: int = MAX_REPR) -> str:
    """A truncated repr that never runs user code, redacted before it is made and cut.

    A string or bytes value is redacted as a value first (the whole of it if it is a
    credential), only then repr'd and cut, so no prefix of a credential survives the cut.
    """
    kind = type(obj)
    try:
        if issubclass(kind, str):
            value = str.__str__(obj)
            text = repr(secrets.redact_value(value[: limit + secrets.reach()]))
        elif issubclass(kind, (bytes, bytearray)):
            raw = bytes(memoryview(obj))  # type: ignore[arg-type]
            value = raw[: limit + secrets.reach()].decode("utf-8", "surrogateescape")
            text = repr(secrets.redact_value(value).encode("utf-8", "surrogateescape"))
        elif kind in (int, float, bool):
            text = repr(obj)
        else:
            text = object.__repr__(obj)
    except Exception:  # a broken value must not hide the verdict
        text = f"<{kind.__name__}>"
    text = secrets.redact(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
