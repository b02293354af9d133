"""Pure conversions between what Resolve reports and what the MatteTrack service takes: plate
paths and patterns, source frame numbers, the default output and the browser UI's address.

Frame patterns here use `#` runs (`plate.####.exr`, one `#` per digit), as the service does;
Resolve's own forms (`plate.[1001-1100].exr`, `plate.%04d.exr`) are converted on the way in and
`to_printf` gives Resolve's form back for ImportMedia.
"""

import collections
import os
import re
import urllib.parse

IMAGE_EXTENSIONS = (".exr", ".dpx", ".tif", ".tiff", ".png", ".jpg", ".jpeg")

# pattern: a path or `#` pattern; kind: "sequence", "movie" or "frame"; first/last: file frame
# numbers (a movie's are 0-based indices) or None when unknown; padding: digits of a frame.
Plate = collections.namedtuple("Plate", "pattern kind first last padding")

_BRACKET = re.compile(r"\[(-?\d+)-(-?\d+)\]")
_PRINTF = re.compile(r"%(\d*)d")
_HASHES = re.compile(r"#+")
_TOKEN = re.compile(r"\[-?\d+--?\d+\]|%\d*d|#+")
_NUMBERED = re.compile(r"(.*\D|)(\d+)(\.[^.]+)\Z")
_TIMECODE = re.compile(r"(\d+)[:;.](\d+)[:;.](\d+)[:;.](\d+)\Z")


def plate_from_path(path, frames=None):
    """The Plate for a media pool clip's "File Path" (and its "Frames" count when known).

    Sequences come as `plate.[1001-1100].exr`, `plate.%04d.exr`, `plate.####.exr`, or as one
    numbered image whose clip has more than one frame; other images are single frames; anything
    else is a movie, passed on as it is.
    """
    path = path.strip()
    directory, name = os.path.split(path)
    m = _BRACKET.search(name)
    if m:
        first, last = int(m.group(1)), int(m.group(2))
        padding = len(m.group(1).lstrip("-"))
        pattern = os.path.join(directory, name[:m.start()] + "#" * padding + name[m.end():])
        return Plate(pattern, "sequence", first, last, padding)
    m = _PRINTF.search(name) or _HASHES.search(name)
    if m:
        token = m.group(0)
        padding = len(token) if token.startswith("#") else int(m.group(1) or "1")
        pattern = os.path.join(directory, name[:m.start()] + "#" * padding + name[m.end():])
        found = scan_frames(pattern)
        return Plate(pattern, "sequence", found[0] if found else None,
                     found[-1] if found else None, padding)
    ext = os.path.splitext(name)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        m = _NUMBERED.match(name)
        if m and frames is not None and frames > 1:
            head, digits, tail = m.groups()
            first = int(digits)
            pattern = os.path.join(directory, head + "#" * len(digits) + tail)
            return Plate(pattern, "sequence", first, first + frames - 1, len(digits))
        number = int(m.group(2)) if m else 0
        return Plate(path, "frame", number, number, len(m.group(2)) if m else 4)
    return Plate(path, "movie", 0, frames - 1 if frames else None, 4)


def frame_path(pattern, frame):
    """The file of `frame` in a `#` pattern."""
    m = _HASHES.search(os.path.basename(pattern))
    if m is None:
        return pattern
    head = pattern[:len(pattern) - len(os.path.basename(pattern)) + m.start()]
    tail = pattern[len(head) + len(m.group(0)):]
    sign = "-" if frame < 0 else ""
    return f"{head}{sign}{abs(frame):0{len(m.group(0))}d}{tail}"


def to_printf(pattern):
    """`plate.####.exr` -> `plate.%04d.exr` (ImportMedia's form)."""
    directory, name = os.path.split(pattern)
    name = _HASHES.sub(lambda m: f"%0{len(m.group(0))}d", name, count=1)
    return os.path.join(directory, name)


