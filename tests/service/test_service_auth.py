"""The service's guards on a real server: the bearer token, the token file, the roots."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys

import pytest
from service_harness import Client

from mattetrack.errors import InputError
from mattetrack.service.auth import load_or_create_token


def test_token_missing_or_wrong_is_401(server):
    url, token = server
    for bad in (None, "", token[:-1] + ("A" if token[-1] != "A" else "B"), token + "x"):
        status, body = Client(url, bad).call("GET", "/v1/health")
        assert status == 401 and "token" in body["error"]
    # The scheme matters too, and an unknown path says 401 before 404.
    resp = Client(url, None).request("GET", "/v1/health", headers={"Authorization": token})
    assert resp.status == 401
    assert Client(url, None).call("GET", "/v1/nowhere")[0] == 401
    status, body = Client(url, token).call("GET", "/v1/health")
    assert status == 200 and body["engine"] == "classic"


def test_token_file_created_private_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("MATTETRACK_CONFIG", str(tmp_path / "cfg"))
    token, path = load_or_create_token()
    assert path == tmp_path / "cfg" / "token"
    assert len(token) >= 43  # 32 bytes, url-safe base64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert os.listdir(path.parent) == ["token"]  # no temporary file left
    assert load_or_create_token()[0] == token
    path.chmod(0o644)
    with pytest.raises(InputError, match="chmod 600"):
        load_or_create_token()


def test_paths_outside_roots_are_403(client, service_root, tmp_path):
    root, _ = service_root
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "plate.1001.exr").write_bytes((root / "plate" / "plate.1001.exr").read_bytes())
    escape = root / "escape"
    if not escape.exists():
        escape.symlink_to(outside, target_is_directory=True)
    for plate in (str(outside / "plate.####.exr"),
                  f"{root}/plate/../../{outside.parent.name}/outside/plate.####.exr",
                  str(escape / "plate.####.exr")):
        status, body = client.call("POST", "/v1/sessions", {"plate": plate})
        assert status == 403 and plate in body["error"], body
    status, body = client.call("POST", "/v1/sessions", {"plate": "plate/plate.####.exr"})
    assert status == 400 and "absolute" in body["error"]

    sid = client.ok("POST", "/v1/sessions", {"plate": str(root / "plate" / "plate.####.exr")},
                    201)["session"]
    oid = client.ok("POST", f"/v1/sessions/{sid}/objects", {}, 201)["object"]
    status, body = client.call("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts",
                               {"frame": 1001, "mask": str(escape / "mask.png")})
    assert status == 403
    client.ok("POST", f"/v1/sessions/{sid}/objects/{oid}/prompts",
              {"frame": 1001, "points": [[160, 90]]})
    for output in (str(outside / "m.####.exr"), str(escape / "m.####.exr")):
        status, body = client.call("POST", f"/v1/sessions/{sid}/propagate", {"output": output})
        assert status == 403 and "outside" in body["error"]
    assert os.listdir(outside) == ["plate.1001.exr"]  # nothing written there
    client.ok("DELETE", f"/v1/sessions/{sid}")


def test_body_too_large_is_413(client):
    status, body = client.call("POST", "/v1/sessions", raw=b" " * ((1 << 20) + 1))
    assert status == 413 and "body" in body["error"]


def test_serve_command_prints_one_line_without_the_token(tmp_path):
    env = {**os.environ, "MATTETRACK_CONFIG": str(tmp_path / "cfg")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mattetrack", "serve", "--root", str(tmp_path), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stderr.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+)/v1", line).group(1)
        token = (tmp_path / "cfg" / "token").read_text().strip()
        assert token not in line and str(tmp_path / "cfg" / "token") in line
        assert Client(url, token).call("GET", "/v1/health")[0] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and out == "" and err == ""
