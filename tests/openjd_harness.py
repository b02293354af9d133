"""Running a job bundle through the real Open Job Description CLI as a farm worker that sees
the storage under another path would (shared by tests/farm's tracking and removal tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml


def run_moved(openjd: str, before: Path, after: Path, step: str, env: dict) -> None:
    """`openjd run` of the bundle made under `before` and found under `after` now (its
    template `after`/job/template.yaml), up to `step`, with the path mapping `before` ->
    `after` and the bundle's own parameter values (every path one under `before`, as made)."""
    values = yaml.safe_load((after / "job" / "parameter_values.yaml").read_text())
    params = [f"{v['name']}={v['value']}" for v in values["parameterValues"]]
    assert all(str(before) in p for p in params if not p.startswith("Mattetrack="))
    rules = {"version": "pathmapping-1.0", "path_mapping_rules": [
        {"source_path_format": "POSIX", "source_path": str(before),
         "destination_path": str(after)}]}
    cmd = [openjd, "run", str(after / "job" / "template.yaml"), "--step", step,
           "--run-dependencies", "--path-mapping-rules", json.dumps(rules)]
    for p in params:
        cmd += ["-p", p]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, f"openjd run exited {proc.returncode}: {proc.stderr[-2000:]}"


def deadline_stand_in(folder: Path, env: dict) -> tuple[dict, Path]:
    """(`env` with a stand-in `deadline` command first on PATH, the file where it records the
    arguments it was run with as JSON): the Deadline Cloud CLI cannot run here."""
    bindir = folder / "bin"
    bindir.mkdir()
    record = folder / "argv.json"
    stand_in = bindir / "deadline"
    stand_in.write_text(f"#!{sys.executable}\nimport json, sys\n"
                        f"json.dump(sys.argv[1:], open({str(record)!r}, 'w'))\n")
    stand_in.chmod(0o755)
    return {**env, "PATH": f"{bindir}{os.pathsep}{env['PATH']}"}, record
