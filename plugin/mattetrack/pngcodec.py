"""How MatteTrack writes the 16-bit coverage PNGs it keeps for itself (the result store, the
memo of tracks, the propagation spill).

zlib level 1 and no PNG row filter: mattes are mostly flat, so level 1 already shrinks them ~50x,
and libpng's per-row filter search is most of the encoding time. Measured on an 854x480 DAVIS
matte (2 cores): 8.8 ms and 57 KB with the filter search, 2.7 ms and 60 KB without.
"""

from __future__ import annotations

import cv2

# OpenCV builds without the filter flag (before 4.11) keep libpng's default search.
PNG16_PARAMS: list[int] = [cv2.IMWRITE_PNG_COMPRESSION, 1] + (
    [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE]
    if hasattr(cv2, "IMWRITE_PNG_FILTER") else [])
