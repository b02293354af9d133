"""The browser UI as a viewer an artist lives in, driven by Playwright in headless chromium
against a real server: zoom and pan (a zoomed click lands on the intended plate pixel), work
that survives a reload, undo / redo and deleting one prompt, playback of the mattes in order at
the shot's rate, the overlay's looks, keyframe jumping, out-of-date mattes marked, the sessions
list, and the UI opened on existing mattes (`serve --view`).

The fixtures (chromium, a page that fails on script errors) are in conftest.py; the helpers
are test_browser_ui.py's.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np
import pytest
from service_harness import FIRST, N_FRAMES, Client, W
from test_browser_ui import _centroid, _open_ui, _page_xy, _seq, _shown, _wait_preview

from mattetrack import cli
from mattetrack.evaluation import iou
from mattetrack.service.browser import ui_url

LAST = FIRST + N_FRAMES - 1


def _idle(page) -> None:
    """Until the preview on show is the newest and no edit is on its way."""
    try:
        page.wait_for_function("""() => {
            const img = document.querySelector('#frame');
            return img.dataset.frame !== undefined
              && !document.querySelector('#stage').classList.contains('loading'); }""",
                               timeout=15_000)
    except Exception:
        raise AssertionError(f"never idle; status: {page.inner_text('#status')!r}") from None


def _click(page, truth_frame: np.ndarray) -> tuple[float, float]:
    x, y = _centroid(truth_frame)
    seq = _seq(page)
    page.mouse.click(*_page_xy(page, x, y))
    _wait_preview(page, seq, int(page.input_value("#frame-number")))
    _idle(page)
    return x, y


def _prompts(server, sid: str) -> list[dict]:
    return [p for o in Client(*server).ok("GET", f"/v1/sessions/{sid}")["objects"]
            for p in o["prompts"]]


def test_a_zoomed_click_lands_on_the_intended_pixel_and_pan_fit_100(page, server, plate,
                                                                    service_root):
    _, truth = service_root
    sid = _open_ui(page, server, plate)
    viewport = page.locator("#viewport").bounding_box()
    fitted = page.locator("#stage").bounding_box()
    assert fitted["width"] <= viewport["width"] + 0.5
    assert fitted["height"] <= viewport["height"] + 0.5
    # Zoom with the wheel about a pixel on the object's edge (thin parts are why one zooms).
    ys, xs = np.nonzero(truth[0] >= 0.5)
    px, py = int(xs.max()), int(ys[xs.argmax()])  # the rightmost object pixel
    page.mouse.move(*_page_xy(page, px + 0.5, py + 0.5))
    for _ in range(6):
        page.mouse.wheel(0, -300)
    page.wait_for_function("(w) => document.querySelector('#stage').getBoundingClientRect()"
                           ".width > 8 * w", arg=fitted["width"])
    zoomed = page.locator("#stage").bounding_box()
    scale = zoomed["width"] / W  # CSS pixels per plate pixel now
    assert scale > 8 * fitted["width"] / W
    assert int(page.inner_text("#zoom-level").rstrip("%")) > 800
    # The pixel under the wheel stayed under the pointer.
    cx, cy = _page_xy(page, px + 0.5, py + 0.5)
    assert viewport["x"] < cx < viewport["x"] + viewport["width"]
    assert viewport["y"] < cy < viewport["y"] + viewport["height"]
    # Zoomed past the plate's size: the preview comes at full resolution, shown as pixels.
    page.wait_for_function(f"() => document.querySelector('#frame').naturalWidth === {W}")
    _idle(page)
    seq = _seq(page)
    page.mouse.click(cx, cy)
    _wait_preview(page, seq, FIRST)
    [sent] = _prompts(server, sid)
    (gx, gy), = sent["points"]
    assert abs(gx - (px + 0.5)) <= 1 and abs(gy - (py + 0.5)) <= 1, (gx, gy, px, py)
    # Panning: middle-button drag and Space-drag move the frame by the drag, nothing else.
    before = page.locator("#stage").bounding_box()
    page.mouse.move(viewport["x"] + 200, viewport["y"] + 100)
    page.mouse.down(button="middle")
    page.mouse.move(viewport["x"] + 140, viewport["y"] + 130, steps=4)
    page.mouse.up(button="middle")
    moved = page.locator("#stage").bounding_box()
    assert (moved["x"] - before["x"], moved["y"] - before["y"]) == pytest.approx((-60, 30), abs=0.6)
    page.keyboard.down(" ")
    page.mouse.down()
    page.mouse.move(viewport["x"] + 180, viewport["y"] + 110, steps=4)
    page.mouse.up()
    page.keyboard.up(" ")
    again = page.locator("#stage").bounding_box()
    assert (again["x"] - moved["x"], again["y"] - moved["y"]) == pytest.approx((40, -20), abs=0.6)
    assert page.locator("#play").inner_text().endswith("Play")  # a Space that panned: no play
    assert len(_prompts(server, sid)[0]["points"]) == 1  # and no click
    # 100%: one plate pixel per screen pixel; Fit: all of it in the view.
    page.click("#actual")
    assert page.locator("#stage").bounding_box()["width"] == pytest.approx(W, abs=0.5)
    page.keyboard.press("f")
    box = page.locator("#stage").bounding_box()
    assert box["width"] == pytest.approx(fitted["width"], abs=0.5)


def test_reload_keeps_the_session_prompts_and_mattes(page, server, plate, service_root):
    _, truth = service_root
    sid = _open_ui(page, server, plate)
    _click(page, truth[0])
    shown = _shown(page)
    page.reload()
    page.wait_for_selector("#frame[data-frame]")
    _idle(page)
    assert page.get_attribute("body", "data-session") == sid
    assert page.locator("#marks circle[data-kind=positive]").count() == 1
    np.testing.assert_array_equal(_shown(page), shown)
    assert "Reopened: 1 object(s), 1 keyframe(s)" in page.inner_text("#status")
    # A new tab on the same plate (no session in its address) reattaches too.
    other = page.context.new_page()
    url, token = server
    other.goto(ui_url(url, token, plate))
    other.wait_for_selector("#frame[data-frame]")
    assert other.get_attribute("body", "data-session") == sid
    # The list shows it; deleting it from there deletes it on the server.
    assert other.locator(f"#sessions li[data-session='{sid}']").count() == 1
    other.close()
    page.click(f"#sessions li[data-session='{sid}'] >> text=Delete")
    page.wait_for_function("() => document.querySelector('#workspace').hidden")
    assert Client(*server).call("GET", f"/v1/sessions/{sid}")[0] == 404


def test_undo_restores_the_previous_matte_redo_and_delete_one_point(page, server, plate,
                                                                   service_root):
    _, truth = service_root
    sid = _open_ui(page, server, plate)
    _click(page, truth[0])
    first = _shown(page)
    assert page.is_enabled("#undo") and page.is_disabled("#redo")
    # A box that cuts the object: the matte changes.
    ys, xs = np.nonzero(truth[0] >= 0.5)
    box = (float(xs.min()) - 2, float(ys.min()) - 2, float(np.median(xs)), float(ys.max()) + 2)
    seq = _seq(page)
    page.mouse.move(*_page_xy(page, box[0], box[1]))
    page.mouse.down()
    page.mouse.move(*_page_xy(page, box[2], box[3]), steps=5)
    page.mouse.up()
    _wait_preview(page, seq, FIRST)
    _idle(page)
    second = _shown(page)
    assert np.abs(first.astype(int) - second).max(axis=2).__gt__(8).sum() > 50
    # Ctrl+Z: the matte before the box, pixel for pixel; Ctrl+Shift+Z: the box again.
    page.locator("#stage").focus()
    seq = _seq(page)
    page.keyboard.press("Control+z")
    _wait_preview(page, seq, FIRST)
    _idle(page)
    np.testing.assert_array_equal(_shown(page), first)
    assert _prompts(server, sid)[0]["box"] is None
    seq = _seq(page)
    page.keyboard.press("Control+Shift+z")
    _wait_preview(page, seq, FIRST)
    _idle(page)
    np.testing.assert_array_equal(_shown(page), second)
    # A negative point, then deleted alone with a right-click on its marker.
    bx, by = float(xs.max()) - 2.5, float(ys[xs.argmax()]) + 0.5
    seq = _seq(page)
    page.keyboard.down("Alt")
    page.mouse.click(*_page_xy(page, bx, by))
    page.keyboard.up("Alt")
    _wait_preview(page, seq, FIRST)
    _idle(page)
    assert page.locator("#marks circle[data-kind=negative]").count() == 1
    seq = _seq(page)
    page.mouse.click(*_page_xy(page, bx + 1, by), button="right")
    _wait_preview(page, seq, FIRST)
    _idle(page)
    [prompts] = _prompts(server, sid)
    assert prompts["negative"] == [] and len(prompts["points"]) == 1 and prompts["box"]
    assert page.locator("#marks circle[data-kind=negative]").count() == 0
    np.testing.assert_array_equal(_shown(page), second)
    # Undo brings the deleted point back.
    seq = _seq(page)
    page.click("#undo")
    _wait_preview(page, seq, FIRST)
    assert len(_prompts(server, sid)[0]["negative"]) == 1


def test_playback_shows_the_mattes_in_order_at_the_shot_rate(page, server, plate,
                                                             service_root):
    root, truth = service_root
    sid = _open_ui(page, server, plate)
    page.fill("#object-name", "blob")
    page.click("#object-form button")
    page.wait_for_selector("#objects li[aria-selected=true] >> text=blob")
    _click(page, truth[0])
    page.fill("#output", str(root / f"out_play_{uuid.uuid4().hex[:8]}" / "m.####.exr"))
    page.click("#propagate")
    page.wait_for_selector("#progress[data-state=done]", timeout=120_000)
    _idle(page)
    # Each frame shown while playing, read back small through a canvas as it appears.
    page.evaluate("""() => {
        window.played = [];
        const img = document.querySelector('#frame');
        new MutationObserver(() => {
          const c = document.createElement('canvas');
          c.width = 160; c.height = 90;
          c.getContext('2d').drawImage(img, 0, 0, 160, 90);
          window.played.push([Number(img.dataset.frame), performance.now(), c.toDataURL()]);
        }).observe(img, { attributes: true, attributeFilter: ['data-frame'] });
      }""")
    page.locator("#stage").focus()
    page.keyboard.press(" ")
    page.wait_for_function("() => document.querySelector('#play').textContent.endsWith('Play')"
                           " && window.played.length > 0", timeout=60_000)
    played = page.evaluate("window.played")
    assert [f for f, _, _ in played] == list(range(FIRST + 1, LAST + 1))
    seconds = (played[-1][1] - played[0][1]) / 1000
    assert seconds >= 0.9 * (len(played) - 1) / 24  # never faster than the shot's rate
    client = Client(*server)
    import base64

    for f, _, data in played:  # each frame with its own matte
        got = cv2.imdecode(np.frombuffer(base64.b64decode(data.split(",", 1)[1]), np.uint8),
                           cv2.IMREAD_COLOR).astype(int)
        with client.request("GET", f"/v1/sessions/{sid}/preview?frame={f}&view=overlay") as r:
            want = cv2.imdecode(np.frombuffer(r.read(), np.uint8), cv2.IMREAD_COLOR)
        want = cv2.resize(want, (160, 90), interpolation=cv2.INTER_AREA).astype(int)
        assert np.abs(got - want).mean() < 4, f
    # An edit leaves the propagated mattes shown, striped and named out of date.
    page.keyboard.press("Home")
    seq = _seq(page)
    page.keyboard.down("Alt")
    page.mouse.click(*_page_xy(page, 3.5, 3.5))
    page.keyboard.up("Alt")
    _wait_preview(page, seq, FIRST)
    assert "blob" in page.inner_text("#stale") and page.is_visible("#stale")
    assert page.locator("#objects .stale").count() == 1
    seq = _seq(page)
    page.keyboard.press("End")
    _wait_preview(page, seq, LAST)
    assert page.get_attribute("#frame", "data-stale") != ""
    # Keyframe jumps: ] and [ go between the object's keyframes.
    page.keyboard.press("[")
    assert int(page.input_value("#frame-number")) == FIRST
    page.keyboard.press("]")
    assert "No keyframe after" in page.inner_text("#status")


def test_views_opacity_markers_and_help(page, server, plate, service_root):
    _, truth = service_root
    _open_ui(page, server, plate)
    _click(page, truth[0])
    seq = _seq(page)
    page.select_option("#view-mode", "matte")
    _wait_preview(page, seq, FIRST)
    _idle(page)
    matte = _shown(page)
    assert iou(matte[:, :, 1] >= 128, truth[0] >= 0.5) > 0.8
    # Black off the object (the matte alone, no plate), up to the selection's own errors.
    assert (matte[truth[0] < 0.01] < 20).all(axis=1).mean() > 0.97
    seq = _seq(page)
    page.select_option("#view-mode", "overlay")
    page.fill("#opacity", "0")  # range inputs take fill; fires input
    page.dispatch_event("#opacity", "input")
    _wait_preview(page, seq, FIRST)
    _idle(page)
    clear = _shown(page).astype(int)
    seq = _seq(page)  # read before the change: its redraw can land before a later read
    page.fill("#opacity", "1")
    page.dispatch_event("#opacity", "input")
    page.wait_for_function("(s) => Number(document.querySelector('#frame').dataset.seq) > s",
                           arg=seq)
    _idle(page)
    solid = _shown(page).astype(int)
    inside = cv2.erode((truth[0] >= 0.99).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert np.abs(solid - clear).max(axis=2)[inside].mean() > 40
    # Positive and negative points look different: a plus on a disc, a cross on a ring.
    page.keyboard.down("Shift")
    page.mouse.click(*_page_xy(page, 3.5, 3.5))
    page.keyboard.up("Shift")
    page.wait_for_selector("#marks .point.negative .glyph.cross")
    assert page.locator("#marks .point.positive .glyph.plus").count() == 1
    fill_pos = page.eval_on_selector("#marks circle.positive", "e => getComputedStyle(e).fill")
    fill_neg = page.eval_on_selector("#marks circle.negative", "e => getComputedStyle(e).fill")
    assert fill_pos != fill_neg
    # ? shows every shortcut; Escape closes it.
    page.locator("#stage").focus()
    page.keyboard.press("?")
    assert page.is_visible("#help")
    text = page.inner_text("#help")
    for key in ("Ctrl+Z", "Wheel", "Space", "[ / ]", "N / Shift+N", "Right-click"):
        assert key in text, key
    page.keyboard.press("Escape")
    assert not page.is_visible("#help")


def test_serve_view_opens_the_ui_on_finished_mattes(page, browser, service_root, plate,
                                                    tmp_path):
    """`mattetrack track` writes mattes; `serve --view PLATE MATTES` opens the UI on them: an
    object per matte, shown on every frame without a prompt."""
    root, truth = service_root
    x, y = _centroid(truth[0])
    mattes = str(root / f"view_{uuid.uuid4().hex[:6]}" / "m.####.exr")
    assert cli.main(["track", plate, "-o", mattes, "--object", "blob", "--point",
                     f"{FIRST}:{x},{y}", "-q"]) == 0
    opened = tmp_path / "opened.txt"
    script = ("import sys, pathlib; pathlib.Path(sys.argv[2]).write_text(sys.argv[1])")
    env = {**os.environ, "MATTETRACK_CONFIG": str(tmp_path / "cfg"),
           "BROWSER": f'{sys.executable} -c "{script}" %s {opened}'}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mattetrack", "serve", "--port", "0", "--view", plate, mattes],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stderr.readline()
        assert re.search(r"http://127\.0\.0\.1:\d+/v1", line), line
        deadline = time.monotonic() + 30
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        url = opened.read_text()
        fields = parse_qs(urlsplit(url).fragment)
        assert fields["plate"] == [plate] and fields["mattes"] == [mattes]
        page.goto(url)
        page.wait_for_selector("#frame[data-frame]")
        _idle(page)
        assert page.locator("#objects li >> text=blob").count() == 1
        assert "Showing the mattes opened" in page.inner_text("#status")
        seq = _seq(page)
        page.select_option("#view-mode", "matte")
        page.locator("#stage").focus()
        page.keyboard.press("End")
        _wait_preview(page, seq, LAST)
        _idle(page)
        assert iou(_shown(page)[:, :, 1] >= 128, truth[-1] >= 0.5) > 0.8
        assert page.locator("#marks circle").count() == 0  # no prompt anywhere
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    # The session was saved where serve keeps them by default: beside the token.
    assert list((tmp_path / "cfg" / "sessions").glob("*/session.json"))
