"""Movie frames through PyAV (FFmpeg's libraries; its wheels carry FFmpeg), read on demand.

- Frame-accurate: the frames are indexed by presentation time when the movie opens (its packets
  are demuxed, not decoded), and frame k is the one whose timestamp is the k-th; a seek lands on
  the keyframe before it and decodes forwards to exactly that timestamp. Reading in order never
  seeks, and a short jump forwards decodes through.
- Variable frame rate is refused in one line: a frame number would not name a moment.
- Sources above 8 bits (ProRes, DNxHR 10-bit, 10-bit HEVC) come out as 16-bit RGB, 8-bit ones as
  8-bit RGB; the YUV to RGB matrix and range are the stream's own (its colour tags), and its
  primaries and transfer name the OCIO colour space it is read as by default
  (`colour_space_candidates`: BT.709 video is Gamma 2.4 Rec.709, PQ is Rec.2100-PQ, ...).
- Timecode (a QuickTime tmcd track or the stream's `timecode` tag) is read: with
  `frame_numbers="timecode"` the frames are numbered from the start timecode's frame count.
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from mattetrack.errors import InputError

# The stream's colour tags (FFmpeg's AVColorPrimaries and AVColorTransferCharacteristic numbers)
# to the OCIO colour space it is read as by default: names and aliases of the built-in ACES
# studio config, the first one a config has wins. Untagged streams keep the sRGB default.
_BT709, _BT2020, _P3_D65 = 1, 9, 12
_PRIMARIES = {_BT709: "rec709", 2: "rec709", _BT2020: "rec2020", _P3_D65: "p3d65"}
_COLOUR_SPACES = {
    # (transfer, primaries): candidates
    ("video", "rec709"): ("g24_rec709", "Gamma 2.4 Encoded Rec.709"),  # BT.1886 display
    ("video", "rec2020"): ("rec1886_rec2020_display", "Rec.1886 Rec.2020 - Display"),
    ("srgb", "rec709"): ("srgb_tx", "sRGB Encoded Rec.709 (sRGB)"),
    ("srgb", "p3d65"): ("srgb_encoded_p3d65", "sRGB Encoded P3-D65"),
    ("gamma22", "rec709"): ("g22_rec709", "Gamma 2.2 Encoded Rec.709"),
    ("linear", "rec709"): ("lin_rec709", "Linear Rec.709 (sRGB)"),
    ("linear", "rec2020"): ("lin_rec2020", "Linear Rec.2020"),
    ("linear", "p3d65"): ("lin_p3d65", "Linear P3-D65"),
    ("pq", "rec2020"): ("rec2100_pq_display", "Rec.2100-PQ - Display"),
    ("pq", "p3d65"): ("st2084_p3d65_display", "ST2084-P3-D65 - Display"),
    ("hlg", "rec2020"): ("rec2100_hlg_display", "Rec.2100-HLG - Display"),
}
# AVColorTransferCharacteristic: BT.709, SMPTE 170M, BT.2020 10/12-bit are video (BT.1886) curves.
_TRANSFERS = {1: "video", 6: "video", 14: "video", 15: "video", 13: "srgb", 4: "gamma22",
              8: "linear", 16: "pq", 18: "hlg"}


def colour_space_candidates(primaries: int, transfer: int) -> tuple[str, ...]:
    """OCIO colour space names for a stream tagged with FFmpeg's `primaries` and `transfer`
    numbers, best first; () when the tags are missing or not mapped. A stream that tags its
    transfer but not its primaries is taken as Rec.709 (what unlabelled HD video is)."""
    curve = _TRANSFERS.get(int(transfer))
    gamut = _PRIMARIES.get(int(primaries))
    if curve is None or gamut is None:
        return ()
    return _COLOUR_SPACES.get((curve, gamut), ())


# Decoding up to this many frames forwards is cheaper and as exact as a seek, which lands on a
# keyframe and decodes forwards anyway.
_MAX_GRAB = 16
_TIMECODE = re.compile(r"(\d+):(\d\d):(\d\d)[:;.](\d+)\Z")


def timecode_frames(text: str, rate: Fraction) -> int:
    """The frame count of SMPTE timecode `text` (HH:MM:SS:FF, or ;FF for drop-frame) at `rate`."""
    m = _TIMECODE.match(text.strip())
    if m is None:
        raise ValueError(f"not a timecode: {text!r}")
    hh, mm, ss, ff = (int(g) for g in m.groups())
    nominal = round(rate)
    frames = ((hh * 60 + mm) * 60 + ss) * nominal + ff
    if ";" in text and nominal in (30, 60):  # drop-frame: 2 (4) numbers skipped a minute...
        drop = 2 if nominal == 30 else 4
        minutes = hh * 60 + mm
        frames -= drop * (minutes - minutes // 10)  # ...except every tenth minute
    return frames


class MovieReader:
    """Frames of a movie as (H, W, 3) RGB, uint8 or (above 8 bits) uint16; `seeks` counts
    real seeks. Frames are numbered from `first` (0, or the start timecode's frame count)."""

    def __init__(self, path: str, frame_numbers: str = "index") -> None:
        import av  # PyAV only for movies: 37 ms of every run's start-up

        self.path = path
        try:
            self._container = av.open(path)
        except (av.FFmpegError, OSError, UnicodeDecodeError) as err:
            reason = getattr(err, "strerror", None) or str(err)
            raise InputError(f"{path}: cannot open as a movie ({reason})") from None
        try:
            self._open(frame_numbers)
        except BaseException:
            self._container.close()
            raise

    def _open(self, frame_numbers: str) -> None:
        if not self._container.streams.video:
            raise InputError(f"{self.path}: no video stream")
        self._stream = stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        self._pts = self._index()
        self.frame_count = len(self._pts)
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else None
        self._check_constant_rate(rate)
        self.timecode = _timecode(self._container, stream)
        if frame_numbers == "timecode":
            if self.timecode is None or not rate:
                raise InputError(f"{self.path}: no timecode to number the frames by")
            self.first = timecode_frames(self.timecode, Fraction(rate))
        elif frame_numbers == "index":
            self.first = 0
        else:
            raise InputError(f"frame numbers: expected index or timecode, got {frame_numbers!r}")
        # Back to the start after the index (not counted: no frame was decoded yet).
        self._container.seek(self._pts[0], stream=stream, backward=True, any_frame=False)
        self._frames = self._container.decode(stream)  # the decoder's frame generator
        self._next = 0  # index of the frame the generator yields next
        self.seeks = 0
        cc = stream.codec_context
        # OCIO names for the stream's colour tags (`colour_space_candidates`), best first.
        self.colour_spaces = colour_space_candidates(cc.color_primaries or 2, cc.color_trc or 2)
        fmt = stream.codec_context.format
        bits = max((c.bits for c in fmt.components), default=8) if fmt is not None else 8
        self._format = "rgb48le" if bits > 8 else "rgb24"
        # Decoding frame 0 proves the file decodes; kept, so reading from the start needs no seek.
        self._first: np.ndarray | None = self._decode(0)
        self.height, self.width = self._first.shape[:2]

    def _index(self) -> list[int]:
        """Every frame's presentation time (stream time base), in order, from the packets."""
        import av  # PyAV only for movies: 37 ms of every run's start-up

        pts = []
        try:
            for packet in self._container.demux(self._stream):
                if packet.pts is not None and packet.size:
                    pts.append(packet.pts)
        except av.FFmpegError as err:
            reason = getattr(err, "strerror", None) or str(err)
            raise InputError(f"{self.path}: cannot read the movie ({reason})") from None
        if not pts:
            raise InputError(f"{self.path}: no video frames with timestamps")
        return sorted(pts)

    def _check_constant_rate(self, rate) -> None:
        if len(self._pts) < 3:
            return
        steps = np.diff(np.asarray(self._pts, np.int64))
        typical = float(np.median(steps))
        # A tick of rounding in the container's time base is not a rate change.
        if steps.min() <= 0 or (steps.max() - steps.min()) > max(1.0, 0.01 * typical):
            tb = self._stream.time_base
            fastest, slowest = 1 / float(steps.min() * tb), 1 / float(steps.max() * tb)
            raise InputError(
                f"{self.path}: variable frame rate ({slowest:.3g} to {fastest:.3g} frames/s); "
                "convert it to a constant rate first (e.g. ffmpeg -fps_mode cfr)")

    def _decode(self, index: int) -> np.ndarray:
        import av  # PyAV only for movies: 37 ms of every run's start-up

        if not 0 <= index < self.frame_count:
            raise InputError(f"{self.path}: no frame {index + self.first}")
        target = self._pts[index]
        if self._frames is None or not 0 <= index - self._next <= _MAX_GRAB:
            self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
            self._frames = self._container.decode(self._stream)
            self.seeks += 1
        try:
            for frame in self._frames:
                when = frame.pts
                if when is None or when < target:
                    continue
                if when > target:
                    break  # the frame is missing from the decoded stream
                self._next = index + 1
                return frame.to_ndarray(format=self._format)
        except av.FFmpegError as err:
            self._frames = None
            reason = getattr(err, "strerror", None) or str(err)
            raise InputError(f"{self.path}: cannot decode frame {index + self.first} "
                             f"({reason})") from None
        self._frames = None
        raise InputError(f"{self.path}: cannot decode frame {index + self.first}")

    @property
    def next_index(self) -> int:
        """The frame (numbered from `first`) the decoder gives next without seeking."""
        return self.first if self._first is not None else self.first + max(self._next, 0)

    @property
    def max_value(self) -> float:
        """The pixel value of full white: 255 or 65535."""
        return 65535.0 if self._format == "rgb48le" else 255.0

    def read(self, frame: int) -> np.ndarray:
        """Frame `frame` (numbered from `first`) as (H, W, 3) RGB, uint8 or uint16."""
        index = frame - self.first
        rgb = self._first if index == 0 and self._first is not None else self._decode(index)
        self._first = None
        if rgb.shape[:2] != (self.height, self.width):
            raise InputError(f"{self.path}: frame {frame} is {rgb.shape[1]}x{rgb.shape[0]}, "
                             f"the movie is {self.width}x{self.height}")
        return rgb

    def close(self) -> None:
        self._container.close()


def _timecode(container, stream) -> str | None:
    """The start timecode: the video stream's tag, else a data (tmcd) stream's, else the
    container's."""
    for source in (stream, *container.streams.data, container):
        found = source.metadata.get("timecode")
        if found:
            return str(found)
    return None
