"""Service test harness shared by tests/service and tests/host_adapters: a urllib client like the
host adapters' (standard library only), a small EXR plate, and a real `mattetrack serve` (classic
engine) on a free port in a thread. The fixtures that use it are in tests/conftest.py."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from mattetrack.engines import get_engine
from mattetrack.service.api import Service
from mattetrack.service.auth import Roots, load_or_create_token
from mattetrack.service.server import make_server
from mattetrack.synthetic import render_shot

FIRST, N_FRAMES, W, H = 1001, 8, 320, 180
VIEWPORT = {"width": 1280, "height": 900}  # the browser tests' window, CSS pixels


class Client:
    """JSON over HTTP with the bearer token; `call` returns (status, parsed body or bytes)."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        self.token = token

    def request(self, method: str, path: str, body: object = None, *, raw: bytes | None = None,
                headers: dict[str, str] | None = None):
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if self.token is not None:
            req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            return urllib.request.urlopen(req, timeout=60)
        except urllib.error.HTTPError as err:
            return err

    def call(self, method: str, path: str, body: object = None, **kw) -> tuple[int, object]:
        with self.request(method, path, body, **kw) as resp:
            payload = resp.read()
            kind = resp.headers.get("Content-Type", "")
            return resp.status, json.loads(payload) if kind == "application/json" else payload

    def ok(self, method: str, path: str, body: object = None, status: int = 200) -> dict:
        got, payload = self.call(method, path, body)
        assert got == status, payload
        return payload


def write_plate(root: Path) -> list[np.ndarray]:
    """root/plate/plate.1001-1008.exr (320x180 half, scene-linear); returns the true coverages."""
    (root / "plate").mkdir(parents=True, exist_ok=True)
    shot = render_shot(n_frames=N_FRAMES, width=W, height=H, seed=3, motion_blur_samples=1)
    for i, (rgb, _) in enumerate(shot):
        path = str(root / "plate" / f"plate.{FIRST + i:04d}.exr")
        spec = oiio.ImageSpec(W, H, 3, "half")
        out = oiio.ImageOutput.create(path)
        assert out is not None and out.open(path, spec), oiio.geterror()
        out.write_image(np.ascontiguousarray(rgb))
        out.close()
    return [cov for _, cov in shot]


def exr_files(folder: Path, pattern: str = "*.exr") -> dict[str, tuple[list[str], np.ndarray]]:
    """{file name: (channel names, float pixels)} of every EXR in `folder` (those matching
    `pattern`): what two runs that should write the same mattes are compared by."""
    out = {}
    for path in sorted(folder.glob(pattern)):
        buf = oiio.ImageBuf(str(path))
        out[path.name] = (list(buf.spec().channelnames), buf.get_pixels(oiio.FLOAT))
    return out


class RunningServer(tuple):
    """(base URL, token) of a running server; `service` is the Service behind it (in-process
    tests look at its engine)."""

    service: Service


@contextlib.contextmanager
def running_server(roots: list[Path], token_file: Path, engine: str = "classic",
                   model: str | None = None, sessions_dir: Path | None = None,
                   **options) -> Iterator[RunningServer]:
    """(base URL, token) of a real server on a free port, serving from a thread until exit
    (then closed: its sessions saved in `sessions_dir`, or gone with its scratch folder)."""
    token, _ = load_or_create_token(token_file)
    service = Service(get_engine(engine, model), engine, Roots(roots), sessions_dir, **options)
    srv = make_server(service, token, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    running = RunningServer((srv.url, token))
    running.service = service
    try:
        yield running
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(10)
