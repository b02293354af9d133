"""Keeping a service session in step with the node's prompts, without `nuke`.

The node remembers (in a hidden knob, as JSON) which session it opened and what it sent: the
session id, the plate and frame range, and per object its service id and the prompts last sent
per frame, in the service's coordinates. `sync` sends only the frames that differ from that
memory (clear the frame, add its points again), and opens a new session and replays everything
when there is no usable one: none yet, another plate, range or URL, the service answers 404
(restarted: sessions live in its memory) or its objects and keyframes disagree with the memory
(someone else edited it).
"""

from __future__ import annotations

import contextlib


def _service_error():
    import mattetrack_client

    return mattetrack_client.ServiceError


def _usable(client, memory, plate, first, last):
    """True when `memory`'s session is alive, for this plate and range, and as remembered."""
    if not memory or memory.get("url") != client.url or memory.get("plate") != plate \
            or memory.get("range") != [first, last]:
        return False
    try:
        info = client.session(memory["session"])
    except _service_error() as err:
        if err.status == 404:
            return False
        raise
    have = {o["object"]: sorted(o["keyframes"]) for o in info["objects"]}
    want = {o["id"]: sorted(int(f) for f in o["frames"]) for o in memory["objects"]}
    return have == want


def _size_mismatch(size, plate):
    return (f"the Read's format is {size[0]}x{size[1]} but the plate's display window is "
            f"{plate[0]}x{plate[1]}: points would land in the wrong place")


def open_fresh(client, plate, first, last, size=None):
    """A new session on `plate` for frames first-last; its memory. ValueError when the plate's
    size is not `size` ((width, height) of the Read's format)."""
    opened = client.open_session(plate, frame_range=f"{first}-{last}")
    memory = {"url": client.url, "session": opened["session"], "plate": plate,
              "range": [first, last], "width": opened["width"], "height": opened["height"],
              "objects": []}
    if size is not None and (opened["width"], opened["height"]) != tuple(size):
        with contextlib.suppress(_service_error()):
            client.close_session(opened["session"])
        raise ValueError(_size_mismatch(size, (opened["width"], opened["height"])))
    return memory


def _apply(client, memory, wanted):
    """Sends the differences between `memory` and `wanted` (Prompts.for_service), recording
    each change in `memory` as soon as the service has made it."""
    sid = memory["session"]
    objects = memory["objects"]
    for entry in list(objects):
        if entry["name"] not in wanted:
            client.remove_object(sid, entry["id"])
            objects.remove(entry)
    by_name = {o["name"]: o for o in objects}
    for name, frames in wanted.items():
        entry = by_name.get(name)
        if entry is None:
            added = client.add_object(sid, name)
            entry = {"name": name, "id": added["object"], "service_name": added["name"],
                     "frames": {}}
            objects.append(entry)
        have = entry["frames"]
        for frame in sorted(set(have) | set(frames), key=int):
            want = frames.get(frame)
            if have.get(frame) == want:
                continue
            if frame in have:
                client.clear_prompts(sid, entry["id"], int(frame))
                del have[frame]
            if want:
                client.add_prompts(sid, entry["id"], int(frame), points=want["points"],
                                   negative=want["negative"],
                                   strokes=want.get("strokes", ()))
                have[frame] = want


def sync(client, prompts, plate, first, last, size, memory=None):
    """Brings the service in step with `prompts` (a model.Prompts) for `plate` frames
    first-last, whose Read format is `size` (width, height); returns the new memory (a dict
    to store as JSON). Raises mattetrack_client.ServiceError or ValueError."""
    ServiceError = _service_error()
    fresh = False
    if not _usable(client, memory, plate, first, last):
        if memory and memory.get("url") == client.url and memory.get("session"):
            # Replaced (another plate or range, or edited elsewhere): free the service's memory.
            with contextlib.suppress(ServiceError):
                client.close_session(memory["session"])
        memory, fresh = open_fresh(client, plate, first, last, size), True
    elif size is not None and (memory["width"], memory["height"]) != tuple(size):
        raise ValueError(_size_mismatch(size, (memory["width"], memory["height"])))
    wanted = prompts.for_service(memory["height"])
    try:
        _apply(client, memory, wanted)
    except ServiceError as err:
        if err.status != 404 or fresh:
            raise
        # The session went away between the check and the edits: once more from scratch.
        memory = open_fresh(client, plate, first, last, size)
        _apply(client, memory, wanted)
    return memory


def layers_of(client, memory):
    """[(object name, EXR layer)] of the session's last propagation, as the service reports
    them (the job's status); None when it cannot say (no job, session or service)."""
    ServiceError = _service_error()
    if not memory or not memory.get("session"):
        return None
    try:
        info = client.session(memory["session"])
        if not info.get("job"):
            return None
        job = client.job(info["job"])
    except ServiceError:
        return None
    if "layers" not in job:
        return None
    names = {o["service_name"]: o["name"] for o in memory.get("objects", [])}
    return [(names.get(item["name"], item["name"]), item["layer"]) for item in job["layers"]]
