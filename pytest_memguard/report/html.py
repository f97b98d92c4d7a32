"""The HTML report: one self-contained file a person can open from a CI artifact.

No network, no external assets: the file must render the same offline, years later, and behind
a firewall.  Styles, the sorting script and the SVG charts are inline, and a Content Security
Policy pins the inline style and script by hash, so that even an escaping bug could not make
the file fetch or run anything else.  Everything that comes from a result (node ids, type
names, reasons, explanations) is text from the tested code and is escaped.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
from collections.abc import Callable, Mapping, Sequence

from pytest_memguard.baseline import Comparison, comparison_of
from pytest_memguard.files import escape_surrogates
from pytest_memguard.result import MemguardResult
from pytest_memguard.units import kib

#: The growth curve is drawn with at most this many points, whatever the iteration count.
MAX_POINTS = 400

# Chart geometry, in SVG user units.
_W, _H = 760, 260
#: Sizes below this are shown in bytes, above it in KiB.
BYTES_UP_TO = 10 * 1024
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 20, 16, 46

_CSS = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#eef1f4;--panel:#f6f8fa;
--pass:#1a7f37;--pass-bg:#dafbe1;--fail:#cf222e;--fail-bg:#ffebe9;--warn:#9a6700;
--warn-bg:#fff8c5;--none:#59636e;--none-bg:#eaeef2;--accent:#0969da;color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:#fff;color:var(--fg);
font:14px/1.5 system-ui,-apple-system,"Segoe UI","Liberation Sans","DejaVu Sans",sans-serif}
header{background:var(--panel);border-bottom:1px solid var(--line);padding:20px 32px 14px}
h1{font-size:22px;margin:0 0 10px;font-weight:600}
h2{font-size:17px;margin:0;font-weight:600}
h2.title{margin:18px 0 10px}
main{padding:8px 32px 40px;max-width:1240px}
code,pre,.mono{font-family:ui-monospace,"SFMono-Regular","DejaVu Sans Mono",Menlo,monospace;
font-size:12.5px}
.counts{display:flex;gap:8px;flex-wrap:wrap;margin:0 0 12px}
.meta{display:flex;flex-wrap:wrap;gap:4px 24px;margin:0;color:var(--muted);font-size:12.5px}
.meta div{display:flex;gap:6px}.meta dt{font-weight:600}.meta dd{margin:0}
.badge{display:inline-block;border-radius:999px;padding:1px 10px;font-size:12px;
font-weight:600;white-space:nowrap;border:1px solid transparent}
.pass{color:var(--pass);background:var(--pass-bg);border-color:#aceebb}
.fail{color:var(--fail);background:var(--fail-bg);border-color:#ffcecb}
.warn{color:var(--warn);background:var(--warn-bg);border-color:#f5e0a0}
.none{color:var(--none);background:var(--none-bg);border-color:#d1d9e0}
table{border-collapse:collapse;width:100%}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--panel);font-size:12px;text-transform:uppercase;letter-spacing:.03em;
color:var(--muted);white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th.num button{text-align:right}
tbody tr:hover{background:#f6f8fa}
th button{all:unset;cursor:pointer;display:block;width:100%}
th button:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
th button::after{content:" \\2195";opacity:.35}
th[aria-sort=ascending] button::after{content:" \\25B2";opacity:1}
th[aria-sort=descending] button::after{content:" \\25BC";opacity:1}
#summary td:first-child{overflow-wrap:anywhere;min-width:240px}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
.sub{color:var(--muted);font-size:12px}
.nowrap{white-space:nowrap}
section.test{border:1px solid var(--line);border-radius:8px;margin:20px 0;overflow:hidden}
section.test>details>summary{list-style:none;cursor:pointer;padding:12px 16px;display:flex;
gap:12px;align-items:center;background:var(--panel);border-bottom:1px solid var(--line)}
section.test>details>summary::-webkit-details-marker{display:none}
section.test>details>summary::before{content:"\\25B8";color:var(--muted)}
section.test>details[open]>summary::before{content:"\\25BE"}
section.test h2{overflow-wrap:anywhere}
.body{padding:12px 16px 16px}
.reason{margin:0 0 12px}
.stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(130px,1fr));gap:8px;
margin:0 0 12px}
.stats div{background:var(--panel);border:1px solid var(--soft);border-radius:6px;
padding:6px 10px}
.stats dt{font-size:11px;text-transform:uppercase;letter-spacing:.03em;color:var(--muted)}
.stats dd{margin:0;font-weight:600;font-variant-numeric:tabular-nums}
.chart{display:block;width:100%;max-width:760px;height:auto;margin:4px 0 12px}
.chart text{font:11px system-ui,"Liberation Sans","DejaVu Sans",sans-serif;fill:#59636e}
.chart .grid{stroke:#eaeef2}
.chart .axis{stroke:#8c959f}
.chart .curve{fill:none;stroke-width:2;stroke-linejoin:round}
.chart .area{stroke:none;opacity:.12}
.chart .ok{stroke:#0969da;fill:#0969da}
.chart .bad{stroke:#cf222e;fill:#cf222e}
.chart .curve.ok,.chart .curve.bad{fill:none}
.chart .limit{stroke:#cf222e;stroke-width:1.5;stroke-dasharray:6 4}
.chart .plateau{stroke:#bf8700;stroke-width:1.5;stroke-dasharray:2 3}
.chart text.limit-label{fill:#cf222e;font-weight:600}
.chart text.plateau-label{fill:#9a6700;font-weight:600}
.chart text.end-label{fill:#1f2328;font-weight:600}
.chart .halo{paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}
h3{font-size:13px;margin:14px 0 6px;color:var(--muted);text-transform:uppercase;
letter-spacing:.03em}
.panels{display:grid;grid-template-columns:minmax(0,700px) minmax(320px,1fr);gap:8px 28px;
align-items:start}
@media (max-width:1100px){.panels{grid-template-columns:minmax(0,1fr)}}
.panels h3:first-child{margin-top:4px}
pre{background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:10px 12px;
overflow:auto;margin:0;white-space:pre-wrap;word-break:break-word}
.empty{color:var(--muted);font-style:italic}
footer{color:var(--muted);font-size:12px;padding:0 32px 24px}
"""

