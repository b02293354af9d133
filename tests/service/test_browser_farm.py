"""The browser UI's Send to farm: the session's prompts go into a job bundle for the output
field's pattern, and the status line says how many tasks and how to run it."""

from __future__ import annotations

import json

from test_browser_ui import _open_ui, _send_to_farm
from test_browser_viewer import _click, _idle


def test_send_to_farm_writes_the_bundle(page, server, plate, service_root):
    root, truth = service_root
    _open_ui(page, server, plate)
    _click(page, truth[0])
    page.fill("#output", str(root / "ui_farm" / "m.####.exr"))
    status = _send_to_farm(page, "#farm", root / "ui_farm_job", 3, "Farm job:")
    assert "3 task(s) over 8 frame(s)" in status and "openjd run" in status
    job = json.loads((root / "ui_farm_job" / "job.json").read_text())
    assert job["tasks"] == [[1001, 1003], [1004, 1006], [1007, 1008]]
    assert "--point" in job["options"]
    # A folder outside the service's roots: refused, said on the status line.
    page.fill("#farm-job", "/nonexistent-root/job")
    page.click("#farm")
    page.wait_for_function("() => document.querySelector('#status').textContent"
                           ".includes('outside')", timeout=15_000)
    _idle(page)
