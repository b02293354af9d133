"""EXR matte output (`mattetrack.export.exr`) and the native OpenEXR module behind it.

Files are read back with OpenImageIO, an independent EXR reader, so a writer bug cannot hide
behind a matching reader bug.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from mattetrack import _native
from mattetrack.errors import InputError, MatteTrackError
from mattetrack.export import exr
from mattetrack.export.exr import validate_exr, write_matte_exr
from mattetrack.geometry import Box2i

HALF_TOLERANCE = 2.0**-11  # half spacing in [0.5, 1] is 2^-11; rounding error is half of that
DISPLAY = Box2i.from_size(64, 48)


def read_exr(path: Path) -> tuple[object, dict[str, np.ndarray]]:
    """(OIIO ImageSpec, {channel name: (data height, data width) float32}) of an EXR file."""
    import OpenImageIO as oiio

    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    try:
        spec = inp.spec()
        pixels = inp.read_image(oiio.FLOAT)
        assert pixels is not None, inp.geterror()
    finally:
        inp.close()
    return spec, {name: pixels[:, :, i] for i, name in enumerate(spec.channelnames)}


def mattes_for(display: Box2i, names: tuple[str, ...] = ("dog.A", "cat.A", "car.A"), seed=0):
    """Random coverages over `display`, some outside [0, 1] to exercise clipping."""
    rng = np.random.default_rng(seed)
    return {
        name: rng.uniform(-0.25, 1.25, (display.height, display.width)).astype(np.float32)
        for name in names
    }


def expected_plane(matte: np.ndarray, display: Box2i, data: Box2i) -> np.ndarray:
    """What the file must hold over `data`: the clipped matte where it meets `display`, else 0.

    Written per pixel from coordinates, independently of the slicing in the implementation.
    """
    ys, xs = np.mgrid[data.ymin : data.ymax + 1, data.xmin : data.xmax + 1]
    inside = (xs >= display.xmin) & (xs <= display.xmax)
    inside &= (ys >= display.ymin) & (ys <= display.ymax)
    out = np.zeros(ys.shape, np.float32)
    out[inside] = np.clip(matte[ys[inside] - display.ymin, xs[inside] - display.xmin], 0, 1)
    return out


def leftover_temp_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if ".tmp-" in p.name)


# --- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("half", [True, False], ids=["half", "float"])
@pytest.mark.parametrize("compression", ["zip", "zips", "piz", "rle", "none"])
def test_round_trip_channels_types_compression(tmp_path: Path, half: bool, compression: str):
    path = tmp_path / "mattes.exr"
    mattes = mattes_for(DISPLAY)
    write_matte_exr(path, mattes, DISPLAY, DISPLAY, compression=compression, half=half)

    spec, planes = read_exr(path)
    assert sorted(planes) == sorted(mattes)
    assert str(spec.format) == ("half" if half else "float")
    assert spec.get_string_attribute("compression") == compression
    assert spec.nchannels == 3
    tolerance = HALF_TOLERANCE if half else 0.0
    for name, matte in mattes.items():
        np.testing.assert_allclose(planes[name], np.clip(matte, 0, 1), rtol=0, atol=tolerance)
    assert leftover_temp_files(tmp_path) == []


WINDOWS = {
    "same": (DISPLAY, DISPLAY),
    "data-inside": (DISPLAY, Box2i(10, 5, 40, 30)),
    "overscan": (DISPLAY, Box2i(-8, -4, 71, 55)),
    "offset": (DISPLAY, Box2i(20, 10, 90, 70)),
    "display-origin-offset": (Box2i(100, 50, 163, 97), Box2i(90, 60, 120, 110)),
    "data-outside": (DISPLAY, Box2i(200, 200, 209, 204)),
    "one-pixel": (DISPLAY, Box2i(63, 47, 63, 47)),
}


@pytest.mark.parametrize("display, data", WINDOWS.values(), ids=WINDOWS.keys())
def test_data_and_display_windows(tmp_path: Path, display: Box2i, data: Box2i):
    path = tmp_path / "windows.exr"
    mattes = mattes_for(display, ("fg.A", "bg.A"))
    write_matte_exr(path, mattes, display, data, half=False)

    spec, planes = read_exr(path)
    assert (spec.x, spec.y) == (data.xmin, data.ymin)
    assert (spec.width, spec.height) == (data.width, data.height)
    assert (spec.full_x, spec.full_y, spec.full_width, spec.full_height) == (
        display.xmin,
        display.ymin,
        display.width,
        display.height,
    )
    for name, matte in mattes.items():
        np.testing.assert_array_equal(planes[name], expected_plane(matte, display, data))


def test_half_values_match_ieee_rounding(tmp_path: Path):
    """HALF conversion rounds like numpy's float16 (round to nearest even), not truncation."""
    path = tmp_path / "half.exr"
    matte = np.linspace(0, 1, DISPLAY.width * DISPLAY.height, dtype=np.float32)
    write_matte_exr(path, {"a.A": matte.reshape(DISPLAY.height, DISPLAY.width)}, DISPLAY, DISPLAY)
    _, planes = read_exr(path)
    want = matte.astype(np.float16).astype(np.float32).reshape(DISPLAY.height, DISPLAY.width)
    np.testing.assert_array_equal(planes["a.A"], want)


