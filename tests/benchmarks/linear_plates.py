"""Linear plates segment as well as display-referred ones: the dev shots as ACEScg EXRs.

Each DAVIS dev shot is converted with OCIO's built-in studio config from "sRGB - Texture" to
"ACEScg" and written as half-float PIZ EXRs numbered from 1001 (OpenImageIO), as a compositor's
plate would be. `mattetrack track` then runs on the JPEGs and on the EXRs (`--colorspace
ACEScg`), with the first frame's true mask and with one click at the object's interior-most
point, and the J&F of both are printed side by side (vos-benchmark, first and last frame
skipped).

    .venv/bin/python tests/benchmarks/linear_plates.py [--shots dog,car-shadow]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from interactive import DATA, MATTETRACK, ROOT, dev_shots, interior_point, jf, load_truth

FIRST = 1001


def make_exr_plate(shot: str, folder: Path) -> Path:
    """The shot's JPEGs as ACEScg half PIZ EXRs `folder/plate.####.exr` (made once)."""
    import OpenImageIO as oiio
    import PyOpenColorIO as ocio

    from mattetrack.color import BUILTIN_CONFIG

    folder.mkdir(parents=True, exist_ok=True)
    jpegs = sorted((DATA / "JPEGImages" / "480p" / shot).glob("*.jpg"))
    config = ocio.Config.CreateFromBuiltinConfig(BUILTIN_CONFIG)
    cpu = config.getProcessor("sRGB - Texture", "ACEScg").getDefaultCPUProcessor()
    for i, jpeg in enumerate(jpegs):
        path = folder / f"plate.{FIRST + i:04d}.exr"
        if path.exists():
            continue
        rgb = np.ascontiguousarray(np.asarray(Image.open(jpeg).convert("RGB"), np.float32) / 255)
        cpu.applyRGB(rgb)
        spec = oiio.ImageSpec(rgb.shape[1], rgb.shape[0], 3, oiio.HALF)
        spec.attribute("compression", "piz")
        tmp = path.with_name(f".{path.stem}.tmp.exr")
        out = oiio.ImageOutput.create(str(tmp))
        out.open(str(tmp), spec)
        out.write_image(rgb)
        out.close()
        tmp.replace(path)
    return folder / "plate.####.exr"


def run(plate: str, prompt: list[str], out: Path, extra: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(MATTETRACK), "track", plate, "-o", str(out / "m.%05d.png"), "-q",
                    *prompt, *extra], check=True)


def score(out: Path, truth: dict[int, np.ndarray], offset: int) -> float:
    mattes = {f: np.asarray(Image.open(out / f"m.{f + offset:05d}.png")) >= 128 for f in truth}
    return jf(mattes, truth)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", help="comma-separated shot names (default: all)")
    parser.add_argument("--out", default=str(ROOT / "build" / "bench" / "linear"))
    args = parser.parse_args()
    shots = dev_shots(args.shots)
    if shots is None:
        return 0
    root = Path(args.out)
    print("DAVIS dev shots: sRGB JPEG against ACEScg half PIZ EXR (--colorspace ACEScg)")
    print(f"{'shot':<16}{'mask JPEG':>10}{'mask EXR':>10}{'click JPEG':>11}{'click EXR':>10}")
    rows = []
    for shot in shots:
        truth = load_truth(shot)
        first = min(truth)
        mask = DATA / "Annotations" / "480p" / shot / f"{first:05d}.png"
        x, y = interior_point(truth[first])
        exr = str(make_exr_plate(shot, root / "plates" / shot))
        jpeg = str(DATA / "JPEGImages" / "480p" / shot / "%05d.jpg")
        cells = []
        for name, prompt_jpeg, prompt_exr in (
                ("mask", ["--mask", f"{first}:{mask}"], ["--mask", f"{FIRST + first}:{mask}"]),
                ("click", ["--point", f"{first}:{x:g},{y:g}"],
                 ["--point", f"{FIRST + first}:{x:g},{y:g}"])):
            a, b = root / shot / f"{name}-jpeg", root / shot / f"{name}-exr"
            run(jpeg, prompt_jpeg, a, [])
            run(exr, prompt_exr, b, ["--colorspace", "ACEScg"])
            cells += [score(a, truth, 0), score(b, truth, FIRST)]
        rows.append(cells)
        print(f"{shot:<16}{cells[0]:10.1f}{cells[1]:10.1f}{cells[2]:11.1f}{cells[3]:10.1f}",
              flush=True)
    mean = np.mean(rows, axis=0)
    print(f"{'mean':<16}{mean[0]:10.1f}{mean[1]:10.1f}{mean[2]:11.1f}{mean[3]:10.1f}")
    print(f"|EXR - JPEG|: mask {abs(mean[1] - mean[0]):.2f}, click {abs(mean[3] - mean[2]):.2f}"
          " J&F")
    return 0


if __name__ == "__main__":
    sys.exit(main())
