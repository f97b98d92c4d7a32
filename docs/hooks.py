"""The generated parts of the docs, so they cannot drift from the code.

Two blocks of the Markdown pages are written by the code itself, between
``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``:

* ``options`` (options.md): the option reference, from what ``pytest_memguard.plugin`` declares
  (its ``OPTIONS`` table and the ini-only keys) and the defaults in ``pytest_memguard.settings``;
* ``json-example`` (json-report.md): a JSON report as ``write_outputs`` writes it, for two
  results compared with a baseline; only the values that depend on the machine are fixed.

``python docs/hooks.py`` rewrites the blocks in place. MkDocs runs this file as a hook
(``hooks:`` in mkdocs.yml): a page whose block differs from the code is a warning, which fails
``mkdocs build --strict``; ``tests/test_docs.py`` fails on it too.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
log = logging.getLogger("mkdocs.hooks.memguard")


class _Recorder:
    """Stands in for pytest's parser and option group: records what the plugin declares."""

    def __init__(self) -> None:
        self.flags: dict[str, dict[str, Any]] = {}  # dest -> argparse attributes and the flag
        self.inis: dict[str, dict[str, Any]] = {}  # ini key -> help, type, default

    def getgroup(self, name: str, description: str = "") -> _Recorder:
        return self

    def addoption(self, *names: str, **attrs: Any) -> None:
        self.flags[attrs["dest"]] = {**attrs, "flag": names[0]}

    def addini(self, name: str, help: str, type: str | None = None, default: Any = None) -> None:
        self.inis[name] = {"help": help, "type": type, "default": default}


def declared() -> _Recorder:
    """Everything ``pytest_addoption`` declares: each flag and each ini key."""
    from pytest_memguard import plugin

    recorder = _Recorder()
    plugin.pytest_addoption(recorder)  # type: ignore[arg-type]
    return recorder


_DEFAULT = re.compile(r"\s*\(default ([^)]*)\)$")


def _default(key: str, kind: str | None, text: str) -> str:
    """The default as a user would write it: a ``Settings`` field's, or what the help says."""
    from pytest_memguard.settings import Settings

    fields = {f.name: f for f in dataclasses.fields(Settings)}
    name = key.removeprefix("memguard_")
    if name in fields:
        field = fields[name]
        value = field.default if field.default_factory is dataclasses.MISSING else None
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, (int, float)):
            return f"{value:g}"
        return str(value) if value else "none"
    found = _DEFAULT.search(text)
    if found:
        return found.group(1)
    return "false" if kind == "bool" else "none"


def options_table() -> str:
    """The reference table: flag, ini key, default and help, in declaration order."""
    recorder = declared()
    rows = ["| flag | ini key | default | meaning |", "| --- | --- | --- | --- |"]
    for key, ini in recorder.inis.items():
        flag = recorder.flags.get(key)
        if flag is None:
            shown = "(ini only)"
        elif flag.get("action") == "store_const":
            shown = f"`{flag['flag']}`"
        else:
            shown = f"`{flag['flag']}={flag['metavar']}`"
        text = ini["help"]
        meaning = _DEFAULT.sub("", text).replace("|", "\\|")
        rows.append(f"| {shown} | `{key}` | `{_default(key, ini['type'], text)}` | {meaning} |")
    return "\n".join(rows)


#: Values of the JSON report that depend on the machine and the moment, fixed for the example.
EXAMPLE_METADATA = {
    "plugin_version": "0.1.0",
    "python": "3.11",
    "python_version": "3.11.7",
    "python_implementation": "CPython",
    "platform": "linux",
    "platform_detail": "Linux-6.1.0-x86_64-with-glibc2.36",
    "machine": "x86_64",
    "created": "2026-01-31T12:00:00+00:00",
}


