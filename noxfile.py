"""Run the test suite on every supported Python: ``nox`` (all) or ``nox -s tests-3.13``.

The interpreters come from pyenv here (3.10 to 3.13); nox finds them on PATH.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("ruff", "check", ".")
    session.run("mypy")
