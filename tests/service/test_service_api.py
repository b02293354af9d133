"""The service's endpoints on a real server and a real EXR plate: sessions, objects, clicks,
previews, propagation jobs writing EXR mattes, their event streams, cancel, concurrency."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import OpenImageIO as oiio
from service_harness import FIRST, N_FRAMES, H, W

from mattetrack.cli import main
from mattetrack.evaluation import iou
from mattetrack.service.api import ROUTES
from mattetrack.synthetic import click_point

LAST = FIRST + N_FRAMES - 1


def _open(client, plate: str, name: str = "blob", truth=None) -> tuple[str, int]:
    """A session on the plate with one object clicked on its first frame."""
    sid = client.ok("POST", "/v1/sessions", {"plate": plate}, 201)["session"]
    oid = client.ok("POST", f"/v1/sessions/{sid}/objects", {"name": name}, 201)["object"]
    x, y = click_point(truth[0])
    got = client.ok("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts",
                    {"frame": FIRST, "points": [[x, y]]})
    assert got["keyframes"] == [FIRST]
    return sid, oid


def _preview(client, sid: str, query: str) -> np.ndarray:
    with client.request("GET", f"/v1/sessions/{sid}/preview?{query}") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "image/png"
        image = cv2.imdecode(np.frombuffer(resp.read(), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def _events(client, jid: str) -> list[dict]:
    with client.request("GET", f"/v1/jobs/{jid}/events") as resp:
        assert resp.headers["Content-Type"] == "application/x-ndjson"
        return [json.loads(line) for line in resp]


def _read_channel(path: str, channel: str) -> np.ndarray:
    inp = oiio.ImageInput.open(path)
    assert inp is not None, oiio.geterror()
    spec = inp.spec()
    names = list(spec.channelnames)
    assert channel in names, names
    assert spec.channelformat(names.index(channel)) == oiio.TypeDesc("half")
    pixels = inp.read_image(0, 0, names.index(channel), names.index(channel) + 1, "float")
    inp.close()
    return pixels[:, :, 0]


def test_open_click_preview(client, plate, service_root):
    _, truth = service_root
    sid, oid = _open(client, plate, truth=truth)
    info = client.ok("GET", f"/v1/sessions/{sid}")
    assert info["frames"] == [FIRST, LAST] and (info["width"], info["height"]) == (W, H)
    x, y = click_point(truth[0])
    client.ok("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts",
              {"frame": FIRST, "negative": [[3.5, 4.25]], "box": [1, 2, 300, 170]})
    assert info["objects"] == [{"object": oid, "name": "blob", "keyframes": [FIRST], "prompts": [
        {"frame": FIRST, "points": [[x, y]], "negative": [], "box": None, "strokes": [],
         "mask": False, "corrects": False}], "stale": False}]
    prompts = client.ok("GET", f"/v1/sessions/{sid}")["objects"][0]["prompts"]
    assert prompts == [{"frame": FIRST, "points": [[x, y]], "negative": [[3.5, 4.25]],
                        "box": [1, 2, 300, 170], "strokes": [], "mask": False,
                        "corrects": False}]
    client.ok("DELETE", f"/v1/sessions/{sid}/objects/{oid}/prompts")
    client.ok("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts",
              {"frame": FIRST, "points": [[x, y]]})

    shown = _preview(client, sid, f"frame={FIRST}").astype(np.int16)
    assert shown.shape == (H, W, 3)
    # Uncompressed for a UI on the same machine: the same pixels.
    with client.request("GET", f"/v1/sessions/{sid}/preview?frame={FIRST}&format=bmp") as resp:
        assert resp.headers["Content-Type"] == "image/bmp"
        bmp = cv2.imdecode(np.frombuffer(resp.read(), np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(bmp, shown)
    assert client.call("GET", f"/v1/sessions/{sid}/preview?frame={FIRST}&format=gif")[0] == 400
    # Frame 1002 has no prompts and nothing propagated yet: the plain frame.
    plain = _preview(client, sid, f"frame={FIRST}&object={oid}&max_side=160")
    assert plain.shape == (90, 160, 3)
    other = client.ok("POST", f"/v1/sessions/{sid}/objects", {}, 201)["object"]
    bare = _preview(client, sid, f"frame={FIRST}&object={other}").astype(np.int16)
    changed = np.abs(shown - bare).max(axis=2) > 8
    obj = truth[0] >= 0.5
    assert changed[obj].mean() > 0.9  # the overlay is on the object...
    assert changed[~obj].mean() < 0.05  # ...and (outline aside) nowhere else
    client.ok("DELETE", f"/v1/sessions/{sid}/objects/{other}")
    client.ok("DELETE", f"/v1/sessions/{sid}")
    assert client.call("GET", f"/v1/sessions/{sid}")[0] == 404


def test_a_preview_says_which_prompts_select_nothing(client, plate, service_root):
    """An object with only negative clicks on a frame is left out of the preview, and the
    answer's header says why (the UI shows it); the other objects are drawn as usual."""
    from urllib.parse import unquote

    _, truth = service_root
    sid, oid = _open(client, plate, "blob", truth=truth)
    only = client.ok("POST", f"/v1/sessions/{sid}/objects", {"name": "ête"}, 201)["object"]
    client.ok("POST", f"/v1/sessions/{sid}/objects/{only}/prompts",
              {"frame": FIRST, "negative": [[3.5, 4.25]]})
    with client.request("GET", f"/v1/sessions/{sid}/preview?frame={FIRST}") as resp:
        assert resp.status == 200
        problem = unquote(resp.headers["X-MatteTrack-Problem"])
        shown = cv2.imdecode(np.frombuffer(resp.read(), np.uint8), cv2.IMREAD_COLOR)
    assert problem.startswith("object 'ête': the prompts on frame") and "all negative" in problem
    np.testing.assert_array_equal(shown, _preview(client, sid, f"frame={FIRST}&object={oid}"))
    with client.request("GET", f"/v1/sessions/{sid}/preview?frame={FIRST}&object={oid}") as resp:
        assert "X-MatteTrack-Problem" not in resp.headers
    client.ok("DELETE", f"/v1/sessions/{sid}")