def test_string_attributes_round_trip(tmp_path: Path):
    path = tmp_path / "attrs.exr"
    attributes = {"mattetrack/version": "0.1.0", "mattetrack/objects": "dog, cat"}
    write_matte_exr(path, mattes_for(DISPLAY, ("dog.A",)), DISPLAY, DISPLAY, attributes=attributes)
    spec, _ = read_exr(path)
    for key, value in attributes.items():
        assert spec.get_string_attribute(key) == value


def test_bool_and_float64_mattes_are_accepted(tmp_path: Path):
    path = tmp_path / "types.exr"
    mask = np.zeros((DISPLAY.height, DISPLAY.width), bool)
    mask[10:20, 5:15] = True
    soft = np.full((DISPLAY.height, DISPLAY.width), 0.5, np.float64)
    write_matte_exr(path, {"m.A": mask, "s.A": soft}, DISPLAY, DISPLAY, half=False)
    _, planes = read_exr(path)
    np.testing.assert_array_equal(planes["m.A"], mask.astype(np.float32))
    np.testing.assert_array_equal(planes["s.A"], soft.astype(np.float32))


# --- atomicity -----------------------------------------------------------------------------------


@pytest.fixture
def earlier_file(tmp_path: Path) -> tuple[Path, bytes]:
    path = tmp_path / "shot.0001.exr"
    write_matte_exr(path, mattes_for(DISPLAY, ("old.A",)), DISPLAY, DISPLAY)
    return path, path.read_bytes()


def test_failing_native_write_keeps_earlier_file(earlier_file: tuple[Path, bytes]):
    path, before = earlier_file
    # Passes the Python checks, fails inside the native module (reserved header attribute).
    with pytest.raises(MatteTrackError) as info:
        write_matte_exr(path, mattes_for(DISPLAY), DISPLAY, DISPLAY, attributes={"channels": "x"})
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert path.read_bytes() == before
    assert leftover_temp_files(path.parent) == []


@pytest.mark.parametrize("stage", ["after-temp-written", "rename", "interrupt"])
def test_failure_after_temp_file_exists_cleans_up(
    earlier_file: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch, stage: str
):
    """The temp file is complete on disk when the failure hits; it must still disappear."""
    path, before = earlier_file
    real_write = _native.write_exr
    seen: list[Path] = []

    def write_then_fail(tmp: str, *args, **kwargs):
        real_write(tmp, *args, **kwargs)
        seen.append(Path(tmp))
        assert Path(tmp).parent == path.parent and Path(tmp).stat().st_size > 0
        if stage == "after-temp-written":
            raise OSError(f"{tmp}: simulated I/O error")
        if stage == "interrupt":
            raise KeyboardInterrupt

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exr._native, "write_exr", write_then_fail)
    if stage == "rename":
        monkeypatch.setattr(exr.os, "replace", failing_replace)
    expected = KeyboardInterrupt if stage == "interrupt" else MatteTrackError
    with pytest.raises(expected) as info:
        write_matte_exr(path, mattes_for(DISPLAY), DISPLAY, DISPLAY)
    if expected is MatteTrackError:
        assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)
    assert seen and not seen[0].exists()
    assert path.read_bytes() == before
    assert leftover_temp_files(path.parent) == []


