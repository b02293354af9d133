"""`mattetrack serve` under a studio's load: 16 clients for 60 s against one service (classic
engine) on a synthetic 854x480 plate made here, while one propagation runs all the time (a new
one starts whenever the last ends). Each client works in a session of its own, over one
keep-alive connection, as a host or a browser tab does: previews of random frames (640 px),
prompt edits (a frame's points replaced, then its preview), session reads and job polls.
Then 10,000 more requests (reads, small previews) with the service's RSS before and after, and
a burst of 200 concurrent cheap reads, the propagation still running.

Reported: requests answered, errors (any 5xx, reset or timeout), p50 / p99 latency per kind,
the burst's p99, and the service's RSS after warm-up and at the end.

Targets (issue 20): 200-request bursts all answered with p99 < 1 s for cheap reads while a
propagation runs; RSS flat (within 10%) over 10,000 requests.

    .venv/bin/python tests/benchmarks/service_load.py [--quick] [--seconds S] [--clients N]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "build" / "bench" / "load"
MATTETRACK = Path(sys.executable).with_name("mattetrack")
FRAMES, W, H = 48, 854, 480
REQUESTS = 10_000  # over which the service's memory must stay flat


@dataclass
class Load:
    seconds: float
    clients: int
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    burst: list[float] = field(default_factory=list)
    burst_answered: int = 0
    propagations: int = 0
    rss_start_mib: float = 0.0
    rss_end_mib: float = 0.0
    many_answered: int = 0
    many_errors: int = 0
    many_seconds: float = 0.0

    @property
    def answered(self) -> int:
        return sum(len(v) for v in self.latency.values())


def make_plate() -> tuple[str, list[tuple[float, float]]]:
    """BENCH/plate/p.####.png (made once) and a point on the object per frame."""
    from mattetrack.synthetic import click_point, render_shot

    folder = BENCH / "plate"
    points_file = folder / "points.json"
    if not points_file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        points = []
        for i, (rgb, cov) in enumerate(render_shot(n_frames=FRAMES, width=W, height=H, seed=7,
                                                   motion_blur_samples=1)):
            cv2.imwrite(str(folder / f"p.{1001 + i}.png"),
                        (np.clip(rgb, 0, 1)[:, :, ::-1] * 255 + 0.5).astype(np.uint8))
            points.append(click_point(cov))
        points_file.write_text(json.dumps(points))
    return str(folder / "p.####.png"), [tuple(p) for p in json.loads(points_file.read_text())]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Conn:
    """One keep-alive connection with the token; `call` returns (status, JSON or None)."""

    def __init__(self, url: str, token: str) -> None:
        self.host = url.removeprefix("http://")
        self.token = token
        self.conn = http.client.HTTPConnection(self.host, timeout=60)

    def call(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, data, headers)
                resp = self.conn.getresponse()
                payload = resp.read()
                kind = resp.getheader("Content-Type", "")
                return resp.status, json.loads(payload) if kind == "application/json" else None
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # An idle keep-alive connection the server closed: once more on a new one.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, timeout=60)
                if attempt:
                    raise
        raise AssertionError("unreachable")


