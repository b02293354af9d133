"""Every fuzzer-made file in exr-samples/Damaged gives a one-line InputError naming the file.

The loop runs in a subprocess with a timeout, so that a crash or hang in a reader fails this test
instead of killing pytest.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CHECK = r"""
import json, sys
from mattetrack.errors import InputError
from mattetrack.shot import Shot

results = {}
for path in sys.argv[1:]:
    try:
        shot = Shot.open(path)
        for frame in shot.frames:
            shot.image(frame)
        results[path] = ["ok", ""]
    except InputError as err:
        results[path] = ["InputError", str(err)]
    except Exception as err:  # anything else is a bug
        results[path] = [type(err).__name__, str(err)[:300]]
print(json.dumps(results))
"""


@pytest.mark.slow
def test_damaged_exrs_are_input_errors(shared_data: Path) -> None:
    files = sorted(str(p) for p in (shared_data / "exr-samples" / "Damaged").iterdir())
    assert len(files) >= 90
    done = subprocess.run([sys.executable, "-c", CHECK, *files], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"reader crashed (status {done.returncode}): {done.stderr[-2000:]}"
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(results) == files
    for path, (kind, message) in results.items():
        assert kind == "InputError", f"{path}: {kind}: {message}"
        assert message.startswith(path), message
        assert "\n" not in message and len(message) < len(path) + 260, message
    deep = [m for p, (_, m) in results.items() if "deep_tile_file_fuzz_broken" in p]
    assert deep and deep[0].endswith("deep EXR is not supported")
