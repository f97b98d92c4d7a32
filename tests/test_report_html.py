"""The HTML report: escaped, self-contained, well formed, with a chart per test."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest

from pytest_memguard.baseline import Baseline, BaselineEntry, baseline_key, compare
from pytest_memguard.report.html import MAX_POINTS, chart_svg, downsample, render_html
from pytest_memguard.result import MemguardResult, Shape, TypeGrowth

XSS = "<script>alert(1)</script>"
META = {"plugin_version": "0.1.0", "python_version": "3.11.7", "platform": "linux"}


def make(
    shape: Shape = "flat",
    *,
    passed: bool = True,
    nodeid: str = "tests/test_a.py::test_x",
    series: tuple[int, ...] = (0, 100, 200, 150),
    types: tuple[TypeGrowth, ...] = (),
    explanation: tuple[str, ...] = (),
    label: str = "test body",
    reason: str = "within bound",
    measured: bool = True,
    limit_kb: float = 64.0,
    error: bool = False,
    statuses: dict[int, int] | None = None,
) -> MemguardResult:
    return MemguardResult(
        passed=passed,
        growth_kb=series[-1] / 1024 if series else 0.0,
        limit_kb=limit_kb,
        iterations=len(series),
        warmup=5,
        per_call_bytes=series[-1] / len(series) if series else 0.0,
        shape=shape,
        reason=reason,
        types=types,
        series=series,
        nodeid=nodeid,
        label=label,
        measured=measured,
        explanation=explanation,
        error=error,
        statuses=statuses or {},
    )


class Balance(HTMLParser):
    """Checks every non-void element is closed in order: a cheap well-formedness test."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "col", "wbr"})
    SVG_SELF_CLOSING = frozenset({"line", "polyline", "polygon", "circle", "path", "rect"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"unexpected </{tag}>"
        assert self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1]}>"
        self.stack.pop()


def parse(document: str) -> Balance:
    checker = Balance()
    checker.feed(document)
    checker.close()
    assert checker.stack == [], f"unclosed: {checker.stack}"
    return checker


def test_everything_from_results_is_escaped() -> None:
    evil = make(
        "growing",
        passed=False,
        nodeid=f'tests/test_x.py::test_{XSS}["]',
        label=f"run({XSS})",
        reason=f"reason {XSS}",
        types=(TypeGrowth(XSS, 3, 300, XSS),),
        explanation=(f"kept alive by {XSS}", "<img src=x onerror=alert(1)>"),
    )
    base = Baseline("b.json", {"python": XSS, "platform": XSS}, {})
    document = render_html(
        [evil],
        metadata={XSS: XSS, "plugin_version": "0.1.0"},
        baseline_deltas={baseline_key(evil): compare(base, evil)},
        title=f"report {XSS}",
    )
    lowered = document.lower()
    assert "<script>alert" not in lowered
    assert "<img src=x" not in lowered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert "&lt;img src=x onerror=alert(1)&gt;" in document
    assert lowered.count("<script") == 1  # only the report's own sorting script
    assert '["]' not in document  # the quote in the node id cannot end an attribute
    parse(document)


def test_self_contained_no_network() -> None:
    document = render_html([make()], metadata=META)
    without_svg_ns = document.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http://" not in without_svg_ns
    assert "https://" not in without_svg_ns
    assert "//cdn" not in document
    for needle in ("<link", "src=", "@import", "url(", "<iframe", "<object"):
        assert needle not in document.lower(), needle


def test_csp_pins_the_inline_style_and_script() -> None:
    document = render_html([make()], metadata=META)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', document)
    assert policy is not None
    assert "default-src 'none'" in policy.group(1)
    for tag in ("style", "script"):
        blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", document, flags=re.DOTALL)
        assert len(blocks) == 1
        digest = base64.b64encode(hashlib.sha256(blocks[0].encode()).digest()).decode()
        assert f"{tag}-src 'sha256-{digest}'" in policy.group(1)


