"""The browser UI served by `mattetrack serve`: its static files and guards (plain HTTP), its URL
(`ui_url`, `mattetrack ui-url`, `serve --open`), and the page itself driven by Playwright in
headless Debian chromium against a real server: clicks, negative points, boxes, propagation
with progress, shapes export, the page without a token.

The browser tests skip only when /usr/bin/chromium or the playwright package is missing; the
Makefile installs both.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np
import OpenImageIO as oiio
import pytest
from service_harness import FIRST, N_FRAMES, VIEWPORT, Client, H, W

from mattetrack import cli
from mattetrack.evaluation import iou
from mattetrack.service.auth import load_or_create_token
from mattetrack.service.browser import ui_url
from mattetrack.service.server import host_allowed

LAST = FIRST + N_FRAMES - 1


# -- plain HTTP: static files and guards ---------------------------------------------------------
def _get(url: str, path: str, headers: dict[str, str] | None = None,
         method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """A raw request (http.client sends the path exactly as given: no redirects, no '..'
    clean-up)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_static_files_served_without_token_with_csp(server):
    url, _ = server
    status, headers, body = _get(url, "/ui/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "img-src 'self' blob: data:" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert b'<script type="module" src="app.js">' in body and b"<script>" not in body
    for name, kind in (("app.js", "text/javascript"), ("api.js", "text/javascript"),
                       ("view.js", "text/javascript"), ("style.css", "text/css"),
                       ("index.html", "text/html"), ("icon.svg", "image/svg+xml")):
        status, headers, _ = _get(url, f"/ui/{name}")
        assert status == 200 and headers["content-type"].startswith(kind), name
    # `/` and `/ui` lead to the UI (the browser keeps the #token fragment across the redirect).
    for path in ("/", "/ui"):
        status, headers, _ = _get(url, path)
        assert status == 302 and headers["location"] == "/ui/"


def test_static_files_refuse_traversal_and_unknown_names(server):
    url, token = server
    for path in ("/ui/../auth.py", "/ui/../../service/auth.py", "/ui/..%2fauth.py",
                 "/ui/%2e%2e/auth.py", "/ui/%2e%2e%2fauth.py", "/ui/..", "/ui//etc/passwd",
                 "/ui/static/app.js", "/ui/nothere.js", "/ui/app.js/", "/ui/APP.JS",
                 "/ui/__init__.py", "/ui/./app.js"):
        status, headers, body = _get(url, path)
        assert status == 404, path
        assert "error" in json.loads(body) and headers["content-type"] == "application/json"
    status, _, body = _get(url, "/ui/", method="POST")
    assert status == 405 and "error" in json.loads(body)
    # The API still needs the token; the UI's files never open it.
    status, headers, _ = _get(url, "/v1/health")
    assert status == 401 and headers["x-content-type-options"] == "nosniff"
    assert _get(url, "/v1/health", {"Authorization": f"Bearer {token}"})[0] == 200


def test_foreign_host_header_is_403(server):
    """DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 sends
    `Host: evil.example`; refused on every path, token or not."""
    url, token = server
    port = urlsplit(url).port
    auth = {"Authorization": f"Bearer {token}"}
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}",
                 f"localhost.evil.example:{port}", "10.0.0.1"):
        for path, headers in (("/ui/", {}), ("/v1/health", auth), ("/", {})):
            status, _, body = _get(url, path, {"Host": host, **headers})
            assert status == 403 and "Host" in json.loads(body)["error"], (host, path)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", f"[::1]:{port}",
                 f"app.localhost:{port}", f"127.0.0.2:{port}", "localhost."):
        assert _get(url, "/v1/health", {"Host": host, **auth})[0] == 200, host


def test_host_guard_only_on_loopback():
    assert host_allowed("evil.example", "0.0.0.0")  # listening for the network: the token guards
    assert host_allowed("evil.example:80", "192.168.1.5")
    assert not host_allowed("evil.example", "127.0.0.1")
    assert not host_allowed("[fe80::1]:80", "::1")
    assert host_allowed("[::1]:8765", "::1") and host_allowed(None, "127.0.0.1")


