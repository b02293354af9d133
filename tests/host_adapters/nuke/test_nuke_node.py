"""The MatteTrack node (host_adapters/nuke/mattetrack_nuke/node.py) against a real service, its
`nuke` calls against the stand-in: points from the XY knob reach the service in top-left pixels,
the prompts knob rebuilds a lost session, propagation follows a ProgressTask off the main thread
and brings the mattes in as a Read and a Copy per object, cancel, and shapes as Roto nodes."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import mattetrack_client as mc
import nuke_standin
import numpy as np
import OpenImageIO as oiio
import pytest
from mattetrack_nuke import model
from mattetrack_nuke import node as mtnode
from service_harness import FIRST, N_FRAMES, H, W

from mattetrack.synthetic import click_point

REPO = Path(__file__).resolve().parents[3]

LAST = FIRST + N_FRAMES - 1


@pytest.fixture
def nuke(monkeypatch, server, tmp_path):
    """A fresh stand-in as `nuke`; the service's URL and token where the adapter looks."""
    module = nuke_standin.make()
    monkeypatch.setitem(sys.modules, "nuke", module)
    config = tmp_path / "config"
    config.mkdir()
    (config / "token").write_text(server[1])
    monkeypatch.setenv("MATTETRACK_CONFIG", str(config))
    monkeypatch.setenv("MATTETRACK_URL", server[0])
    nuke_standin.VIOLATIONS.clear()
    yield module
    assert nuke_standin.VIOLATIONS == []  # nothing touched a knob or node off the main thread


@pytest.fixture
def client(server) -> mc.Client:
    return mc.Client(*server)


def read_node(nuke, plate: str):
    """The plate's Read, as Nuke makes it (format 320x180, frames 1001-1008), selected."""
    read = nuke.nodes.Read(file=plate, first=FIRST, last=LAST)
    read._format = nuke_standin.Format(W, H)
    read.setSelected(True)
    return read


def service_points(client, sid: str, oid: int, frame: int) -> tuple[list, list]:
    """The points (top-left pixels; positive ones first) and their labels (1 positive, 0
    negative) that the service holds for an object on `frame`, as its API reports them."""
    [obj] = [o for o in client.session(sid)["objects"] if o["object"] == oid]
    [prompts] = [p for p in obj["prompts"] if p["frame"] == frame]
    return (prompts["points"] + prompts["negative"],
            [1] * len(prompts["points"]) + [0] * len(prompts["negative"]))


def memory(node) -> dict:
    return json.loads(node["mt_service"].value())


def click(node, nuke, frame: int, x: float, y: float, button: str = "mt_add_positive") -> None:
    """Drag the point's handle to Nuke pixels (x, y) on `frame`, press a button."""
    nuke.frame(frame)
    node["mt_point"].setValue([x, y])
    node[button].execute()


def finish(nuke, thread, timeout: float = 120.0) -> None:
    """Run Nuke's main-thread queue until `thread` ends, as Nuke's event loop would."""
    deadline = time.monotonic() + timeout
    while thread.is_alive():
        nuke.pump()
        time.sleep(0.01)
        assert time.monotonic() < deadline, "the worker thread did not finish"
    thread.join()
    nuke.pump()


def clicked_node(nuke, plate, truth, name="hero blob"):
    node = mtnode.create(nuke)
    if name:
        node["mt_new_object"].setValue(name)
        node["mt_add_object"].execute()
    x, y = click_point(truth[0])
    click(node, nuke, FIRST, x, H - y)  # Nuke: origin bottom-left
    return node


