"""The service against what it must survive, on a real server on 127.0.0.1: bursts of requests,
stalled connections, malformed requests (each a JSON 4xx, never a 500 or an HTML page), prompts
past the limits, and reads that never wait behind a selection."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from service_harness import FIRST, Client, running_server

from mattetrack.service import server as server_module
from mattetrack.synthetic import click_point


@pytest.fixture
def live(service_root, tmp_path, monkeypatch):
    """(url, token, service) of a server of its own, with connections idle for 0.5 s dropped."""
    monkeypatch.setattr(server_module._Handler, "timeout", 0.5)
    with running_server([service_root[0]], tmp_path / "token") as running:
        yield running[0], running[1], running.service


def _raw(url: str, data: bytes, read_timeout: float = 10) -> bytes:
    """Send raw bytes on a new connection; everything the server answers until it closes."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=read_timeout) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def test_a_burst_of_200_requests_is_answered(live):
    url, token, _ = live
    client = Client(url, token)
    sid = client.ok("POST", "/v1/sessions", {"plate": str(live[2].roots.paths[0]) +
                                             "/plate/plate.####.exr"}, 201)["session"]

    def one(i: int) -> tuple[int, float]:
        path = ("/v1/health", "/v1/sessions", f"/v1/sessions/{sid}")[i % 3]
        started = time.perf_counter()
        status, _ = client.call("GET", path)
        return status, time.perf_counter() - started

    with ThreadPoolExecutor(200) as pool:
        got = list(pool.map(one, range(200)))
    assert [s for s, _ in got] == [200] * 200
    seconds = sorted(t for _, t in got)
    print(f"200 concurrent reads: median {seconds[100] * 1000:.0f} ms, max "
          f"{seconds[-1] * 1000:.0f} ms")


def test_a_stalled_connection_is_dropped(live):
    url, _, _ = live
    started = time.perf_counter()
    answer = _raw(url, b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never ends
    assert time.perf_counter() - started < 5
    assert answer == b"" or b"408" in answer or b"400" in answer


@pytest.mark.parametrize("request_bytes, status", [
    (b"OPTIONS /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 204),
    (b"FOO /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 501),
    (b"GARBAGE\r\n\r\n", 400),
    (b"POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \xd9\xa1\xd9\xa2\r\n"
     b"Connection: close\r\n\r\n", 400),
], ids=["OPTIONS", "unknown-method", "bad-request-line", "non-ascii-length"])
def test_malformed_requests_get_json_4xx(live, request_bytes, status):
    url, _, _ = live
    answer = _raw(url, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == str(status).encode(), head
    assert b"text/html" not in head
    if status != 204:
        assert b"application/json" in head and "error" in json.loads(body)


def test_bad_bodies_and_paths_are_400(live):
    url, token, _ = live
    client = Client(url, token)
    for body in ({"plate": "/tmp/a\u0000b"}, {"plate": "/" + "a" * 5000}):
        status, payload = client.call("POST", "/v1/sessions", body)
        assert status == 400 and "NUL" in payload["error"], payload
    deep = b'{"plate": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    status, payload = client.call("POST", "/v1/sessions", raw=deep)
    assert status == 400 and "nested" in payload["error"]
    # HEAD answers GET's status and headers without a body.
    conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
    conn.request("HEAD", "/v1/health", headers={"Authorization": f"Bearer {token}"})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.read() == b""
    conn.close()


def test_prompts_past_the_limits_are_refused(live, service_root):
    url, token, _ = live
    client = Client(url, token)
    plate = str(service_root[0] / "plate" / "plate.####.exr")
    sid = client.ok("POST", "/v1/sessions", {"plate": plate}, 201)["session"]
    oid = client.ok("POST", f"/v1/sessions/{sid}/objects", {}, 201)["object"]
    path = f"/v1/sessions/{sid}/objects/{oid}/prompts"
    many = [[1.5, 1.5]] * 60_000
    status, payload = client.call("POST", path, {"frame": FIRST, "points": many})
    assert status == 400 and "at most 1000" in payload["error"]
    client.ok("POST", path, {"frame": FIRST, "points": [[2.5, 2.5]] * 999,
                             "negative": [[9.5, 9.5]]})
    status, payload = client.call("POST", path, {"frame": FIRST, "points": [[3.5, 3.5]]})
    assert status == 400 and "1001 on one frame" in payload["error"]
    status, _ = client.call("PUT", f"{path}?frame={FIRST}", {"points": many[:1001]})
    assert status == 400
    stroke = {"points": [[1.5, 1.5]] * 10_001}
    status, payload = client.call("POST", path, {"frame": FIRST + 1, "strokes": [stroke]})
    assert status == 400 and "strokes[0].points" in payload["error"]


def test_reads_never_wait_behind_a_selection(live, service_root):
    url, token, service = live
    client = Client(url, token)
    root, truth = service_root
    sid = client.ok("POST", "/v1/sessions", {"plate": str(root / "plate" / "plate.####.exr")},
                    201)["session"]
    oid = client.ok("POST", f"/v1/sessions/{sid}/objects", {}, 201)["object"]
    client.ok("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts",
              {"frame": FIRST, "points": [list(click_point(truth[0]))]})
    engine = service.engine
    selecting = threading.Event()
    slow_select = engine.select

    def select(*args, **kw):  # a selection that takes 3 s (a big frame, a deep engine)
        selecting.set()
        time.sleep(3)
        return slow_select(*args, **kw)

    engine.select = select
    try:
        preview = threading.Thread(target=client.call, args=(
            "GET", f"/v1/sessions/{sid}/preview?frame={FIRST}"))
        preview.start()
        assert selecting.wait(10)
        for path in ("/v1/sessions", f"/v1/sessions/{sid}", "/v1/health"):
            started = time.perf_counter()
            status, payload = client.call("GET", path)
            assert status == 200 and time.perf_counter() - started < 1.0, path
        assert payload["version"]
        preview.join(30)
    finally:
        engine.select = slow_select
