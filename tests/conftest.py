"""Shared fixtures: the read-only evaluation data and writers of small test images and movies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`<repo>/../shared/data` (DAVIS shots, OpenEXR samples); skips the test when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data is absent: {SHARED_DATA} (evaluation data not here)")
    return SHARED_DATA


def write_oiio(
    path: str | Path,
    pixels: np.ndarray,
    fmt: str = "float",
    *,
    names: Sequence[str] | None = None,
    origin: tuple[int, int] = (0, 0),
    display: tuple[int, int, int, int] | None = None,
    tile: tuple[int, int] | None = None,
    attrs: dict[str, object] | None = None,
) -> Path:
    """Writes (h, w, c) `pixels` with OpenImageIO as `fmt` ('half', 'float', 'uint8', 'uint16').

    `origin` is the data window's top-left corner, `display` the display window as
    (x, y, width, height) (EXR only), `tile` the tile size; `attrs` are extra spec attributes.
    """
    import OpenImageIO as oiio

    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    spec = oiio.ImageSpec(w, h, c, fmt)
    spec.x, spec.y = origin
    if display is not None:
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = display
    if tile is not None:
        spec.tile_width, spec.tile_height = tile
    if names is not None:
        spec.channelnames = tuple(names)
    for key, value in (attrs or {}).items():
        spec.attribute(key, value)
    out = oiio.ImageOutput.create(str(path))
    assert out is not None, oiio.geterror()
    assert out.open(str(path), spec), out.geterror()
    assert out.write_image(pixels), out.geterror()
    out.close()
    return Path(path)


def write_multipart_exr(
    path: str | Path, parts: Sequence[tuple[str, Sequence[str], np.ndarray, str]]
) -> Path:
    """Writes a multi-part EXR; each part is (part name, channel names, (h, w, c) pixels, fmt)."""
    import OpenImageIO as oiio

    specs = []
    for name, channels, pixels, fmt in parts:
        h, w, c = pixels.shape
        spec = oiio.ImageSpec(w, h, c, fmt)
        spec.channelnames = tuple(channels)
        spec.attribute("name", name)
        specs.append(spec)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), tuple(specs)), out.geterror()
    for index, (_, _, pixels, _) in enumerate(parts):
        if index:
            assert out.open(str(path), specs[index], "AppendSubimage"), out.geterror()
        assert out.write_image(pixels), out.geterror()
    out.close()
    return Path(path)


def write_movie(
    path: str | Path, frames: Sequence[np.ndarray], fourcc: str = "MJPG", fps: float = 24.0
) -> Path:
    """Writes (h, w, 3) uint8 RGB `frames` as a movie with OpenCV."""
    import cv2

    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened(), f"no {fourcc} writer for {path}"
    for frame in frames:
        writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
    writer.release()
    return Path(path)


@pytest.fixture
def image_writer() -> Callable[..., Path]:
    """`write_oiio(path, pixels, fmt, names=, origin=, display=, tile=, attrs=)`."""
    return write_oiio


@pytest.fixture
def multipart_writer() -> Callable[..., Path]:
    """`write_multipart_exr(path, [(part name, channel names, pixels, fmt), ...])`."""
    return write_multipart_exr


@pytest.fixture
def movie_writer() -> Callable[..., Path]:
    """`write_movie(path, rgb uint8 frames, fourcc='MJPG', fps=24)`."""
    return write_movie


@pytest.fixture
def sequence_writer(tmp_path: Path) -> Callable[..., Path]:
    """`write(name_pattern, {frame: pixels}, fmt, **write_oiio options)` -> folder in tmp_path.

    `name_pattern` is a format string such as 'plate.{:04d}.exr', relative to a fresh folder.
    """
    counter = iter(range(1_000_000))

    def write(name_pattern: str, frames: dict[int, np.ndarray], fmt: str = "float", **kw) -> Path:
        folder = tmp_path / f"seq{next(counter)}"
        folder.mkdir()
        for frame, pixels in frames.items():
            write_oiio(folder / name_pattern.format(frame), pixels, fmt, **kw)
        return folder

    return write


# -- a real `mattetrack serve` for tests/service and tests/host_adapters ------------------------
@pytest.fixture(scope="session")
def service_root(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    """A root folder holding root/plate/plate.1001-1008.exr, and the plate's true coverages."""
    from service_harness import write_plate

    root = tmp_path_factory.mktemp("root")
    return root, write_plate(root)


@pytest.fixture(scope="session")
def server(service_root, tmp_path_factory):
    """(base URL, token) of a server with the classic engine and `service_root` as its root."""
    from service_harness import running_server

    with running_server([service_root[0]], tmp_path_factory.mktemp("config") / "token") as got:
        yield got


@pytest.fixture
def client(server):
    """A `service_harness.Client` of `server`."""
    from service_harness import Client

    return Client(*server)


@pytest.fixture
def plate(service_root) -> str:
    return str(service_root[0] / "plate" / "plate.####.exr")
