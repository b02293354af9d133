"""MatteTrack's EXR outputs through the other readers a pipeline uses: OpenImageIO (what
`mattetrack shapes` and Nuke-like tools read), PyPI OpenEXR (the reference library's Python
binding) and PyPI `cryptomatte-api`, for every plate kind of the Blender checks
(test_blender_cryptomatte.py). Each reader finds each object's matte where the others do, or
cannot, for a reason written here:

- cryptomatte-api reads the first part's channels only: a merged tiled, mip-mapped or lossy
  plate keeps its own part first and the Cryptomatte in a part of their own, so it finds no
  Cryptomatte there ("empty channel list"); likewise with `--blender-cryptomatte` on a named
  part, whose second metadata entry names channels it cannot find (test_blender_cryptomatte.py).
  Sidecar files and merges into a scanline, lossless plate it reads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import OpenEXR
import pytest
from test_blender_cryptomatte import FIRST, NAMES, _kind_plate, _masks, _track

from mattetrack import cli
from mattetrack.shapes.source import open_mattes

cryptomatte_api = pytest.importorskip("cryptomatte_api")

CASES = {
    # kind: (how the output is made, whether cryptomatte-api can read its Cryptomatte)
    "sidecar": ([], True),
    "sidecar on the display window": (["--window", "display"], True),
    "merged, scanline plate": (["--merge"], True),
    "merged, off-centre plate moved onto its display window": (["--merge", "--window",
                                                                "display"], True),
    # An unnamed single part stays unnamed: no second entry is needed, none is written.
    "merged, scanline plate, --blender-cryptomatte": (["--merge", "--blender-cryptomatte"],
                                                      True),
    "merged, tiled plate": (["--merge", "kind:tiled"], False),
    "merged, mip-mapped plate": (["--merge", "kind:mip-mapped"], False),
    "merged, B44A plate": (["--merge", "kind:B44A"], False),
    "merged, B44A stereo plate": (["--merge", "kind:B44A stereo"], False),
}


def _openexr_matte(path: Path, channel: str) -> np.ndarray:
    """(display h, w) float32 of `channel` as PyPI OpenEXR reads it, placed on the display
    window through its part's data window."""
    with OpenEXR.File(str(path), separate_channels=True) as f:
        for part in f.parts:
            if channel in part.channels:
                header = part.header
                (dx0, dy0), (dx1, dy1) = header["displayWindow"]
                (x0, y0), _ = header["dataWindow"]
                pixels = np.asarray(part.channels[channel].pixels, np.float32)
                out = np.zeros((dy1 - dy0 + 1, dx1 - dx0 + 1), np.float32)
                h, w = pixels.shape
                ys, xs = slice(max(y0 - dy0, 0), min(y0 - dy0 + h, out.shape[0])), \
                    slice(max(x0 - dx0, 0), min(x0 - dx0 + w, out.shape[1]))
                out[ys, xs] = pixels[ys.start - (y0 - dy0):ys.stop - (y0 - dy0),
                                     xs.start - (x0 - dx0):xs.stop - (x0 - dx0)]
                return out
    raise AssertionError(f"{path}: no channel {channel}")


@pytest.mark.parametrize("case", list(CASES))
def test_every_reader_finds_the_mattes(image_writer, case, tmp_path):
    flags, crypto_readable = CASES[case]
    kind = next((f.split(":")[1] for f in flags if f.startswith("kind:")), None)
    flags = [f for f in flags if not f.startswith("kind:")]
    if kind is None:
        origin, size = ((10, 30), (250, 150)) if "--window" in flags else ((0, 0), (320, 180))
        written = _track(image_writer, tmp_path, 2, origin, size, flags)
    else:
        plate = _kind_plate(image_writer, tmp_path / "plate", kind)
        out = tmp_path / "out" / "m.####.exr"
        assert cli.main(["track", str(plate), *_masks(tmp_path, 2), "--cryptomatte",
                         "--range", f"{FIRST}-{FIRST}", "-o", str(out), "-q", *flags]) == 0
        written = tmp_path / "out" / f"m.{FIRST}.exr"
    for name in NAMES[:2]:
        ours = open_mattes(str(written), [name]).read(FIRST)[name]  # OpenImageIO
        assert ours.max() > 0.99, (case, name)
        np.testing.assert_array_equal(_openexr_matte(written, f"{name}.A"), ours)
    if not crypto_readable:
        with pytest.raises(ValueError, match="empty channel list"):
            cryptomatte_api.Cryptomatte.load(str(written))
        return
    (crypto,) = cryptomatte_api.Cryptomatte.load(str(written))
    for name in NAMES[:2]:
        ours = open_mattes(str(written), [name]).read(FIRST)[name]
        # cryptomatte-api decodes the data window; placed like the matte channel.
        full = _on_display(written, np.asarray(crypto.mask(name), np.float32))
        np.testing.assert_allclose(full, ours, atol=2e-3)


def _on_display(path: Path, flat: np.ndarray) -> np.ndarray:
    """A flat (data window) array from cryptomatte-api placed on the display window."""
    with OpenEXR.File(str(path), separate_channels=True) as f:
        header = f.parts[0].header
        (dx0, dy0), (dx1, dy1) = header["displayWindow"]
        (x0, y0), (x1, y1) = header["dataWindow"]
    out = np.zeros((dy1 - dy0 + 1, dx1 - dx0 + 1), np.float32)
    out[y0 - dy0:y1 - dy0 + 1, x0 - dx0:x1 - dx0 + 1] = flat.reshape(y1 - y0 + 1, x1 - x0 + 1)
    return out


@pytest.mark.parametrize("sample", ["singlepart", "multipart"])
@pytest.mark.parametrize("blender", [False, True], ids=["merged", "merged for Blender"])
def test_every_reader_finds_the_mattes_in_merged_beachball(shared_data, tmp_path, sample,
                                                           blender):
    """The real stereo sample, merged as Nuke reads it (the mattes join the plate's first part,
    every bit kept) and for Blender (`--window display --blender-cryptomatte`)."""
    plate = shared_data / "exr-samples" / "Beachball" / f"{sample}.####.exr"
    out = tmp_path / "out" / "m.####.exr"
    extra = ["--window", "display", "--blender-cryptomatte"] if blender else []
    assert cli.main(["track", str(plate), "--point", "1100,700", "--cryptomatte", "--merge",
                     "--range", "1-1", "-o", str(out), "-q", *extra]) == 0
    written = tmp_path / "out" / "m.0001.exr"
    ours = open_mattes(str(written), ["object"]).read(1)["object"]
    assert ours.max() > 0.99
    np.testing.assert_array_equal(_openexr_matte(written, "object.A"), ours)
    if blender:  # a named part: the second entry cryptomatte-api cannot resolve
        with pytest.raises(ValueError, match="empty channel list"):
            cryptomatte_api.Cryptomatte.load(str(written))
        return
    (crypto,) = cryptomatte_api.Cryptomatte.load(str(written))
    full = _on_display(written, np.asarray(crypto.mask("object"), np.float32))
    np.testing.assert_allclose(full, ours, atol=2e-3)
