# test_report_render.py - the HTML posture report (docs/report.md) of a
# seeded fleet rendered by a real browser: headless Chromium opens the file
# the CLI wrote from a file:// URL, with every host name unresolvable, takes
# a screenshot and dumps the DOM. The page must render (a PNG of the window's
# size that is not a blank page), the DOM must hold the report's headings,
# every finding and the SVG trend, the console must stay silent and the page
# must ask the network for nothing (Chromium's net log, filtered to requests
# the file:// page made). A control page with a script error and an external
# image shows that these checks see what they look for.
import json
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser

import pytest

from test_report_posture import report, seeded  # noqa: F401 (the seeded fleet fixture)
from tollgate_e2e import SLOW, cli_env, run_cli

CHROMIUM = shutil.which("chromium")
WIDTH, HEIGHT = 1200, 2000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed (scripts/deps.sh --test installs it)")


class Render:
    """What one headless Chromium run left: its exit status, the DOM, the
    screenshot, the console lines of its log and the page's network loads."""

    def __init__(self, proc, png: bytes, console, page_loads):
        self.returncode, self.dom, self.stderr = proc.returncode, proc.stdout, proc.stderr
        self.png, self.console, self.page_loads = png, console, page_loads


def render(page, tmp_path) -> Render:
    """Opens the file page in a fresh headless Chromium profile with no
    network (every host name maps to nothing) and no background services."""
    shot, netlog = tmp_path / "shot.png", tmp_path / "net.json"
    args = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
            "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--disable-default-apps", '--host-resolver-rules=MAP * ~NOTFOUND',
            "--enable-logging=stderr", "--v=0", f"--log-net-log={netlog}", f"--window-size={WIDTH},{HEIGHT}",
            f"--screenshot={shot}", "--dump-dom", page.resolve().as_uri()]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=180 * SLOW)
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    png = shot.read_bytes() if shot.exists() else b""
    return Render(proc, png, console, page_network_loads(netlog))


def page_network_loads(netlog):
    """URLs that a file:// page asked the network stack for. Chromium's own
    background requests (updates, accounts) belong to no file:// page."""
    if not netlog.exists():
        return ["(no net log written)"]
    log = json.loads(netlog.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [e["params"]["url"] for e in log["events"]
            if e["type"] == start_job and e.get("params", {}).get("network_isolation_key", "").startswith("file://")]


def png_chunks(data: bytes):
    assert data[:8] == PNG_SIGNATURE, data[:16]
    pos = 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        yield kind, data[pos + 8:pos + 8 + length]
        pos += 12 + length


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def unfilter_row(kind, row: bytearray, prev: bytearray, bpp: int):
    """Undoes one scanline's PNG filter (RFC 2083 section 6) in place."""
    if kind == 0:
        return
    for i in range(len(row)):
        a = row[i - bpp] if i >= bpp else 0
        c = prev[i - bpp] if i >= bpp else 0
        row[i] = (row[i] + (a, prev[i], (a + prev[i]) >> 1, paeth(a, prev[i], c))[kind - 1]) & 0xFF


def png_decode(data: bytes):
    """(width, height, set of distinct pixels, share of pixels unlike the
    first one) of an 8-bit RGB/RGBA non-interlaced PNG."""
    chunks = list(png_chunks(data))
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * bpp
    assert len(raw) == height * (stride + 1)
    prev, pixels = bytearray(stride), set()
    background, other = None, 0
    for y in range(height):
        row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        unfilter_row(raw[y * (stride + 1)], row, prev, bpp)
        for x in range(0, stride, bpp):
            px = bytes(row[x:x + bpp])
            pixels.add(px)
            background = px if background is None else background
            other += px != background
        prev = row
    return width, height, pixels, other / (width * height)


class Dom(HTMLParser):
    def __init__(self, text):
        super().__init__()
        self.tags, self.text, self.headings, self._heading = [], [], [], None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._heading = [] if tag in ("h1", "h2") else self._heading

    def handle_endtag(self, tag):
        if tag in ("h1", "h2") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None

    def handle_data(self, data):
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)


def assert_rendered(r: Render):
    """Chromium exited 0 and wrote a screenshot of the window; returns the
    distinct pixels and the share of pixels unlike the background."""
    assert r.returncode == 0, r.stderr[-4000:]
    width, height, pixels, drawn = png_decode(r.png)
    assert (width, height) == (WIDTH, HEIGHT)
    return pixels, drawn


def test_html_report_renders_in_headless_chromium(seeded, tmp_path):  # noqa: F811 (the fixture)
    page = tmp_path / "posture.html"
    p = run_cli(["report", "posture", "--format", "html", "--output", str(page)], cli_env(seeded))
    assert p.returncode == 0, p.stderr
    rep = report(seeded)
    r = render(page, tmp_path)
    pixels, drawn = assert_rendered(r)
    # a blank page is one colour; text, tables and the chart's lines are many
    assert len(pixels) > 64 and drawn > 0.01, (len(pixels), drawn)
    assert r.console == [], r.console
    assert r.page_loads == [], r.page_loads
    dom = Dom(r.dom)
    assert dom.headings[0] == "Tollgate NHI posture report", dom.headings
    assert {"Shares", "Trend", f"Findings ({len(rep['findings'])})", "Mappings"} <= set(dom.headings), dom.headings
    assert any(h.startswith("Inventory (") for h in dom.headings), dom.headings
    assert "svg" in dom.tags and dom.tags.count("polyline") == len(rep["shares"]), dom.tags
    text = " ".join(dom.text)
    kinds = {f["kind"] for f in rep["findings"]}
    assert {"owner_missing", "key_rotation_overdue", "identity_unused", "unused_permissions"} <= kinds
    for f in rep["findings"]:
        assert f["kind"] in text and f["subject"]["id"] in text, f
    assert "script" not in dom.tags


def test_html_report_fits_the_window_width(seeded, tmp_path):  # noqa: F811 (the fixture)
    # Long evidence and suggested policies wrap inside their cells: the page
    # needs no horizontal scrolling at 1200 px. A copy of the report with a
    # one-line script that writes the overflow into the DOM measures it.
    page = tmp_path / "posture.html"
    p = run_cli(["report", "posture", "--format", "html", "--output", str(page)], cli_env(seeded))
    assert p.returncode == 0, p.stderr
    measured = tmp_path / "measured.html"
    probe = ("<script>var e = document.documentElement;"
             "document.body.setAttribute('data-overflow', e.scrollWidth - e.clientWidth);</script></body>")
    measured.write_text(page.read_text().replace("</body>", probe))
    r = render(measured, tmp_path)
    assert_rendered(r)
    overflow = re.search(r'data-overflow="(-?\d+)"', r.dom)
    assert overflow is not None, r.dom[:2000]
    assert int(overflow.group(1)) <= 0, f"the report is {overflow.group(1)} px wider than the window"


def test_the_checks_see_console_errors_and_network_loads(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<!doctype html><html><body><h1>control</h1><p>some text to draw</p>'
                    '<img src="https://tollgate.invalid/logo.png" alt="logo">'
                    '<script>console.error("control error"); no_such_function();</script></body></html>')
    r = render(page, tmp_path)
    assert_rendered(r)
    assert any("Uncaught ReferenceError" in line for line in r.console), r.stderr[-4000:]
    assert any("control error" in line for line in r.console), r.console
    assert r.page_loads == ["https://tollgate.invalid/logo.png"], r.page_loads
