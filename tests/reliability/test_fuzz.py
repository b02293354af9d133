"""Seeded fuzzing: random requests against a real service (JSON bodies of every shape, paths with
odd segments, raw bytes) and random prompt arguments to `mattetrack track`. Never a 500 or a
traceback: every answer is a JSON status the API documents, every run exits 0 or 2."""

from __future__ import annotations

import json
import random
import string

import cv2
import numpy as np
import pytest
from service_harness import Client, running_server

from mattetrack import cli

SEED = 20261204
ALLOWED = {200, 201, 202, 204, 400, 401, 403, 404, 405, 409, 413}
ODD_TEXT = ["", " ", "..", "../..", "%00", "\u0000", "é", "🙂", "a" * 3000, "-1", "1e309",
            "0x10", "NaN", "null", "[]", "{}", "/etc/passwd", "C:\\x", "\\\\share\\x"]


def _value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, -(2**63), 10**30, rng.randint(-5000, 5000)])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e308, -1e-308, rng.uniform(-1e4, 1e4)])
    if kind == 4:
        return rng.choice(ODD_TEXT)
    if kind == 5:
        return "".join(rng.choice(string.printable) for _ in range(rng.randrange(20)))
    if kind == 6:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    if kind == 7:  # a point list, as prompts take them, sometimes malformed
        return [[rng.uniform(-50, 400), rng.uniform(-50, 300)][: rng.randrange(1, 3)]
                for _ in range(rng.randrange(4))]
    keys = ["plate", "frame", "points", "negative", "box", "strokes", "mask", "name", "output",
            "range", "colorspace", "cryptomatte", "compression", "format", "tolerance",
            "mattes", "reattach", "width", "positive", rng.choice(ODD_TEXT)]
    return {rng.choice(keys): _value(rng, depth + 1) for _ in range(rng.randrange(6))}


def test_random_requests_never_get_a_500(service_root, tmp_path):
    rng = random.Random(SEED)
    root, _ = service_root
    plate = str(root / "plate" / "plate.####.exr")
    with running_server([root], tmp_path / "token") as (url, token):
        client = Client(url, token)
        sid = client.ok("POST", "/v1/sessions", {"plate": plate}, 201)["session"]
        oid = client.ok("POST", f"/v1/sessions/{sid}/objects", {"name": "fz"}, 201)["object"]
        paths = ["/v1/sessions", f"/v1/sessions/{sid}", f"/v1/sessions/{sid}/objects",
                 f"/v1/sessions/{sid}/objects/{oid}", f"/v1/sessions/{sid}/objects/{oid}/prompts",
                 f"/v1/sessions/{sid}/preview", f"/v1/sessions/{sid}/report",
                 f"/v1/sessions/{sid}/shapes", "/v1/jobs/x", "/v1/health", "/v1/formats",
                 "/ui/", "/ui/app.js", "/v1/sessions/{}/objects/{}"]
        seen: dict[int, int] = {}
        for i in range(400):
            method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"])
            path = rng.choice(paths)
            if rng.random() < 0.3:  # odd segments and queries
                path = path.replace("{}", rng.choice(ODD_TEXT)).replace("\u0000", "%00")
                path = path.replace(" ", "%20") + "?" + rng.choice(
                    ["frame=1001", "frame=x", "frame=-5", "max_side=3", "view=nope", "opacity=2",
                     "frame=1001&object=99", "frame=99999999999999", "format=bmp&frame=1002"])
            path = "".join(c if 32 < ord(c) < 127 else "%3F" for c in path)
            if method == "DELETE" and path.rstrip("/") == f"/v1/sessions/{sid}":
                continue  # keep the session to fuzz
            if rng.random() < 0.15:
                raw = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
                status, payload = client.call(method, path, raw=raw)
            else:
                status, payload = client.call(method, path, _value(rng, 2) if rng.random() < 0.2
                                              else {k: _value(rng, 1) for k in ("frame", "points",
                                                                                 "plate", "name")
                                                    if rng.random() < 0.6})
            seen[status] = seen.get(status, 0) + 1
            assert status in ALLOWED, (i, method, path, status, payload)
            if status >= 400:
                assert isinstance(payload, dict) and payload["error"], (method, path, payload)
        assert client.call("GET", "/v1/health")[0] == 200
        assert seen.get(400, 0) > 50  # the fuzz reached the checks, not only 404s
        print("statuses:", json.dumps(dict(sorted(seen.items()))))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(1)
    for f in (1, 2):
        cv2.imwrite(str(folder / f"p.{f}.png"), rng.integers(0, 255, (24, 32, 3), np.uint8))
    cv2.imwrite(str(folder / "mask.png"), np.full((24, 32), 255, np.uint8))
    return folder


def test_random_prompt_arguments_exit_0_or_2(tiny, tmp_path, capsys):
    rng = random.Random(SEED)
    numbers = ["1", "0", "-3", "5.5", "31.99", "32", "1e3", "nan", "inf", "", "x", "1:", ":",
               "2:", "99:", "1,2", "1:1,2", "1:40,10"]
    options = ["--point", "--negative", "--box", "--stroke", "--negative-stroke", "--mask",
               "--object", "--range", "--stroke-width"]
    for i in range(120):
        args = []
        for _ in range(rng.randrange(1, 4)):
            option = rng.choice(options)
            if option == "--mask":
                value = rng.choice([f"1:{tiny / 'mask.png'}", "1:/nope.png", f"{tiny}",
                                    "x:y", f"7:{tiny / 'mask.png'}"])
            else:
                value = ",".join(rng.choice(numbers) for _ in range(rng.randrange(1, 6)))
                value = value.replace(",", ":", 1) if rng.random() < 0.3 else value
            args += [option, value]
        out = tmp_path / f"o{i}" / "m.#.png"
        try:
            status = cli.main(["track", str(tiny / "p.#.png"), "-o", str(out), "-q", *args])
        except SystemExit as stop:  # argparse's usage errors
            status = stop.code
        err = capsys.readouterr().err
        assert status in (0, 2), (args, err)
        assert "Traceback" not in err, (args, err)
        if status == 2:
            assert err.strip().splitlines()[-1].startswith("mattetrack"), (args, err)
