"""Send to farm from the service: `POST /v1/sessions/{sid}/farm` writes the session's objects
and prompts as a job bundle, and the real `openjd run` of it writes the mattes the service's own
propagation writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from service_harness import FIRST, N_FRAMES, exr_files
from test_service_api import _events, _open

BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_send_to_farm_gives_the_services_mattes(client, plate, service_root):
    root, truth = service_root
    sid, oid = _open(client, plate, name="the blob", truth=truth)
    # A second keyframe of every other kind of prompt the service takes.
    client.ok("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts", {
        "frame": FIRST + 4, "box": [100.25, 40.5, 260.0, 150.75], "negative": [[5.5, 170.5]],
        "strokes": [{"points": [[150.5, 80.5], [180.5, 95.25]], "width": 6}]})
    reference = root / "farm_ref"
    job = client.ok("POST", f"/v1/sessions/{sid}/propagate",
                    {"output": str(reference / "m.####.exr")}, 202)
    assert _events(client, job["job"])[-1]["state"] == "done"
    reply = client.ok("POST", f"/v1/sessions/{sid}/farm", {
        "output": str(root / "farm_out" / "m.####.exr"), "job": str(root / "farm_job"),
        "frames_per_task": 3, "report": str(root / "farm_report.json")})
    # Spans 1001-1004 and 1005-1008, in chunks of 3; the report needs the last step.
    assert (reply["tasks"], reply["frames"], reply["last_step"]) == (4, N_FRAMES, "Finish")
    assert reply["warnings"] == [] and reply["submitted"] is False
    options = json.loads((root / "farm_job" / "job.json").read_text())["options"]
    assert options[options.index("--object") + 1] == "the blob"
    proc = subprocess.run(reply["run"].split(), capture_output=True, text=True, env=ENV)
    assert proc.returncode == 0, proc.stdout[-3000:]
    ours, farm = exr_files(reference), exr_files(root / "farm_out")
    assert list(ours) == list(farm) and len(ours) == N_FRAMES
    for name in ours:
        assert ours[name][0] == farm[name][0]
        np.testing.assert_allclose(ours[name][1], farm[name][1], rtol=0, atol=1e-6)
    report = json.loads((root / "farm_report.json").read_text())
    assert report["objects"][0]["name"] == "the blob"
    assert len(report["objects"][0]["confidence"]) == N_FRAMES


def test_send_to_farm_refuses_bad_requests(client, plate, service_root, tmp_path):
    root, truth = service_root
    sid, _ = _open(client, plate, truth=truth)
    out = str(root / "farm_bad" / "m.####.exr")
    cases = [({"output": out}, 400, "job"),
             ({"output": out, "job": str(tmp_path / "job")}, 403, "job"),
             ({"output": str(tmp_path / "m.####.exr"), "job": str(root / "j")}, 403, "output"),
             ({"output": out[:-4] + ".png", "job": str(root / "j")}, 400, "EXR"),
             ({"output": out, "job": str(root / "j"), "frames_per_task": -1}, 400,
              "frames_per_task"),
             ({"output": out, "job": str(root / "j"), "range": "1-5"}, 400, "range")]
    for body, status, words in cases:
        got, payload = client.call("POST", f"/v1/sessions/{sid}/farm", body)
        assert (got, words in payload.get("error", "")) == (status, True), (body, payload)
    assert not (root / "j").exists()
    client.ok("DELETE", f"/v1/sessions/{sid}")


def test_send_the_removal_to_farm_gives_the_services_clean_plate(client, plate, service_root):
    """`POST .../farm-remove`: the removal of the session's propagated objects as a job
    bundle; the real `openjd run` of it writes the clean plate the service's own removal job
    (`POST .../remove`) writes, and the report."""
    root, truth = service_root
    sid, _ = _open(client, plate, name="the blob", truth=truth)
    (root / "farm_clean").mkdir()
    mattes = str(root / "farm_clean" / "m.####.exr")
    job = client.ok("POST", f"/v1/sessions/{sid}/propagate", {"output": mattes}, 202)
    assert _events(client, job["job"])[-1]["state"] == "done"
    here = client.ok("POST", f"/v1/sessions/{sid}/remove",
                     {"output": str(root / "farm_clean" / "here.####.exr")}, 202)
    assert _events(client, here["job"])[-1]["state"] == "done"
    status, payload = client.call("POST", f"/v1/sessions/{sid}/farm-remove",
                                  {"output": str(root / "farm_clean" / "c.####.exr")})
    assert status == 400 and payload["error"] == "job: required", payload
    status, payload = client.call("POST", f"/v1/sessions/{sid}/farm-remove", {
        "output": str(root / "farm_clean" / "c.####.exr"), "job": str(root / "clean_job"),
        "objects": ["the blob"], "foreground": ["the_blob"]})  # its layer's name
    assert status == 400 and "'the blob' is also removed" in payload["error"], payload
    assert not (root / "clean_job").exists()
    reply = client.ok("POST", f"/v1/sessions/{sid}/farm-remove", {
        "output": str(root / "farm_clean" / "c.####.exr"), "job": str(root / "clean_job"),
        "frames_per_task": 3, "report": str(root / "farm_clean" / "paint.json")})
    assert (reply["tasks"], reply["frames"], reply["last_step"]) == (3, N_FRAMES, "Finish")
    assert not list((root / "farm_clean").glob("c.*.exr"))  # a bundle, not the files
    proc = subprocess.run(reply["run"].split(), capture_output=True, text=True, env=ENV)
    assert proc.returncode == 0, proc.stdout[-3000:]
    ours = {n.replace("here.", "c."): v for n, v in
            exr_files(root / "farm_clean", "here.*.exr").items()}
    farm = exr_files(root / "farm_clean", "c.*.exr")
    assert list(ours) == list(farm) and len(ours) == N_FRAMES
    for name in ours:
        np.testing.assert_allclose(ours[name][1], farm[name][1], rtol=0, atol=4e-3)
    report = json.loads((root / "farm_clean" / "paint.json").read_text())
    assert report["objects"][0]["name"] == "the_blob_clean"
    assert len(report["objects"][0]["confidence"]) == N_FRAMES
    client.ok("DELETE", f"/v1/sessions/{sid}")


def test_send_the_removal_to_farm_refuses_bad_requests(client, plate, service_root, tmp_path):
    root, truth = service_root
    sid, _ = _open(client, plate, truth=truth)
    (root / "farm_clean_bad").mkdir()
    out, job = str(root / "farm_clean_bad" / "c.####.exr"), str(root / "clean_bad_job")
    cases = [({"output": out, "job": str(tmp_path / "job")}, 403, "job"),
             ({"output": out, "job": job, "frames_per_task": -1}, 400, "frames_per_task"),
             ({"output": out.replace(".####", ""), "job": job}, 400, "frame pattern"),
             ({"output": out, "job": job}, 409, "propagate first")]
    for body, code, words in cases:
        status, payload = client.call("POST", f"/v1/sessions/{sid}/farm-remove", body)
        assert status == code and words in payload["error"], (body, status, payload)
    assert not (root / "clean_bad_job").exists()
    client.ok("DELETE", f"/v1/sessions/{sid}")
