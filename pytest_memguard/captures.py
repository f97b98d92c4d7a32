"""pytest's own captures during a guarded run: kept once, never counted.

pytest keeps what a test prints and logs. Replayed 200 times, that is the output 200 times in
the report, an in-memory capture (``--capture=sys``) that grows with every call, and the log
record of the last call, whose traceback holds the frames and everything they hold, counted as
retained memory. So what was captured before the run is set aside, what each call adds is
dropped, and what was set aside is put back when the run ends.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pytest_memguard.errors import passthrough


def _log_handlers(config: pytest.Config) -> list[Any]:
    """pytest's handlers that keep records (caplog's and the report's), if logging is on."""
    plugin = config.pluginmanager.get_plugin("logging-plugin")
    return [
        h
        for h in (getattr(plugin, "caplog_handler", None), getattr(plugin, "report_handler", None))
        if isinstance(h, logging.StreamHandler) and isinstance(getattr(h, "records", None), list)
    ]


@passthrough
def captured_once(config: pytest.Config) -> Iterator[Callable[[], None]]:
    """Set aside what pytest captured so far and yield a reset that drops what each call adds;
    what was set aside is put back when the block ends."""
    __tracebackhide__ = True
    capman: Any = config.pluginmanager.get_plugin("capturemanager")
    capturing = capman is not None and bool(capman.is_capturing())
    kept = capman.read_global_capture() if capturing else None
    # ``--capture=fd`` (the default) writes what a call prints to a temporary file, outside
    # the memory counters: read (and dropped) once at the end, not after every call (~10 µs
    # each). ``sys`` and ``tee-sys`` keep it in memory: dropped after every call.
    in_memory = capturing and config.getoption("capture", "fd") != "fd"
    handlers = _log_handlers(config)
    logs = [(list(h.records), h.stream.getvalue()) for h in handlers]

    def reset() -> None:
        if in_memory:
            capman.read_global_capture()
        # In place, so that no new object shows up as growth and caplog's view stays valid.
        for handler in handlers:
            handler.records.clear()
            handler.stream.seek(0)
            handler.stream.truncate()

    try:
        yield reset
    finally:
        if capturing:
            capman.read_global_capture()
        reset()
        for handler, (records, text) in zip(handlers, logs, strict=True):
            handler.records.extend(records)
            handler.stream.write(text)
        if kept is not None:
            sys.stdout.write(kept.out)
            sys.stderr.write(kept.err)