def scan_frames(pattern):
    """Frame numbers of the files on disk that match a `#` pattern, sorted."""
    directory, name = os.path.split(pattern)
    m = _HASHES.search(name)
    if m is None:
        return []
    rx = re.compile(re.escape(name[:m.start()]) + r"(-?\d+)" + re.escape(name[m.end():]) + r"\Z")
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return []
    return sorted(int(g.group(1)) for g in map(rx.match, names) if g)


def same_plate(a, b):
    """True when two plate paths or patterns name the same files: the folder compared by its
    real path, the frame token whatever its form or padding (`####`, `%04d`, `[1001-1100]`)."""
    return _canonical(a) == _canonical(b)


def _canonical(path):
    directory, name = os.path.split(path)
    name = _TOKEN.sub("\0", name, count=1)
    return os.path.normcase(os.path.realpath(directory or ".")), os.path.normcase(name)


def clip_stem(name):
    """A clip name made file-name safe, without its extension and frame token:
    `plate.[1001-1100].exr` -> `plate`, `A001 C002.mov` -> `A001_C002`."""
    stem = _TOKEN.sub("", name.strip())
    base, ext = os.path.splitext(stem)
    if ext and len(ext) <= 5 and " " not in ext:
        stem = base
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._-")
    return stem or "plate"


def default_output(plate, clip_name):
    """`<plate dir>/mattetrack/<clip name>_matte.####.exr`; the padding is the plate's (at
    least 4), so the matte files carry the plate's frame numbers."""
    directory = os.path.dirname(plate.pattern)
    padding = max(4, plate.padding or 4)
    name = clip_stem(clip_name) + "_matte." + "#" * padding + ".exr"
    return os.path.join(directory, "mattetrack", name)


def timecode_frames(timecode, fps):
    """Frames of a `HH:MM:SS:FF` timecode at `fps` (drop-frame counted as non-drop), or None."""
    try:
        rate = int(round(float(fps)))
    except (TypeError, ValueError):
        return None
    m = _TIMECODE.match((timecode or "").strip())
    if m is None or rate <= 0:
        return None
    h, mi, s, f = (int(g) for g in m.groups())
    return ((h * 60 + mi) * 60 + s) * rate + f


def source_range(raw_start, raw_end, duration, plate, base):
    """(first, last, absolute): a timeline item's source range as the plate's file frames.

    `raw_start`/`raw_end` are GetSourceStartFrame/GetSourceEndFrame (the end exclusive, unless
    end - start + 1 is the item's `duration`); `base` is the clip's "Start TC" in frames or None.
    Resolve builds may count source frames from the media's start timecode ("absolute") or from
    its first frame; the first reading that falls inside the media wins. None when the range
    misses the media altogether.
    """
    count = raw_end - raw_start
    if duration is not None and raw_end - raw_start + 1 == duration:
        count = duration
    count = max(int(count), 1)
    media_first = plate.first if plate.first is not None else 0
    media_last = plate.last
    if base is None and plate.kind == "sequence":
        base = media_first  # a sequence's timecode is its frame number
    readings = []
    if base is not None and raw_start >= base:
        readings.append((media_first + raw_start - base, True))
    readings.append((media_first + raw_start, False))
    for first, absolute in readings:
        last = first + count - 1
        if first >= media_first and (media_last is None or last <= media_last):
            return first, last, absolute
    for first, absolute in readings:  # a partial overlap: clamp to the media
        last = first + count - 1
        if last >= media_first and (media_last is None or first <= media_last):
            last = last if media_last is None else min(last, media_last)
            return max(first, media_first), last, absolute
    return None


def ui_url(service_url, token, plate, frame_range, output):
    """The browser UI's address with the shot in its fragment (never sent to the server):
    `<service>/ui/#token=..&plate=..&range=A-B&output=..`."""
    base = service_url.rstrip("/")
    if base.endswith("/v1"):
        base = base[:-3]
    fields = [("token", token), ("plate", plate)]
    if frame_range is not None:
        fields.append(("range", f"{frame_range[0]}-{frame_range[1]}"))
    fields.append(("output", output))
    return base + "/ui/#" + urllib.parse.urlencode(fields)
