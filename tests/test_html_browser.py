"""The HTML report in a real browser: it renders, draws its charts, sorts, and logs no errors.

Needs Chromium (``apt-get install -y chromium``).  Without it these tests are skipped with the
reason and that command, so the suite passes on a fresh machine; CI sets
``MEMGUARD_REQUIRE_BROWSER=1``, which makes a missing browser a failure, so a CI image that
lost the browser is noticed.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from pytest_memguard.baseline import Baseline, BaselineEntry, baseline_key, compare
from pytest_memguard.report.html import render_html
from pytest_memguard.report.json import run_metadata
from pytest_memguard.result import MemguardResult, TypeGrowth

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
WIDTH, HEIGHT = 1200, 2000


REQUIRE_BROWSER = "MEMGUARD_REQUIRE_BROWSER"
INSTALL = "apt-get install -y chromium"
CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")


def find_chromium() -> str:
    """Chromium's path; skip without it, or fail where ``MEMGUARD_REQUIRE_BROWSER=1`` (CI)."""
    for candidate in CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    reason = (
        "Chromium is not installed, so the HTML report cannot be checked in a browser;"
        f" install it with `{INSTALL}`"
    )
    if os.environ.get(REQUIRE_BROWSER) == "1":
        pytest.fail(f"{reason} ({REQUIRE_BROWSER}=1 requires it)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> str:
    return find_chromium()


def test_without_chromium_the_browser_tests_skip_saying_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv(REQUIRE_BROWSER, raising=False)
    with pytest.raises(pytest.skip.Exception, match=re.escape(INSTALL)):
        find_chromium()


def test_where_the_browser_is_required_its_absence_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv(REQUIRE_BROWSER, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{re.escape(INSTALL)}.*{REQUIRE_BROWSER}=1"):
        find_chromium()


def test_an_installed_chromium_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        shutil, "which", lambda name: f"/opt/bin/{name}" if name == "chromium" else None
    )
    assert find_chromium() == "/opt/bin/chromium"


def results() -> list[MemguardResult]:
    flat = MemguardResult(
        passed=True,
        growth_kb=0.1,
        limit_kb=64.0,
        iterations=200,
        warmup=20,
        per_call_bytes=0.5,
        shape="flat",
        reason="retained 0.1 KiB after 200 calls; flat",
        series=tuple(int(100 + 50 * math.sin(i / 7)) for i in range(200)),
        nodeid="tests/test_api.py::test_parse_small",
    )
    plateau_series = tuple(min(i, 60) * 300 + (i % 5) * 40 for i in range(200))
    plateau = MemguardResult(
        passed=True,
        growth_kb=plateau_series[-1] / 1024,
        limit_kb=64.0,
        iterations=200,
        warmup=20,
        per_call_bytes=90.0,
        shape="plateau",
        reason="retained 17.6 KiB, level after call 60 (a cache filled); within 64.0 KiB",
        types=(TypeGrowth("dict", 60, 14000), TypeGrowth("str", 120, 4000, "objgraph")),
        series=plateau_series,
        nodeid="tests/test_api.py::test_cached_lookup[en-US]",
    )
    growing_series = tuple(i * 410 + (i % 3) * 90 for i in range(1, 401))
    growing = MemguardResult(
        passed=False,
        growth_kb=growing_series[-1] / 1024,
        limit_kb=64.0,
        iterations=400,
        warmup=20,
        per_call_bytes=410.0,
        shape="growing",
        reason="retained memory rose in every window: 410 B/call, over 64.0 KiB by call 160",
        types=(
            TypeGrowth("Session", 400, 96000, "objgraph"),
            TypeGrowth("dict", 400, 56000),
            TypeGrowth("list", 12, 800),
        ),
        series=growing_series,
        nodeid="tests/test_client.py::test_session_cache",
        label="run(fetch)",
        explanation=(
            "allocated at:",
            "  myapp/client.py:41: _SESSIONS[key] = Session(token=<redacted>)",
        ),
    )
    return [flat, plateau, growing]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    items = results()
    base = Baseline(
        "memguard-baseline.json",
        {"python": "3.11", "platform": "linux"},
        {
            baseline_key(items[0]): BaselineEntry(0.2),
            baseline_key(items[1]): BaselineEntry(17.0),
            baseline_key(items[2]): BaselineEntry(3.1, (TypeGrowth("dict", 3, 3000),)),
        },
    )
    document = render_html(
        items,
        metadata=run_metadata("0.1.0"),
        baseline_deltas={baseline_key(r): compare(base, r) for r in items},
    )
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(document, encoding="utf-8")
    return path


def browse(chromium: str, page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    profile = page.parent / f"profile-{len(list(page.parent.iterdir()))}"
    return subprocess.run(
        [
            chromium,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *extra,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def console(stderr: str) -> list[str]:
    return re.findall(r":CONSOLE[^\]]*\] (.*)", stderr)


def assert_no_page_errors(stderr: str) -> None:
    assert "Uncaught" not in stderr, console(stderr)
    assert "Content Security Policy" not in stderr, console(stderr)
    assert "Refused to" not in stderr, console(stderr)


def test_dom_has_charts_and_sorting_and_no_errors(chromium: str, report: Path) -> None:
    run = browse(chromium, report, "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    assert_no_page_errors(run.stderr)
    assert 'data-sortable="ready"' in dom  # the script ran (its CSP hash matched)
    assert dom.count('<svg class="chart"') == 3
    assert dom.count("<polyline") == 3
    assert dom.count('<line class="limit"') == 3
    assert dom.count('<line class="plateau"') == 1
    assert "tests/test_client.py::test_session_cache" in dom
    assert "regressed" in dom


def png_pixels(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, width, height, idat = 8, 0, 0, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def test_screenshot_is_rendered(chromium: str, report: Path) -> None:
    shot = report.parent / "report.png"
    run = browse(chromium, report, f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}")
    assert run.returncode == 0, run.stderr[-2000:]
    assert_no_page_errors(run.stderr)
    assert shot.is_file(), "no screenshot was written"
    width, height, pixels = png_pixels(shot)
    assert (width, height) == (WIDTH, HEIGHT)
    assert shot.stat().st_size > 30_000  # a blank page compresses to a few KiB
    row = len(pixels) // height
    distinct_rows = {pixels[y * row + 1 : (y + 1) * row] for y in range(0, height, 10)}
    assert len(distinct_rows) > 50  # text, tables and charts, not a blank or single-colour page
    assert len(set(pixels)) > 64


SORT_PROBE = """
<script>
function order() {
  return Array.prototype.map.call(
    document.querySelectorAll("#summary tbody tr"),
    function (row) { return row.cells[0].getAttribute("data-sort"); }).join(",");
}
function header(name) {
  return Array.prototype.filter.call(document.querySelectorAll("#summary th button"),
    function (b) { return b.textContent === name; })[0];
}
console.log("ORDER initial " + order());
header("Growth").click();
console.log("ORDER growth1 " + order());
header("Growth").click();
console.log("ORDER growth2 " + order());
header("Test").click();
console.log("ORDER test " + order());
header("Baseline \\u0394").click();
console.log("ORDER baseline " + order());
console.log("ARIA aria " + header("Baseline \\u0394").parentNode.getAttribute("aria-sort"));
</script>
"""


def test_clicking_headers_sorts_the_summary(chromium: str, report: Path) -> None:
    document = report.read_text(encoding="utf-8")
    # The probe is an inline script the report's Content Security Policy would block.
    document = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", document)
    probe = report.parent / "probe.html"
    probe.write_text(document.replace("</body>", SORT_PROBE + "</body>"), encoding="utf-8")
    run = browse(chromium, probe, "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    assert_no_page_errors(run.stderr)
    logged = dict(re.findall(r'"(?:ORDER|ARIA) (\w+) ?([^"]*)"', "\n".join(console(run.stderr))))
    flat = "tests/test_api.py::test_parse_small"
    plateau = "tests/test_api.py::test_cached_lookup[en-US]"
    growing = "tests/test_client.py::test_session_cache"
    assert logged["initial"] == f"{growing},{flat},{plateau}"  # failures first
    assert logged["growth1"] == f"{growing},{plateau},{flat}"  # numbers: largest first
    assert logged["growth2"] == f"{flat},{plateau},{growing}"
    assert logged["test"] == f"{plateau},{flat},{growing}"  # text: A to Z
    assert logged["baseline"] == f"{growing},{plateau},{flat}"
    assert logged["aria"] == "descending"


def test_csp_blocks_injected_scripts(chromium: str, report: Path) -> None:
    """Defence in depth: even markup that slipped past escaping could not run a script."""
    injected = report.parent / "injected.html"
    document = report.read_text(encoding="utf-8")
    evil = '<script>console.log("INJECTED RAN")</script>'
    injected.write_text(document.replace("</main>", evil + "</main>"), encoding="utf-8")
    run = browse(chromium, injected, "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "INJECTED RAN" not in "\n".join(console(run.stderr))
    assert "Content Security Policy" in run.stderr
    assert 'data-sortable="ready"' in run.stdout  # the report's own script still ran