def test_bad_requests(client, plate, service_root):
    _, truth = service_root
    sid, oid = _open(client, plate, truth=truth)
    prompts = f"/v1/sessions/{sid}/objects/{oid}/prompts"
    cases = [
        ("POST", "/v1/sessions", b"{not json", 400, "JSON"),
        ("POST", "/v1/sessions", b"[1, 2]", 400, "object"),
        ("POST", "/v1/sessions", b"{}", 400, "plate: required"),
        ("POST", "/v1/sessions", {"plate": 7}, 400, "plate: expected str"),
        ("POST", "/v1/sessions", {"plate": plate, "range": "9-1"}, 400, "range"),
        ("POST", "/v1/sessions", {"plate": plate.replace("plate.", "nope.")}, 400, "nope"),
        ("POST", prompts, {"frame": "1001", "points": [[1, 2]]}, 400, "frame: expected int"),
        ("POST", prompts, {"frame": True, "points": [[1, 2]]}, 400, "frame"),
        ("POST", prompts, {"frame": FIRST, "points": [[1, "2"]]}, 400, "points[0]"),
        ("POST", prompts, {"frame": FIRST, "box": [1, 2, 3]}, 400, "box"),
        ("POST", prompts, {"frame": FIRST}, 400, "give points"),
        ("POST", prompts, {"frame": 5, "points": [[1, 2]]}, 400, "frame 5 is not in the shot"),
        ("POST", prompts, {"frame": FIRST, "points": [[1, 2], [W + 5, 2]]}, 400, "outside"),
        ("POST", f"/v1/sessions/{sid}/objects", {"name": "blob"}, 400, "already"),
        ("GET", f"/v1/sessions/{sid}/preview", None, 400, "frame: required"),
        ("GET", f"/v1/sessions/{sid}/preview?frame=x", None, 400, "frame"),
        ("GET", f"/v1/sessions/{sid}/preview?frame={FIRST}&max_side=2", None, 400, "max_side"),
        ("GET", f"/v1/sessions/{sid}/preview?frame={FIRST}&window=full", None, 400, "window"),
        ("GET", f"/v1/sessions/{sid}/window", None, 400, "frame: required"),
        ("GET", f"/v1/sessions/{sid}/window?frame=5", None, 400, "frame 5"),
        ("POST", f"/v1/sessions/{sid}/propagate", {"output": plate[:-4] + ".png"}, 400, "EXR"),
        ("POST", f"/v1/sessions/{sid}/propagate", {"output": plate}, 400, "overwrite the plate"),
        ("POST", f"/v1/sessions/{sid}/composite", {"output": plate[:-4] + ".jpg",
                                                    "foreground_only": True}, 400, "must end in"),
        ("POST", f"/v1/sessions/{sid}/composite", {"output": plate[:-4] + "c.mov",
                                                    "background": "#000000",
                                                    "foreground_only": True}, 400, "not both"),
        ("POST", f"/v1/sessions/{sid}/composite", {"output": plate[:-4] + "c.mov",
                                                    "background": "/elsewhere/bg.exr"}, 403,
         "background"),
        ("POST", f"/v1/sessions/{sid}/composite", {"output": plate[:-4] + "c.mov",
                                                    "foreground_only": True}, 409,
         "no propagated mattes yet"),
        ("POST", f"/v1/sessions/{sid}/cuts", {"output": plate[:-4] + ".txt"}, 400, ".otio"),
        ("POST", f"/v1/sessions/{sid}/remove", {"output": plate[:-9] + "c.exr"}, 400,
         "frame pattern"),
        ("POST", f"/v1/sessions/{sid}/remove", {"output": plate[:-9] + "c.####.png",
                                                 "merge": True}, 400, "merge writes EXR"),
        ("POST", f"/v1/sessions/{sid}/remove", {"output": plate[:-9] + "c.####.exr",
                                                 "grow": -1}, 400, "grow"),
        ("POST", f"/v1/sessions/{sid}/remove", {"output": plate[:-9] + "c.####.exr"}, 409,
         "no propagated mattes yet"),
        ("GET", "/v1/sessions/nope", None, 404, "no session"),
        ("POST", f"/v1/sessions/{sid}/objects/99/prompts", {"frame": FIRST, "box": [1, 1, 9, 9]},
         404, "no object"),
        ("DELETE", f"/v1/sessions/{sid}/objects/x", None, 404, "object"),
        ("GET", f"/v1/sessions/{sid}/preview?frame={FIRST}&object=99", None, 404, "no object"),
        ("GET", "/v1/jobs/nope", None, 404, "no job"),
        ("POST", "/v1/jobs/nope/cancel", None, 404, "no job"),
        ("GET", "/v1/nowhere", None, 404, "no endpoint"),
        ("PUT", "/v1/sessions", b"{}", 405, "POST"),
        ("DELETE", "/v1/health", None, 405, "GET"),
    ]
    for method, path, body, status, words in cases:
        raw = body if isinstance(body, bytes) else None
        got, payload = client.call(method, path, None if raw else body, raw=raw)
        assert (got, words in payload.get("error", "")) == (status, True), (path, body, payload)
    # A refused prompt added nothing (the batch is checked first).
    assert client.ok("GET", f"/v1/sessions/{sid}")["objects"][0]["keyframes"] == [FIRST]
    client.ok("DELETE", f"{prompts}?frame={FIRST}")
    status, payload = client.call("POST", f"/v1/sessions/{sid}/propagate",
                                  {"output": os.path.dirname(plate) + "/m.####.exr"})
    assert status == 400 and "no prompts" in payload["error"]
    client.ok("DELETE", f"/v1/sessions/{sid}")


