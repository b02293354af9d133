"""Work is never lost: sessions saved on disk survive a service restart (reattached by plate,
listed, restored to the exact prompts so nothing is recomputed), prompts replaced for undo and
redo, idle sessions unloaded and loaded back, and sessions opened on existing mattes (from
`mattetrack track`) shown as they are and corrected from there."""

from __future__ import annotations

import gc
import time
import weakref

import cv2
import numpy as np
import pytest
from service_harness import FIRST, N_FRAMES, Client, running_server

from mattetrack import cli
from mattetrack.evaluation import iou
from mattetrack.synthetic import click_point

LAST = FIRST + N_FRAMES - 1


def _preview(client: Client, sid: str, query: str = "") -> tuple[np.ndarray, dict]:
    with client.request("GET", f"/v1/sessions/{sid}/preview?{query}") as resp:
        assert resp.status == 200, resp.read()
        headers = dict(resp.headers)
        image = cv2.imdecode(np.frombuffer(resp.read(), np.uint8), cv2.IMREAD_COLOR)
    return image, headers


def _wait(client: Client, jid: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.ok("GET", f"/v1/jobs/{jid}")
        if status["state"] != "running":
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {jid} still running")


def _matte(pattern: str, frame: int) -> np.ndarray:
    from mattetrack.shapes.source import open_mattes

    return open_mattes(pattern).read(frame)["blob"]


@pytest.fixture
def config(tmp_path):
    return tmp_path / "config" / "token"


def test_a_session_survives_a_restart_and_is_reattached(service_root, plate, config, tmp_path):
    root, truth = service_root
    sessions = tmp_path / "sessions"
    x, y = click_point(truth[0])
    output = str(root / "restart" / "m.####.exr")
    with running_server([root], config, sessions_dir=sessions) as (url, token):
        client = Client(url, token)
        opened = client.ok("POST", "/v1/sessions", {"plate": plate, "reattach": True}, 201)
        sid = opened["session"]
        assert not opened["reattached"]
        oid = client.ok("POST", f"/v1/sessions/{sid}/objects", {"name": "blob"}, 201)["object"]
        client.ok("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts",
                  {"frame": FIRST, "points": [[x, y]], "negative": [[3.3, 4.7]]})
        job = client.ok("POST", f"/v1/sessions/{sid}/propagate", {"output": output}, 202)
        assert _wait(client, job["job"])["state"] == "done"
        before = client.ok("GET", f"/v1/sessions/{sid}")
        shown, _ = _preview(client, sid, f"frame={LAST}")
    # A new process on the same folder: the session is listed, saved only, until asked for.
    with running_server([root], config, sessions_dir=sessions) as (url, token):
        client = Client(url, token)
        [listed] = client.ok("GET", "/v1/sessions")["sessions"]
        assert listed["session"] == sid and listed["loaded"] is False
        assert listed["objects"] == before["objects"]
        again = client.ok("POST", "/v1/sessions", {"plate": plate, "reattach": True})
        assert again["session"] == sid and again["reattached"]
        after = client.ok("GET", f"/v1/sessions/{sid}")
        assert after["objects"] == before["objects"] and after["loaded"]
        assert after["mattes"] == before["mattes"]
        np.testing.assert_array_equal(_preview(client, sid, f"frame={LAST}")[0], shown)
        # The restored prompts are the very same: a propagation recomputes nothing.
        job = client.ok("POST", f"/v1/sessions/{sid}/propagate", {"output": output}, 202)
        status = _wait(client, job["job"])
        assert status["state"] == "done" and status["computed"] == 0, status
        # Without `reattach` a plate opens a session of its own; deleting one deletes its work.
        other = client.ok("POST", "/v1/sessions", {"plate": plate}, 201)["session"]
        assert other != sid and (sessions / other / "session.json").is_file()
        client.ok("DELETE", f"/v1/sessions/{other}")
        assert not (sessions / other).exists() and (sessions / sid).is_dir()


def test_prompts_replaced_for_undo_restore_the_matte(client, plate, service_root):
    _, truth = service_root
    sid = client.ok("POST", "/v1/sessions", {"plate": plate}, 201)["session"]
    oid = client.ok("POST", f"/v1/sessions/{sid}/objects", {}, 201)["object"]
    base = f"/v1/sessions/{sid}/objects/{oid}/prompts"
    x, y = click_point(truth[0])
    client.ok("POST", base, {"frame": FIRST, "points": [[x, y]]})
    first, _ = _preview(client, sid, f"frame={FIRST}")
    ys, xs = np.nonzero(truth[0] >= 0.5)
    inside = [float(xs.min()) + 2.5, float(ys[xs.argmin()]) + 0.5]
    client.ok("POST", base, {"frame": FIRST, "negative": [inside], "box": [0, 0, 60, 60]})
    second, _ = _preview(client, sid, f"frame={FIRST}")
    assert np.abs(first.astype(int) - second).max() > 50
    # Undo: the frame's prompts as they were; the matte is the first one again, bit for bit.
    got = client.ok("PUT", f"{base}?frame={FIRST}", {"points": [[x, y]]})
    assert got["keyframes"] == [FIRST]
    np.testing.assert_array_equal(_preview(client, sid, f"frame={FIRST}")[0], first)
    # Redo, then delete the negative point alone.
    client.ok("PUT", f"{base}?frame={FIRST}", {"points": [[x, y]], "negative": [inside],
                                               "box": [0, 0, 60, 60]})
    np.testing.assert_array_equal(_preview(client, sid, f"frame={FIRST}")[0], second)
    client.ok("PUT", f"{base}?frame={FIRST}", {"points": [[x, y]], "box": [0, 0, 60, 60]})
    [prompts] = client.ok("GET", f"/v1/sessions/{sid}")["objects"][0]["prompts"]
    assert prompts["negative"] == [] and prompts["box"] == [0, 0, 60, 60]
    # Nothing left: the frame is no keyframe any more. Bad bodies change nothing.
    assert client.ok("PUT", f"{base}?frame={FIRST}", {})["keyframes"] == []
    assert client.call("PUT", f"{base}?frame={FIRST}", {"points": [[1e9, 1]]})[0] == 400
    assert client.call("PUT", base, {"points": [[x, y]]})[0] == 400
    client.ok("DELETE", f"/v1/sessions/{sid}")


def test_idle_sessions_are_unloaded_and_come_back(service_root, plate, config, tmp_path):
    root, truth = service_root
    x, y = click_point(truth[0])
    with running_server([root], config, sessions_dir=tmp_path / "s",
                        idle_close=0.5) as running:
        client = Client(*running)
        sid = client.ok("POST", "/v1/sessions", {"plate": plate}, 201)["session"]
        oid = client.ok("POST", f"/v1/sessions/{sid}/objects", {}, 201)["object"]
        client.ok("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts",
                  {"frame": FIRST, "points": [[x, y]]})
        job = client.ok("POST", f"/v1/sessions/{sid}/propagate",
                        {"output": str(root / "idle" / "m.####.exr")}, 202)["job"]
        assert _wait(client, job)["state"] == "done"
        shown, _ = _preview(client, sid, f"frame={FIRST}")
        held = weakref.ref(running.service.registry.sessions[sid])
        deadline = time.monotonic() + 20
        while client.ok("GET", "/v1/sessions")["sessions"][0]["loaded"]:
            assert time.monotonic() < deadline, "the idle session was never unloaded"
            time.sleep(0.1)
        gc.collect()
        assert held() is None  # its memory is free (its finished job keeps no hold on it)
        assert client.ok("GET", f"/v1/jobs/{job}")["session"] == sid
        np.testing.assert_array_equal(_preview(client, sid, f"frame={FIRST}")[0], shown)
        assert client.ok("GET", f"/v1/sessions/{sid}")["objects"][0]["keyframes"] == [FIRST]


def test_a_session_opens_on_existing_mattes_and_corrects_them(client, service_root, plate):
    root, truth = service_root
    x, y = click_point(truth[0])
    mattes = str(root / "tracked" / "m.####.exr")
    assert cli.main(["track", plate, "-o", mattes, "--object", "blob", "--point",
                     f"{FIRST}:{x},{y}", "-q"]) == 0
    opened = client.ok("POST", "/v1/sessions", {"plate": plate, "mattes": mattes}, 201)
    sid = opened["session"]
    info = client.ok("GET", f"/v1/sessions/{sid}")
    assert [o["name"] for o in info["objects"]] == ["blob"]
    assert info["mattes"] == {"output": mattes, "imported": True,
                              "frames": list(range(FIRST, LAST + 1))}
    # Shown as they are, on every frame, with no prompt anywhere; propagated as they are.
    oid = info["objects"][0]["object"]
    passed = str(root / "passed" / "m.####.exr")
    job = client.ok("POST", f"/v1/sessions/{sid}/propagate", {"output": passed}, 202)["job"]
    status = _wait(client, job)
    assert status["state"] == "done" and status["computed"] == 0, status
    for f in (FIRST, LAST):
        np.testing.assert_array_equal(_matte(passed, f), _matte(mattes, f))
    for i, f in ((0, FIRST), (N_FRAMES - 1, LAST)):
        shown, headers = _preview(client, sid, f"frame={f}&view=matte")
        assert "X-MatteTrack-Stale" not in headers
        assert iou(shown[:, :, 1] >= 128, truth[i] >= 0.5) > 0.8
    # A correction starts from the imported matte there: a negative click alone is enough.
    ys, xs = np.nonzero(truth[3] >= 0.5)
    client.ok("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts",
              {"frame": FIRST + 3, "negative": [[float(xs.max()) - 1.5, float(ys[xs.argmax()])]]})
    [prompts] = client.ok("GET", f"/v1/sessions/{sid}")["objects"][0]["prompts"]
    assert prompts["corrects"] is True
    corrected, headers = _preview(client, sid, f"frame={FIRST + 3}&view=matte")
    assert "X-MatteTrack-Stale" not in headers  # its new selection
    assert iou(corrected[:, :, 1] >= 128, truth[3] >= 0.5) > 0.6
    _, headers = _preview(client, sid, f"frame={LAST}")
    assert headers["X-MatteTrack-Stale"] == str(oid)  # elsewhere: out of date until propagated
    # Corrected, it is tracked from its keyframe: the frame corrected is its selection.
    job = client.ok("POST", f"/v1/sessions/{sid}/propagate", {"output": passed}, 202)["job"]
    status = _wait(client, job)
    assert status["state"] == "done" and status["computed"] > 0, status
    assert not np.array_equal(_matte(passed, FIRST + 3), _matte(mattes, FIRST + 3))
    # Mattes that are not this plate's are refused.
    small = root / "small.png"
    cv2.imwrite(str(small), np.zeros((10, 10), np.uint8))
    status, body = client.call("POST", "/v1/sessions", {"plate": plate, "mattes": str(small)})
    assert status == 400 and "10x10" in body["error"]
    client.ok("DELETE", f"/v1/sessions/{sid}")


def test_serve_needs_a_root_or_a_view(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MATTETRACK_CONFIG", str(tmp_path / "cfg"))
    assert cli.main(["serve", "--port", "0"]) == 2
    assert "--root" in capsys.readouterr().err
    assert cli.main(["serve", "--port", "0", "--view", str(tmp_path / "no" / "p.####.exr"),
                     str(tmp_path / "m.####.exr")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--view" in err and "no folder" in err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert cli.main(["serve", "--port", "0", "--root", str(tmp_path), "--sessions",
                     str(blocker / "sessions")]) == 2
    assert "--sessions" in capsys.readouterr().err