def test_points_from_the_xy_knob_reach_the_service(nuke, plate, service_root, client):
    root, truth = service_root
    read = read_node(nuke, plate)
    node = mtnode.create(nuke)
    assert node.Class() == "NoOp" and node.input(0) is read and node.name() == "MatteTrack"
    assert node["mt_url"].value() == client.url
    assert node["mt_point"].value() == [W / 2, H / 2]
    assert node["mt_output"].value() == f"{root}/plate/mattetrack/plate_matte.####.exr"
    assert node["mt_prompts"].getFlag(nuke.INVISIBLE) and node["mt_service"].getFlag(
        nuke.INVISIBLE)
    labels = {k.label() for k in node.knobs.values() if isinstance(k, nuke.PyScript_Knob)}
    assert {"Add +", "Add \u2212", "Clear frame", "Propagate", "Import mattes",
            "Import shapes"} <= labels

    x, y = click_point(truth[2])  # the blob on 1003, top-left pixels
    click(node, nuke, 1003, x, H - y)
    assert node["mt_object"].value() == "object1"  # made for the first click
    assert "positive point" in node["mt_status"].value(), node["mt_status"].value()
    mem = memory(node)
    sid, [obj] = mem["session"], mem["objects"]
    assert mem["range"] == [FIRST, LAST] and (mem["width"], mem["height"]) == (W, H)
    points, kinds = service_points(client, sid, obj["id"], 1003)
    np.testing.assert_allclose(points, [[x, y]], atol=1e-6)
    assert kinds == [1]

    click(node, nuke, 1003, 10.5, H - 12.5, "mt_add_negative")  # background, top-left 10.5,12.5
    points, kinds = service_points(client, sid, obj["id"], 1003)
    np.testing.assert_allclose(points, [[x, y], [10.5, 12.5]], atol=1e-6)
    assert kinds == [1, 0]

    click(node, nuke, 1006, 40, 40)
    assert client.session(sid)["objects"][0]["keyframes"] == [1003, 1006]
    nuke.frame(1006)
    node["mt_clear_frame"].execute()
    assert client.session(sid)["objects"][0]["keyframes"] == [1003]

    node["mt_new_object"].setValue("dog")
    node["mt_add_object"].execute()
    assert node["mt_object"].values() == ["object1", "dog"] and node["mt_object"].value() == "dog"
    click(node, nuke, 1004, 50, 60)
    objects = client.session(sid)["objects"]
    assert [(o["name"], o["keyframes"]) for o in objects] == [("object1", [1003]),
                                                             ("dog", [1004])]
    node["mt_remove_object"].execute()
    assert [o["name"] for o in client.session(sid)["objects"]] == ["object1"]
    assert memory(node)["session"] == sid  # edits never needed a new session

    # A click outside the frame is kept on the node, and the refusal shown.
    click(node, nuke, 1003, W + 50, 10)
    assert "not sent to the service" in node["mt_status"].value()
    assert "outside" in node["mt_status"].value()


def paint(nuke, roto, points, size=None):
    """A RotoPaint brush stroke through Nuke pixels `points` on `roto`'s root layer."""
    stroke = nuke.rotopaint.Stroke(roto["curves"])
    for x, y in points:
        stroke.append(nuke.rotopaint.AnimControlPoint(x, y))
    if size is not None:
        stroke.getAttributes().set("bs", size)
    roto["curves"].rootLayer.append(stroke)
    return stroke


def test_paint_strokes_from_a_rotopaint_reach_the_service(nuke, plate, service_root, client):
    root, truth = service_root
    read_node(nuke, plate)
    node = mtnode.create(nuke)
    roto = nuke.nodes.RotoPaint(name="Paint1")
    # Nothing to take yet: one line that says what to do.
    nuke.frame(1003)
    node["mt_strokes_positive"].execute()
    assert "select it or name it" in node["mt_status"].value()
    node["mt_strokes_from"].setValue("Read1")
    node["mt_strokes_positive"].execute()
    assert "not a RotoPaint" in node["mt_status"].value()
    node["mt_strokes_from"].setValue("Paint1")
    node["mt_strokes_positive"].execute()
    assert "has no paint strokes" in node["mt_status"].value()

    # A stroke along the blob's middle row on 1003 (Nuke pixels, origin bottom-left), and a
    # dab (one point) that cannot be a line.
    ys, xs = np.nonzero(truth[2])
    row = int(np.median(ys))
    cols = xs[ys == row]
    line = [(float(x) + 0.5, H - row - 0.5) for x in np.linspace(cols.min() + 2, cols.max() - 2, 6)]
    paint(nuke, roto, line, size=6.0)
    paint(nuke, roto, [(5.0, 5.0)])
    changes = roto["curves"].changes
    node["mt_strokes_positive"].execute()
    status = node["mt_status"].value()
    assert "1 positive stroke(s) from Paint1 on frame 1003" in status, status
    # Taken off the RotoPaint (a second press adds nothing twice), the dab too.
    assert [e for e in roto["curves"].rootLayer if isinstance(e, nuke.rotopaint.Stroke)] == []
    assert roto["curves"].changes == changes + 1
    mem = memory(node)
    [obj] = client.session(mem["session"])["objects"]
    [prompts] = [p for p in obj["prompts"] if p["frame"] == 1003]
    [stroke] = prompts["strokes"]
    assert stroke["positive"] is True and stroke["width"] == 6.0
    np.testing.assert_allclose(stroke["points"], [[x, H - y] for x, y in line], atol=1e-3)
    # The node keeps it: a rebuilt session gets it back.
    assert model.Prompts.from_json(node["mt_prompts"].value()).strokes(obj["name"], 1003)
    # A negative stroke from the selected RotoPaint (no name given), painted in a layer.
    node["mt_strokes_from"].setValue("")
    roto.setSelected(True)
    layer = nuke.rotopaint.Layer()
    roto["curves"].rootLayer.append(layer)
    stroke = nuke.rotopaint.Stroke(roto["curves"])
    for x, y in [(1.5, 1.5), (15.5, 1.5)]:
        stroke.append(nuke.rotopaint.AnimControlPoint(x, y))
    layer.append(stroke)
    node["mt_strokes_negative"].execute()
    assert "1 negative stroke(s) from Paint1" in node["mt_status"].value()
    assert list(layer) == [] and list(roto["curves"].rootLayer) == [layer]  # the layer stays
    [obj] = client.session(mem["session"])["objects"]
    [prompts] = [p for p in obj["prompts"] if p["frame"] == 1003]
    assert [s["positive"] for s in prompts["strokes"]] == [True, False]
    np.testing.assert_allclose(prompts["strokes"][1]["points"], [[1.5, H - 1.5], [15.5, H - 1.5]])
    assert memory(node)["session"] == mem["session"]