def test_document_is_well_formed_and_has_summary_table() -> None:
    results = [
        make("flat", nodeid="t::flat"),
        make("growing", passed=False, nodeid="t::grow", series=(0, 1000, 2000, 3000)),
        make("plateau", nodeid="t::plateau", series=(0, 2000, 2100, 2100)),
    ]
    document = render_html(results, metadata=META)
    checker = parse(document)
    assert checker.tags.count("svg") == 3
    assert checker.tags.count("section") == 3
    summary = document[document.index('<table id="summary">') : document.index("</table>")]
    headers = re.findall(r'<th scope="col" data-type="(\w+)"[^>]*><button', summary)
    assert headers == ["text", "rank", "num", "num", "num", "rank", "text", "num"]
    for name in ("Test", "Verdict", "Growth", "Limit", "Per call", "Shape", "Top type"):
        assert f">{name}</button>" in summary
    rows = re.findall(r'<tr data-index="(\d+)">', summary)
    assert rows == ["1", "0", "2"]  # failures first, then run order
    assert 'href="#t1"' in summary
    assert 'id="t1"' in document


def test_summary_row_values() -> None:
    result = make(
        "plateau",
        series=(0, 20480, 20480, 20480),
        types=(TypeGrowth("dict", 60, 14000), TypeGrowth("str", 5, 100)),
    )
    document = render_html([result], metadata=META)
    row = re.search(r'<tr data-index="0">(.*?)</tr>', document)
    assert row is not None
    cells = row.group(1)
    assert ">20.0 KiB<" in cells
    assert ">64.0 KiB<" in cells
    assert ">5,120 B<" in cells
    assert 'data-sort="20.0"' in cells
    assert ">plateau<" in cells
    assert '<span class="mono">dict</span>' in cells
    assert "+13.7 KiB" in cells
    assert '<span class="badge pass">pass</span>' in cells


def test_chart_has_polyline_limit_axes_and_labels() -> None:
    svg = chart_svg(make("growing", passed=False, series=tuple(i * 512 for i in range(1, 201))))
    assert svg.startswith("<svg")
    assert svg.count("<polyline") == 1
    assert '<line class="limit"' in svg
    assert "limit 64.0 KiB" in svg
    assert "retained KiB" in svg
    assert "measured call (after 5 warm-up)" in svg
    assert '<line class="axis"' in svg
    assert "plateau" not in svg
    assert "curve bad" in svg


def test_chart_marks_plateau_level() -> None:
    series = tuple(min(i, 50) * 400 for i in range(200))
    svg = chart_svg(make("plateau", series=series))
    assert '<line class="plateau"' in svg
    assert "plateau \u2248 19.5 KiB" in svg
    assert "curve ok" in svg
    assert '<line class="plateau"' not in chart_svg(make("flat"))


def y_ticks(svg: str) -> list[float]:
    labels = re.findall(r'<text x="56" y="[^"]+" text-anchor="end">([^<]+)</text>', svg)
    return [float(label.replace(",", "")) for label in labels]


def test_chart_scales_to_the_limit_or_the_curve() -> None:
    small = y_ticks(chart_svg(make(series=(0, 10, 20), limit_kb=64.0)))
    assert small[0] == 0
    assert 64 <= small[-1] <= 100  # the y axis reaches the limit, not much more
    big = y_ticks(chart_svg(make("growing", passed=False, series=(0, 500 * 1024))))
    assert 500 <= big[-1] <= 700  # ... or the curve, when it is above the limit
    assert len(big) >= 4
    below = y_ticks(chart_svg(make(series=(-4096, -2048))))
    assert below[0] <= -4 < 0 < below[-1]


def test_polyline_is_downsampled_to_max_points() -> None:
    series = tuple((i * 37) % 5000 + i for i in range(100_000))
    svg = chart_svg(make("growing", passed=False, series=series))
    points = re.search(r'<polyline class="[^"]*" points="([^"]+)"', svg)
    assert points is not None
    assert len(points.group(1).split()) <= MAX_POINTS
    assert len(svg) < 30_000


