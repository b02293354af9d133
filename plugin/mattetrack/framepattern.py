"""Frame-numbered file patterns: `plate.####.exr`, `plate.%04d.exr`, `frames/%05d.jpg`.

`#` characters give the padding one digit each (Nuke's convention: `####` is 4 digits); printf
tokens `%d` / `%0Nd` give it explicitly. Frame numbers are the numbers in the file names.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

# One frame token per pattern: a run of '#' or a printf integer token.
_TOKEN = re.compile(r"#+|%(0?\d*)d")


@dataclass(frozen=True)
class FramePattern:
    """A path with one frame-number token; `head` and `tail` surround it, `padding` is its width."""

    head: str
    padding: int
    tail: str

    @classmethod
    def parse(cls, text: str) -> FramePattern | None:
        """The pattern in `text`, or None without a frame token (only in the file name)."""
        directory, name = os.path.split(text)
        matches = list(_TOKEN.finditer(name))
        if not matches:
            return None
        if len(matches) > 1:
            raise ValueError(f"more than one frame token in {text!r}")
        m = matches[0]
        token = m.group(0)
        padding = len(token) if token.startswith("#") else int(m.group(1) or "0")
        head = os.path.join(directory, name[: m.start()]) if directory else name[: m.start()]
        return cls(head, padding, name[m.end() :])

    def path(self, frame: int) -> str:
        """The file name of `frame`."""
        sign = "-" if frame < 0 else ""
        return f"{self.head}{sign}{abs(frame):0{self.padding}d}{self.tail}"

    @property
    def directory(self) -> str:
        return os.path.dirname(self.head) or "."

    def scan(self) -> dict[int, str]:
        """Frames that exist on disk, {frame: path}, sorted by frame."""
        prefix = os.path.basename(self.head)
        rx = re.compile(re.escape(prefix) + r"(-?\d+)" + re.escape(self.tail) + r"\Z")
        try:
            names = os.listdir(self.directory)
        except OSError:
            return {}
        found: dict[int, str] = {}
        for name in names:
            m = rx.match(name)
            if not m:
                continue
            frame = int(m.group(1))
            # Only names this pattern would write: padding must match exactly
            # (so `%04d` does not pick up `01001` beside `1001`).
            if os.path.basename(self.path(frame)) == name:
                found[frame] = os.path.join(os.path.dirname(self.head), name)
        return dict(sorted(found.items()))

    def __str__(self) -> str:
        return f"{self.head}{'#' * max(self.padding, 1)}{self.tail}"
