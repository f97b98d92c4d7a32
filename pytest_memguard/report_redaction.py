"""Keep credentials out of pytest's own reports (test and collection reports, warnings) and
out of memguard's results (every file and summary is made from them).

Every string is redacted where it sits, so a report keeps its structure (a skip's
``(path, lineno, reason)`` tuple, a traceback's entries) for pytest, JUnit XML and xdist; code
locations and argument names are never rewritten. Reports are read by duck typing: no pytest
import.
"""

from __future__ import annotations

import linecache
from dataclasses import replace
from typing import Any

from pytest_memguard.redact import Secrets
from pytest_memguard.result import MemguardResult, ResourceGrowth

#: Fields of pytest's traceback representations that are code locations: never rewritten.
LOCATION_FIELDS = frozenset({"path", "lineno", "firstlineno", "filename", "style", "argname"})
#: pytest's representations nest a few levels (chain, entries, locals); deeper is not text.
MAX_DEPTH = 16


def redact_report(report: Any, secrets: Secrets) -> None:
    """Tracebacks of an app's exception can show request headers and locals: redact them all."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, lineno, reason)
        path, lineno, reason = longrepr
        report.longrepr = (
            path,
            lineno,
            secrets.redact(reason) if isinstance(reason, str) else reason,
        )
    elif longrepr is not None:
        report.longrepr = _redact_tree(longrepr, secrets, depth=0)
    report.sections = [(title, secrets.redact(body)) for title, body in report.sections]
    properties = getattr(report, "user_properties", None)
    if properties:  # record_property() values, written into JUnit XML: a new list, not item's
        report.user_properties = [
            (name, secrets.redact(value) if isinstance(value, str) else value)
            for name, value in properties
        ]
    wasxfail = getattr(report, "wasxfail", None)
    if isinstance(wasxfail, str):
        report.wasxfail = secrets.redact(wasxfail)


def _redact_tree(node: Any, secrets: Secrets, *, depth: int) -> Any:
    """``node`` (a string, or one of pytest's traceback representations) with its strings
    redacted in place, code locations and argument names left as they are."""
    if isinstance(node, str):
        return secrets.redact(node)
    if depth > MAX_DEPTH:
        return node
    if type(node) is list and node and all(type(line) is str for line in node):
        # Lines of one entry (an assertion diff) are redacted together: a line may be cut
        # where an earlier one says so ("Skipping 83 identical leading characters").
        return secrets.redact("\n".join(node)).split("\n")
    if type(node) in (list, tuple):
        return type(node)(_redact_tree(part, secrets, depth=depth + 1) for part in node)
    if type(node).__name__ == "ReprFuncArgs":  # (name, value) pairs: the names are code
        node.args = [(name, secrets.redact(value)) for name, value in node.args]
        return node
    if type(node).__name__ == "ReprLocals":  # "name = value" lines: the names are code
        node.lines = [_redact_local(line, secrets) for line in node.lines]
        return node
    if callable(getattr(type(node), "toterminal", None)):  # another TerminalRepr
        for name, value in list(vars(node).items()):
            if name not in LOCATION_FIELDS and not name.startswith("_"):
                redacted = _redact_tree(value, secrets, depth=depth + 1)
                if redacted is not value:
                    setattr(node, name, redacted)
    return node


def _redact_local(line: str, secrets: Secrets) -> str:
    name, sep, value = line.partition(" = ")
    return f"{name}{sep}{secrets.redact(value)}" if sep else secrets.redact(line)


def redact_warning(message: Any, secrets: Secrets) -> None:
    """A recorded warning, rewritten in place: its arguments (its category stays), else the
    message itself; and the source line pytest shows under it, which may hold a literal."""
    warning = getattr(message, "message", None)
    text = str(warning)
    redacted = secrets.redact(text)
    if redacted != text:
        if isinstance(warning, Warning):
            warning.args = tuple(
                secrets.redact(arg) if isinstance(arg, str) else arg for arg in warning.args
            )
        if secrets.redact(str(warning)) != str(warning):  # a __str__ of its own: replace it
            message.message = Warning(redacted)
    line = getattr(message, "line", None)
    if line is None:
        filename, lineno = getattr(message, "filename", None), getattr(message, "lineno", None)
        if isinstance(filename, str) and isinstance(lineno, int):
            line = linecache.getline(filename, lineno)
    if isinstance(line, str) and line and secrets.redact(line) != line:
        message.line = secrets.redact(line)


def redact_result(result: MemguardResult, secrets: Secrets, *, params: str = "") -> MemguardResult:
    """``result`` with every text redacted: labels, reasons, and the type, module and attribute
    names of an explanation, which are the code's but may hold a credential (a class or a cache
    named after one). Of its node id, only the parametrize ids (a credential passed as a
    parameter shows there) are redacted, ``params`` appended when they were: the rest is a
    code location. Redacting twice changes nothing."""
    if not secrets:
        return result
    text = secrets.redact
    return replace(
        result,
        nodeid=redact_node_id(result.nodeid, secrets, params=params),
        label=text(result.label),
        reason=text(result.reason),
        types=tuple(replace(t, name=text(t.name)) for t in result.types),
        explanation=tuple(map(text, result.explanation)),
        ignored=tuple(map(text, result.ignored)),
        disturbed=text(result.disturbed),
        rejudged=text(result.rejudged),
        resources=tuple(_redact_resource(r, secrets) for r in result.resources),
    )


def redact_node_id(nodeid: str, secrets: Secrets, *, params: str = "") -> str:
    """``nodeid`` with its parametrize ids (``test_login[admin-hunter2]``) redacted, and
    ``#params`` after them when they were (``test_login[admin-<redacted credential>#0]``);
    the path and the names before them are a code location and stay."""
    names = nodeid.find("::")
    start = nodeid.find("[", names) if names >= 0 else -1
    if start < 0 or not nodeid.endswith("]"):
        return nodeid
    ids = nodeid[start + 1 : -1]
    shown = secrets.redact(ids)
    if shown == ids:
        return nodeid
    return f"{nodeid[: start + 1]}{shown}{'#' + params if params else ''}]"


def _redact_resource(resource: ResourceGrowth, secrets: Secrets) -> ResourceGrowth:
    return replace(
        resource,
        reason=secrets.redact(resource.reason),
        what=secrets.redact(resource.what),
        explanation=tuple(map(secrets.redact, resource.explanation)),
    )