def test_propagate_writes_mattes_and_streams_events(client, plate, service_root):
    root, truth = service_root
    sid, oid = _open(client, plate, name="the blob", truth=truth)
    output = str(root / "out_all" / "mattes.####.exr")
    job = client.ok("POST", f"/v1/sessions/{sid}/propagate",
                    {"output": output, "cryptomatte": True}, 202)
    assert job["total"] == N_FRAMES
    events = _events(client, job["job"])
    assert [e["frame"] for e in events[:-1]] == list(range(FIRST, LAST + 1))
    assert events[-1] == {"state": "done", "done": N_FRAMES, "total": N_FRAMES}
    status = client.ok("GET", f"/v1/jobs/{job['job']}")
    assert status["state"] == "done" and (status["first"], status["last"]) == (FIRST, LAST)
    # The layer each object's matte went to (the name sanitised for EXR and the hosts).
    assert status["layers"] == [{"object": oid, "name": "the blob", "layer": "the_blob"}]
    assert sorted(os.listdir(root / "out_all")) == [f"mattes.{f}.exr"
                                                    for f in range(FIRST, LAST + 1)]
    for i, f in enumerate(range(FIRST, LAST + 1)):
        matte = _read_channel(str(root / "out_all" / f"mattes.{f}.exr"), "the_blob.A")
        assert iou(matte >= 0.5, truth[i] >= 0.5) > 0.8
    inp = oiio.ImageInput.open(str(root / "out_all" / f"mattes.{FIRST}.exr"))
    assert "MatteTrack00.R" in inp.spec().channelnames
    inp.close()
    # Previews now show the propagated matte on frames without prompts.
    last = _preview(client, sid, f"frame={LAST}").astype(np.int16)
    plain = _preview(client, sid, f"frame={LAST}&opacity=0&view=outline").astype(np.int16)
    assert (np.abs(last - plain).max(axis=2) > 8)[truth[-1] >= 0.5].mean() > 0.8
    # An edit leaves the mattes shown until a propagation replaces them, striped and named
    # out of date: half the tint's stripes are gone.
    client.ok("DELETE", f"/v1/sessions/{sid}/objects/{oid}/prompts")
    with client.request("GET", f"/v1/sessions/{sid}/preview?frame={LAST}") as resp:
        assert resp.headers["X-MatteTrack-Stale"] == str(oid)
        stale = cv2.imdecode(np.frombuffer(resp.read(), np.uint8), cv2.IMREAD_COLOR)
    tinted = (np.abs(stale.astype(np.int16) - plain).max(axis=2) > 8)[truth[-1] >= 0.5].mean()
    assert 0.3 < tinted < 0.7
    info = client.ok("GET", f"/v1/sessions/{sid}")
    assert info["objects"][0]["stale"] and info["mattes"]["frames"] == list(range(FIRST, LAST + 1))
    client.ok("DELETE", f"/v1/sessions/{sid}")