# -- the UI's address ----------------------------------------------------------------------------
def test_ui_url_carries_token_and_shot_in_the_fragment():
    plate = "/shows/a b/plate.####.exr"
    url = ui_url("http://127.0.0.1:8765/v1/", "tok-en_/+=", plate, "1001-1010",
                 "/shows/a b/m.####.exr")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "127.0.0.1:8765", "/ui/")
    assert parts.query == ""  # never in the query: that reaches the server and its logs
    fields = parse_qs(parts.fragment, strict_parsing=True)
    assert fields == {"token": ["tok-en_/+="], "plate": [plate], "range": ["1001-1010"],
                      "output": ["/shows/a b/m.####.exr"]}
    assert ui_url("http://[::1]:9000", "t") == "http://[::1]:9000/ui/#token=t"


def test_ui_url_command(tmp_path, capsys):
    token, path = load_or_create_token(tmp_path / "cfg" / "token")
    assert cli.main(["ui-url", "--token-file", str(path), "--url", "http://127.0.0.1:9999",
                     "--plate", "/s/p.####.exr", "--range", "1-5", "--output", "/s/m.#.exr"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == ui_url("http://127.0.0.1:9999", token, "/s/p.####.exr", "1-5", "/s/m.#.exr")
    assert cli.main(["ui-url", "--token-file", str(path), "--range", "5-1"]) == 2
    assert cli.main(["ui-url", "--token-file", str(path), "--url", "127.0.0.1"]) == 2
    assert "--url" in capsys.readouterr().err


def test_serve_open_opens_the_ui_and_prints_no_token(tmp_path):
    """`serve --open` hands the UI's URL (token in the fragment) to the browser ($BROWSER here)
    once the server listens; stderr still shows no token. The stand-in browser loads the page
    before it exits, as launchers that wait for their browser do: the server must serve
    meanwhile."""
    opened = tmp_path / "opened.txt"
    script = ("import sys, pathlib, urllib.request; "
              "urllib.request.urlopen(sys.argv[1], timeout=20).read(); "
              "pathlib.Path(sys.argv[2]).write_text(sys.argv[1])")
    browser = f'{sys.executable} -c "{script}" %s {opened}'
    env = {**os.environ, "MATTETRACK_CONFIG": str(tmp_path / "cfg"), "BROWSER": browser}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mattetrack", "serve", "--root", str(tmp_path), "--port", "0",
         "--open"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stderr.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+)/v1", line).group(1)
        token = (tmp_path / "cfg" / "token").read_text().strip()
        assert token not in line
        deadline = time.monotonic() + 30
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert opened.read_text() == ui_url(url, token)
        assert _get(url, "/ui/")[0] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and out == "" and token not in err


# -- the page in headless chromium ---------------------------------------------------------------
class Prompts:
    """The prompt requests the page sends (their JSON bodies), as the server receives them."""

    def __init__(self, page) -> None:
        self.bodies: list[dict] = []
        page.on("request", self._seen)

    def _seen(self, request) -> None:
        if request.method == "POST" and request.url.endswith("/prompts"):
            self.bodies.append(json.loads(request.post_data))


def _open_ui(page, server, plate: str, fresh: bool = True, **fields: str) -> str:
    """Open the UI on `plate` through the fragment; the session id once its frame is shown.
    fresh: delete the server's sessions first (the UI reattaches to a plate's session, and
    tests share one server)."""
    url, token = server
    if fresh:
        client = Client(url, token)
        for s in client.ok("GET", "/v1/sessions")["sessions"]:
            client.ok("DELETE", f"/v1/sessions/{s['session']}")
    page.goto(ui_url(url, token, plate, fields.get("frame_range"), fields.get("output"),
                     mattes=fields.get("mattes")))
    page.wait_for_selector("#frame[data-frame]")
    assert "token" not in page.url  # dropped from the address bar...
    assert page.evaluate("sessionStorage.getItem('mattetrack.token')") == token  # ...kept here
    return page.get_attribute("body", "data-session")


def _css(page, x: float, y: float) -> dict[str, float]:
    """Display-window pixel (x, y) -> position in the stage element, CSS pixels."""
    box = page.locator("#stage").bounding_box()
    return {"x": x / W * box["width"], "y": y / H * box["height"]}


def _page_xy(page, x: float, y: float) -> tuple[float, float]:
    box = page.locator("#stage").bounding_box()
    pos = _css(page, x, y)
    return box["x"] + pos["x"], box["y"] + pos["y"]


def _seq(page) -> int:
    return int(page.get_attribute("#frame", "data-seq") or 0)


def _wait_preview(page, after: int, frame: int) -> None:
    """Until a preview newer than number `after` of `frame` is shown."""
    page.wait_for_function(
        """([after, frame]) => {
             const img = document.querySelector('#frame');
             return Number(img.dataset.seq) > after && img.dataset.frame === String(frame)
               && !document.querySelector('#stage').classList.contains('loading');
           }""", arg=[after, frame])


def _shown(page) -> np.ndarray:
    """The pixels of the preview on show (BGR, the PNG's own size), read through a canvas."""
    data_url = page.evaluate(
        """() => {
             const img = document.querySelector('#frame');
             const canvas = document.createElement('canvas');
             canvas.width = img.naturalWidth;
             canvas.height = img.naturalHeight;
             canvas.getContext('2d').drawImage(img, 0, 0);
             return canvas.toDataURL('image/png');
           }""")
    raw = base64.b64decode(data_url.split(",", 1)[1])
    return cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)


