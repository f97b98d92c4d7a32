"""How sizes are written in messages and reports: one format everywhere."""

from __future__ import annotations

import math

#: Shown where a size is unknown or not a number.
DASH = "\u2013"


def kib(value_kib: float, *, sign: bool = False) -> str:
    """``12.5 KiB`` (``+12.5 KiB`` with ``sign``), thousands separated; a dash if not finite."""
    if not math.isfinite(value_kib):
        return DASH
    return f"{value_kib:+,.1f} KiB" if sign else f"{value_kib:,.1f} KiB"
