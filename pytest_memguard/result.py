"""The verdict of one guarded run as plain data: numbers and strings, never user objects.

Results outlive the test (reports, baselines, xdist), so they must not keep what the test made
alive; ``to_dict``/``from_dict`` are the JSON form used by reports and by xdist's workeroutput.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Shape = Literal["flat", "plateau", "growing"]
#: The label of a run that replays the test itself (the marker), as reports show it.
TEST_BODY = "test body"


@dataclass(frozen=True, slots=True)
class TypeGrowth:
    """One type whose live objects grew: ``count_delta`` objects, ``size_delta`` bytes."""

    name: str
    count_delta: int
    size_delta: int
    source: str = "pympler"  # "objgraph" (gc-tracked objects) or "pympler" (all objects)
    tracked_delta: int | None = None  # of count_delta, objects the gc tracks (objgraph)


@dataclass(frozen=True, slots=True)
class ResourceGrowth:
    """One count (``fds``, ``threads``, ``tasks``, ``processes``) of a guarded run and its
    verdict: ``growth`` more than at the end of warm-up, ``bound`` allowed."""

    key: str
    passed: bool
    shape: Shape
    growth: int
    bound: int
    per_call: float = 0.0  # over the tail, when growing
    reason: str = ""  # the verdict line of a failed count
    what: str = ""  # what most new ones are ("sqlite3 database /tmp/app.db"), if explained
    explanation: tuple[str, ...] = ()  # redacted: what they are and where they were made
    series: Sequence[int] = field(default_factory=lambda: array("q"))

    def __post_init__(self) -> None:
        if not isinstance(self.series, array):
            object.__setattr__(self, "series", array("q", self.series))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["explanation"] = list(self.explanation)
        data["series"] = list(self.series)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResourceGrowth:
        values = dict(data)
        values["explanation"] = tuple(values.get("explanation", ()))
        values["series"] = array("q", values.get("series", ()))
        return cls(**values)


@dataclass(frozen=True, slots=True)
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
    # An array of 8-byte ints, not a tuple of int objects: a session keeps every result.
    series: Sequence[int] = field(default_factory=lambda: array("q"))
    nodeid: str = ""
    label: str = ""  # what was guarded: "test body", "run(parse)", "flask GET /profile"
    measured: bool = True  # False under --memguard-disable: called once, judged nothing
    explanation: tuple[str, ...] = ()  # redacted lines explaining a failure
    ignored: tuple[str, ...] = ()  # caches and ignore= entries kept out of this verdict
    #: Why the numbers may not be the code's alone (another thread ran), or "".
    disturbed: str = ""
    #: Calls of the explanation pass behind ``types`` and ``explanation`` (0: not explained).
    explain_calls: int = 0
    #: No verdict: the guarded code raised before one was reached (``reason`` says where).
    error: bool = False
    #: HTTP status code -> calls that got it, for the web drivers: what was measured.
    statuses: dict[int, int] = field(default_factory=dict)
    #: ``--memguard-scan``'s status of this test: "clean", "suspected", "confirmed" or
    #: "not replayable" ("" for a test that was not scanned: marked, or guarded by a fixture).
    scan: str = ""
    #: Seconds the scan spent on this test, beyond the test's own run.
    scan_seconds: float = 0.0
    #: Why the run was judged again with fresh fixtures ("" when it was not), in one line.
    rejudged: str = ""
    #: Open descriptors, threads, asyncio tasks and child processes: each count's verdict
    #: (``passed`` is False when memory or any of them failed).
    resources: tuple[ResourceGrowth, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.series, array):
            object.__setattr__(self, "series", array("q", self.series))

    @property
    def name(self) -> str:
        """``nodeid``, or ``nodeid [label]`` when the run guarded a block of the test: how
        reports and the baseline name a run (one test may guard several blocks)."""
        return f"{self.nodeid} [{self.label}]" if self.sublabel else self.nodeid

    @property
    def sublabel(self) -> str:
        """The label, unless the run replays the test body itself."""
        return "" if self.label in ("", TEST_BODY) else self.label

    @property
    def failed_resources(self) -> tuple[ResourceGrowth, ...]:
        return tuple(r for r in self.resources if not r.passed)

    @property
    def memory_passed(self) -> bool:
        """The memory verdict alone (``passed`` also needs every count's)."""
        if self.passed or not self.failed_resources:
            return self.passed
        return self.shape != "growing" and self.growth_kb <= self.limit_kb

    @property
    def top_type(self) -> TypeGrowth | None:
        return self.types[0] if self.types else None

    def without_series(self) -> MemguardResult:
        """The result without its series (memory and counts), which only reports draw."""
        return replace(
            self,
            series=array("q"),
            resources=tuple(replace(r, series=array("q")) for r in self.resources),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["types"] = [asdict(t) for t in self.types]
        data["series"] = list(self.series)
        data["explanation"] = list(self.explanation)
        data["ignored"] = list(self.ignored)
        data["resources"] = [r.to_dict() for r in self.resources]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MemguardResult:
        values = dict(data)
        values["types"] = tuple(TypeGrowth(**t) for t in values.get("types", ()))
        values["series"] = array("q", values.get("series", ()))
        values["explanation"] = tuple(values.get("explanation", ()))
        values["ignored"] = tuple(values.get("ignored", ()))
        values["resources"] = tuple(
            ResourceGrowth.from_dict(r) for r in values.get("resources", ())
        )
        values["statuses"] = {int(k): int(v) for k, v in values.get("statuses", {}).items()}
        return cls(**values)
