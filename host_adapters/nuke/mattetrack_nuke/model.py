"""The MatteTrack node's logic without `nuke`: prompt state, Nuke <-> service coordinates, file
patterns, EXR layer names, progress text. Standard library, Python 3.9+ (Nuke 14-16).

Coordinates: Nuke's are pixels of the format with the origin at the bottom-left corner, y up;
the service's (ARCHITECTURE.md) are display-window pixels with the origin at the top-left, y down.
Both put pixel (i, j)'s centre at +0.5, so only y flips: y_top = height - y. XY knobs hold
full-size format values even in proxy mode (Nuke scales them for display only), so no proxy
scale is applied; pixel aspect does not enter (both sides count pixels).
"""

from __future__ import annotations

import json
import os
import posixpath
import re

STATE_VERSION = 1
# One frame token in a file name: a run of '#' or a printf integer (%d, %04d), as the service's
# FramePattern reads them.
_TOKEN = re.compile(r"#+|%0?\d*d")
# A frame range Nuke's file browser appends to a sequence ("plate.####.exr 1001-1100").
_RANGE_SUFFIX = re.compile(r"\s+-?\d+-(-?\d+)?\s*$")
_INVALID_NAME = re.compile(r"[^A-Za-z0-9_]")


def nuke_to_service(x, y, height):
    """(x, y) in Nuke's format pixels (origin bottom-left) -> the service's (origin top-left)."""
    return float(x), float(height) - float(y)


def service_to_nuke(x, y, height):
    """The inverse of `nuke_to_service`."""
    return float(x), float(height) - float(y)


DEFAULT_STROKE_WIDTH = 8.0  # px, as the service's and the command line's


def stroke_entry(points, positive=True, width=None):
    """One painted stroke as the prompts knob holds it: {"stroke": [[x, y], ...] (Nuke
    pixels), "positive": bool, "width": px}. Consecutive repeated points are dropped (a paint
    stroke repeats its point while the pen rests); ValueError for fewer than two distinct
    points or a width that is not positive."""
    clean = []
    for x, y in points:
        xy = [float(x), float(y)]
        if not clean or clean[-1] != xy:
            clean.append(xy)
    if len(clean) < 2:
        raise ValueError("a stroke needs at least two distinct points")
    width = DEFAULT_STROKE_WIDTH if width is None else float(width)
    if not width > 0:
        raise ValueError(f"stroke width {width}: must be positive")
    return {"stroke": clean, "positive": bool(positive), "width": width}


