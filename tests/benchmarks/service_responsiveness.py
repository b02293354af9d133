"""How responsive `mattetrack serve` is to a host, measured the way a host uses it: through the
hosts' own standard-library client (host_adapters/client/mattetrack_client.py) against the real
CLI server in a subprocess, on DAVIS-2016 shots at 854x480 with the classic engine.

- click to preview: one positive click (POST prompts) then the frame's overlay PNG (GET preview,
  full size), timed together, on frames spread over each shot, each a new keyframe: on frames
  first shown (as a host shows a frame before the artist clicks on it; the service warms the
  engine for it meanwhile) and on frames never shown; and a second, refining click;
- while another session propagates a shot: the same clicks (the host's UI stays usable), the
  job's state polled over HTTP, and the `Propagation.poll()` a host's UI timer calls (a lock and a
  copy: what decides whether a host's UI thread can block).

- a zoomed 1080p plate (a DAVIS shot upscaled to 1920x1080, made here): the same clicks with
  full-size previews, which is what the browser UI asks for once zoomed in past the plate's
  size;
- the browser UI's frame scrub (headless chromium through Playwright, when installed): the
  time from an arrow key to the next frame's preview on screen, stepping through frames first
  shown (fetched from the service, two frames fetched ahead) and back through the same frames
  (from the UI's cache), at 854x480 fitted and on the 1080p plate at 100%.

Goals: click to preview <= 300 ms at 854x480 with the classic engine (issue 7); the UI never
blocks during propagation; the UI's scrub <= 50 ms per frame from its cache (issue 19).

    .venv/bin/python tests/benchmarks/service_responsiveness.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "davis2016-dev"
BENCH = ROOT / "build" / "bench" / "service"
MATTETRACK = Path(sys.executable).with_name("mattetrack")
SHOTS = ["blackswan", "car-shadow", "dog"]
BUSY_SHOT = "breakdance"  # clicked while dog propagates
ZOOMED_SHOT = "car-shadow"  # upscaled to 1080p
ZOOMED_FRAMES = 30
CLICKS = 10  # frames clicked per shot
THINK = 0.4  # s between a frame appearing and the click on it (an artist aiming)
TARGET_MS = 300.0
SCRUB_TARGET_MS = 50.0
SCRUB_STEPS = 20  # frames stepped through in the browser
KEY_REPEAT_MS = 40  # between arrow-key steps (a held key repeats about this fast)
CHROMIUM = "/usr/bin/chromium"

sys.path.insert(0, str(ROOT / "host_adapters" / "client"))
import mattetrack_client as mc  # noqa: E402

from mattetrack.synthetic import click_point  # noqa: E402


@dataclass
class Timings:
    """Milliseconds of each kind of call."""

    show: list[float] = field(default_factory=list)  # a frame shown (GET preview, no clicks)
    looked: list[float] = field(default_factory=list)  # click + preview on the frame shown
    cold: list[float] = field(default_factory=list)  # click + preview on a frame never shown
    refine: list[float] = field(default_factory=list)  # a second click on that frame + preview
    busy: list[float] = field(default_factory=list)  # looked-at clicks during a propagation
    status: list[float] = field(default_factory=list)  # GET job state during a propagation
    poll: list[float] = field(default_factory=list)  # Propagation.poll() during a propagation
    propagated_fps: float = 0.0
    zoomed: list[float] = field(default_factory=list)  # click + full-size preview, 1080p
    zoomed_show: list[float] = field(default_factory=list)  # full-size 1080p preview alone
    # Browser scrub, ms per step: {label: (first pass: fetched, back: from the cache)}.
    scrub: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    scrub_skipped: str = ""


def _truth(shot: str, frame: int) -> np.ndarray:
    mask = cv2.imread(str(DATA / "Annotations" / "480p" / shot / f"{frame:05d}.png"),
                      cv2.IMREAD_GRAYSCALE)
    return (mask > 127).astype(np.float32)


def _frames(shot: str) -> list[int]:
    return sorted(int(p.stem) for p in (DATA / "JPEGImages" / "480p" / shot).glob("*.jpg"))


def _ms(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def start_server(token_file: Path) -> tuple[subprocess.Popen, str]:
    """`mattetrack serve` on a free port with the DAVIS frames and BENCH as roots (its saved
    sessions in BENCH/sessions, emptied first)."""
    import shutil

    shutil.rmtree(BENCH / "sessions", ignore_errors=True)
    proc = subprocess.Popen([str(MATTETRACK), "serve", "--root", str(DATA), "--root", str(BENCH),
                             "--port", "0", "--token-file", str(token_file),
                             "--sessions", str(BENCH / "sessions")],
                            stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()  # "mattetrack: serving http://127.0.0.1:PORT/v1 (token ...)"
    if "serving " not in line:
        proc.kill()
        raise RuntimeError(f"mattetrack serve did not start: {line.strip()}")
    threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
    return proc, line.split("serving ", 1)[1].split("/v1", 1)[0]


def plate_480(shot: str) -> str:
    return str(DATA / "JPEGImages" / "480p" / shot / "%05d.jpg")


def plate_1080(shot: str, n: int = ZOOMED_FRAMES) -> str:
    """The first `n` frames of a DAVIS shot upscaled to 1920x1080 (bicubic), as PNGs in BENCH
    (made once)."""
    folder = BENCH / "plate1080" / shot
    frames = _frames(shot)[:n]
    folder.mkdir(parents=True, exist_ok=True)
    for f in frames:
        path = folder / f"{f:05d}.png"
        if not path.exists():
            image = cv2.imread(str(DATA / "JPEGImages" / "480p" / shot / f"{f:05d}.jpg"))
            cv2.imwrite(str(path), cv2.resize(image, (1920, 1080),
                                              interpolation=cv2.INTER_CUBIC))
    return str(folder / "%05d.png")


def click_zoomed(client: mc.Client, shot: str, got: Timings, clicks: int) -> None:
    """Clicks on the 1080p plate with full-size previews (the UI zoomed in): show the frame,
    aim, click, see the overlay."""
    frames = _frames(shot)[:ZOOMED_FRAMES]
    sid = client.open_session(plate_1080(shot))["session"]
    oid = client.add_object(sid, shot)["object"]
    for f in frames[:: max(1, len(frames) // clicks)][:clicks]:
        x, y = click_point(_truth(shot, f))
        x, y = x * 1920 / 854, y * 1080 / 480
        got.zoomed_show.append(_ms(lambda f=f: client.preview(sid, f)))
        time.sleep(THINK)
        got.zoomed.append(_ms(lambda f=f, x=x, y=y: (
            client.add_prompts(sid, oid, f, points=[(x, y)]), client.preview(sid, f))))
    client.close_session(sid)


def scrub_in_browser(url: str, token: str, got: Timings, steps: int) -> None:
    """The UI's scrub, in headless chromium: for each plate, step forward through `steps`
    frames with the arrow key (each fetched from the service, unless fetched ahead) and back
    (each from the UI's cache), timing in the page from the key to the frame on screen."""
    import importlib.util

    from mattetrack.service.browser import ui_url

    if not Path(CHROMIUM).exists() or importlib.util.find_spec("playwright") is None:
        got.scrub_skipped = f"skipped: needs {CHROMIUM} and the playwright package"
        return
    from playwright.sync_api import sync_playwright

    step_js = """async ([key, pause]) => {
        const img = document.querySelector('#frame');
        await new Promise((r) => setTimeout(r, pause));
        const t0 = performance.now();
        const want = String(Number(img.dataset.frame) + (key === 'ArrowRight' ? 1 : -1));
        const shown = new Promise((resolve) => {
          const seen = new MutationObserver(() => {
            if (img.dataset.frame === want &&
                !document.querySelector('#stage').classList.contains('loading')) {
              seen.disconnect();
              resolve();
            }
          });
          seen.observe(img, { attributes: true });
        });
        document.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
        await shown;
        return performance.now() - t0;
      }"""
    plates = [(f"{ZOOMED_SHOT} 854x480, fitted", plate_480(ZOOMED_SHOT), None),
              (f"{ZOOMED_SHOT} 1920x1080 at 100%", plate_1080(ZOOMED_SHOT), "1")]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update"])
        try:
            for label, plate, zoom_key in plates:
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.goto(ui_url(url, token, plate))
                page.wait_for_selector("#frame[data-frame]")
                if zoom_key:  # 100%: the previews come full size
                    page.keyboard.press(zoom_key)
                    page.wait_for_function(
                        "() => document.querySelector('#frame').naturalWidth === 1920")
                forward = [page.evaluate(step_js, ["ArrowRight", KEY_REPEAT_MS])
                           for _ in range(steps)]
                back = [page.evaluate(step_js, ["ArrowLeft", KEY_REPEAT_MS])
                        for _ in range(steps)]
                got.scrub[label] = (forward, back)
                page.close()
        finally:
            browser.close()


def click_shot(client: mc.Client, shot: str, got: Timings, clicks: int,
               busy: bool = False) -> str:
    """Opens a session on `shot` and clicks `clicks` frames spread over it, as an artist does:
    show the frame, aim (THINK seconds), click, see the overlay; every other frame is clicked
    without being shown first (a script's click: no warm-up). Returns the session id."""
    frames = _frames(shot)
    sid = client.open_session(str(DATA / "JPEGImages" / "480p" / shot / "%05d.jpg"))["session"]
    oid = client.add_object(sid, shot)["object"]
    for i, f in enumerate(frames[:: max(1, len(frames) // clicks)][:clicks]):
        truth = _truth(shot, f)
        x, y = click_point(truth)
        looked = busy or i % 2 == 0
        if looked:
            got.show.append(_ms(lambda f=f: client.preview(sid, f)))
            time.sleep(THINK)

        def click(f=f, x=x, y=y) -> None:
            client.add_prompts(sid, oid, f, points=[(x, y)])
            client.preview(sid, f)

        (got.busy if busy else got.looked if looked else got.cold).append(_ms(click))
        if not busy:  # a negative click well outside the object: the same frame again
            ys, xs = np.nonzero(truth < 0.5)
            far = int(np.argmax((xs - x) ** 2 + (ys - y) ** 2))
            got.refine.append(_ms(lambda f=f, p=(xs[far], ys[far]): (
                client.add_prompts(sid, oid, f, negative=[p]), client.preview(sid, f))))
    return sid


def measure(quick: bool = False) -> Timings:
    BENCH.mkdir(parents=True, exist_ok=True)
    proc, url = start_server(BENCH / "token")
    got = Timings()
    try:
        client = mc.Client(url, token_file=str(BENCH / "token"))
        clicks = 4 if quick else CLICKS
        for shot in SHOTS[:2] if quick else SHOTS:
            sid = click_shot(client, shot, got, clicks)
            client.close_session(sid)
        # Propagate dog (60 frames) in one session while another shot, not clicked before, is
        # being clicked in a second one.
        sid = click_shot(client, "dog", Timings(), 1)
        started = time.perf_counter()
        run = mc.Propagation(client, sid, str(BENCH / "dog" / "m.####.exr"))
        clicked = threading.Thread(target=click_shot, args=(
            mc.Client(url, client.token), BUSY_SHOT, got, clicks // 2, True))
        clicked.start()
        while True:
            got.status.append(_ms(lambda: client.job(run.job)))
            t0 = time.perf_counter()
            state = run.poll()["state"]
            got.poll.append((time.perf_counter() - t0) * 1000)
            if state != "running":
                break
            time.sleep(0.25)
        got.propagated_fps = run.poll()["done"] / (time.perf_counter() - started)
        clicked.join()
        if state != "done":
            raise RuntimeError(f"propagation ended {state}: {run.poll()['error']}")
        click_zoomed(client, ZOOMED_SHOT, got, 4 if quick else CLICKS)
        scrub_in_browser(url, client.token, got, 8 if quick else SCRUB_STEPS)
    finally:
        proc.terminate()
        proc.wait(30)
    return got


def _stats(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return (f"median {statistics.median(values):7.1f}  p90 {p90:7.1f}  max {max(values):7.1f} "
            f"ms  (n={len(values)})")


def rows(got: Timings) -> list[str]:
    clicks = got.looked + got.refine
    within = sum(v <= TARGET_MS for v in clicks) / max(1, len(clicks))
    return [
        f"  show a frame (preview, no clicks)     {_stats(got.show)}",
        f"  click to preview, on the frame shown  {_stats(got.looked)}",
        f"  click to preview, same frame again    {_stats(got.refine)}",
        f"  click to preview, frame never shown   {_stats(got.cold)}",
        f"  clicks on frames shown within {TARGET_MS:.0f} ms: {within:.0%}",
        f"  while another session propagates ({got.propagated_fps:.1f} frames/s):",
        f"    click to preview, frame shown       {_stats(got.busy)}",
        f"    GET job state                       {_stats(got.status)}",
        f"    Propagation.poll() (host UI timer)  {_stats(got.poll)}",
        "  zoomed 1920x1080 plate, full-size previews:",
        f"    show a frame                        {_stats(got.zoomed_show)}",
        f"    click to preview, on the frame shown {_stats(got.zoomed)}",
        f"  browser UI scrub, arrow key to frame on screen (target {SCRUB_TARGET_MS:.0f} ms "
        "from the cache):",
        *([f"    {got.scrub_skipped}"] if got.scrub_skipped else []),
        *(line for label, (fetched, cached) in got.scrub.items() for line in (
            f"    {label}:",
            f"      fetched (2 ahead)   {_stats(fetched)}",
            f"      from the cache      {_stats(cached)}  "
            f"({statistics.median(fetched) / max(statistics.median(cached), 1e-3):.1f}x "
            "faster)")),
    ]


def title() -> str:
    return ("Service responsiveness (mattetrack serve, classic engine, DAVIS 854x480, through "
            "the hosts' client)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer shots and clicks")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: no DAVIS data at {DATA}")
        return 0
    got = measure(args.quick)
    print(title())
    for line in rows(got):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
