"""The composite pipeline: plate and mattes in, composited (or premultiplied object) frames out.

`composited` is a generator of per-frame results (read one frame ahead on a thread, so decoding
overlaps the edge estimate); `write_composite` consumes it into the output format, files written
on a writer thread. A sequence resumes: each file's key (the settings, the plate frame, the matte
file, the background) is kept in `.mattetrack-composite.json` beside the files, and a rerun
leaves alone every file that would come out the same. A movie is written whole or not at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mattetrack import resultkeys
from mattetrack.composite.background import Background
from mattetrack.composite.edges import object_colour, over, premultiplied
from mattetrack.composite.frames import Spaces, on_window
from mattetrack.composite.writers import ProResWriter, composite_format
from mattetrack.errors import InputError
from mattetrack.framepattern import FramePattern
from mattetrack.geometry import Box2i

MANIFEST_NAME = ".mattetrack-composite.json"


@dataclass(frozen=True)
class CompositeSettings:
    """objects: the mattes composited (their coverages added, clipped to 1); background: None
    for the object alone; decontaminate: estimate the object's colours in its soft edge."""

    objects: tuple[str, ...]
    background: Background | None
    decontaminate: bool = True


@dataclass(frozen=True)
class CompositeFrame:
    """One frame's result: `pixels` (h, w, 3) composite, or (h, w, 4) the object's colour
    (straight) and its matte, in the working space, over `window` (the plate frame's data
    window) of `display`."""

    frame: int
    pixels: np.ndarray
    window: Box2i
    display: Box2i


def frames_of(shot, mattes, objects: Sequence[str]) -> list[int]:
    """The frames plate and mattes share, checked to belong together; InputError otherwise."""
    first = mattes.frames[min(mattes.frames)]
    if (mattes.width, mattes.height) != (shot.width, shot.height):
        raise InputError(f"{first}: mattes of {mattes.width}x{mattes.height}, the plate "
                         f"{shot.path} is {shot.width}x{shot.height}: not their plate")
    missing = [o for o in objects if o not in mattes.objects]
    if missing:
        raise InputError(f"--object {missing[0]!r} is not a matte in {first} (mattes: "
                         f"{', '.join(mattes.objects)})")
    frames = sorted(set(shot.frames) & set(mattes.frames))
    if not frames:
        raise InputError(f"{first}: no frame number in common with the plate {shot.path}")
    return frames


def composite_frame(decoded, alpha: np.ndarray, index: int, spaces: Spaces,
                    settings: CompositeSettings) -> np.ndarray:
    """One frame: `decoded` (`shot.Decoded`), `alpha` (H, W) over the display window."""
    window, display = decoded.data_window, decoded.display_window
    a = on_window(alpha, display, window)
    rgb = spaces.working(decoded.rgb)
    colour = object_colour(rgb, a) if settings.decontaminate else rgb
    if settings.background is None:
        return np.concatenate([colour, a[:, :, None]], axis=2)
    return over(colour, a, settings.background.at(index, display, window))


def composited(shot, mattes, frames: Sequence[int], settings: CompositeSettings,
               spaces: Spaces) -> Iterator[CompositeFrame]:
    """Each of `frames` composited, in order; the next frame's plate and mattes are read on a
    thread meanwhile."""

    def load(frame: int):
        covs = mattes.read(frame)
        alpha = np.minimum(sum(covs[o] for o in settings.objects), 1.0).astype(np.float32)
        return shot.decoded(frame), alpha

    position = {f: n for n, f in enumerate(shot.frames)}
    with ThreadPoolExecutor(1, thread_name_prefix="mattetrack-composite") as pool:
        ahead = pool.submit(load, frames[0]) if frames else None
        for n, frame in enumerate(frames):
            assert ahead is not None
            decoded, alpha = ahead.result()
            ahead = pool.submit(load, frames[n + 1]) if n + 1 < len(frames) else None
            pixels = composite_frame(decoded, alpha, position[frame], spaces, settings)
            yield CompositeFrame(frame, pixels, decoded.data_window, decoded.display_window)


def write_composite(output: str, shot, mattes, frames: Sequence[int],
                    settings: CompositeSettings, fps: float | None = None,
                    on_frame: Callable[[int, bool], None] | None = None) -> int:
    """Write the composite of `frames` to `output` (a frame pattern, or a .mov); returns how
    many files or movie frames were written. on_frame(frame, written): after each frame."""
    from mattetrack.export.background import BackgroundWriter
    from mattetrack.export.outputmanifest import OutputManifest

    fmt = composite_format(output)
    spaces = Spaces.of(shot.config, shot.colorspace)
    pattern = None if fmt.movie else FramePattern.parse(output)
    folder = Path(output).parent
    if not folder.is_dir():
        raise InputError(f"{output!r}: folder {folder} does not exist", field="output")
    if fmt.movie:
        return _write_movie(output, shot, mattes, frames, settings, spaces, fps, on_frame)
    if pattern is None and len(frames) > 1:
        raise InputError(f"{output!r}: {len(frames)} frames need a frame pattern "
                         "(comp.####.exr)", field="output")
    kind = fmt.kind
    assert kind is not None
    manifest = OutputManifest(folder / MANIFEST_NAME)
    keys = {f: _key(output, shot, mattes, f, settings) for f in frames}
    path_of = (lambda f: pattern.path(f)) if pattern is not None else (lambda f: output)
    todo = [f for f in frames if not manifest.holds(path_of(f), keys[f])]
    for f in frames:
        if f not in todo and on_frame is not None:
            on_frame(f, False)
    written = 0
    try:
        with BackgroundWriter() as writer:
            for result in composited(shot, mattes, todo, settings, spaces):
                path = path_of(result.frame)
                colour = _for_file(result.pixels, spaces, shot, kind.is_float)

                def job(path=path, colour=colour, result=result):
                    kind.write(path, colour, result.window, result.display)
                    manifest.record(path, keys[result.frame])

                writer.submit(path, job)
                written += 1
                if on_frame is not None:
                    on_frame(result.frame, True)
    finally:
        manifest.save()
    return written


def _write_movie(output, shot, mattes, frames, settings, spaces, fps, on_frame) -> int:
    rate = fps or shot.fps or 24.0
    movie = ProResWriter(output, rate, shot.display_window, frames[0] if frames else 0)
    complete = False
    try:
        written = 0
        for result in composited(shot, mattes, frames, settings, spaces):
            movie.write(output, _for_file(result.pixels, spaces, shot, False), result.window,
                        result.display)
            written += 1
            if on_frame is not None:
                on_frame(result.frame, True)
        complete = True
        return written
    finally:
        movie.close(complete)


def _for_file(pixels: np.ndarray, spaces: Spaces, shot, file_is_float: bool) -> np.ndarray:
    """A result's working-space pixels in the file's colour space; the object alone
    premultiplied there (its colour converted first: premultiplying is done in the file's
    encoding, as readers of an sRGB file with alpha undo it)."""
    colour = spaces.output(pixels[:, :, :3], shot.source_is_float, file_is_float)
    if pixels.shape[2] == 4:
        return premultiplied(colour, pixels[:, :, 3])
    return colour


def _key(output: str, shot, mattes, frame: int, settings: CompositeSettings) -> str:
    """What decides the file of `frame`: the output's format, the settings, the plate frame and
    the matte file (path, size, modification time)."""
    path = mattes.frames[frame]
    st = os.stat(path)
    return resultkeys.digest("composite", os.path.splitext(output)[1].lower(), repr(settings),
                             shot.frame_key(frame), os.path.realpath(path), st.st_size,
                             st.st_mtime_ns)