def test_downsample_keeps_ends_and_spikes() -> None:
    points = [(float(i), 0.0) for i in range(10_000)]
    points[5_001] = (5_001.0, 99.0)
    points[7_777] = (7_777.0, -42.0)
    kept = downsample(points)
    assert len(kept) <= MAX_POINTS
    assert kept[0] == points[0]
    assert kept[-1] == points[-1]
    assert (5_001.0, 99.0) in kept
    assert (7_777.0, -42.0) in kept
    assert [x for x, _ in kept] == sorted(x for x, _ in kept)
    assert downsample(points[:10]) == points[:10]


@pytest.mark.parametrize("series", [(), (0,), (0, 0, 0), (-2048, -1024), (5 * 1024**3,)])
def test_chart_edge_cases_render(series: tuple[int, ...]) -> None:
    svg = chart_svg(make(series=series))
    if series:
        assert "<polyline" in svg
        assert "nan" not in svg.lower()
        parse(svg)
    else:
        assert "No samples" in svg


def test_not_measured_result() -> None:
    document = render_html([make(measured=False, series=())], metadata=META)
    assert '<span class="badge none">not measured</span>' in document
    assert "<svg" not in document
    assert "No samples" in document
    parse(document)


def test_types_table_and_explanation() -> None:
    result = make(
        "growing",
        passed=False,
        types=(TypeGrowth("Session", 400, 96000, "objgraph"), TypeGrowth("list", 2, -64)),
        explanation=("allocated at:", "  app.py:12"),
    )
    document = render_html([result], metadata=META)
    assert '<td class="mono">Session</td><td class="num">+400</td>' in document
    assert "+93.8 KiB" in document
    assert "-64 B" in document
    assert "<pre>allocated at:\n  app.py:12</pre>" in document


def test_baseline_delta_column() -> None:
    result = make("growing", passed=False, series=(0, 80 * 1024))
    base = Baseline(
        "b.json", {"python": "3.11", "platform": "linux"}, {result.nodeid: BaselineEntry(3.0)}
    )
    comparison = compare(base, result)
    document = render_html([result], metadata=META, baseline_deltas={result.nodeid: comparison})
    assert "+77.0 KiB" in document
    assert '<span class="badge fail">regressed</span>' in document
    assert 'data-sort="77.0"' in document
    assert "1 over baseline" in document
    assert "regressed: 3.0 KiB -&gt; 80.0 KiB" in document
    without = render_html([result], metadata=META)
    assert "regressed" not in without


def test_metadata_is_shown() -> None:
    document = render_html([make()], metadata=META)
    assert "<dt>python version</dt><dd>3.11.7</dd>" in document
    assert "<title>pytest-memguard report</title>" in document


def test_many_tests_collapse_passing_sections() -> None:
    results = [make(nodeid=f"t::ok{i}") for i in range(20)]
    results.append(make("growing", passed=False, nodeid="t::bad"))
    document = render_html(results, metadata=META)
    assert document.count("<details open>") == 1
    assert document.count("<details>") == 20


def test_lone_surrogates_are_shown_escaped_and_the_page_is_utf8() -> None:
    odd = make(
        nodeid="test_caf\udce9.py::test_x",
        label="run(f\udcff)",
        types=(TypeGrowth("T\udcff", 1, 64),),
        explanation=("held by m:\udcff",),
        passed=False,
        shape="growing",
    )
    page = render_html([odd], metadata={"baseline": "b\udcff.json"})
    page.encode("utf-8")
    for shown in ("test_caf\\udce9.py::test_x", "run(f\\udcff)", "T\\udcff", "b\\udcff.json"):
        assert shown in page
    parse(page)  # still well formed


def test_not_judged_result_and_status_codes() -> None:
    raised = make(measured=False, passed=False, series=(), error=True, reason="not judged: X")
    web = make(statuses={200: 220, 404: 3})
    document = render_html([raised, web], metadata=META)
    assert '<span class="badge fail">not judged</span>' in document
    assert '<span class="badge fail">1 not judged</span>' in document
    assert "<dt>Status codes</dt><dd>200 \u00d7220, 404 \u00d73</dd>" in document
    parse(document)