def test_prompts_knob_rebuilds_the_session_after_a_restart(nuke, plate, service_root, client,
                                                           monkeypatch):
    _, truth = service_root
    read_node(nuke, plate)
    node = clicked_node(nuke, plate, truth)
    click(node, nuke, 1005, 20.5, 30.5, "mt_add_negative")
    saved = {k: node[k].value() for k in ("mt_prompts", "mt_service", "mt_output", "mt_url")}
    old = json.loads(saved["mt_service"])["session"]
    client.close_session(old)  # the service restarted: its sessions are gone (404)

    # A new Nuke opens the script: the knobs come back with their saved values.
    fresh = nuke_standin.make()
    monkeypatch.setitem(sys.modules, "nuke", fresh)
    read_node(fresh, plate)
    node = mtnode.create(fresh)
    for knob, value in saved.items():
        node[knob].setValue(value)
    node["mt_sync"].execute()
    mem = memory(node)
    assert mem["session"] != old and node["mt_status"].value().startswith("in step")
    [obj] = mem["objects"]
    x, y = click_point(truth[0])
    first, _ = service_points(client, mem["session"], obj["id"], FIRST)
    np.testing.assert_allclose(first, [[x, y]], atol=1e-6)
    points, kinds = service_points(client, mem["session"], obj["id"], 1005)
    np.testing.assert_allclose(points, [[20.5, H - 30.5]], atol=1e-6)
    assert kinds == [0]

    # Lost between the check and the edits: a 404 on an edit reopens once and replays.
    class Vanishing(mc.Client):
        def session(self, sid):
            info = super().session(sid)
            self.close_session(sid)
            return info

    monkeypatch.setattr(mtnode, "make_client", lambda url, timeout=15.0: Vanishing(url))
    click(node, fresh, 1006, 30, 30)
    again = memory(node)
    assert again["session"] != mem["session"]
    assert [o["keyframes"] for o in client.session(again["session"])["objects"]] == \
        [[FIRST, 1005, 1006]]