def test_missing_folder_is_a_one_line_error(tmp_path: Path):
    path = tmp_path / "no" / "such" / "folder" / "m.exr"
    with pytest.raises(MatteTrackError) as info:
        write_matte_exr(path, mattes_for(DISPLAY), DISPLAY, DISPLAY)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


# --- bad arguments -------------------------------------------------------------------------------

_GOOD = mattes_for(DISPLAY, ("a.A",))["a.A"]
BAD_WRAPPER_ARGS = {
    "no-mattes": ({}, {}),
    "wrong-shape": ({"a.A": _GOOD[:, :-1]}, {}),
    "3-d": ({"a.A": _GOOD[:, :, None]}, {}),
    "integer-dtype": ({"a.A": (_GOOD * 255).astype(np.uint8)}, {}),
    "nan": ({"a.A": np.where(_GOOD > 1, np.nan, _GOOD)}, {}),
    "empty-name": ({"": _GOOD}, {}),
    "compression": ({"a.A": _GOOD}, {"compression": "dwaa"}),
    "empty-window": ({"a.A": _GOOD}, {"data_window": Box2i(5, 5, 4, 5)}),
    "not-a-box": ({"a.A": _GOOD}, {"data_window": (0, 0, 63, 47)}),
}


@pytest.mark.parametrize("mattes, kwargs", BAD_WRAPPER_ARGS.values(), ids=BAD_WRAPPER_ARGS.keys())
def test_bad_arguments_raise_one_line_errors(tmp_path: Path, mattes, kwargs):
    path = tmp_path / "bad.exr"
    call = {"display_window": DISPLAY, "data_window": DISPLAY, **kwargs}
    with pytest.raises(MatteTrackError) as info:
        write_matte_exr(path, mattes, **call)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


_A = np.zeros((4, 6), np.float32)
_NATIVE_OK = {
    "channels": ["a.A"],
    "planes": [_A],
    "data_window": (0, 0, 5, 3),
    "display_window": (0, 0, 5, 3),
}
BAD_NATIVE_ARGS = {
    "count-mismatch": ({"planes": [_A, _A]}, "planes"),
    "float64": ({"planes": [_A.astype(np.float64)]}, "float64"),
    "big-endian": ({"planes": [_A.astype(">f4")]}, "dtype"),
    "1-d": ({"planes": [_A.ravel()]}, "dimensions"),
    "shape": ({"planes": [np.zeros((4, 5), np.float32)]}, "shape"),
    "not-contiguous": ({"planes": [np.zeros((4, 12), np.float32)[:, ::2]]}, "contiguous"),
    "fortran": ({"planes": [np.asfortranarray(np.zeros((4, 6), np.float32))]}, "contiguous"),
    "list-not-array": ({"planes": [[[0.0] * 6] * 4]}, "numpy"),
    "no-channels": ({"channels": [], "planes": []}, "no channels"),
    "empty-name": ({"channels": [""]}, "empty"),
    "duplicate": ({"channels": ["a.A", "a.A"], "planes": [_A, _A]}, "duplicate"),
    "long-name": ({"channels": ["x" * 256]}, "255"),
    "compression": ({"compression": "b44"}, "'b44'"),
    "empty-data-window": ({"data_window": (0, 0, -1, 3)}, "empty"),
    "empty-display-window": ({"display_window": (5, 0, 4, 3)}, "empty"),
    "huge-coordinate": ({"display_window": (0, 0, 2**31, 3)}, "2^30"),
    "huge-window": (
        {"planes": [np.zeros((1, 2**20 + 1), np.float32)], "data_window": (0, 0, 2**20, 0)},
        "2^20",
    ),
    "reserved-attribute": ({"attributes": {"dataWindow": "x"}}, "dataWindow"),
    "empty-attribute-name": ({"attributes": {"": "x"}}, "empty"),
}


