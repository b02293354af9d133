"""Type stubs for `mattetrack._native` (pybind11, OpenEXR). Private: use `mattetrack.export`."""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

def openexr_version() -> str:
    """Version of the OpenEXR library the module was built against, e.g. "3.1.5"."""

class MatteSpec:
    """One part of matte channels to write: plain data, checked by `write_exr` / `merge_exr`.

    planes[i]: C-contiguous native float32, shape (data height, data width), channel channels[i]
        over the data window, row 0 = data_window ymin.
    data_window, display_window: inclusive pixel boxes (xmin, ymin, xmax, ymax).
    compression: zip, zips, piz, rle or none. half: HALF channels if true, else FLOAT.
    attributes: extra header attributes, written as OpenEXR string attributes.
    cryptomatte: (layer prefix, source plane indices, MurmurHash3 hashes of the objects' names,
        ranks): adds FLOAT channels <prefix>00.R ... ranking the sources' coverage per pixel,
        highest first (ids as cryptomatte_bits(hash) float32 bit patterns).
    """

    channels: list[str]
    planes: list[npt.NDArray[np.float32]]
    data_window: tuple[int, int, int, int]
    display_window: tuple[int, int, int, int]
    compression: str
    half: bool
    attributes: dict[str, str] | None
    cryptomatte: tuple[str, list[int], list[int], int] | None

    def __init__(
        self,
        channels: Sequence[str],
        planes: Sequence[npt.NDArray[np.float32]],
        data_window: tuple[int, int, int, int],
        display_window: tuple[int, int, int, int],
        compression: str = "zip",
        half: bool = True,
        attributes: dict[str, str] | None = None,
        cryptomatte: tuple[str, Sequence[int], Sequence[int], int] | None = None,
    ) -> None: ...

def write_exr(path: str, spec: MatteSpec) -> None:
    """Write `spec` as one scanline EXR part to exactly `path` (no temporary file; callers do
    that).

    Raises ValueError (bad arguments, checked before anything is written), OSError (cannot
    open or write `path`), RuntimeError or MemoryError; messages are one line naming `path`.
    Pixel conversion, ranking and I/O run with the GIL released on all cores.
    """

def merge_exr(
    plate: str,
    path: str,
    spec: MatteSpec,
    part_name: str = "mattetrack",
    view: str = "",
    extend_part: int = -1,
    part_named_cryptomatte: bool = False,
    on_display: bool = False,
) -> None:
    """Copy the EXR `plate` to exactly `path` with the channels of `spec` (as write_exr writes
    them) added. part_named_cryptomatte: the Cryptomatte is also typed "<part>.<type>" after the
    named part holding it, as Blender names that part's layers. on_display: every part whose
    data window is not its display window is moved onto it (zero outside its data window,
    cropped past it; scanline, full resolution, a lossy codec replaced by ZIP), so that Blender,
    which shows a data window as the whole image, shows the plate where other readers do.

    They join part `extend_part` when it is scanline, lossless (none, rle, zips, zip, piz) and has
    `data_window`: that part is decoded and re-encoded in its own pixel types. Otherwise they go
    to a new scanline part `part_name` (made unique; attribute `view` when given). Other parts are
    copied chunk for chunk. Every part gets the `cryptomatte/...` attributes it lacks; a
    single-part plate that becomes multi-part gains a part name and type.

    Raises ValueError (bad arguments, or a damaged plate: "plate <path>: ..."), OSError,
    RuntimeError or MemoryError; one line naming the file. Runs with the GIL released.
    """

def murmur3_32(data: str | bytes) -> int:
    """MurmurHash3 x86_32, seed 0, of `data` (a str is taken as UTF-8)."""

def cryptomatte_bits(hash: int) -> int:
    """`hash` as Cryptomatte stores it: bit 23 flipped when the exponent bits are all 0 or 1."""

def validate_exr(path: str) -> None:
    """Read every part's header and every pixel of the EXR at `path` with the GIL released.

    Raises ValueError("<path>: <reason>") if the file is missing, damaged, implausible (header
    sanity checks against the file size run before any pixel is decoded) or holds deep data.
    """