_JS = """
(function () {
  "use strict";
  var table = document.getElementById("summary");
  if (!table || !table.tHead || !table.tBodies.length) { return; }
  var body = table.tBodies[0];
  var heads = table.tHead.rows[0].cells;
  function value(row, i, numeric) {
    var cell = row.cells[i];
    var raw = cell.getAttribute("data-sort");
    if (raw === null) { raw = cell.textContent.trim(); }
    if (!numeric) { return raw.toLowerCase(); }
    var n = raw === "" ? NaN : Number(raw);
    return isNaN(n) ? null : n;
  }
  function sortBy(i, dir) {
    var numeric = heads[i].getAttribute("data-type") !== "text";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, i, numeric), y = value(b, i, numeric), c = 0;
      if (x === null || y === null) {
        c = x === y ? 0 : (x === null ? 1 : -1);  /* empty cells last either way */
        return c || Number(a.getAttribute("data-index")) - Number(b.getAttribute("data-index"));
      }
      c = numeric ? x - y : (x < y ? -1 : (x > y ? 1 : 0));
      return dir * c || Number(a.getAttribute("data-index")) - Number(b.getAttribute("data-index"));
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
    heads[i].setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
  }
  Array.prototype.forEach.call(heads, function (th, i) {
    var button = th.querySelector("button");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var now = th.getAttribute("aria-sort");
      var first = th.getAttribute("data-type") === "num" ? -1 : 1;
      sortBy(i, now === "ascending" ? -1 : (now === "descending" ? 1 : first));
    });
  });
  table.setAttribute("data-sortable", "ready");
})();
"""


def _hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