@pytest.mark.parametrize("override, needle", BAD_NATIVE_ARGS.values(), ids=BAD_NATIVE_ARGS.keys())
def test_native_writer_validates_before_writing(tmp_path: Path, override: dict, needle: str):
    path = tmp_path / "n.exr"
    with pytest.raises(ValueError) as info:
        _native.write_exr(str(path), _native.MatteSpec(**{**_NATIVE_OK, **override}))
    assert needle in str(info.value) and "\n" not in str(info.value)
    assert not path.exists()


def test_native_io_error_is_oserror_naming_path(tmp_path: Path):
    path = tmp_path / "missing" / "n.exr"
    with pytest.raises(OSError) as info:
        _native.write_exr(str(path), _native.MatteSpec(**_NATIVE_OK))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


# --- the GIL -------------------------------------------------------------------------------------


def _ticks_during(call) -> tuple[float, float, list[float]]:
    """Run `call()` in this thread while another thread records a timestamp every ~1 ms."""
    ticks: list[float] = []
    stop = threading.Event()

    def tick() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    time.sleep(0.02)
    try:
        start = time.perf_counter()
        call()
        end = time.perf_counter()
    finally:
        stop.set()
        ticker.join()
    return start, end, ticks


def test_write_releases_the_gil(tmp_path: Path):
    """Another Python thread keeps running while a large write is in progress.

    With the GIL held for the whole call, the ticker could not record anything between shortly
    after the call starts (one switch interval) and shortly before it returns. The write is grown
    until it takes long enough for the margins below to be meaningful on a fast machine.
    """
    rng = np.random.default_rng(1)
    plane = rng.random((2048, 2048), dtype=np.float32)
    box = (0, 0, 2047, 2047)
    count = 4
    for _ in range(6):
        names = [f"c{i}.A" for i in range(count)]

        def write(names=names):
            _native.write_exr(str(tmp_path / "big.exr"),
                              _native.MatteSpec(names, [plane] * len(names), box, box))

        start, end, ticks = _ticks_during(write)
        if end - start >= 0.4:
            break
        count *= 2
    else:
        pytest.fail(f"could not make a write last 0.4 s (last took {end - start:.3f} s)")
    during = [t for t in ticks if start + 0.1 < t < end - 0.05]
    assert len(during) >= 10, (
        f"only {len(during)} ticks of another thread during a {end - start:.2f} s write: "
        "the GIL is not released"
    )


# --- validate_exr --------------------------------------------------------------------------------


def test_validate_accepts_written_files(tmp_path: Path):
    for name, (display, data) in WINDOWS.items():
        path = tmp_path / f"{name}.exr"
        write_matte_exr(path, mattes_for(display), display, data, compression="piz")
        validate_exr(path)


@pytest.fixture
def written(tmp_path: Path) -> Path:
    path = tmp_path / "ok.exr"
    rng = np.random.default_rng(2)
    mattes = {"a.A": rng.random((200, 300), dtype=np.float32)}
    write_matte_exr(path, mattes, Box2i.from_size(300, 200), Box2i.from_size(300, 200))
    return path


def _damage(src: Path, dst: Path, edit) -> Path:
    data = bytearray(src.read_bytes())
    edit(data)
    dst.write_bytes(bytes(data))
    return dst


def _set_window(field: bytes, index: int, value: int):
    """Edit one int of a box2i header attribute (`dataWindow`/`displayWindow`) in place."""

    def edit(data: bytearray) -> None:
        at = data.index(field + b"\0box2i\0") + len(field) + 7 + 4  # name, type, size
        data[at + 4 * index : at + 4 * index + 4] = value.to_bytes(4, "little", signed=True)

    return edit


