"""Turning a shot path into frame files: patterns, folders of frames and single images.

Frame numbers are the numbers in the file names. A single image is a one-frame shot numbered by
the run of digits just before its extension, as Nuke's file browser numbers the files of a
sequence and as folder scanning here does (`plate.1001.exr` -> 1001, `00000.jpg` -> 0,
`t03.exr` -> 3), or 0 when there is none (`Carrots.exr`).
"""

from __future__ import annotations

import os
import re
from collections import defaultdict

from mattetrack.errors import InputError
from mattetrack.framepattern import FramePattern

IMAGE_EXTENSIONS = frozenset({".exr", ".dpx", ".tif", ".tiff", ".png", ".jpg", ".jpeg"})
MOVIE_EXTENSIONS = frozenset({".mov", ".mp4", ".avi", ".mkv", ".webm", ".m4v", ".mxf"})

_SINGLE_FRAME = re.compile(r"(\d+)\Z")
# head, frame digits (the last run of digits), extension; head ends with a non-digit or is empty.
_NUMBERED = re.compile(r"(.*\D|)(\d+)(\.[^.]+)\Z")


def is_movie(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in MOVIE_EXTENSIONS


def single_frame_number(path: str) -> int:
    """The frame number of a lone image (see the module docstring)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    m = _SINGLE_FRAME.search(stem)
    return int(m.group(1)) if m else 0


def what_is_there(path: str) -> str:
    """Why `path` cannot be read as an image or movie file, for a one-line error: nothing there,
    a broken link, or something that is not a regular file (a FIFO, a device)."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "a link to nothing" if os.path.islink(path) else "no such file or folder"
    except OSError as err:
        return f"cannot be read ({err.strerror})"
    for test, kind in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return f"{kind}, not an image or movie file"
    return "not a regular file"


def scan_pattern(text: str) -> tuple[FramePattern, dict[int, str]]:
    """The pattern in `text` and its frames on disk, {frame: path}; errors when none exist."""
    try:
        pattern = FramePattern.parse(text)
    except ValueError as err:
        raise InputError(f"{text}: {err}") from None
    if pattern is None:
        raise InputError(f"{text}: {what_is_there(text)}")
    if not os.path.isdir(pattern.directory):
        raise InputError(f"{text}: folder {pattern.directory} does not exist")
    frames = pattern.scan()
    if not frames:
        raise InputError(f"{text}: no files match the pattern")
    return pattern, frames


def _padding(digits: list[str]) -> int | None:
    """The padding that writes every one of `digits` exactly, or None (mixed padding)."""
    width = min(len(d) for d in digits)
    if all(f"{int(d):0{width}d}" == d for d in digits):
        return width
    return None


def scan_folder(folder: str) -> tuple[FramePattern, dict[int, str]]:
    """The single numbered image sequence in `folder`; errors when there is none or several."""
    try:
        names = os.listdir(folder)
    except OSError as err:
        raise InputError(f"{folder}: cannot list the folder ({err.strerror})") from None
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name in names:
        # Hidden files (macOS `._00001.jpg`, editor backups) are never frames.
        if name.startswith("."):
            continue
        m = _NUMBERED.match(name)
        if m and m.group(3).lower() in IMAGE_EXTENSIONS:
            groups[(m.group(1), m.group(3))].append(m.group(2))
    sequences: list[tuple[FramePattern, dict[int, str]]] = []
    for (head, tail), digits in sorted(groups.items()):
        padding = _padding(digits)
        if padding is None:
            raise InputError(f"{folder}: {head}*{tail} files mix paddings; give a pattern")
        pattern = FramePattern(os.path.join(folder, head), padding, tail)
        sequences.append((pattern, {int(d): pattern.path(int(d)) for d in sorted(digits, key=int)}))
    if not sequences:
        raise InputError(f"{folder}: no numbered image sequence in the folder")
    if len(sequences) > 1:
        listed = ", ".join(os.path.basename(str(p)) for p, _ in sequences[:4])
        raise InputError(f"{folder}: several sequences in the folder ({listed}); give a pattern")
    return sequences[0]


def check_no_gaps(frames: dict[int, str], pattern: FramePattern | None, label: str) -> None:
    """InputError naming the first missing file when `frames` (sorted) skips a number."""
    numbers = list(frames)
    if not numbers or numbers[-1] - numbers[0] + 1 == len(numbers):
        return
    present = set(numbers)
    missing = next(f for f in range(numbers[0], numbers[-1] + 1) if f not in present)
    where = pattern.path(missing) if pattern else f"frame {missing}"
    raise InputError(
        f"{where}: missing from the sequence {label} (frames {numbers[0]}-{numbers[-1]})"
    )