def test_cancel_stops_early_and_leaves_whole_files(client, plate, service_root):
    root, truth = service_root
    sid, _ = _open(client, plate, truth=truth)
    folder = root / "out_cancel"
    job = client.ok("POST", f"/v1/sessions/{sid}/propagate",
                    {"output": str(folder / "m.####.exr")}, 202)["job"]
    with client.request("GET", f"/v1/jobs/{job}/events") as stream:
        first = json.loads(stream.readline())
        assert first["frame"] == FIRST
        # While it runs, a second propagate on the same session is refused.
        status, payload = client.call("POST", f"/v1/sessions/{sid}/propagate",
                                      {"output": str(folder / "again.####.exr")})
        assert status == 409 and job in payload["error"]
        assert client.ok("POST", f"/v1/jobs/{job}/cancel", status=202)["job"] == job
        rest = [json.loads(line) for line in stream]
    end = rest[-1]
    assert end["state"] == "cancelled" and end["done"] < N_FRAMES
    status = client.ok("GET", f"/v1/jobs/{job}")
    assert (status["state"], status["done"]) == ("cancelled", end["done"])
    files = sorted(os.listdir(folder))
    assert files == [f"m.{f}.exr" for f in range(FIRST, FIRST + end["done"])]  # no temp files
    for name in files:
        assert _read_channel(str(folder / name), "blob.A").shape == (H, W)
    client.ok("DELETE", f"/v1/sessions/{sid}")


def test_two_clients_at_once(client, plate, service_root):
    root, truth = service_root
    results: dict[int, object] = {}

    def work(k: int) -> None:
        try:
            sid, _ = _open(client, plate, name=f"obj{k}", truth=truth)
            _preview(client, sid, f"frame={FIRST}&max_side=200")
            job = client.ok("POST", f"/v1/sessions/{sid}/propagate",
                            {"output": str(root / f"two{k}" / "m.####.exr"),
                             "range": f"{FIRST}-{FIRST + 3}"}, 202)["job"]
            results[k] = _events(client, job)[-1]
            client.ok("DELETE", f"/v1/sessions/{sid}")
        except BaseException as err:
            results[k] = err

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for k in range(2):
        assert results[k] == {"state": "done", "done": 4, "total": 4}, results[k]
        assert len(os.listdir(root / f"two{k}")) == 4


