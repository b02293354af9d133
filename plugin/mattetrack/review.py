"""Looking at a result without writing code (`mattetrack review`, `track --review`).

- A contact sheet (a PNG): every Nth frame as a tile, the mattes over the display-referred plate
  (the plate's own colour pipeline, what the engines see: `Shot.image`) with their outlines,
  each object in its colour, frame numbers and a legend; under the tiles, each object's
  confidence through the whole shot (red: low, green: high; grey: not known) with the report's
  suggested frames marked, from `--report` or, after `track`, the run's own.
- An overlay movie of every frame: H.264 in MP4 or MOV through PyAV (FFmpeg's libraries), or a
  PNG sequence when the output is a frame pattern.

Everything is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from mattetrack.atomicfile import atomic_write_bytes, temp_path
from mattetrack.errors import InputError
from mattetrack.framepattern import FramePattern

# sRGB colours of objects 1, 2, ... (then again): far apart in hue, visible on skin, sky and
# foliage alike.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 64, 160), (64, 200, 255), (255, 200, 0), (120, 255, 80),
    (170, 100, 255), (255, 120, 40), (0, 230, 190), (255, 255, 255),
)
MOVIE_CONTAINERS = {".mp4": "mp4", ".mov": "mov"}
_AVCOL_SPC_BT470BG = 5  # FFmpeg's AVColorSpace for the BT.601 matrix its rgb24 -> yuv420p uses


@dataclass(frozen=True)
class ReviewOptions:
    """every: the contact sheet's frame step; columns: its tiles per row; tile_width: px;
    opacity: of the matte colour over the plate; fps: the movie's rate."""

    every: int = 10
    columns: int = 5
    tile_width: int = 320
    opacity: float = 0.45
    fps: float = 24.0


def colour_of(index: int) -> tuple[int, int, int]:
    """The sRGB colour of the object at `index` (0-based) in the mattes' object order."""
    return PALETTE[index % len(PALETTE)]


