"""The Resolve adapter's tests: a session propagated through a real service, shared."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from service_harness import FIRST

from mattetrack.synthetic import click_point

HOST_ADAPTERS = Path(__file__).resolve().parents[3] / "host_adapters"
sys.path[:0] = [str(HOST_ADAPTERS / "resolve"), str(HOST_ADAPTERS / "client")]
import mattetrack_client as mc  # noqa: E402


@pytest.fixture(scope="module")
def propagated(server, service_root):
    """(client, output pattern, true coverages): a session on the test plate propagated to the
    default output "open" gives, as an artist would leave it in the browser UI."""
    plate = str(service_root[0] / "plate" / "plate.####.exr")  # `plate`, at module scope
    client = mc.Client(*server)
    sid = client.open_session(plate)["session"]
    oid = client.add_object(sid, "blob")["object"]
    client.add_prompts(sid, oid, FIRST, points=[click_point(service_root[1][0])])
    output = str(Path(plate).parent / "mattetrack" / "plate_matte.####.exr")
    status = mc.Propagation(client, sid, output).wait(120)
    assert status["state"] == "done", status
    return client, output, service_root[1]