def test_jobs_answer_promptly_while_propagating(client, plate, service_root):
    root, truth = service_root
    sid, _ = _open(client, plate, truth=truth)
    job = client.ok("POST", f"/v1/sessions/{sid}/propagate",
                    {"output": str(root / "out_prompt" / "m.####.exr")}, 202)["job"]
    worst, state = 0.0, "running"
    while state == "running":
        started = time.perf_counter()
        state = client.ok("GET", f"/v1/jobs/{job}")["state"]
        worst = max(worst, time.perf_counter() - started)
    assert state == "done" and worst < 0.5
    client.ok("DELETE", f"/v1/sessions/{sid}")


def test_openapi_lists_every_route(client):
    doc = client.ok("GET", "/v1/openapi.json")
    assert doc["openapi"].startswith("3.1")
    routed = {(r.path, r.method.lower()) for r in ROUTES}
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert routed == documented
    prompts = doc["paths"]["/v1/sessions/{sid}/objects/{oid}/prompts"]["post"]
    body = prompts["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["frame"] and "points" in body["properties"]
    assert "image/png" in doc["paths"]["/v1/sessions/{sid}/preview"]["get"]["responses"]["200"][
        "content"]


def test_preview_warms_the_engine_for_the_frame_shown(server, client, plate):
    """Showing a frame nobody has clicked on yet has the engine compute its features in the
    background (classic: the visual words), so the click that follows finds them ready."""
    from mattetrack.engines.classic import select as sel
    from mattetrack.shot import Shot

    shot = Shot.open(plate)
    key = sel._digest(sel._work_image(shot.image(LAST - 1), sel.SelectParams()))
    shot.close()
    cache = server.service.engine.cache  # the served engine's own memo
    cache.words.pop(key, None)
    sid = client.ok("POST", "/v1/sessions", {"plate": plate}, 201)["session"]
    _preview(client, sid, f"frame={LAST - 1}&max_side=64")
    deadline = time.monotonic() + 30
    while key not in cache.words and time.monotonic() < deadline:
        time.sleep(0.02)
    assert key in cache.words
    client.ok("DELETE", f"/v1/sessions/{sid}")


def test_formats_come_from_the_tables(client):
    """GET /v1/formats and the OpenAPI enums list what the format tables hold."""
    from mattetrack.export.kinds import COMPRESSIONS, DEFAULT_COMPRESSION
    from mattetrack.shapes.formats import DEFAULT_SHAPE_FORMAT, SHAPE_FORMATS, service_formats

    got = client.ok("GET", "/v1/formats")
    assert [f["name"] for f in got["shapes"]] == list(service_formats())
    assert all(f["suffix"] == SHAPE_FORMATS[f["name"]].suffix for f in got["shapes"])
    assert "blender" not in [f["name"] for f in got["shapes"]]  # runs a Blender: CLI only
    assert got["default_shapes"] == DEFAULT_SHAPE_FORMAT
    assert [c["name"] for c in got["compressions"]] == list(COMPRESSIONS)
    assert got["default_compression"] == DEFAULT_COMPRESSION
    paths = client.ok("GET", "/v1/openapi.json")["paths"]

    def body(path: str) -> dict:
        content = paths[path]["post"]["requestBody"]["content"]["application/json"]
        return content["schema"]["properties"]

    assert body("/v1/sessions/{sid}/shapes")["format"]["enum"] == list(service_formats())
    assert body("/v1/sessions/{sid}/propagate")["compression"]["enum"] == list(COMPRESSIONS)


def test_propagate_refuses_an_unknown_compression_and_writes_nothing(client, plate,
                                                                      service_root):
    sid = client.ok("POST", "/v1/sessions", {"plate": plate}, 201)["session"]
    out = service_root[0] / "lossy"
    status, body = client.call("POST", f"/v1/sessions/{sid}/propagate",
                               {"output": str(out / "m.####.exr"), "compression": "dwaa"})
    assert status == 400 and body["error"].startswith("compression:")
    # The data window: the plate's or its display window (Blender's), nothing else.
    status, body = client.call("POST", f"/v1/sessions/{sid}/propagate",
                               {"output": str(out / "m.####.exr"), "window": "bbox"})
    assert status == 400 and body["error"].startswith("window:")
    assert not out.exists()
    client.ok("DELETE", f"/v1/sessions/{sid}")


def test_propagate_refuses_to_overwrite_a_mask_prompt(client, plate, service_root):
    """The pipeline's checks hold in the service too: an output pattern covering the file a mask
    prompt came from is refused (400, the field as the service names it), the file kept."""
    import OpenImageIO as oiio

    root, truth = service_root
    folder = root / "maskprompt"
    folder.mkdir(exist_ok=True)
    mask = folder / f"m.{FIRST:04d}.exr"
    out = oiio.ImageOutput.create(str(mask))
    assert out.open(str(mask), oiio.ImageSpec(W, H, 1, "float"))
    out.write_image(np.ascontiguousarray(truth[0], np.float32))
    out.close()
    before = mask.read_bytes()
    sid = client.ok("POST", "/v1/sessions", {"plate": plate}, 201)["session"]
    oid = client.ok("POST", f"/v1/sessions/{sid}/objects", {"name": "m"}, 201)["object"]
    client.ok("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts",
              {"frame": FIRST, "mask": str(mask)})
    status, body = client.call("POST", f"/v1/sessions/{sid}/propagate",
                               {"output": str(folder / "m.####.exr")})
    assert status == 400, body
    assert body["error"].startswith("output ") and "would overwrite the input mask" in body["error"]
    assert mask.read_bytes() == before
    client.ok("DELETE", f"/v1/sessions/{sid}")


def test_a_correction_repropagates_only_its_span_and_the_report_ranks_frames(
        client, plate, service_root):
    root, truth = service_root
    sid, oid = _open(client, plate, truth=truth)
    output = str(root / "out_loop" / "mattes.####.exr")
    job = client.ok("POST", f"/v1/sessions/{sid}/propagate", {"output": output}, 202)
    _events(client, job["job"])
    first = client.ok("GET", f"/v1/jobs/{job['job']}")
    assert (first["computed"], first["reused"]) == (N_FRAMES, 0)
    report = client.ok("GET", f"/v1/sessions/{sid}/report")
    assert report["frames"] == [FIRST, LAST]
    (obj,) = report["objects"]
    assert obj["confidence"][str(FIRST)] == 1.0 and FIRST not in obj["suggested"]
    # A stroke on a propagated frame corrects the matte shown there ...
    mid = FIRST + N_FRAMES // 2
    x, y = click_point(truth[mid - FIRST])
    client.ok("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts",
              {"frame": mid, "strokes": [{"points": [[x - 3, y], [x + 3, y]], "width": 4}]})
    prompts = client.ok("GET", f"/v1/sessions/{sid}")["objects"][0]["prompts"]
    assert prompts[1]["corrects"] and prompts[1]["strokes"][0]["width"] == 4
    # ... and the next propagation recomputes only the frames after the first keyframe.
    job = client.ok("POST", f"/v1/sessions/{sid}/propagate", {"output": output}, 202)
    _events(client, job["job"])
    second = client.ok("GET", f"/v1/jobs/{job['job']}")
    assert second["state"] == "done"
    assert (second["computed"], second["reused"]) == (N_FRAMES - 1, 1)
    status, body = client.call("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts",
                               {"frame": mid, "strokes": [{"points": [], "width": 4}]})
    assert status == 400 and "strokes[0].points" in body["error"]
    client.ok("DELETE", f"/v1/sessions/{sid}")


def test_a_data_window_preview_is_black_where_it_leaves_the_display_window():
    from mattetrack.geometry import Box2i
    from mattetrack.service.api import _on_box

    pixels = np.arange(4 * 6 * 3, dtype=np.float32).reshape(4, 6, 3) + 1
    inside = _on_box(pixels, Box2i(1, 1, 3, 2))
    np.testing.assert_array_equal(inside, pixels[1:3, 1:4])
    over = _on_box(pixels, Box2i(-2, -1, 7, 4))  # overscan: 2 px left, 1 up, 2 right, 1 down
    assert over.shape == (6, 10, 3)
    np.testing.assert_array_equal(over[1:5, 2:8], pixels)
    assert not over[0].any() and not over[:, :2].any() and not over[:, 8:].any()


def test_remove_keeps_the_foreground_object_out_of_the_background(client, plate,
                                                                  service_root):
    """`foreground` (as `remove --foreground`): a second object of the session, kept in front:
    the job reads its mattes beside the removed one's and writes what the CLI writes with it."""
    root, truth = service_root
    sid, _ = _open(client, plate, truth=truth)
    oid = client.ok("POST", f"/v1/sessions/{sid}/objects", {"name": "corner"}, 201)["object"]
    client.ok("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts",
              {"frame": FIRST, "points": [[4, 4]]})
    (root / "fg").mkdir()
    mattes = str(root / "fg" / "mattes.####.exr")
    propagation = client.ok("POST", f"/v1/sessions/{sid}/propagate", {"output": mattes}, 202)
    assert _events(client, propagation["job"])[-1]["state"] == "done"
    output = str(root / "fg" / "clean.####.exr")
    job = client.ok("POST", f"/v1/sessions/{sid}/remove",  # removed: all but the foreground
                    {"output": output, "foreground": ["corner"]}, 202)
    assert _events(client, job["job"])[-1]["state"] == "done"
    client.ok("DELETE", f"/v1/sessions/{sid}")
    cli = str(root / "fg" / "cli.####.exr")
    assert main(["remove", plate, mattes, "--object", "blob", "--foreground", "corner", "-o",
                 cli, "-q"]) == 0
    for frame in (FIRST, LAST):
        np.testing.assert_array_equal(
            _read_channel(output.replace("####", f"{frame:04d}"), "R"),
            _read_channel(cli.replace("####", f"{frame:04d}"), "R"))


def test_remove_says_where_the_clean_plate_needs_paint(client, plate, service_root):
    """The removal job (as `mattetrack remove`): the clean plate's frames, its report where
    asked, and the frames to paint first in its status and last event either way."""
    root, truth = service_root
    sid, _ = _open(client, plate, truth=truth)
    (root / "clean").mkdir()
    mattes = str(root / "clean" / "mattes.####.exr")
    propagation = client.ok("POST", f"/v1/sessions/{sid}/propagate", {"output": mattes}, 202)
    assert _events(client, propagation["job"])[-1]["state"] == "done"
    output, report = str(root / "clean" / "c.####.exr"), str(root / "clean" / "paint.json")
    status, payload = client.call("POST", f"/v1/sessions/{sid}/remove",
                                  {"output": output, "report": report[:-5] + ".txt"})
    assert status == 400 and payload["error"].startswith("report:"), payload
    for extra, words in (({"objects": ["blob"], "foreground": ["blob"]},
                          "foreground: 'blob' is also removed"),
                         ({"foreground": ["cat"]}, "foreground: 'cat' is not"),
                         ({"foreground": ["blob"]}, "objects: none left to remove")):
        status, payload = client.call("POST", f"/v1/sessions/{sid}/remove",
                                      {"output": output, **extra})
        assert status == 400 and payload["error"].startswith(words), payload
    job = client.ok("POST", f"/v1/sessions/{sid}/remove", {"output": output, "report": report},
                    202)
    end = _events(client, job["job"])[-1]
    assert end["state"] == "done", end
    doc = json.loads(Path(report).read_text())
    entry = doc["objects"][0]
    assert doc["frames"] == [FIRST, LAST] and entry["name"] == "blob_clean"
    assert sorted(int(f) for f in entry["confidence"]) == list(range(FIRST, LAST + 1))
    assert all(0.0 <= c <= 1.0 for c in entry["confidence"].values())
    assert end["paint"] == entry["suggested"]
    assert client.ok("GET", f"/v1/jobs/{job['job']}")["paint"] == entry["suggested"]
    assert len(list((root / "clean").glob("c.*.exr"))) == N_FRAMES
    client.ok("DELETE", f"/v1/sessions/{sid}")
