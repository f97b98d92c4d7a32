"""The verdict of one guarded run as plain data: numbers and strings, never user objects.

Results outlive the test (reports, baselines, xdist), so they must not keep what the test made
alive; ``to_dict``/``from_dict`` are the JSON form used by reports and by xdist's workeroutput.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Shape = Literal["flat", "plateau", "growing"]


@dataclass(frozen=True)
class TypeGrowth:
    """One type whose live objects grew: ``count_delta`` objects, ``size_delta`` bytes."""

    name: str
    count_delta: int
    size_delta: int
    source: str = "pympler"  # "objgraph" (gc-tracked objects) or "pympler" (all objects)


@dataclass(frozen=True)
class MemguardResult:
    """What a guarded run measured and decided.

    ``growth_kb`` is the retained growth at the end of the run; ``series`` the retained bytes
    after each measured call (relative to the end of warm-up).
    """

    passed: bool
    growth_kb: float
    limit_kb: float
    iterations: int
    warmup: int
    per_call_bytes: float
    shape: Shape
    reason: str
    types: tuple[TypeGrowth, ...] = ()
    series: tuple[int, ...] = ()
    nodeid: str = ""
    label: str = ""  # what was guarded: "test body", "run(parse)", "flask GET /profile"
    measured: bool = True  # False under --memguard-disable: called once, judged nothing
    explanation: tuple[str, ...] = ()  # redacted lines explaining a failure
    ignored: tuple[str, ...] = ()  # caches and ignore= entries kept out of this verdict
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def top_type(self) -> TypeGrowth | None:
        return self.types[0] if self.types else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["types"] = [asdict(t) for t in self.types]
        data["series"] = list(self.series)
        data["explanation"] = list(self.explanation)
        data["ignored"] = list(self.ignored)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MemguardResult:
        values = dict(data)
        values["types"] = tuple(TypeGrowth(**t) for t in values.get("types", ()))
        values["series"] = tuple(values.get("series", ()))
        values["explanation"] = tuple(values.get("explanation", ()))
        values["ignored"] = tuple(values.get("ignored", ()))
        return cls(**values)