def test_propagate_follows_a_progress_task_and_imports_the_mattes(nuke, plate, service_root,
                                                                   client, monkeypatch):
    root, truth = service_root
    # Each frame's event held for 3 polls: a propagation of 8 small frames can otherwise end
    # between two polls of the worker, and the task would see no frame being written.
    update = mc.Propagation._update

    def held(self, **changes):
        update(self, **changes)
        if changes.get("frame") is not None:
            time.sleep(3 * mtnode.POLL_S)

    monkeypatch.setattr(mc.Propagation, "_update", held)
    read_node(nuke, plate)
    node = clicked_node(nuke, plate, truth)
    out = f"{root}/nuke_propagate/m.####.exr"
    node["mt_output"].setValue(out)
    t0 = time.perf_counter()
    node["mt_propagate"].execute()
    returned = time.perf_counter() - t0
    thread = mtnode._running[node.name()]
    assert returned < 2.0  # the button only syncs and starts the thread
    finish(nuke, thread)

    [task] = nuke.tasks
    assert task.title == "MatteTrack" and task.thread is not None
    assert task.thread.name == "mattetrack-propagate"
    assert task.progress[-1] == 100 and task.progress == sorted(task.progress)
    assert any(m.startswith("frame ") for m in task.messages)
    assert task.messages[-1] == f"done ({N_FRAMES}/{N_FRAMES} frames)"
    # Knobs only through executeInMainThread, always asked from the worker thread.
    assert nuke.main_calls and all(t.name == "mattetrack-propagate" for _, _, t in
                                   nuke.main_calls)
    called = [args[0].__name__ for _, args, _ in nuke.main_calls]
    assert called[-1] == "import_job" and set(called) == {"set_status", "import_job"}
    files = sorted((root / "nuke_propagate").glob("m.*.exr"))
    assert len(files) == N_FRAMES
    assert "hero_blob.A" in oiio.ImageInput.open(str(files[0])).spec().channelnames

    read = nuke.toNode(json.loads(node["mt_nodes"].value())["read"])
    assert read.Class() == "Read" and read["file"].value() == out
    assert (read["first"].value(), read["last"].value()) == (FIRST, LAST)
    assert read["raw"].value() is True and read["on_error"].value() == "black"
    [copy] = nuke.allNodes("Copy")
    assert copy["from0"].value() == "hero_blob.alpha" and copy["to0"].value() == "rgba.alpha"
    assert copy.input(0) is read and copy.input(1) is read
    assert copy.name() == "hero_blob_matte"
    assert ("hero_blob", ["hero_blob.alpha"]) in nuke.layers_added
    assert node["mt_status"].value().startswith(f"done: {N_FRAMES} frames")
    # The frames to correct, as the session's report has them, and a button that goes there.
    report = client.report(memory(node)["session"])
    suggested = {o["name"]: o["suggested"] for o in report["objects"]}
    shown = model.parse_suggestions(node["mt_suggested"].value())
    assert list(shown.values()) == list(suggested.values())
    if any(suggested.values()):
        nuke.frame(FIRST)
        node["mt_next_suggestion"].execute()
        first = min(f for v in shown.values() for f in v)
        assert nuke.frame() == first
        assert node["mt_status"].value() == f"frame {first}: suggested for a correction"

    # Again by hand: the same nodes, the layers from the service.
    got_read, [got_copy] = mtnode.on_button(node, "import_mattes", nuke)
    assert got_read is read and got_copy is copy and len(nuke.allNodes("Read")) == 2

    # Shapes: fitted by the service on a thread, built into Roto nodes on the main thread.
    thread = mtnode.on_button(node, "import_shapes", nuke)
    finish(nuke, thread)
    [roto] = nuke.allNodes("Roto")
    assert roto.name() == "hero_blob_roto" and roto.input(0) is read
    shapes = roto["curves"].rootLayer
    assert len(shapes) > 0
    assert sorted(shapes[0][0].center.keys) == list(range(FIRST, LAST + 1))
    assert (root / "nuke_propagate" / "plate_shapes.roto.json").is_file()
    assert "Roto node(s)" in node["mt_status"].value()

    # Clean plate: removed by the service on a thread, a Read of it and a RotoPaint to paint on.
    thread = mtnode.on_button(node, "clean_plate", nuke)
    assert node["mt_status"].value() == "removing the objects..."
    finish(nuke, thread)
    clean = f"{root}/nuke_propagate/clean/{Path(plate).name}"
    assert node["mt_status"].value().startswith("clean plate in "), node["mt_status"].value()
    assert len(list((root / "nuke_propagate" / "clean").glob("plate.*.exr"))) == N_FRAMES
    clean_read = nuke.toNode(json.loads(node["mt_nodes"].value())["clean"])
    assert clean_read["file"].value() == clean
    assert (clean_read["first"].value(), clean_read["last"].value()) == (FIRST, LAST)
    [paint] = nuke.allNodes("RotoPaint")
    assert paint.input(0) is clean_read
    # The same removal as a farm job: a bundle beside the clean plate's files.
    status = _farm_button(nuke, node, "clean_plate_on_farm", "clean plate's ")
    assert status.startswith(f"clean plate farm job: 1 task(s) over {N_FRAMES} frame(s)"), status
    template = (root / "nuke_propagate" / "clean" / "farm_job" / "template.yaml").read_text()
    assert "name: Remove" in template and f"{FIRST}-{LAST}" in template
    assert "--foreground" not in template
    # "in front": objects kept in front of the background go to the service as the removal's
    # foreground, the others removed; the only object in front leaves none to remove.
    node["mt_clean_front"].setValue(" hero_blob ")
    thread = mtnode.on_button(node, "clean_plate", nuke)
    finish(nuke, thread)
    status = node["mt_status"].value()
    assert status.startswith("clean plate failed: objects:") and "none" in status, status