def example_results() -> list[Any]:
    """A leaking Flask route and a bounded test body, as the guard reports them (4 calls)."""
    from pytest_memguard.result import MemguardResult, ResourceGrowth, TypeGrowth

    leaking = MemguardResult(
        passed=False,
        growth_kb=80.4,
        limit_kb=64.0,
        iterations=4,
        warmup=2,
        per_call_bytes=20582.0,
        shape="growing",
        reason="retained 80.4 KiB, over the bound of 64.0 KiB, and still growing at"
        " ~20,582 B/call at call 4",
        types=(TypeGrowth("str", 100, 7200, "pympler", 0),),
        series=(20582, 41164, 61746, 82330),
        nodeid="tests/test_app.py::test_profile_is_bounded",
        label="flask GET /profile",
        explanation=(
            "retained via:",
            "  module myapp.auth",
            "  ├─ ._token_cache            dict (+50 items, +5.2 KiB)",
            "  ╰→ ['Basic <redacted credential>'] bool True",
            "allocated at:",
            "  +7.2 KiB in +51 blocks at myapp/auth.py:36",
        ),
        statuses={200: 56},
        resources=(
            ResourceGrowth(
                "fds",
                False,
                "growing",
                4,
                0,
                1.0,
                "still growing: +1 file descriptor per call (sqlite3 database /srv/app.db)",
                "sqlite3 database /srv/app.db",
                ("20 x sqlite3 database /srv/app.db, made at myapp/db.py:12 in get_db",),
                (1, 2, 3, 4),
            ),
            ResourceGrowth("threads", True, "flat", 0, 0, series=(0, 0, 0, 0)),
        ),
    )
    bounded = MemguardResult(
        passed=True,
        growth_kb=1.5,
        limit_kb=64.0,
        iterations=4,
        warmup=2,
        per_call_bytes=384.0,
        shape="plateau",
        reason="plateau of 1.5 KiB, within the bound of 64.0 KiB",
        series=(1536, 1536, 1536, 1536),
        nodeid="tests/test_parser.py::test_parse",
        label="test body",
        ignored=("re:_cache (built-in: compiled regular expressions)",),
    )
    return [leaking, bounded]


def json_example() -> str:
    """The JSON report of ``example_results()`` against a baseline, as the plugin writes it."""
    from pytest_memguard.baseline import (
        DEFAULT_TOLERANCE,
        Baseline,
        BaselineEntry,
        baseline_key,
    )
    from pytest_memguard.report.outputs import write_outputs

    leaking, bounded = results = example_results()
    baseline = Baseline(  # as recorded on main, before the leak
        path="memguard-baseline.json",
        metadata={"python": "3.11", "python_implementation": "CPython", "platform": "linux"},
        tests={
            baseline_key(leaking): BaselineEntry(3.1),
            baseline_key(bounded): BaselineEntry(1.4),
        },
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "memguard.json"
        written = write_outputs(
            {"json": (path, "--memguard-json")},
            results,
            version=EXAMPLE_METADATA["plugin_version"],
            baseline=baseline,
            tolerance=DEFAULT_TOLERANCE,
        )
        if written.errors:
            raise RuntimeError("; ".join(written.errors))
        document = json.loads(path.read_text(encoding="utf-8"))
    metadata = document["metadata"]
    metadata.update({k: v for k, v in EXAMPLE_METADATA.items() if k in metadata})
    return "```json\n" + json.dumps(document, indent=2, ensure_ascii=False) + "\n```"


GENERATORS: dict[str, tuple[str, Callable[[], str]]] = {
    "options": ("options.md", options_table),
    "json-example": ("json-report.md", json_example),
}


def _block(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- generated: {re.escape(name)}\b[^\n]*-->\n)(.*?)(<!-- end: {re.escape(name)} -->)",
        re.DOTALL,
    )


def update(text: str, name: str, fresh: str) -> str:
    """``text`` with the block ``name`` replaced by ``fresh``; a page without it is an error."""
    pattern = _block(name)
    if not pattern.search(text):
        raise ValueError(f"no '<!-- generated: {name} -->' block to fill")
    return pattern.sub(lambda m: m.group(1) + fresh + "\n" + m.group(3), text)


def stale() -> list[str]:
    """The pages whose generated blocks differ from what the code produces now."""
    out = []
    for name, (page, generate) in GENERATORS.items():
        text = (DOCS / page).read_text(encoding="utf-8")
        if update(text, name, generate()) != text:
            out.append(f"docs/{page} ({name})")
    return out


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs hook: fill the page's generated blocks, and warn when the source had drifted."""
    for name, (source, generate) in GENERATORS.items():
        if page.file.src_uri == source:
            fresh = update(markdown, name, generate())
            if fresh != markdown:
                log.warning(
                    "docs/%s: the '%s' block differs from the code; run python docs/hooks.py",
                    source,
                    name,
                )
            markdown = fresh
    return markdown


def main() -> int:
    for name, (page, generate) in GENERATORS.items():
        path = DOCS / page
        text = path.read_text(encoding="utf-8")
        fresh = update(text, name, generate())
        if fresh != text:
            path.write_text(fresh, encoding="utf-8")
            print(f"updated docs/{page} ({name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