def overlay(rgb: np.ndarray, mattes: Sequence[np.ndarray], opacity: float = 0.45,
            outline: int = 1) -> np.ndarray:
    """(H, W, 3) uint8 sRGB with each (H, W) float32 coverage laid over it in its object's
    colour (`colour_of`, by position), at `opacity` times the coverage, and its 0.5 outline
    `outline` px wide."""
    out = rgb.astype(np.float32)
    for i, cov in enumerate(mattes):
        box = cv2.boundingRect((cov > 0).view(np.uint8))  # only where the matte is
        x, y, w, h = box
        if w == 0:
            continue
        part = out[y:y + h, x:x + w]
        alpha = cov[y:y + h, x:x + w, None] * np.float32(opacity)
        part += (np.asarray(colour_of(i), np.float32) - part) * alpha
    img = np.rint(out).astype(np.uint8)
    for i, cov in enumerate(mattes):
        contours, _ = cv2.findContours((cov >= 0.5).view(np.uint8), cv2.RETR_LIST,
                                       cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(img, contours, -1, colour_of(i), outline, cv2.LINE_8)
    return img


def _label(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.5,
           colour: tuple[int, int, int] = (255, 255, 255)) -> None:
    """Text with a dark outline, readable on any plate."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(img, text, org, font, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, org, font, scale, colour, 1, cv2.LINE_AA)


def confidence_colour(c: float | None) -> tuple[int, int, int]:
    """Red (0) through yellow (0.5) to green (1); grey when unknown."""
    if c is None:
        return (90, 90, 90)
    c = float(np.clip(c, 0.0, 1.0))
    return (int(round(255 * min(1.0, 2 - 2 * c))), int(round(255 * min(1.0, 2 * c))), 40)


def confidence_strip(confidence: Mapping[int, float], suggested: Sequence[int],
                     frames: Sequence[int], width: int, height: int = 14) -> np.ndarray:
    """(height, width, 3) uint8: one column band per frame of `frames` coloured by its
    confidence, and a white tick over each suggested frame."""
    strip = np.zeros((height, width, 3), np.uint8)
    n = len(frames)
    for i, f in enumerate(frames):
        x0, x1 = i * width // n, max((i + 1) * width // n, i * width // n + 1)
        strip[:, x0:x1] = confidence_colour(confidence.get(f))
    position = {f: i for i, f in enumerate(frames)}
    for f in suggested:
        if f in position:
            x = (2 * position[f] + 1) * width // (2 * n)
            strip[: height // 2, max(0, x - 1):x + 1] = 255
    return strip


@dataclass
class ReviewSource:
    """What a review shows: the plate (a `Shot`), the mattes (a `MatteSequence`), the frames
    both have, and per object name its confidence and suggested frames (may be empty)."""

    shot: object
    mattes: object
    frames: list[int]
    confidence: dict[str, dict[int, float]]
    suggested: dict[str, list[int]]

    @classmethod
    def open(cls, shot, mattes, report: Mapping | None = None) -> ReviewSource:
        """Checks that plate and mattes belong together; report: a `--report` document."""
        first = mattes.frames[min(mattes.frames)]
        if (mattes.width, mattes.height) != (shot.width, shot.height):
            raise InputError(f"{first}: mattes of {mattes.width}x{mattes.height}, the plate "
                             f"{shot.path} is {shot.width}x{shot.height}: not their plate")
        frames = sorted(set(shot.frames) & set(mattes.frames))
        if not frames:
            raise InputError(f"{first}: no frame number in common with the plate {shot.path}")
        confidence: dict[str, dict[int, float]] = {}
        suggested: dict[str, list[int]] = {}
        try:
            for obj in (report or {}).get("objects", []):
                name = str(obj["name"])
                confidence[name] = {int(f): float(c) for f, c in obj["confidence"].items()}
                suggested[name] = [int(f) for f in obj.get("suggested", [])]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise InputError(": not a mattetrack report (objects with name, confidence and "
                             "suggested)", field="report") from None
        return cls(shot, mattes, frames, confidence, suggested)

    def overlay(self, frame: int, opacity: float) -> np.ndarray:
        """(H, W, 3) uint8 overlay of `frame`."""
        # The display image's 8-bit codes (it is 8-bit codes / 255 already, or rounded to them).
        rgb = cv2.convertScaleAbs(self.shot.image(frame), alpha=255.0)
        covs = self.mattes.read(frame)
        return overlay(rgb, [covs[name] for name in self.mattes.objects], opacity,
                       outline=max(1, self.shot.width // 640))

    def overlays(self, frames: Sequence[int], opacity: float,
                 ahead: int = 2) -> Iterator[tuple[int, np.ndarray]]:
        """(frame, (H, W, 3) uint8 overlay) of each of `frames`, in order, made up to `ahead`
        frames ahead on a thread of their own (while the caller encodes or writes the last:
        OpenCV, the PNG decoder and x264 release the GIL)."""
        if ahead <= 0:
            for f in frames:
                yield f, self.overlay(f, opacity)
            return
        with ThreadPoolExecutor(1, thread_name_prefix="mattetrack-review") as pool:
            pending: deque = deque()
            for f in frames:
                pending.append((f, pool.submit(self.overlay, f, opacity)))
                if len(pending) > ahead:
                    done, future = pending.popleft()
                    yield done, future.result()
            while pending:
                done, future = pending.popleft()
                yield done, future.result()


def contact_sheet(source: ReviewSource, options: ReviewOptions = ReviewOptions()) -> np.ndarray:
    """(H, W, 3) uint8 sRGB contact sheet (see the module's docstring)."""
    frames = source.frames[:: max(1, options.every)]
    tw = max(32, options.tile_width)
    th = max(1, round(tw * source.shot.height / source.shot.width))
    cols = max(1, min(options.columns, len(frames)))
    rows = -(-len(frames) // cols)
    gap, legend_h = 4, 26
    sheet_w = cols * tw + (cols + 1) * gap
    names = list(source.mattes.objects)
    strip_h, label_h = 14, 16
    strips_h = len(names) * (strip_h + label_h) + gap
    sheet = np.full((legend_h + rows * (th + gap) + gap + strips_h, sheet_w, 3), 24, np.uint8)
    x = gap
    for i, name in enumerate(names):  # the legend
        cv2.rectangle(sheet, (x, 7), (x + 12, 19), colour_of(i), -1)
        _label(sheet, name, (x + 16, 18), 0.45)
        x += 16 + cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)[0][0] + 14
    for k, (f, img) in enumerate(source.overlays(frames, options.opacity)):
        r, c = divmod(k, cols)
        x0, y0 = gap + c * (tw + gap), legend_h + r * (th + gap)
        sheet[y0:y0 + th, x0:x0 + tw] = cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA)
        _label(sheet, str(f), (x0 + 4, y0 + 16))
    y = legend_h + rows * (th + gap) + gap
    for i, name in enumerate(names):
        known = name in source.confidence
        _label(sheet, f"{name}: confidence" + ("" if known else " (no report)"),
               (gap, y + 12), 0.42, colour_of(i))
        y += label_h
        sheet[y:y + strip_h, gap:sheet_w - gap] = confidence_strip(
            source.confidence.get(name, {}), source.suggested.get(name, []), source.frames,
            sheet_w - 2 * gap, strip_h)
        y += strip_h
    return sheet


def write_contact_sheet(path: str, source: ReviewSource,
                        options: ReviewOptions = ReviewOptions()) -> None:
    sheet = contact_sheet(source, options)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    if not ok:
        raise InputError(f"{path!r}: PNG encoding failed", field="output")
    atomic_write_bytes(Path(path), buf.tobytes())


def write_movie(path: str, source: ReviewSource, options: ReviewOptions = ReviewOptions(),
                on_frame=None) -> None:
    """Every frame's overlay as H.264 (yuv420p, CRF 18) in an MP4 or MOV container at
    `options.fps`; odd sizes are padded by one pixel (4:2:0 needs even ones). FFmpeg's own
    conversion makes the YUV (the BT.601 matrix, video range: an explicit BT.709 conversion
    cost ~4 ms a frame at 854x480, 32 -> 28 frames/s), and the stream says so, with the sRGB
    primaries (BT.709) and transfer, so players need not guess."""
    import av
    from av.video.reformatter import ColorPrimaries, ColorRange, ColorTrc

    container_format = MOVIE_CONTAINERS[os.path.splitext(path)[1].lower()]
    tmp = temp_path(Path(path))
    width, height = source.shot.width + source.shot.width % 2, source.shot.height + \
        source.shot.height % 2
    try:
        with av.open(str(tmp), mode="w", format=container_format) as container:
            stream = container.add_stream("libx264", rate=Fraction(options.fps).limit_denominator(
                1001))
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.options = {"crf": "18", "preset": "veryfast"}
            codec = stream.codec_context
            codec.colorspace, codec.color_range = _AVCOL_SPC_BT470BG, ColorRange.MPEG
            codec.color_primaries, codec.color_trc = ColorPrimaries.BT709, ColorTrc.IEC61966_2_1
            for f, img in source.overlays(source.frames, options.opacity):
                if img.shape[:2] != (height, width):
                    img = cv2.copyMakeBorder(img, 0, height - img.shape[0], 0,
                                             width - img.shape[1], cv2.BORDER_REPLICATE)
                for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    container.mux(packet)
                if on_frame is not None:
                    on_frame(f)
            for packet in stream.encode():
                container.mux(packet)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_sequence(pattern: FramePattern, source: ReviewSource,
                   options: ReviewOptions = ReviewOptions(), on_frame=None) -> None:
    """Every frame's overlay as an 8-bit sRGB PNG at `pattern`."""
    for f, img in source.overlays(source.frames, options.opacity):
        ok, buf = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise InputError(f"{pattern.path(f)!r}: PNG encoding failed", field="output")
        atomic_write_bytes(Path(pattern.path(f)), buf.tobytes())
        if on_frame is not None:
            on_frame(f)


def review_kind(output: str) -> str:
    """What `output` asks for: "movie" (.mp4, .mov), "sequence" (a .png frame pattern) or
    "sheet" (one .png); InputError otherwise or when its folder is missing."""
    ext = os.path.splitext(output)[1].lower()
    try:
        pattern = FramePattern.parse(output)
    except ValueError as err:
        raise InputError(f"{output!r}: {err}", field="output") from None
    folder = Path(output).parent
    if not folder.is_dir():
        raise InputError(f"{output!r}: folder {folder} does not exist", field="output")
    if ext in MOVIE_CONTAINERS and pattern is None:
        return "movie"
    if ext == ".png":
        return "sequence" if pattern is not None else "sheet"
    raise InputError(f"{output!r}: give a contact sheet (.png), a movie (.mp4, .mov) or a PNG "
                     "sequence (overlay.####.png)", field="output")


def write_review(output: str, source: ReviewSource, options: ReviewOptions = ReviewOptions(),
                 on_frame=None) -> str:
    """Write what `output` names (`review_kind`); returns the kind."""
    kind = review_kind(output)
    if kind == "sheet":
        write_contact_sheet(output, source, options)
    elif kind == "movie":
        write_movie(output, source, options, on_frame)
    else:
        write_sequence(FramePattern.parse(output), source, options, on_frame)
    return kind
