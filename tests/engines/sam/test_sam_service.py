"""One deep engine serving several clients at once through `mattetrack serve`: the model is
called by one request or job at a time (the engine gate), and what each client gets is what it
would get alone."""

from __future__ import annotations

import threading
import time

from service_harness import FIRST, N_FRAMES, Client, running_server, write_plate

from mattetrack.engines.sam.families import FAMILIES
from mattetrack.synthetic import click_point


class _Concurrency:
    """Wraps model methods to count the calls running at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.most = 0
        self.calls = 0

    def wrap(self, method):
        def counted(*args, **kwargs):
            with self.lock:
                self.active += 1
                self.calls += 1
                self.most = max(self.most, self.active)
            try:
                time.sleep(0.002)  # widen the window in which an unguarded call would overlap
                return method(*args, **kwargs)
            finally:
                with self.lock:
                    self.active -= 1

        return counted


def _session(client: Client, plate: str, truth) -> tuple[str, int]:
    sid = client.ok("POST", "/v1/sessions", {"plate": plate}, 201)["session"]
    oid = client.ok("POST", f"/v1/sessions/{sid}/objects", {"name": "blob"}, 201)["object"]
    client.ok("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts",
              {"frame": FIRST, "points": [list(click_point(truth[0]))]})
    return sid, oid


def test_deep_engine_serves_concurrent_clients_one_call_at_a_time(
        tiny_checkpoints, tmp_path, monkeypatch):
    model_class, _ = FAMILIES["sam2"].classes()
    counter = _Concurrency()
    for name in ("get_image_embeddings", "_run_single_frame_inference"):
        monkeypatch.setattr(model_class, name, counter.wrap(getattr(model_class, name)))
    truth = write_plate(tmp_path)
    plate = str(tmp_path / "plate" / "plate.####.exr")
    with running_server([tmp_path], tmp_path / "token", "sam2",
                        str(tiny_checkpoints["sam2"])) as (url, token):
        a, b = Client(url, token), Client(url, token)
        sid_a, _ = _session(a, plate, truth)
        sid_b, oid_b = _session(b, plate, truth)
        # Alone first: client B's previews of each frame's selection.
        frames = [FIRST + i for i in range(0, N_FRAMES, 2)]
        for f in frames[1:]:
            b.ok("POST", f"/v1/sessions/{sid_b}/objects/{oid_b}/prompts",
                 {"frame": f, "points": [list(click_point(truth[f - FIRST]))]})
        alone = {f: b.call("GET", f"/v1/sessions/{sid_b}/preview?frame={f}")[1] for f in frames}
        counter.most = 0

        # Then at once: A propagates (a job thread in the model) while B asks for the same
        # previews again from two threads (each a selection through the model: cache cleared).
        job = a.ok("POST", f"/v1/sessions/{sid_a}/propagate",
                   {"output": str(tmp_path / "out" / "m.####.exr")}, 202)["job"]
        b.ok("DELETE", f"/v1/sessions/{sid_b}/objects/{oid_b}/prompts")
        for f in frames:
            b.ok("POST", f"/v1/sessions/{sid_b}/objects/{oid_b}/prompts",
                 {"frame": f, "points": [list(click_point(truth[f - FIRST]))]})
        together: dict[int, bytes] = {}

        def ask(some: list[int]) -> None:
            for f in some:
                together[f] = b.call("GET", f"/v1/sessions/{sid_b}/preview?frame={f}")[1]

        threads = [threading.Thread(target=ask, args=(frames[i::2],)) for i in range(2)]
        overlapped = a.ok("GET", f"/v1/jobs/{job}")["state"] == "running"
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        while a.ok("GET", f"/v1/jobs/{job}")["state"] == "running":
            time.sleep(0.05)
        assert a.ok("GET", f"/v1/jobs/{job}")["state"] == "done"
    assert counter.calls > N_FRAMES and counter.most == 1
    assert overlapped  # B's selections were asked for while A's job was in the model
    assert together == alone  # byte-identical PNGs: no call saw another's state