def start_server() -> tuple[subprocess.Popen, str, str]:
    import shutil

    shutil.rmtree(BENCH / "sessions", ignore_errors=True)
    token_file = BENCH / "token"
    proc = subprocess.Popen([str(MATTETRACK), "serve", "--root", str(BENCH), "--port", "0",
                             "--token-file", str(token_file), "--sessions",
                             str(BENCH / "sessions")], stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    if "serving " not in line:
        proc.kill()
        raise RuntimeError(f"mattetrack serve did not start: {line.strip()}")
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    url = line.split("serving ", 1)[1].split("/v1", 1)[0]
    return proc, url, token_file.read_text().strip()


def open_clicked(conn: Conn, plate: str, points, name: str) -> tuple[str, int]:
    _, opened = conn.call("POST", "/v1/sessions", {"plate": plate})
    sid = opened["session"]
    _, obj = conn.call("POST", f"/v1/sessions/{sid}/objects", {"name": name})
    oid = obj["object"]
    x, y = points[0]
    conn.call("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts",
              {"frame": 1001, "points": [[x, y]]})
    return sid, oid


def measure(seconds: float = 60, clients: int = 16) -> Load:
    plate, points = make_plate()
    proc, url, token = start_server()
    load = Load(seconds, clients)
    stop = threading.Event()
    try:
        main = Conn(url, token)
        busy_sid, _ = open_clicked(main, plate, points, "busy")
        job: dict = {}

        def propagate_forever() -> None:
            conn = Conn(url, token)
            n = 0
            x, y = points[0]
            while not stop.is_set():
                # A point moved a little: the next propagation recomputes the whole shot (an
                # unchanged one would be all reused from the session's store).
                conn.call("PUT", f"/v1/sessions/{busy_sid}/objects/1/prompts?frame=1001",
                          {"points": [[x + 0.25 * (n % 8), y]]})
                status, started = conn.call("POST", f"/v1/sessions/{busy_sid}/propagate",
                                            {"output": str(BENCH / "out" / f"r{n % 2}" /
                                                           "m.####.exr")})
                if status != 202:
                    load.errors["propagate"] += 1
                    return
                job["id"] = started["job"]
                while not stop.is_set():
                    _, state = conn.call("GET", f"/v1/jobs/{started['job']}")
                    if state["state"] != "running":
                        break
                    time.sleep(0.2)
                load.propagations += 1
                n += 1

        runner = threading.Thread(target=propagate_forever, daemon=True)
        runner.start()
        while "id" not in job:
            time.sleep(0.05)

        def client(i: int) -> None:
            rng = random.Random(i)
            conn = Conn(url, token)
            sid, oid = open_clicked(conn, plate, points, f"c{i}")
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline and not stop.is_set():
                r = rng.random()
                frame = 1001 + rng.randrange(FRAMES)
                if r < 0.35:
                    kind, calls = "preview", [("GET", f"/v1/sessions/{sid}/preview?frame={frame}"
                                                      "&max_side=640", None)]
                elif r < 0.45:
                    x, y = points[frame - 1001]
                    jitter = [x + rng.uniform(-3, 3), y + rng.uniform(-3, 3)]
                    kind, calls = "prompt edit + preview", [
                        ("PUT", f"/v1/sessions/{sid}/objects/{oid}/prompts?frame={frame}",
                         {"points": [jitter]}),
                        ("GET", f"/v1/sessions/{sid}/preview?frame={frame}&max_side=640", None)]
                elif r < 0.8:
                    kind, calls = "session read", [("GET", f"/v1/sessions/{sid}", None)]
                else:
                    kind, calls = "job poll", [("GET", f"/v1/jobs/{job['id']}", None)]
                started = time.perf_counter()
                try:
                    for method, path, body in calls:
                        status, _ = conn.call(method, path, body)
                        if status >= 500:
                            raise RuntimeError(status)
                except Exception:
                    load.errors[kind] += 1
                    continue
                load.latency[kind].append((time.perf_counter() - started) * 1000)

        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(client, range(clients)))

        # RSS over REQUESTS more requests: cheap reads and small previews from the same
        # clients' sessions, a propagation still running; measured on a second round, after
        # a first that fills every session's bounded caches (frames, keys).
        sids = [d["session"] for d in main.call("GET", "/v1/sessions")[1]["sessions"]]
        lock = threading.Lock()
        counter = iter(range(REQUESTS))

        def many(i: int) -> None:
            rng = random.Random(100 + i)
            conn = Conn(url, token)
            while True:
                with lock:
                    if next(counter, None) is None:
                        return
                sid = rng.choice(sids)
                path = rng.choice([f"/v1/sessions/{sid}", f"/v1/jobs/{job['id']}",
                                   f"/v1/sessions/{sid}/preview?frame="
                                   f"{1001 + rng.randrange(FRAMES)}&max_side=160"])
                try:
                    status, _ = conn.call("GET", path)
                    ok = status < 500
                except Exception:
                    ok = False
                with lock:
                    load.many_answered += ok
                    load.many_errors += not ok

        with ThreadPoolExecutor(clients) as pool:  # the caches fill up
            list(pool.map(many, range(clients)))
        load.rss_start_mib = rss_mib(proc.pid)
        load.many_answered = load.many_errors = 0
        counter = iter(range(REQUESTS))
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(many, range(clients)))
        load.many_seconds = time.perf_counter() - started
        load.rss_end_mib = rss_mib(proc.pid)

        def cheap(i: int) -> float | None:
            conn = Conn(url, token)
            path = ("/v1/health", f"/v1/jobs/{job['id']}", "/v1/sessions")[i % 3]
            started = time.perf_counter()
            try:
                status, _ = conn.call("GET", path)
            except Exception:
                return None
            return (time.perf_counter() - started) * 1000 if status == 200 else None

        with ThreadPoolExecutor(200) as pool:
            got = list(pool.map(cheap, range(200)))
        load.burst = [t for t in got if t is not None]
        load.burst_answered = len(load.burst)
        stop.set()
        runner.join(120)
    finally:
        stop.set()
        proc.terminate()
        proc.wait(60)
    return load


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def title(load: Load) -> str:
    return (f"Service under load: {load.clients} clients for {load.seconds:.0f} s, one "
            f"propagation always running (mattetrack serve, classic engine, {W}x{H})")


def rows(load: Load) -> list[str]:
    out = [f"  {'request':<26}{'answered':>9}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}"]
    for kind in ("preview", "prompt edit + preview", "session read", "job poll"):
        values = load.latency.get(kind, [])
        p50 = statistics.median(values) if values else float("nan")
        out.append(f"  {kind:<26}{len(values):9d}{load.errors.get(kind, 0):8d}"
                   f"{p50:9.1f}{_p(values, 0.99):9.1f}")
    errors = sum(load.errors.values())
    growth = (load.rss_end_mib / load.rss_start_mib - 1) * 100 if load.rss_start_mib else 0
    out += [
        f"  in all: {load.answered} requests answered, {errors} errors, "
        f"{load.propagations} propagations finished",
        f"  burst of 200 cheap reads during a propagation: {load.burst_answered} answered, "
        f"p50 {_p(load.burst, 0.5):.0f} ms, p99 {_p(load.burst, 0.99):.0f} ms (target < 1000)",
        f"  {REQUESTS} more requests (reads, 160 px previews; after {REQUESTS} that fill the "
        f"caches) from {load.clients} clients: "
        f"{load.many_answered} answered, {load.many_errors} errors, "
        f"{load.many_answered / max(load.many_seconds, 1e-9):.0f} requests/s",
        f"  service RSS: {load.rss_start_mib:.0f} MiB before them, {load.rss_end_mib:.0f} MiB "
        f"after ({growth:+.1f}%; target within 10%)",
    ]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    load = measure(10 if args.quick else args.seconds, args.clients)
    print(title(load))
    for line in rows(load):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
