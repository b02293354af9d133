"""Builds the MatteTrack Blender extension zip (standard library only).

    python host_adapters/blender/build_extension.py [--output-dir DIR]

Writes DIR/mattetrack_blender-<version>.zip (default DIR: the repository's build/): the files of
`mattetrack_blender/` at the zip's root, as `blender --command extension build` lays them out
(blender_manifest.toml at the root), without __pycache__, plus copies of the service client
(host_adapters/client/mattetrack_client.py) and of the core's Mask builder
(plugin/mattetrack/hostscripts/blender_mask.py, as `mask.py`), so the installed extension needs
nothing outside its folder. Neither is duplicated in git: in a checkout the package loads them
from where they are (`mattetrack_blender.bundled`).
"""

from __future__ import annotations

import argparse
import os
import tomllib
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "mattetrack_blender"
REPO = HERE.parents[1]
# Files kept once in git and copied into the zip: name in the zip -> the one copy.
BUNDLED = {
    "mattetrack_client.py": HERE.parent / "client" / "mattetrack_client.py",
    "mask.py": REPO / "plugin" / "mattetrack" / "hostscripts" / "blender_mask.py",
}
SKIP_DIRS = {"__pycache__", ".git"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".zip")


def manifest() -> dict:
    with open(PACKAGE / "blender_manifest.toml", "rb") as f:
        return tomllib.load(f)


def package_files() -> list[tuple[Path, str]]:
    """(file, name in the zip) for the package's files and the client copy, sorted."""
    files = []
    for folder, dirs, names in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in names:
            if name.endswith(SKIP_SUFFIXES):
                continue
            path = Path(folder) / name
            files.append((path, path.relative_to(PACKAGE).as_posix()))
    for arc, source in BUNDLED.items():
        if any(name == arc for _, name in files):
            raise SystemExit(f"{PACKAGE / arc} must not exist: the build copies {source}")
        files.append((source, arc))
    return sorted(files, key=lambda item: item[1])


def build(output_dir: Path) -> Path:
    """Writes the zip (to a temporary name, then renamed) and returns its path."""
    output_dir.mkdir(parents=True, exist_ok=True)
    out = output_dir / f"mattetrack_blender-{manifest()['version']}.zip"
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, arc in package_files():
            zf.write(path, arc)
    os.replace(tmp, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=REPO / "build")
    args = parser.parse_args(argv)
    print(build(args.output_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