def _centroid(coverage: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(coverage > 0.5)
    x, y = float(xs.mean()) + 0.5, float(ys.mean()) + 0.5  # pixel centres are at +0.5
    assert coverage[int(y), int(x)] > 0.5  # the synthetic objects are round enough
    return x, y


def _background(coverage: np.ndarray) -> tuple[float, float]:
    """The pixel centre farthest from the object."""
    dist = cv2.distanceTransform((coverage < 0.01).astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return float(x) + 0.5, float(y) + 0.5


def _near(got: list[float], want: tuple[float, ...], tol: float = 2.0) -> bool:
    return len(got) == len(want) and all(abs(g - w) <= tol for g, w in zip(got, want, strict=True))


@pytest.mark.parametrize("width", [VIEWPORT["width"], 300], ids=["full-size", "downscaled"])
def test_click_shows_overlay_and_sends_the_point(page, server, plate, service_root, width):
    """A click at the object's centroid: the overlay appears on the object and the point sent
    is where the click was, at full resolution, also when the preview is smaller than the
    plate (a narrow window: max_side below the plate's width)."""
    _, truth = service_root
    page.set_viewport_size({"width": width, "height": VIEWPORT["height"]})
    prompts = Prompts(page)
    sid = _open_ui(page, server, plate)
    assert page.get_attribute("#frame", "data-frame") == str(FIRST)
    plain = _shown(page).astype(np.int16)
    ph, pw = plain.shape[:2]
    if width == VIEWPORT["width"]:
        assert (pw, ph) == (W, H)  # the stage is wider than the plate: a full-size preview
    else:
        assert pw < W * 0.95 and abs(ph / pw - H / W) < 0.02
    src = page.get_attribute("#frame", "src")
    seq = _seq(page)

    x, y = _centroid(truth[0])
    page.locator("#stage").click(position=_css(page, x, y))
    _wait_preview(page, seq, FIRST)
    new_src = page.get_attribute("#frame", "src")
    assert new_src.startswith("blob:") and new_src != src
    shown = _shown(page).astype(np.int16)
    assert shown.shape == plain.shape
    changed = np.abs(shown - plain).max(axis=2) > 8
    scale = pw / W  # preview pixels per plate pixel
    yy, xx = np.mgrid[:ph, :pw]
    around = (xx + 0.5 - x * scale) ** 2 + (yy + 0.5 - y * scale) ** 2 < (12 * scale) ** 2
    assert changed[around].mean() > 0.95  # the matte's tint around the click...
    obj = cv2.resize(truth[0], (pw, ph), interpolation=cv2.INTER_AREA)
    assert changed[obj >= 0.5].mean() > 0.9  # ...over the object...
    assert changed[obj < 0.05].mean() < 0.05  # ...and (edges aside) nowhere else

    assert len(prompts.bodies) == 1
    sent = prompts.bodies[0]
    assert sent["frame"] == FIRST and "negative" not in sent and "box" not in sent
    assert _near(sent["points"][0], (x, y)), (sent, x, y)
    info = Client(*server).ok("GET", f"/v1/sessions/{sid}")
    assert [o["keyframes"] for o in info["objects"]] == [[FIRST]]
    [held] = info["objects"][0]["prompts"]  # what the service holds: the point clicked
    assert held["points"] == sent["points"] and _near(held["points"][0], (x, y))
    assert page.locator("#marks circle[data-kind=positive]").count() == 1
    if width != VIEWPORT["width"]:
        seq = _seq(page)
        page.set_viewport_size(VIEWPORT)  # the stage grows: a sharper preview is fetched
        _wait_preview(page, seq, FIRST)
        assert _shown(page).shape == (H, W, 3)


def test_alt_click_and_mode_toggle_send_negative_points(page, server, plate, service_root):
    _, truth = service_root
    prompts = Prompts(page)
    sid = _open_ui(page, server, plate)
    x, y = _centroid(truth[0])
    seq = _seq(page)
    page.locator("#stage").click(position=_css(page, x, y))
    _wait_preview(page, seq, FIRST)

    bx, by = _background(truth[0])
    seq = _seq(page)
    page.locator("#stage").click(position=_css(page, bx, by), modifiers=["Alt"])
    _wait_preview(page, seq, FIRST)
    sent = prompts.bodies[-1]
    assert "points" not in sent and _near(sent["negative"][0], (bx, by)), sent
    assert page.locator("#marks circle[data-kind=negative]").count() == 1

    page.check("input[name=mode][value=negative]")  # the toggle, without a modifier key
    seq = _seq(page)
    page.locator("#stage").click(position=_css(page, bx, H - by))
    _wait_preview(page, seq, FIRST)
    assert "points" not in prompts.bodies[-1] and len(prompts.bodies[-1]["negative"]) == 1
    assert page.locator("#marks circle[data-kind=negative]").count() == 2
    info = Client(*server).ok("GET", f"/v1/sessions/{sid}")
    assert [o["keyframes"] for o in info["objects"]] == [[FIRST]]


def test_only_negative_clicks_say_why_nothing_is_selected(page, server, plate, service_root):
    """A first click that is negative selects nothing: the status line says so (and what to do)
    and the frame is shown without an overlay, rather than an empty matte passing for one."""
    _, truth = service_root
    _open_ui(page, server, plate)
    plain = _shown(page).astype(np.int16)
    bx, by = _background(truth[0])
    seq = _seq(page)
    page.locator("#stage").click(position=_css(page, bx, by), modifiers=["Alt"])
    _wait_preview(page, seq, FIRST)
    page.wait_for_selector("#status[data-kind=error]")
    assert "all negative" in page.inner_text("#status")
    assert np.abs(_shown(page).astype(np.int16) - plain).max() <= 1


def test_drag_sends_a_box_on_the_frame_shown(page, server, plate, service_root):
    _, truth = service_root
    prompts = Prompts(page)
    sid = _open_ui(page, server, plate)
    frame = FIRST + 2
    seq = _seq(page)
    page.locator("#stage").focus()
    page.keyboard.press("ArrowRight")  # the keyboard scrubs
    page.keyboard.press("ArrowRight")
    _wait_preview(page, seq, frame)
    plain = _shown(page).astype(np.int16)
    assert page.input_value("#frame-number") == str(frame)

    ys, xs = np.nonzero(truth[2] >= 0.5)
    want = (xs.min() - 4.0, ys.min() - 4.0, xs.max() + 5.0, ys.max() + 5.0)
    seq = _seq(page)
    page.mouse.move(*_page_xy(page, want[2], want[3]))  # dragged up-left: corners sorted
    page.mouse.down()
    page.mouse.move(*_page_xy(page, want[0], want[1]), steps=8)
    page.mouse.up()
    _wait_preview(page, seq, frame)
    sent = prompts.bodies[-1]
    assert sent["frame"] == frame and "points" not in sent and "negative" not in sent
    assert _near(sent["box"], want), (sent, want)
    assert page.locator("#marks rect[data-kind=box]").count() == 1
    info = Client(*server).ok("GET", f"/v1/sessions/{sid}")
    assert [o["keyframes"] for o in info["objects"]] == [[frame]]
    assert _near(info["objects"][0]["prompts"][0]["box"], want)
    changed = np.abs(_shown(page).astype(np.int16) - plain).max(axis=2) > 8
    assert changed[truth[2] >= 0.5].mean() > 0.8


def test_propagate_with_progress_then_export_shapes(page, server, plate, service_root):
    root, truth = service_root
    out = root / f"out_ui_{uuid.uuid4().hex[:8]}"
    _open_ui(page, server, plate)
    page.fill("#object-name", "blob")
    page.click("#object-form button")
    page.wait_for_selector("#objects li[aria-selected=true] >> text=blob")
    x, y = _centroid(truth[0])
    seq = _seq(page)
    page.locator("#stage").click(position=_css(page, x, y))
    _wait_preview(page, seq, FIRST)

    page.fill("#output", str(out / "m.####.exr"))
    started = time.perf_counter()
    page.click("#propagate")
    page.wait_for_selector("#progress[data-state=done]", timeout=120_000)
    seconds = time.perf_counter() - started
    assert page.evaluate("[document.querySelector('#progress').value, "
                         "document.querySelector('#progress').max]") == [N_FRAMES, N_FRAMES]
    assert "100%" in page.inner_text("#progress-text")
    assert "Done" in page.inner_text("#status"), page.inner_text("#status")
    assert page.is_disabled("#cancel") and page.is_enabled("#propagate")
    print(f"propagated {N_FRAMES} frames through the UI in {seconds:.1f} s")

    files = sorted(out.glob("m.*.exr"))
    assert [f.name for f in files] == [f"m.{f:04d}.exr" for f in range(FIRST, LAST + 1)]
    for i, path in enumerate(files):
        inp = oiio.ImageInput.open(str(path))
        assert inp is not None, oiio.geterror()
        names = list(inp.spec().channelnames)
        assert "blob.A" in names, names
        channel = names.index("blob.A")
        matte = inp.read_image(0, 0, channel, channel + 1, "float")[:, :, 0]
        inp.close()
        if i == N_FRAMES - 1:
            assert iou(matte >= 0.5, truth[i] >= 0.5) > 0.7

    # The scrubber now shows the propagated mattes: the last frame has no prompt of its own.
    seq = _seq(page)
    page.locator("#stage").focus()
    page.keyboard.press("End")
    _wait_preview(page, seq, LAST)
    shown = _shown(page).astype(np.int16)
    bare = Client(*server)
    other = bare.ok("POST", "/v1/sessions", {"plate": plate}, 201)["session"]
    with bare.request("GET", f"/v1/sessions/{other}/preview?frame={LAST}") as resp:
        plain = cv2.imdecode(np.frombuffer(resp.read(), np.uint8), cv2.IMREAD_COLOR)
    bare.ok("DELETE", f"/v1/sessions/{other}")
    changed = np.abs(shown - plain.astype(np.int16)).max(axis=2) > 8
    assert changed[truth[-1] >= 0.5].mean() > 0.8

    # The menu is the service's shape-format table, in its order.
    from mattetrack.shapes.formats import service_formats

    page.wait_for_function("() => document.querySelectorAll('#shape-format option').length > 0")
    menu = page.eval_on_selector_all("#shape-format option", "els => els.map(e => e.value)")
    assert menu == list(service_formats())
    page.select_option("#shape-format", "nuke")
    assert page.input_value("#shape-output") == str(out / "roto.nk")
    page.click("#export")
    # Functions, not expressions: the page's CSP forbids eval, which expressions need.
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.startsWith('Exported')")
    assert (out / "roto.nk").is_file()
    page.select_option("#shape-format", "json")
    page.click("#export")
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.includes('roto.json')")
    doc = json.loads((out / "roto.json").read_text())
    assert [o["name"] for o in doc["objects"]] == ["blob"]

    # The clean plate from the same mattes: a copy of each plate frame, the object filled in.
    assert page.input_value("#clean-output") == str(Path(plate).parent / "clean" /
                                                    Path(plate).name)
    page.fill("#clean-output", str(out / "clean.####.exr"))
    page.click("#remove")
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.startsWith('Clean plate: 8')",
        timeout=120_000)
    cleaned = sorted(p.name for p in out.glob("clean.*.exr"))
    assert cleaned == [f"clean.{f:04d}.exr" for f in range(FIRST, LAST + 1)]
    buf = oiio.ImageBuf(str(out / f"clean.{LAST:04d}.exr"))
    clean = buf.get_pixels(oiio.FLOAT)
    original = oiio.ImageBuf(plate.replace("####", f"{LAST:04d}")).get_pixels(oiio.FLOAT)
    assert buf.spec().format == oiio.HALF and clean.shape == original.shape
    far = cv2.dilate((truth[-1] > 0.01).astype(np.uint8), np.ones((25, 25), np.uint8)) == 0
    np.testing.assert_array_equal(clean[far], original[far])  # untouched away from the object
    assert np.abs(clean - original)[truth[-1] >= 0.5].mean() > 0.02  # the object is gone
    # The same removal sent to the farm: a bundle in the Send to farm folder, 3 frames a task.
    page.fill("#clean-output", str(out / "farm_clean.####.exr"))
    status = _send_to_farm(page, "#remove-farm", out / "clean_job", 3, "Clean plate farm job:")
    assert "3 task(s) over 8 frame(s)" in status and "openjd run" in status, status
    template = (out / "clean_job" / "template.yaml").read_text()
    assert f"{FIRST}-{FIRST + 2}" in template and "--object" in template
    assert "--foreground" not in template

    # What each object is in the clean plate: removed (the default), in front, or as is. A new
    # object set in front goes to the service as the removal's foreground (refused here: it
    # has no propagated mattes yet); none removed is said before anything is asked.
    assert page.eval_on_selector_all("#clean-roles select", "els => els.map(e => e.value)") \
        == ["remove"]
    page.fill("#object-name", "corner")
    page.click("#object-form button")
    page.wait_for_selector("#clean-roles li >> text=corner")
    roles = page.locator("#clean-roles select")
    roles.nth(1).select_option("front")
    page.click("#remove")
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.includes('foreground:')")
    assert "'corner' is not an object with up-to-date mattes" in page.inner_text("#status")
    roles.nth(0).select_option("keep")
    page.click("#remove")
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.includes('at least one')")
    assert page.inner_text("#status") == \
        "Error: Clean plate: set at least one object to Removed"


def _send_to_farm(page, button: str, job: Path | str, chunk: int, says: str) -> str:
    """Fill the Send to farm section (the bundle's folder, frames per task), click `button`
    and wait for the status line to start with `says`; the status line."""
    page.fill("#farm-job", str(job))
    page.fill("#farm-chunk", str(chunk))
    page.click(button)
    page.wait_for_function("(says) => document.querySelector('#status').textContent"
                           ".startsWith(says)", arg=says, timeout=15_000)
    return page.inner_text("#status")


def test_without_token_the_page_says_where_to_get_one(page, server):
    url, _ = server
    page.goto(f"{url}/ui/#plate=/x/p.####.exr")
    notice = page.locator("#no-token")
    notice.wait_for(state="visible")
    assert "mattetrack serve --open" in notice.inner_text()
    assert "mattetrack ui-url" in notice.inner_text()
    assert page.is_hidden("#workspace")
    assert page.evaluate("sessionStorage.getItem('mattetrack.token')") is None


def test_root_redirect_keeps_the_fragment(page, server, plate):
    """`http://host:port/#token=...` (the shortest link) reaches the UI with the token."""
    url, token = server
    page.goto(f"{url}/#token={token}&plate={plate.replace('#', '%23')}")
    page.wait_for_selector("#frame[data-frame]")
    assert urlsplit(page.url).path == "/ui/" and "token" not in page.url
    assert page.input_value("#plate") == plate


def test_api_error_shows_in_the_status_line(page, server, service_root):
    root, _ = service_root
    url, token = server
    page.goto(ui_url(url, token, str(root / "nowhere" / "p.####.exr")))
    page.wait_for_selector("#status[data-kind=error]")
    assert "nowhere" in page.inner_text("#status")
    assert page.is_hidden("#workspace")


def test_static_folder_has_only_served_kinds():
    """Every file in the static folder is one the server hands out (nothing private there)."""
    from mattetrack.service.browser import CONTENT_TYPES, STATIC_DIR

    names = sorted(os.listdir(STATIC_DIR))
    assert {"index.html", "app.js", "api.js", "view.js", "style.css"} <= set(names)
    assert all(Path(n).suffix in CONTENT_TYPES for n in names), names


def test_ctrl_drag_paints_a_stroke_and_the_timeline_leads_to_frames_to_correct(
        page, server, plate, service_root):
    root, truth = service_root
    prompts = Prompts(page)
    sid = _open_ui(page, server, plate)
    ys, xs = np.nonzero(truth[0] >= 0.5)
    cy = float(np.median(ys))
    x0, x1 = float(xs[ys == int(cy)].min()) + 3, float(xs[ys == int(cy)].max()) - 3
    seq = _seq(page)
    page.fill("#stroke-width", "5")
    page.keyboard.down("Control")
    page.mouse.move(*_page_xy(page, x0, cy))
    page.mouse.down()
    page.mouse.move(*_page_xy(page, x1, cy), steps=10)
    page.mouse.up()
    page.keyboard.up("Control")
    _wait_preview(page, seq, FIRST)
    sent = prompts.bodies[-1]
    (stroke,) = sent["strokes"]
    assert stroke["positive"] is True and stroke["width"] == 5 and len(stroke["points"]) >= 3
    assert abs(stroke["points"][0][0] - x0) < 2 and abs(stroke["points"][-1][0] - x1) < 2
    assert "box" not in sent and "points" not in sent
    assert page.locator("#marks polyline[data-kind=stroke]").count() == 1
    info = Client(*server).ok("GET", f"/v1/sessions/{sid}")
    assert len(info["objects"][0]["prompts"][0]["strokes"]) == 1

    page.fill("#output", str(root / f"out_tl_{uuid.uuid4().hex[:8]}" / "m.####.exr"))
    page.click("#propagate")
    page.wait_for_selector("#progress[data-state=done]", timeout=120_000)
    page.wait_for_function(
        "() => document.querySelector('#progress-text').textContent.includes('recomputed')")
    report = Client(*server).ok("GET", f"/v1/sessions/{sid}/report")
    suggested = report["objects"][0]["suggested"]
    # The strip is drawn: its pixels are not all one colour.
    colours = page.evaluate("""() => {
        const c = document.querySelector('#timeline');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 4) seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);
        return seen.size; }""")
    assert colours > 3
    page.locator("#stage").focus()
    if suggested:
        page.keyboard.press("n")
        assert int(page.input_value("#frame-number")) == min(suggested)
        assert "suggestion" in page.inner_text("#status")
    else:
        page.keyboard.press("n")
        assert "No frame to correct" in page.inner_text("#status")
    # A click on the strip goes to that frame.
    box = page.locator("#timeline").bounding_box()
    page.mouse.click(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    assert int(page.input_value("#frame-number")) == LAST


def test_composite_view_and_shot_boundaries_on_the_strip(page, server, service_root):
    """A plate of two shots cut together: the strip shows a boundary bar at the cut (found by
    the cuts job the page starts); the composite view puts the object over the colour typed
    in, the old background gone."""
    from mattetrack.synthetic import render_shot

    root, _ = service_root
    folder = root / "twoshots"
    folder.mkdir(exist_ok=True)
    frames = render_shot(6, W, H, seed=3, motion_blur_samples=1) + \
        render_shot(6, W, H, seed=7, motion_blur_samples=1)
    for i, (rgb, _) in enumerate(frames):
        write = oiio.ImageOutput.create(str(folder / f"p.{FIRST + i:04d}.exr"))
        write.open(str(folder / f"p.{FIRST + i:04d}.exr"), oiio.ImageSpec(W, H, 3, "half"))
        write.write_image(np.ascontiguousarray(rgb))
        write.close()
    plate = str(folder / "p.####.exr")
    sid = _open_ui(page, server, plate)
    client = Client(*server)
    deadline = time.monotonic() + 60
    while client.ok("GET", f"/v1/sessions/{sid}")["boundaries"] is None:
        assert time.monotonic() < deadline, "the page started no cuts job"
        time.sleep(0.1)
    assert client.ok("GET", f"/v1/sessions/{sid}")["boundaries"] == [FIRST + 6]
    # The bar on the strip: cyan at the cut's left edge, halfway along.
    page.wait_for_function(
        """() => {
             const c = document.querySelector('#timeline');
             const px = c.getContext('2d').getImageData(Math.round(c.width / 2), 2, 1, 1).data;
             return px[0] < 90 && px[1] > 200 && px[2] > 200;
           }""")

    # Composite view over red: the object keeps its colours, the background is red.
    truth = frames[0][1]
    x, y = _centroid(truth)
    seq = _seq(page)
    page.locator("#stage").click(position=_css(page, x, y))
    _wait_preview(page, seq, FIRST)
    seq = _seq(page)
    page.select_option("#view-mode", "composite")
    assert page.is_visible("#background")
    _wait_preview(page, seq, FIRST)
    seq = _seq(page)
    page.fill("#background", "#ff0000")
    page.dispatch_event("#background", "change")
    _wait_preview(page, seq, FIRST)
    shown = _shown(page).astype(np.int16)  # BGR
    bx, by = _background(truth)
    assert tuple(shown[int(by), int(bx)]) == (0, 0, 255)
    inside = cv2.erode((truth >= 0.5).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    reddish = (shown[..., 2] > 200) & (shown[..., 1] < 40) & (shown[..., 0] < 40)
    assert reddish[inside].mean() < 0.05  # the object is not painted over
    assert reddish[truth < 0.01].mean() > 0.95