class Prompts:
    """Points and painted strokes per object per frame, in Nuke's convention, in the order
    objects were added: what the node's hidden knob holds (as JSON), so a saved script rebuilds
    its session. A frame's entries are points `[x, y, positive]` and strokes
    (`stroke_entry`)."""

    def __init__(self):
        self.objects = {}  # name -> {frame: [[x, y, positive] or stroke entry, ...]}

    # -- objects -------------------------------------------------------------------------------
    def names(self):
        return list(self.objects)

    def add_object(self, name=None):
        """Adds an object (a default `objectN` name when `name` is empty); returns its name.
        ValueError for a name the service would refuse (empty, control characters, taken)."""
        name = (name or "").strip()
        if not name:
            n = 1
            while f"object{n}" in self.objects:
                n += 1
            name = f"object{n}"
        if re.search(r"[\x00-\x1f]", name):
            raise ValueError(f"object name {name!r}: control characters are not allowed")
        if name in self.objects:
            raise ValueError(f"there is already an object named {name!r}")
        self.objects[name] = {}
        return name

    def remove_object(self, name):
        self._object(name)
        del self.objects[name]

    def _object(self, name):
        if name not in self.objects:
            raise ValueError(f"no object {name!r}")
        return self.objects[name]

    # -- points --------------------------------------------------------------------------------
    def add_point(self, name, frame, x, y, positive=True):
        """A click at Nuke pixels (x, y) on `frame`, positive (the object) or negative."""
        self._object(name).setdefault(int(frame), []).append(
            [float(x), float(y), bool(positive)])

    def add_stroke(self, name, frame, points, positive=True, width=None):
        """A painted stroke through Nuke pixels `points` [(x, y), ...] on `frame`
        (`stroke_entry` checks it)."""
        entry = stroke_entry(points, positive, width)
        self._object(name).setdefault(int(frame), []).append(entry)

    def clear_frame(self, name, frame):
        """Removes the object's points and strokes on `frame`; how many there were."""
        return len(self._object(name).pop(int(frame), []))

    def points(self, name, frame):
        return [list(p) for p in self._object(name).get(int(frame), []) if isinstance(p, list)]

    def strokes(self, name, frame):
        return [dict(p) for p in self._object(name).get(int(frame), []) if isinstance(p, dict)]

    def frames(self, name):
        return sorted(self._object(name))

    def count(self):
        return sum(len(p) for frames in self.objects.values() for p in frames.values())

    # -- the service's view --------------------------------------------------------------------
    def for_service(self, height):
        """{name: {"frame": {"points": [[x, y]], "negative": [[x, y]], "strokes": [[[[x, y],
        ...], positive, width], ...]}}} in the service's coordinates ("strokes" only where the
        frame has some); only frames with prompts, only objects with a frame (the service
        refuses to propagate an object without prompts)."""
        out = {}
        for name, frames in self.objects.items():
            wanted = {}
            for frame in sorted(frames):
                pos, neg, strokes = [], [], []
                for entry in frames[frame]:
                    if isinstance(entry, dict):
                        strokes.append([[list(nuke_to_service(x, y, height))
                                         for x, y in entry["stroke"]],
                                        entry["positive"], entry["width"]])
                        continue
                    x, y, positive = entry
                    (pos if positive else neg).append(list(nuke_to_service(x, y, height)))
                if pos or neg or strokes:
                    wanted[str(frame)] = {"points": pos, "negative": neg}
                    if strokes:
                        wanted[str(frame)]["strokes"] = strokes
            if wanted:
                out[name] = wanted
        return out

    # -- the hidden knob -----------------------------------------------------------------------
    def to_json(self):
        return json.dumps({"version": STATE_VERSION, "objects": [
            {"name": name, "frames": {str(f): frames[f] for f in sorted(frames)}}
            for name, frames in self.objects.items()]}, sort_keys=True)

    @classmethod
    def from_json(cls, text):
        """The state a `to_json` text holds; empty for an empty knob; ValueError if damaged."""
        state = cls()
        if not (text or "").strip():
            return state
        try:
            data = json.loads(text)
            for obj in data["objects"]:
                name = state.add_object(obj["name"])
                for frame, entries in obj["frames"].items():
                    for entry in entries:
                        if isinstance(entry, dict):
                            state.add_stroke(name, int(frame), entry["stroke"],
                                             entry["positive"], entry["width"])
                        else:
                            x, y, positive = entry
                            state.add_point(name, int(frame), x, y, positive)
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"the MatteTrack prompts knob is damaged ({err})") from None
        return state


# -- file patterns ----------------------------------------------------------------------------
def service_pattern(file_text):
    """A Read's file (`/path/plate.%04d.exr`, `plate.####.exr`, already TCL-evaluated) as the
    service's plate pattern. Nuke and the service read `#` and `%0Nd` alike; this only
    normalises separators, drops a browser-style frame range and refuses what the service
    cannot read (ValueError): stereo `%V`/`%v` views, several frame tokens, an empty path."""
    text = _RANGE_SUFFIX.sub("", (file_text or "").strip()).replace("\\", "/")
    if not text:
        raise ValueError("the Read has no file")
    name = posixpath.basename(text)
    if re.search(r"%[Vv]", text):
        raise ValueError(f"{text}: stereo views (%V) are not supported; pick one view")
    if len(_TOKEN.findall(name)) > 1:
        raise ValueError(f"{text}: more than one frame number token")
    return text