DAMAGES = {
    "truncated": (lambda d: d.__delitem__(slice(len(d) // 2, None)), ""),
    "pixel-bytes": (lambda d: d.__setitem__(slice(-400, -200), b"\xff" * 200), ""),
    "not-exr": (lambda d: d.__setitem__(slice(0, 4), b"GIF8"), "not an OpenEXR file"),
    # Refused by OpenEXR's header check (Header::setMaxImageSize, installed by the module).
    "huge-width": (_set_window(b"dataWindow", 2, 1 << 24), "width of the data window"),
    # Offset table longer than the file: OpenEXR's own reader gives up cleanly.
    "many-lines": (_set_window(b"dataWindow", 3, 500_000), ""),
    # 400 MB of pixels claimed by a ~100 KB ZIP file: our ratio check, before any decoding.
    "wide": (_set_window(b"dataWindow", 2, 1_000_000), "bytes of pixels cannot be stored"),
}


@pytest.mark.parametrize("edit, needle", DAMAGES.values(), ids=DAMAGES.keys())
def test_validate_rejects_damaged_files(written: Path, edit, needle: str):
    bad = _damage(written, written.with_name("bad.exr"), edit)
    validate_exr(written)
    with pytest.raises(InputError) as info:
        validate_exr(bad)
    message = str(info.value)
    assert str(bad) in message and needle in message and "\n" not in message


def test_validate_missing_file(tmp_path: Path):
    with pytest.raises(InputError, match="missing.exr"):
        validate_exr(tmp_path / "missing.exr")


def test_validate_accepts_sample_plates(shared_data: Path):
    samples = shared_data / "exr-samples"
    files = [
        path
        for folder in ("Beachball", "ScanLines", "DisplayWindow")
        for path in sorted((samples / folder).glob("*.exr"))
    ]
    assert len(files) >= 10, f"expected the OpenEXR sample plates under {samples}"
    for path in files:
        validate_exr(path)


_VALIDATE_ONE = """
import sys
from mattetrack.errors import InputError
from mattetrack.export.exr import validate_exr
try:
    validate_exr(sys.argv[1])
except InputError as err:
    print(err)
    sys.exit(0)
print("ACCEPTED")
sys.exit(3)
"""


def _validate_in_subprocess(path: Path) -> str | None:
    """None if `path` ends with a clean one-line InputError, else what went wrong."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _VALIDATE_ONE, str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        return "hung (no result within 30 s)"
    out = done.stdout.strip()
    if done.returncode < 0:
        return f"crashed with signal {-done.returncode}"
    if done.returncode == 3:
        return "accepted as a valid EXR"
    if done.returncode != 0:
        return f"exit status {done.returncode}: {done.stderr.strip()[-300:]}"
    if "\n" in out or path.name not in out:
        return f"message not one line naming the file: {out[:300]!r}"
    return None


@pytest.mark.slow
def test_validate_every_damaged_sample_fails_cleanly(shared_data: Path):
    """Fuzzer-made files: each one must end in InputError, never a crash, hang or acceptance.

    Each file is checked in its own interpreter so that a crash in OpenEXR shows up here as a
    failure for that file instead of killing the test run.
    """
    damaged = sorted(p for p in (shared_data / "exr-samples" / "Damaged").iterdir() if p.is_file())
    assert len(damaged) >= 90, "expected the fuzzer-made files in exr-samples/Damaged"
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        outcomes = dict(zip(damaged, pool.map(_validate_in_subprocess, damaged), strict=True))
    problems = [f"{path.name}: {what}" for path, what in outcomes.items() if what]
    summary = f"{len(problems)} damaged files not rejected cleanly:\n" + "\n".join(problems)
    assert not problems, summary


def test_openexr_version():
    assert _native.openexr_version().startswith("3.")