_CSP = (
    "default-src 'none'; "
    f"style-src {_hash(_CSS)}; script-src {_hash(_JS)}; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def _e(value: object) -> str:
    """Text from results, escaped; lone surrogates (undecodable file names) shown as
    ``\\udcff``, since the file is UTF-8."""
    return html.escape(escape_surrogates(str(value)), quote=True)


def render_html(
    results: Sequence[MemguardResult],
    *,
    metadata: Mapping[str, object],
    baseline_deltas: Mapping[str, Comparison] | None = None,
    title: str = "pytest-memguard report",
) -> str:
    """The whole report as one HTML document.

    ``baseline_deltas`` maps :func:`~pytest_memguard.baseline.baseline_key` (or a node id) to
    the result's :class:`~pytest_memguard.baseline.Comparison`; without it the baseline
    column shows a dash.  Failing tests are listed first and their sections start open.
    """
    deltas = baseline_deltas or {}
    order = sorted(range(len(results)), key=lambda i: (_rank(results[i]), i))
    compared = [comparison_of(r, deltas) for r in results]
    rows = "\n".join(_summary_row(i, results[i], compared[i]) for i in order)
    sections = "\n".join(
        _section(i, results[i], compared[i], many=len(results) > 12) for i in order
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="pytest-memguard">
<title>{_e(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>{_e(title)}</h1>
{_counts(results, compared)}
{_metadata(metadata)}
</header>
<main>
<h2 class="title">Summary</h2>
<table id="summary">
<thead><tr>{_summary_head()}</tr></thead>
<tbody>
{rows}
</tbody>
</table>
{sections}
</main>
<footer>Retained memory is measured after each call, relative to the end of warm-up.
Click a column header to sort.</footer>
<script>{_JS}</script>
</body>
</html>
"""


def _rank(result: MemguardResult) -> int:
    if result.error:
        return 0
    if not result.measured:
        return 2
    return 1 if result.passed else 0


def _verdict(result: MemguardResult) -> str:
    if result.error:
        return '<span class="badge fail">not judged</span>'
    if not result.measured:
        return '<span class="badge none">not measured</span>'
    if result.passed:
        return '<span class="badge pass">pass</span>'
    return '<span class="badge fail">FAIL</span>'


def _counts(results: Sequence[MemguardResult], compared: Sequence[Comparison | None]) -> str:
    failed = sum(1 for r in results if r.measured and not r.passed)
    passed = sum(1 for r in results if r.measured and r.passed)
    skipped = sum(1 for r in results if not r.measured and not r.error)
    not_judged = sum(1 for r in results if r.error)
    regressed = sum(1 for c in compared if c is not None and c.regressed)
    parts = [f'<span class="badge none">{len(results)} guarded</span>']
    if failed:
        parts.append(f'<span class="badge fail">{failed} failed</span>')
    parts.append(f'<span class="badge pass">{passed} passed</span>')
    if not_judged:
        parts.append(f'<span class="badge fail">{not_judged} not judged</span>')
    if skipped:
        parts.append(f'<span class="badge none">{skipped} not measured</span>')
    if regressed:
        parts.append(f'<span class="badge warn">{regressed} over baseline</span>')
    return f'<p class="counts">{" ".join(parts)}</p>'


def _metadata(metadata: Mapping[str, object]) -> str:
    items = "".join(
        f"<div><dt>{_e(str(key).replace('_', ' '))}</dt><dd>{_e(value)}</dd></div>"
        for key, value in metadata.items()
    )
    return f'<dl class="meta">{items}</dl>'


_COLUMNS = (
    ("Test", "text"),
    ("Verdict", "rank"),
    ("Growth", "num"),
    ("Limit", "num"),
    ("Per call", "num"),
    ("Shape", "rank"),
    ("Top type", "text"),
    ("Baseline \u0394", "num"),
)
_SHAPE_RANK = {"growing": 0, "plateau": 1, "flat": 2}


def _summary_head() -> str:
    cells = []
    for name, kind in _COLUMNS:
        cls = ' class="num"' if kind == "num" else ""
        cells.append(
            f'<th scope="col" data-type="{kind}"{cls}><button type="button">{_e(name)}'
            "</button></th>"
        )
    return "".join(cells)


def _summary_row(index: int, result: MemguardResult, comparison: Comparison | None) -> str:
    top = result.top_type
    name = f'<a href="#t{index}" class="mono">{_e(result.nodeid or "(unnamed)")}</a>'
    if result.sublabel:
        name += f'<div class="sub">{_e(result.sublabel)}</div>'
    top_cell = (
        f'<td data-sort="{_e(top.name)}"><span class="mono">{_e(top.name)}</span>'
        f' <span class="sub nowrap">{_e(_bytes(top.size_delta, sign=True))}</span></td>'
        if top
        else '<td data-sort="">\u2013</td>'
    )
    measured = result.measured
    cells = [
        f'<td data-sort="{_e(result.nodeid)}">{name}</td>',
        f'<td data-sort="{_rank(result)}">{_verdict(result)}</td>',
        _num_cell(result.growth_kb if measured else None, kib(result.growth_kb)),
        _num_cell(result.limit_kb, kib(result.limit_kb)),
        _num_cell(result.per_call_bytes if measured else None, _bytes(result.per_call_bytes)),
        f'<td data-sort="{_SHAPE_RANK.get(result.shape, 3) if measured else ""}">'
        f"{_e(result.shape) if measured else chr(0x2013)}</td>",
        top_cell,
        _baseline_cell(comparison),
    ]
    return f'<tr data-index="{index}">{"".join(cells)}</tr>'


def _num_cell(value: float | None, text: str) -> str:
    if value is None or not math.isfinite(value):
        return '<td class="num" data-sort="">\u2013</td>'
    return f'<td class="num" data-sort="{value!r}">{_e(text)}</td>'


def _baseline_cell(comparison: Comparison | None) -> str:
    if comparison is None:
        return '<td class="num" data-sort="">\u2013</td>'
    delta = comparison.delta_kb
    badge = _status_badge(comparison)
    if delta is None:
        return f'<td class="num" data-sort="">{badge}</td>'
    return (
        f'<td class="num" data-sort="{delta!r}" title="{_e(comparison.message)}">'
        f"{_e(kib(delta, sign=True))} {badge}</td>"
    )


def _status_badge(comparison: Comparison) -> str:
    cls = {"regressed": "fail", "improved": "pass", "new": "none"}.get(comparison.status, "none")
    return f'<span class="badge {cls}">{_e(comparison.status)}</span>'


def _section(
    index: int, result: MemguardResult, comparison: Comparison | None, *, many: bool
) -> str:
    failed = not result.passed
    is_open = " open" if failed or not many or (comparison and comparison.regressed) else ""
    label = f' <span class="sub">{_e(result.sublabel)}</span>' if result.sublabel else ""
    stats = [
        ("Growth", kib(result.growth_kb) if result.measured else "\u2013"),
        ("Limit", kib(result.limit_kb)),
        ("Per call", _bytes(result.per_call_bytes) if result.measured else "\u2013"),
        ("Shape", result.shape if result.measured else "\u2013"),
        ("Calls", f"{result.iterations:,}"),
        ("Warm-up", f"{result.warmup:,}"),
    ]
    if comparison is not None:
        stats.append(("Baseline", comparison.status))
    if result.scan:
        stats.append(("Scan", result.scan))
    if result.statuses:
        codes = ", ".join(f"{code} \u00d7{n:,}" for code, n in sorted(result.statuses.items()))
        stats.append(("Status codes", codes))
    stat_html = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in stats)
    parts = [
        f'<section class="test" id="t{index}"><details{is_open}>',
        f'<summary>{_verdict(result)}<h2 class="mono">{_e(result.nodeid or "(unnamed)")}</h2>'
        f"{label}</summary>",
        '<div class="body">',
    ]
    if result.reason:
        parts.append(f'<p class="reason">{_e(result.reason)}</p>')
    parts.append(f'<dl class="stats">{stat_html}</dl>')
    if comparison is not None:
        parts.append(f'<p class="sub">{_e(comparison.message)}</p>')
    parts.append('<div class="panels"><div><h3>Retained memory per call</h3>')
    parts.append(chart_svg(result, chart_id=f"c{index}"))
    parts.append("</div><div><h3>Growing types</h3>")
    parts.append(_types_table(result))
    if result.resources:
        parts.append("<h3>Open resources</h3>")
        parts.append(_resources_table(result))
    parts.append("</div></div>")
    if result.explanation:
        parts.append("<h3>Explanation</h3>")
        parts.append(f"<pre>{_e(chr(10).join(result.explanation))}</pre>")
    if result.rejudged:
        parts.append(f'<p class="sub">{_e(result.rejudged)}</p>')
    for count in result.failed_resources:
        parts.append(f"<h3>{_e(count.key)}</h3>")
        parts.append(f'<p class="reason">{_e(count.reason)}</p>')
        if count.explanation:
            parts.append(f"<pre>{_e(chr(10).join(count.explanation))}</pre>")
    parts.append("</div></details></section>")
    return "\n".join(parts)


def _types_table(result: MemguardResult) -> str:
    if not result.types:
        return '<p class="empty">No growing types were recorded.</p>'
    rows = "".join(
        f'<tr><td class="mono">{_e(t.name)}</td><td class="num">{t.count_delta:+,}</td>'
        f'<td class="num">{_e(_bytes(t.size_delta, sign=True))}</td>'
        f'<td class="sub">{_e(t.source)}</td></tr>'
        for t in result.types
    )
    return (
        '<table class="types"><thead><tr><th scope="col">Type</th>'
        '<th scope="col" class="num">Objects</th><th scope="col" class="num">Size</th>'
        f'<th scope="col">Source</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _resources_table(result: MemguardResult) -> str:
    """Each count beside the memory chart: its growth over the bound, shape and series."""
    rows = "".join(
        f'<tr><td class="mono">{_e(r.key)}</td>'
        f'<td class="num">{r.growth:+,}</td><td class="num">{r.bound:,}</td>'
        f"<td>{_e(r.shape)}</td>"
        f"<td>{'' if r.passed else chr(0x2717) + ' '}{_sparkline(r.series)}</td></tr>"
        for r in result.resources
    )
    return (
        '<table class="types resources"><thead><tr><th scope="col">Count</th>'
        '<th scope="col" class="num">Growth</th><th scope="col" class="num">Bound</th>'
        f'<th scope="col">Shape</th><th scope="col">Per call</th></tr></thead><tbody>{rows}'
        "</tbody></table>"
    )


def _sparkline(series: Sequence[int], width: int = 120, height: int = 20) -> str:
    """The count after each call as a small line (numbers only: nothing to escape)."""
    if not series:
        return "\u2013"
    points = downsample([(float(i), float(v)) for i, v in enumerate(series)])
    lo = min(y for _, y in points)
    hi = max(max(y for _, y in points), lo + 1)
    last = max(len(series) - 1, 1)
    coords = " ".join(
        f"{x / last * width:.1f},{height - (y - lo) / (hi - lo) * height:.1f}" for x, y in points
    )
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="from {int(lo)} to {int(points[-1][1])}"><polyline fill="none"'
        f' stroke="currentColor" points="{coords}"/></svg>'
    )


def downsample(
    points: Sequence[tuple[float, float]], limit: int = MAX_POINTS
) -> list[tuple[float, float]]:
    """At most ``limit`` points that keep the first, the last and every bucket's min and max.

    Min/max buckets keep the spikes a plain stride would drop, so a short burst of retention
    still shows in a 100 000-call run.
    """
    if len(points) <= limit:
        return list(points)
    first, last, middle = points[0], points[-1], points[1:-1]
    buckets = max(1, (limit - 2) // 2)
    out = [first]
    size = len(middle) / buckets
    for b in range(buckets):
        chunk = middle[int(b * size) : int((b + 1) * size)]
        if not chunk:
            continue
        low = min(range(len(chunk)), key=lambda i: chunk[i][1])
        high = max(range(len(chunk)), key=lambda i: chunk[i][1])
        out.extend(chunk[i] for i in sorted({low, high}))
    out.append(last)
    return out


def plateau_level(series_kb: Sequence[float]) -> float:
    """The level a plateau settled at: the mean of the last quarter of the calls."""
    tail = series_kb[-max(1, len(series_kb) // 4) :]
    return sum(tail) / len(tail)


def chart_svg(result: MemguardResult, *, chart_id: str = "chart") -> str:
    """The growth curve as an inline SVG: retained KiB after each measured call.

    A dashed line marks the limit, a dotted one the plateau level when the shape is plateau,
    and the curve starts at (0, 0) since retention is measured from the end of warm-up.
    """
    if not result.series:
        return '<p class="empty">No samples: this run was not measured.</p>'
    values = [b / 1024 for b in result.series]
    n = len(values)
    limit = result.limit_kb if math.isfinite(result.limit_kb) and result.limit_kb > 0 else None
    plateau = plateau_level(values) if result.shape == "plateau" else None
    marks = [v for v in (limit, plateau) if v is not None]
    y_ticks = _ticks(min(0.0, *values), max(0.0, *values, *marks) * 1.05 or 1.0)
    y_lo, y_hi = y_ticks[0], y_ticks[-1]
    x_ticks = [t for t in _ticks(0, n, integer=True) if t <= n]
    x_hi = max(float(n), x_ticks[-1])
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def sx(x: float) -> float:
        return _LEFT + x / x_hi * plot_w

    def sy(y: float) -> float:
        return _TOP + (y_hi - y) / (y_hi - y_lo) * plot_h

    tone = "ok" if result.passed or not result.measured else "bad"
    points = downsample([(0.0, 0.0), *((i + 1.0, v) for i, v in enumerate(values))])
    coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
    zero = sy(0.0)
    area = f"{sx(0):.1f},{zero:.1f} {coords} {sx(points[-1][0]):.1f},{zero:.1f}"
    out = [
        f'<svg class="chart" id="{_e(chart_id)}" viewBox="0 0 {_W} {_H}" width="{_W}" '
        f'height="{_H}" role="img" aria-labelledby="{_e(chart_id)}-t" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{_e(chart_id)}-t">Retained KiB after each of {n:,} measured calls; '
        f"final {_e(kib(values[-1]))}</title>",
    ]
    out.extend(_axes(sx, sy, y_ticks, x_ticks, warmup=result.warmup))
    out.append(f'<polygon class="area {tone}" points="{area}"/>')
    out.append(f'<polyline class="curve {tone}" points="{coords}"/>')
    out.extend(_marks(sx, sy, n, plateau=plateau, limit=limit))
    end_x, end_y = sx(n), sy(values[-1])
    out.append(
        f'<circle class="{tone}" cx="{end_x:.1f}" cy="{end_y:.1f}" r="3.5"/>'
        f'<text class="end-label halo" x="{end_x - 8:.1f}" y="{end_y - 8:.1f}" '
        f'text-anchor="end">{_e(kib(values[-1]))}</text>'
    )
    out.append("</svg>")
    return "\n".join(out)


Scale = Callable[[float], float]


def _axes(
    sx: Scale, sy: Scale, y_ticks: Sequence[float], x_ticks: Sequence[float], *, warmup: int
) -> list[str]:
    """The chart's grid, ticks, axes and axis titles."""
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    bottom, right, zero = _TOP + plot_h, _LEFT + plot_w, sy(0.0)
    out = []
    for t in y_ticks:
        y = sy(t)
        out.append(
            f'<line class="grid" x1="{_LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}"/>'
            f'<text x="{_LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{_e(_tick(t))}</text>'
        )
    for t in x_ticks:
        x = sx(t)
        out.append(
            f'<line class="axis" x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 5}"/>'
            f'<text x="{x:.1f}" y="{bottom + 18}" text-anchor="middle">{_e(_tick(t))}</text>'
        )
    out.append(
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{bottom}"/>'
        f'<line class="axis" x1="{_LEFT}" y1="{zero:.1f}" x2="{right}" y2="{zero:.1f}"/>'
        f'<text x="{_LEFT + plot_w / 2:.0f}" y="{_H - 6}" text-anchor="middle">'
        f"measured call (after {warmup:,} warm-up)</text>"
        f'<text x="14" y="{_TOP + plot_h / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {_TOP + plot_h / 2:.0f})">retained KiB</text>'
    )
    return out


def _marks(
    sx: Scale, sy: Scale, n: int, *, plateau: float | None, limit: float | None
) -> list[str]:
    """The dotted plateau level (over the tail) and the dashed limit."""
    right = _W - _RIGHT
    out = []
    if plateau is not None:
        start = sx(n / 2)
        y = sy(plateau)
        out.append(
            f'<line class="plateau" x1="{start:.1f}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}"/>'
            f'<text class="plateau-label halo" x="{right - 4}" y="{y + 16:.1f}" '
            'text-anchor="end">'
            f"plateau \u2248 {_e(kib(plateau))}</text>"
        )
    if limit is not None:
        y = sy(limit)
        out.append(
            f'<line class="limit" x1="{_LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}"/>'
            f'<text class="limit-label halo" x="{_LEFT + 6}" y="{y - 6:.1f}">'
            f"limit {_e(kib(limit))}</text>"
        )
    return out


def _ticks(lo: float, hi: float, *, integer: bool = False, count: int = 5) -> list[float]:
    """Round tick values covering ``[lo, hi]``: steps of 1, 2, 2.5 or 5 times a power of ten."""
    span = hi - lo
    if span <= 0:
        span = 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    start = math.floor(lo / step) * step
    stop = math.ceil(hi / step) * step
    count_ticks = round((stop - start) / step)
    return [start + k * step for k in range(count_ticks + 1)]


def _tick(value: float) -> str:
    return f"{round(value, 6):,g}" if abs(value) < 1e6 else f"{value:,.0f}"


def _bytes(value: float, *, sign: bool = False) -> str:
    if not math.isfinite(value):
        return "\u2013"
    if abs(value) >= BYTES_UP_TO:
        return kib(value / 1024, sign=sign)
    return f"{value:+,.0f} B" if sign else f"{value:,.0f} B"