def frame_path(pattern, frame):
    """The file of `frame` in `pattern` (its one `#...`/`%0Nd` token), as the service writes."""
    directory, name = posixpath.split(pattern)
    m = _TOKEN.search(name)
    if m is None:
        return pattern
    token = m.group(0)
    pad = len(token) if token.startswith("#") else int(token[1:-1] or "0")
    number = ("-" if frame < 0 else "") + str(abs(frame)).zfill(pad)
    return posixpath.join(directory, name[:m.start()] + number + name[m.end():])


def plate_name(pattern):
    """`plate` for `/shots/a/plate.####.exr`: the file name without frame token or extension."""
    name = os.path.splitext(posixpath.basename(pattern))[0]
    name = _TOKEN.sub("", name).strip("._- ")
    return name or "plate"


def default_output(plate_pattern):
    """Mattes beside the plate: `<plate dir>/mattetrack/<plate name>_matte.####.exr`."""
    directory = posixpath.dirname(plate_pattern)
    return posixpath.join(directory, "mattetrack", plate_name(plate_pattern) + "_matte.####.exr")


def shapes_path(output_pattern, plate_pattern):
    """`<output dir>/<plate name>_shapes.nk` (its roto plan goes beside it as .roto.json)."""
    return posixpath.join(posixpath.dirname(output_pattern),
                          plate_name(plate_pattern) + "_shapes.nk")


def clean_path(output_pattern, plate_pattern):
    """`<output dir>/clean/<plate file pattern>`: the clean plate's files, named and typed as
    the plate's (mattetrack remove copies each plate file)."""
    return posixpath.join(posixpath.dirname(output_pattern), "clean",
                          posixpath.basename(plate_pattern))


def plan_path(script):
    """The roto plan the service writes beside a `.nk` (its suffix replaced by .roto.json)."""
    return os.path.splitext(script)[0] + ".roto.json"


# -- node names -------------------------------------------------------------------------------
def node_name(text):
    """A Nuke node name from any text: [A-Za-z0-9_], no leading digit."""
    clean = _INVALID_NAME.sub("_", text.strip()) or "object"
    return "_" + clean if clean[0].isdigit() else clean


# -- progress ---------------------------------------------------------------------------------
def progress(status):
    """(percent 0-100, message) for a `Propagation.poll()` snapshot."""
    done, total = status.get("done") or 0, status.get("total") or 0
    percent = max(0, min(100, int(100 * done / total))) if total else 0
    state = status.get("state")
    if state == "running":
        frame = status.get("frame")
        where = f"frame {frame}" if frame is not None else "starting"
        return percent, f"{where} ({done}/{total})"
    if state == "failed":
        return percent, "failed: " + (status.get("error") or "unknown error")
    return percent, f"{state} ({done}/{total} frames)"


def suggestions_text(suggested):
    """{object: [frame, ...]} -> the "to correct" knob's text, e.g. "dog: 37 21; cat: 12"."""
    return "; ".join(f"{name}: {' '.join(str(f) for f in frames)}"
                     for name, frames in suggested.items() if frames)


def parse_suggestions(text):
    """The knob's text back to {object: [frame, ...]} (an edited knob: what parses)."""
    out = {}
    for part in (text or "").split(";"):
        name, sep, frames = part.rpartition(":")
        if sep and name.strip():
            out[name.strip()] = [int(f) for f in frames.split() if f.lstrip("-").isdigit()]
    return out


def next_suggested(suggested, name, current):
    """The first suggested frame after `current` (wrapping) for object `name`, or for every
    object when it has none; None when nothing is suggested."""
    frames = suggested.get(name) or [f for v in suggested.values() for f in v]
    if not frames:
        return None
    later = sorted(f for f in frames if f > current)
    return later[0] if later else min(frames)