def test_cancel_from_the_progress_task(nuke, plate, service_root, client, monkeypatch):
    root, truth = service_root
    monkeypatch.setattr(nuke_standin.ProgressTask, "cancel_after", 2)
    read_node(nuke, plate)
    node = clicked_node(nuke, plate, truth, name="")
    out = root / "nuke_cancel"
    node["mt_output"].setValue(f"{out}/m.####.exr")
    thread = mtnode.on_button(node, "propagate", nuke)
    finish(nuke, thread)
    [task] = nuke.tasks
    job = client.job(client.session(memory(node)["session"])["job"])
    assert job["state"] in ("cancelled", "done")  # done: the shot ended before the cancel
    files = sorted(out.glob("m.*.exr"))
    assert len(files) == job["done"]
    for f in files:  # every written file whole
        image = oiio.ImageInput.open(str(f))
        assert image is not None and image.read_image("float").shape == (H, W, 1)
        image.close()
    if job["state"] == "cancelled":
        assert task.asked >= 3  # it was asked until it said cancelled
        assert task.progress[-1] < 100 and node["mt_status"].value().startswith(
            "propagation cancelled")
        assert nuke.allNodes("Read") == [node.input(0)]  # nothing imported


def test_buttons_report_instead_of_raising(nuke, plate):
    node = mtnode.create(nuke)  # nothing selected: no input
    assert node.input(0) is None and "connect" in node["mt_status"].value()
    node["mt_propagate"].execute()
    assert node["mt_status"].value().startswith("error: no points yet")
    click(node, nuke, FIRST, 10, 10)
    assert "not sent to the service: connect the plate's Read" in node["mt_status"].value()
    node["mt_import_shapes"].execute()
    assert node["mt_status"].value() == "error: nothing propagated yet"
    node["mt_remove_object"].execute()  # removes object1
    node["mt_remove_object"].execute()
    assert node["mt_status"].value() == "error: no object ''"


def _farm_button(nuke, node, action: str, what: str) -> str:
    """Press a button writing a farm job: on a thread (the service may read every frame), so
    it returns at once saying so, and the status line is set on Nuke's main thread when the
    bundle is written; that line (it says how to run the bundle)."""
    thread = mtnode.on_button(node, action, nuke)
    assert node["mt_status"].value() == f"writing the {what}farm job..."
    finish(nuke, thread)
    status = node["mt_status"].value()
    assert "openjd run" in status, status
    return status


def test_send_to_farm_writes_a_bundle_beside_the_mattes(nuke, plate, service_root):
    """The button syncs the node's prompts, then the service writes the job bundle; the status
    line says how to run it (the bundle's run itself is tested in tests/farm and
    tests/service/test_service_farm.py)."""
    root, truth = service_root
    read_node(nuke, plate)
    node = clicked_node(nuke, plate, truth, name="farm blob")
    out = f"{root}/nuke_farm/m.####.exr"
    node["mt_output"].setValue(out)
    status = _farm_button(nuke, node, "send_to_farm", "")
    assert status.startswith(f"farm job: 1 task(s) over {N_FRAMES} frame(s)"), status
    job = json.loads((root / "nuke_farm" / "farm_job" / "job.json").read_text())
    assert job["objects"] == ["farm blob"] and job["output_name"] == "m.####.exr"
    x, y = click_point(truth[0])
    assert f"{FIRST}:{x!r},{y!r}" in job["options"]  # the point, top-left pixels, exact
