"""The host adapters' standard-library client (host_adapters/client/mattetrack_client.py) against
a real service: a whole session through it, progress followed off the caller's thread, cancel,
shapes export in every service format, and its errors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import mattetrack_client as mc
import numpy as np
import pytest
from service_harness import FIRST, N_FRAMES

from mattetrack.evaluation import iou
from mattetrack.service import auth
from mattetrack.shapes.document import ShapeDocument
from mattetrack.shapes.raster import rasterise
from mattetrack.shapes.source import open_mattes
from mattetrack.synthetic import click_point

LAST = FIRST + N_FRAMES - 1


def _clicked(client: mc.Client, plate: str, truth: list[np.ndarray]) -> tuple[str, int]:
    sid = client.open_session(plate)["session"]
    oid = client.add_object(sid, "blob")["object"]
    got = client.add_prompts(sid, oid, FIRST, points=[click_point(truth[0])])
    assert got["keyframes"] == [FIRST]
    return sid, oid


def test_session_through_the_client(server, plate, service_root, tmp_path_factory):
    url, token = server
    root, truth = service_root
    client = mc.Client(url, token)
    assert client.health()["engine"] == "classic"
    sid, oid = _clicked(client, plate, truth)
    png = client.preview(sid, FIRST, max_side=160)
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (90, 160)

    out = root / "client_out"
    run = mc.Propagation(client, sid, str(out / "m.####.exr"))
    polls = []
    while True:  # what a host's UI timer does: each poll must be instant
        t0 = time.perf_counter()
        status = run.poll()
        polls.append(time.perf_counter() - t0)
        if status["state"] != "running":
            break
        time.sleep(0.005)
    suggested = status.pop("suggested")
    assert status == {"state": "done", "done": N_FRAMES, "total": N_FRAMES, "frame": LAST,
                      "error": None}
    # Once done: where a correction would help most, as the session's report says.
    report = client.report(sid)
    assert suggested == {o["name"]: o["suggested"] for o in report["objects"]}
    assert list(suggested) == ["blob"] and FIRST not in suggested["blob"]
    assert max(polls) < 0.05  # a lock and a dict copy; the stream is read on another thread
    mattes = open_mattes(str(out / "m.####.exr"))
    assert sorted(mattes.frames) == list(range(FIRST, LAST + 1))
    assert iou(mattes.read(LAST)["blob"] >= 0.5, truth[-1] >= 0.5) > 0.8
    assert client.session(sid)["job"] == run.job
    listed = {s["session"]: s for s in client.sessions()}
    assert listed[sid]["job"] == run.job and listed[sid]["plate"] == client.session(sid)["plate"]

    # Shapes in every format the service writes; the JSON's shapes cover the mattes.
    shapes = root / "client_shapes"
    shapes.mkdir()
    for fmt, name in [("json", "s.json"), ("nuke", "s.nk"), ("fusion", "s.setting"),
                      ("blender-plan", "plan.json")]:
        got = client.export_shapes(sid, str(shapes / name), fmt)
        assert got["format"] == fmt and got["objects"] == 1 and got["shapes"] >= 1
        # Fitted once: the other formats write the session's last fit again.
        assert got["refitted"] is (fmt == "json")
        assert got["frames"] == [FIRST, LAST]
        assert (shapes / name).stat().st_size > 0
    # Followed off the caller's thread, as a host's UI timer does: each poll is instant.
    export = mc.ShapesExport(client, sid, str(shapes / "followed.json"), min_area=4)  # refit
    polls, seen = [], set()
    while True:
        t0 = time.perf_counter()
        status = export.poll()
        polls.append(time.perf_counter() - t0)
        seen.add(status["stage"])
        if status["state"] != "running":
            break
        time.sleep(0.002)
    assert max(polls) < 0.05
    assert status["state"] == "done" and status["error"] is None
    assert status["stage"] == "fitting" and status["done"] == status["total"] > 0
    assert status["result"]["kind"] == "shapes" and status["result"]["shapes"] >= 1
    assert status["result"]["refitted"] is True  # another setting: fitted again
    assert client.job(export.job)["output"] == str(shapes / "followed.json")
    doc = ShapeDocument.load(shapes / "s.json")
    for frame in (FIRST, LAST):
        raster = rasterise(doc.objects[0], frame, doc.width, doc.height)
        assert iou(raster, mattes.read(frame)["blob"] >= 0.5) > 0.95
    assert (shapes / "s.roto.json").is_file()  # the Nuke plan beside its script
    plan = json.loads((shapes / "plan.json").read_text())
    assert plan["format"] == "mattetrack-blender-mask" and plan["frame_start"] == FIRST

    # A prompt changed since: the mattes are stale, no shapes from them.
    client.add_prompts(sid, oid, LAST, points=[click_point(truth[-1])])
    with pytest.raises(mc.ServiceError) as err:
        client.export_shapes(sid, str(shapes / "t.json"))
    assert err.value.status == 409 and "out of date" in str(err.value)
    client.close_session(sid)


def test_shapes_export_refusals(client, plate, service_root):
    root, truth = service_root
    c = mc.Client(client.url, client.token)
    sid, _ = _clicked(c, plate, truth)
    cases = [
        ({"output": str(root / "x.json")}, 409, "propagate first"),
        ({"output": str(root / "x.json"), "format": "blender"}, 400, "format: expected"),
        ({"output": str(root / "x.nk"), "format": "json"}, 400, "must end in .json"),
        ({"output": "/tmp/elsewhere.json"}, 403, "outside the service's roots"),
        ({"output": str(root / "nope" / "x.json")}, 400, "does not exist"),
        ({"output": str(root / "x.json"), "tolerance": 0}, 400, "tolerance"),
        ({"output": str(root / "x.json"), "min_area": -1}, 400, "min_area"),
    ]
    for body, status, text in cases:
        got, payload = client.call("POST", f"/v1/sessions/{sid}/shapes", body)
        assert got == status and text in payload["error"], (body, payload)


def test_cancel_through_the_client(server, plate, service_root):
    url, token = server
    root, truth = service_root
    client = mc.Client(url, token)
    sid, _ = _clicked(client, plate, truth)
    run = mc.Propagation(client, sid, str(root / "client_cancel" / "m.####.exr"))
    run.cancel()
    status = run.wait(60)
    assert status["state"] in ("cancelled", "done")  # done if it raced to the end
    assert status["done"] == len(list((root / "client_cancel").glob("m.*.exr")))
    if status["state"] == "cancelled":
        assert status["done"] < N_FRAMES


def test_errors_are_one_line_service_errors(server, tmp_path):
    url, token = server
    with pytest.raises(mc.ServiceError) as err:
        mc.Client(url, "wrong-token").health()
    assert err.value.status == 401 and "token" in str(err.value)
    with pytest.raises(mc.ServiceError) as err:
        mc.Client(url, token).open_session("/no/such/plate.####.exr")
    assert err.value.status == 403
    with pytest.raises(mc.ServiceError) as err:  # nothing listens there
        mc.Client("http://127.0.0.1:9", token, timeout=5).health()
    assert err.value.status == 0 and "mattetrack serve" in str(err.value)
    with pytest.raises(mc.ServiceError) as err:
        mc.Client(url, token_file=str(tmp_path / "missing"))
    assert err.value.status == 0 and str(tmp_path / "missing") in str(err.value)


@pytest.mark.parametrize("env", [{"MATTETRACK_CONFIG": "cfg"}, {"XDG_CONFIG_HOME": "xdg"}, {}])
def test_token_found_where_the_service_puts_it(env, tmp_path, monkeypatch):
    monkeypatch.delenv("MATTETRACK_CONFIG", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for key, value in env.items():
        monkeypatch.setenv(key, str(tmp_path / value))
    token, path = auth.load_or_create_token()
    assert Path(mc.config_dir()) == auth.config_dir() and path.parent == auth.config_dir()
    assert mc.read_token() == token