def fit_bezier_segments(
    poly: npt.NDArray[np.float64],
    knots: npt.NDArray[np.int64],
    leave: npt.NDArray[np.float64],
    arrive: npt.NDArray[np.float64],
    newton: int = 2,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Cubic Bezier segments between consecutive `knots` (k,) of closed polyline `poly` (n, 2)
    px, leaving knot i along leave[i] and arriving along arrive[i] ((k, 2) unit vectors):
    ((k, 6) rows x, y, lx, ly, rx, ry absolute, (n,) each point's distance from its segment, px).
    """

def rasterise_shapes(
    polygons: Sequence[npt.NDArray[np.float64]],
    holes: Sequence[bool],
    width: int,
    height: int,
    feather: float = 0.0,
) -> npt.NDArray[np.float32]:
    """(height, width) coverage of closed polygons ((n, 2) x, y px; pixel (i, j) covers
    [j, j+1] x [i, i+1]): each pixel's exact covered area, holes subtracting, clamped to [0, 1];
    `feather` px widens a straight edge's ramp (tent filter), 0 for none."""

def geodesic_distance(
    cost: npt.NDArray[np.float32],
    seeds: npt.NDArray[np.bool_],
    passes: int = 2,
) -> npt.NDArray[np.float32]:
    """(h, w) float32 geodesic distance from the True pixels of `seeds` (h, w) over `cost`
    (h, w) float32, finite and > 0 (a step costs the mean of its two pixels' costs times its
    length); inf where no seed reaches. Raises ValueError on other shapes or costs."""

def guided_products(
    guide: npt.NDArray[np.float32],
    src: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The guided filter's products before averaging, for guide (h, w, 3) and src (h, w)
    float32: (guide * src, [r*r, r*g, r*b], [g*g, g*b, b*b]), each (h, w, 3) float32, the
    float32 products NumPy would give. Raises ValueError on other shapes."""

def guided_solve(
    mean_i: npt.NDArray[np.float32],
    mean_p: npt.NDArray[np.float32],
    mean_gp: npt.NDArray[np.float32],
    mean_lo: npt.NDArray[np.float32],
    mean_hi: npt.NDArray[np.float32],
    eps: float,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The guided filter's coefficients a (h, w, 3) and b (h, w) float32, before their own
    averaging, from the box means of the guide (h, w, 3), the source (h, w) and
    guided_products' three outputs (h, w, 3); eps > 0 is added to the guide covariance's
    diagonal. Each step is the float32 operation NumPy's formulation does, in its order.
    Raises ValueError on other shapes or eps <= 0."""

def pull_push(
    values: npt.NDArray[np.float32],
    todo: npt.NDArray[np.bool_],
    sharpness: float,
) -> npt.NDArray[np.float32]:
    """values (h, w, c) float32 with the pixels where todo (h, w) bool is set filled by
    pull-push: known pixels averaged down an area pyramid (OpenCV's INTER_AREA, each level half
    the size) until every cell holds some, then pushed back up (INTER_LINEAR), each level
    keeping its own value by clamp(weight * sharpness, 0, 1). Returns (h, w, c) float32.
    Raises ValueError on other shapes, more than 64 channels or sharpness <= 0."""

def rim_spread(
    ys: npt.NDArray[np.int64],
    xs: npt.NDArray[np.int64],
    values: npt.NDArray[np.float32],
    height: int,
    width: int,
    factor: int,
    sigma: float,
) -> npt.NDArray[np.float32]:
    """The values (n, c) float32 at the px (ys, xs) (n,) int64 of a (height, width) box spread
    over it: summed into cells of factor x factor px, divided by factor^2, blurred by a
    Gaussian of sigma cells (OpenCV's GaussianBlur) and normalised by the samples' own blurred
    count where it exceeds 1e-3, the cells it leaves empty filled by pull_push (sharpness 8).
    Returns (height // factor, width // factor, c) float32 (at least 1 x 1). Raises ValueError
    on other shapes, a sample outside the box, factor < 1 or sigma <= 0 (or over 1e4)."""

def match_light(
    target: npt.NDArray[np.float32],
    warped: npt.NDArray[np.float32],
    ring: npt.NDArray[np.bool_],
    valid: npt.NDArray[np.bool_],
    light: npt.NDArray[np.bool_] | None,
    factor: int,
    cell_sigma: float,
    floor: float,
    gain_range: tuple[float, float],
    colour_range: float,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """warped (h, w, c) float32 given target's light: the two images' values on the rim
    (ring & valid, (h, w) bool; light & valid where that has any px) spread over the box
    (rim_spread: cells of factor px, a Gaussian of cell_sigma cells), their ratio (floor added
    to both) a brightness within gain_range times a colour per channel within colour_range of
    1, brought to the box (OpenCV's INTER_LINEAR). Returns (matched (h, w, c), misfit (h, w)):
    the mean over the channels of |target - matched| on the rim spread over the box the same
    way; (warped, +inf) where no rim px is valid. Raises ValueError on other shapes or
    parameters out of range."""

def ecc_shift(
    template: npt.NDArray[np.float32],
    image: npt.NDArray[np.float32],
    template_mask: npt.NDArray[np.uint8],
    image_mask: npt.NDArray[np.uint8],
    dx: float,
    dy: float,
    smooth: bool,
    steps: int,
    eps: float,
) -> tuple[float, float] | None:
    """The shift (dx, dy) px taking image (h, w) float32 onto template (h, w) float32,
    image(x + dx, y + dy) ~ template(x, y), where both masks (h, w) uint8 allow: ECC
    (translation) from the start (dx, dy), at most `steps` iterations, stopped when the
    correlation changes by less than eps; OpenCV 5.1's findTransformECCWithMask with
    gaussFiltSize 3 where smooth (both images smoothed, the masks eroded), else 1, on the
    template mask's pixels only. None where it does not converge or no pixel is usable.
    Raises ValueError on other shapes, steps outside 1-1000, a start not finite."""

def encode_codes(
    pixels: npt.NDArray[np.float16] | npt.NDArray[np.float32],
    matrix: npt.NDArray[np.float32],
    thresholds: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """8-bit display codes (as float32 k / 255, (h, w, 3)) of (h, w, 3) float16 or float32
    scene-linear pixels: the (3, 4) affine `matrix`, then per channel the count of its 255
    ascending `thresholds` ((3, 255) float32) reached. NaN and -inf read as 0, +inf as 65504.
    Raises ValueError on other shapes or types."""

def clear_upper_state() -> None:
    """vzeroupper on this thread (x86 with AVX; elsewhere nothing): after a library that leaves
    the vector registers' upper halves in use (OpenImageIO's EXR decoding), non-VEX SSE code on
    the thread runs slower (OCIO's apply 2x)."""
