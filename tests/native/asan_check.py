"""Run the native module's EXR code on every damaged sample under AddressSanitizer.

`make asan` builds `mattetrack._native` with -fsanitize=address into build/asan and runs this
script with libasan preloaded. It loads that build in place of the installed module and, for
each file in ../shared/data/exr-samples/Damaged, validates it and merges mattes into it (both
must end in a Python exception naming the file), then writes and merges healthy files through
every code path (sidecar, Cryptomatte, in-part merge, chunk copy), and runs the geodesic distance,
pull-push and the rim spread on edge-case shapes. Any memory error makes ASan
abort the process with its report; a clean run prints a summary and exits 0.

    python tests/native/asan_check.py build/asan/_native.<soabi>.so
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "data" / "exr-samples"


def load_native(path: Path) -> None:
    """Import the ASan build as `mattetrack._native` before anything else imports it."""
    loader = importlib.machinery.ExtensionFileLoader("mattetrack._native", str(path))
    spec = importlib.util.spec_from_file_location("mattetrack._native", str(path), loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["mattetrack._native"] = module
    loader.exec_module(module)


def main() -> int:
    load_native(Path(sys.argv[1]))
    from mattetrack import _native
    from mattetrack.errors import MatteTrackError
    from mattetrack.export.cryptomatte import Cryptomatte
    from mattetrack.export.exr import merge_matte_exr, validate_exr, write_matte_exr
    from mattetrack.geometry import Box2i

    assert "asan" in _native.__file__, _native.__file__
    damaged = sorted(p for p in (SAMPLES / "Damaged").iterdir() if p.is_file())
    box = Box2i.from_size(64, 48)
    matte = {"dog.A": np.full((48, 64), 0.5, np.float32)}
    rejected = {"validate": 0, "merge": 0}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.exr"
        for path in damaged:
            try:
                validate_exr(path)
            except MatteTrackError:
                rejected["validate"] += 1
            try:
                merge_matte_exr(path, out, matte, box, box, cryptomatte=Cryptomatte(["dog"]))
            except MatteTrackError:
                rejected["merge"] += 1
        # Healthy paths: sidecar with Cryptomatte, half and float, and merges of each kind.
        for half in (True, False):
            write_matte_exr(out, matte, box, box, half=half, cryptomatte=Cryptomatte(["dog"]))
            validate_exr(out)
        healthy = [p for p in sorted(SAMPLES.glob("*/*.exr")) if p.parent.name != "Damaged"]
        for plate in healthy:
            import OpenImageIO as oiio

            inp = oiio.ImageInput.open(str(plate))
            spec = inp.spec()
            inp.close()
            data = Box2i.from_size(spec.width, spec.height, spec.x, spec.y)
            display = Box2i.from_size(spec.full_width, spec.full_height, spec.full_x, spec.full_y)
            mattes = {"dog.A": np.full((display.height, display.width), 0.25, np.float32)}
            for part in (0, -1):  # into the plate's part, and as a part of its own
                merge_matte_exr(plate, out, mattes, display, data, part=part,
                                cryptomatte=Cryptomatte(["dog"]))
                validate_exr(out)
    rng = np.random.default_rng(0)
    for shape in ((1, 1), (1, 9), (9, 1), (37, 53)):  # the raster scans' edge rows and columns
        cost = (rng.random(shape) + 0.1).astype(np.float32)
        seeds = rng.random(shape) < 0.1
        seeds.flat[0] = True
        assert np.isfinite(_native.geodesic_distance(cost, seeds, 3)).all()
    for shape in ((1, 1), (2, 7), (7, 2), (3, 3), (41, 29)):  # pyramids of 0 to 4 levels
        for c in (1, 3, 6):
            values = rng.random((*shape, c)).astype(np.float32)
            todo = rng.random(shape) < 0.8
            assert np.isfinite(_native.pull_push(values, todo, 8.0)).all()
            ys, xs = (rng.integers(0, n, 5) for n in shape)
            for factor in (1, 3, 50):  # cells of 1 px, a few, larger than the box
                spread = _native.rim_spread(ys, xs, values[ys, xs], *shape, factor, 2.5)
                assert np.isfinite(spread).all()
    for shape in ((1, 1), (1, 9), (9, 1), (2, 2), (37, 53)):  # the light's grids, 1 to 12 px
        box = rng.random((*shape, 3)).astype(np.float32)
        ring, valid = (rng.random(shape) < 0.5 for _ in range(2))
        for factor in (1, 3):
            for light in (None, ring & (rng.random(shape) < 0.5)):
                matched, misfit = _native.match_light(box, box * 2, ring, valid, light, factor,
                                                      2.5, 0.02, (0.5, 2.0), 1.1)
                assert np.isfinite(matched).all()
    for shape in ((1, 1), (1, 9), (9, 1), (2, 2), (37, 53)):  # the alignment's edge px
        template, image = (rng.random(shape).astype(np.float32) for _ in range(2))
        masks = [(rng.random(shape) < 0.9).astype(np.uint8) for _ in range(2)]
        for smooth in (True, False):
            for start in ((0.0, 0.0), (0.99, -0.5), (-40.0, 60.0)):  # shifts within, off the box
                _native.ecc_shift(template, image, *masks, *start, smooth, 5, 1e-4)
    print(f"ASan: {len(damaged)} damaged files, {rejected['validate']} rejected by validation, "
          f"{rejected['merge']} by merge; {len(healthy)} healthy plates merged two ways; "
          "geodesic distance on 4 shapes; pull-push and the rim spread on 5; the light matching "
          "and the alignment on 5; no memory errors")
    return 0 if rejected["merge"] == len(damaged) else 1


if __name__ == "__main__":
    sys.exit(main())
