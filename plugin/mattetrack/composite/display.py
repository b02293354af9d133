"""The composite of a display-referred image, for previews: what `mattetrack composite` will
write, shown in the browser UI while the artist works.

The preview image is the engines' display-referred sRGB (`Shot.image`): it is decoded as the
config's sRGB texture space into the working space, composited there with the object's edge
colours estimated (`edges.object_colour`), and encoded back.
"""

from __future__ import annotations

import numpy as np

from mattetrack.color import srgb_texture_space
from mattetrack.composite.background import Background
from mattetrack.composite.edges import object_colour, over
from mattetrack.composite.frames import WORKING, Spaces
from mattetrack.geometry import Box2i


def composite_display(image: np.ndarray, alpha: np.ndarray, background: Background,
                      index: int, config) -> np.ndarray:
    """(h, w, 3) float32 display sRGB in [0, 1]: `image` ((h, w, 3) display sRGB) over the
    `index`-th frame of `background` by `alpha` ((h, w) in [0, 1]), the background scaled to
    the image's size."""
    spaces = Spaces.of(config, srgb_texture_space(config) or WORKING)
    h, w = alpha.shape
    box = Box2i.from_size(w, h)
    linear = spaces.working(image)
    out = over(object_colour(linear, alpha), alpha, background.at(index, box, box))
    out = spaces.output(out, False, False)
    return np.clip(out, 0.0, 1.0)
