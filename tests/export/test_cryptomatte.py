"""Cryptomatte output (`mattetrack.export.cryptomatte` and the native ranking).

Files are decoded with PyPI `cryptomatte-api`, an independent decoder (its own reader and
manifest parsing), and their headers read with PyPI `OpenEXR`.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from mattetrack import _native
from mattetrack.errors import MatteTrackError
from mattetrack.export.cryptomatte import TYPE_NAME, Cryptomatte, cryptomatte_hash, ranks_for
from mattetrack.export.exr import write_matte_exr
from mattetrack.geometry import Box2i

cryptomatte_api = pytest.importorskip("cryptomatte_api", reason="PyPI cryptomatte-api (dev extra)")
OpenEXR = pytest.importorskip("OpenEXR", reason="PyPI OpenEXR (dev extra)")

BOX = Box2i.from_size(96, 64)


def discs(names: list[str], seed: int = 0) -> dict[str, np.ndarray]:
    """Soft, overlapping discs, one per object, over BOX."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[: BOX.height, : BOX.width]
    out = {}
    for name in names:
        cx, cy = rng.uniform(20, 76), rng.uniform(15, 50)
        r = rng.uniform(10, 25)
        out[name] = np.clip((r - np.hypot(xs - cx, ys - cy)) / 6.0, 0, 1).astype(np.float32)
    return out


def write(path: Path, mattes: dict[str, np.ndarray], **kw) -> Path:
    names = list(mattes)
    write_matte_exr(path, {f"m{i}.A": m for i, m in enumerate(mattes.values())}, BOX, BOX,
                    cryptomatte=Cryptomatte(names), **kw)
    return path


def decode(path: Path) -> dict[str, np.ndarray]:
    found = cryptomatte_api.Cryptomatte.load(str(path))
    assert len(found) == 1
    return {name: np.asarray(m).reshape(BOX.height, BOX.width) for name, m in
            found[0].masks().items()}


def test_ids_follow_the_spec_examples():
    assert cryptomatte_hash("bunny") == 0x13851A76
    assert f"{_native.murmur3_32('CryptoObject'):08x}"[:7] == "3ae39a5"
    # A name whose hash has exponent bits 0 or 255 gets bit 23 flipped: a normal float32.
    name = next(f"obj{i}" for i in range(100000)
                if ((_native.murmur3_32(f"obj{i}") >> 23) & 255) in (0, 255))
    raw, stored = _native.murmur3_32(name), cryptomatte_hash(name)
    assert stored == raw ^ (1 << 23)
    value = struct.unpack("<f", struct.pack("<I", stored))[0]
    assert np.isfinite(value) and value != 0.0 and abs(value) >= np.finfo(np.float32).tiny


def test_decoder_gives_back_every_matte(tmp_path: Path):
    mattes = discs(["dog", "cat", "ball", "Ümlaut name"])
    decoded = decode(write(tmp_path / "c.exr", mattes))
    assert set(decoded) == set(mattes)
    for name, matte in mattes.items():
        np.testing.assert_array_equal(decoded[name], matte)  # float32 coverage, not renormalised


def test_six_ranks_keep_the_six_largest_coverages(tmp_path: Path):
    # Eight objects overlap everywhere with distinct coverages: only the top six are stored.
    names = [f"o{i}" for i in range(8)]
    levels = np.array([0.05, 0.9, 0.3, 0.6, 0.1, 0.75, 0.45, 0.2], np.float32)
    mattes = {n: np.full((BOX.height, BOX.width), v, np.float32)
              for n, v in zip(names, levels, strict=True)}
    decoded = decode(write(tmp_path / "c.exr", mattes))
    kept = set(np.array(names)[np.argsort(-levels)[:6]])
    for name in names:
        if name in kept:
            np.testing.assert_array_equal(decoded.get(name), mattes[name])
        else:
            assert name not in decoded or not decoded[name].any()


def test_ranks_are_sorted_with_ties_in_object_order(tmp_path: Path):
    import OpenImageIO as oiio

    mattes = {"a": np.full((BOX.height, BOX.width), 0.5, np.float32),
              "b": np.full((BOX.height, BOX.width), 0.5, np.float32),
              "c": np.zeros((BOX.height, BOX.width), np.float32)}
    mattes["c"][:, :10] = 0.8
    path = write(tmp_path / "c.exr", mattes)
    inp = oiio.ImageInput.open(str(path))
    spec = inp.spec()
    px = inp.read_image(oiio.FLOAT)
    inp.close()
    ch = {n: px[:, :, i] for i, n in enumerate(spec.channelnames)}
    ids = {n: struct.unpack("<f", struct.pack("<I", cryptomatte_hash(n)))[0] for n in mattes}
    r0, c0 = ch[f"{TYPE_NAME}00.R"], ch[f"{TYPE_NAME}00.G"]
    r1, c1 = ch[f"{TYPE_NAME}00.B"], ch[f"{TYPE_NAME}00.A"]
    r2, c2 = ch[f"{TYPE_NAME}01.R"], ch[f"{TYPE_NAME}01.G"]
    # Left: c (0.8) first, then a and b (0.5 each) in object order; right: a, b, then nothing.
    assert (r0[:, :10] == ids["c"]).all() and (c0[:, :10] == np.float32(0.8)).all()
    assert (r1[:, :10] == ids["a"]).all() and (r2[:, :10] == ids["b"]).all()
    assert (r0[:, 10:] == ids["a"]).all() and (r1[:, 10:] == ids["b"]).all()
    assert (r2[:, 10:] == 0).all() and (c2[:, 10:] == 0).all() and (c1 == 0.5).all()
    assert f"{TYPE_NAME}02.R" not in ch  # three objects: four ranks, two layers


def test_header_has_manifest_float_channels_and_lossless_codec(tmp_path: Path):
    mattes = discs(["dog", "cat"])
    path = write(tmp_path / "c.exr", mattes, half=True, compression="zips")
    with OpenEXR.File(str(path), separate_channels=True) as f:
        header = dict(f.header())
        channels = {name: c.pixels for name, c in f.channels().items()}
    key = f"{_native.murmur3_32(TYPE_NAME):08x}"[:7]
    assert header[f"cryptomatte/{key}/name"] == TYPE_NAME
    assert header[f"cryptomatte/{key}/hash"] == "MurmurHash3_32"
    assert header[f"cryptomatte/{key}/conversion"] == "uint32_to_float32"
    manifest = json.loads(header[f"cryptomatte/{key}/manifest"])
    assert manifest == {n: f"{cryptomatte_hash(n):08x}" for n in mattes}
    assert str(header["compression"]).endswith("ZIPS_COMPRESSION")
    rank_layers = [n for n in channels if n.startswith(TYPE_NAME)]
    assert len(rank_layers) == 4  # two objects: one RGBA layer
    for name in rank_layers:
        assert channels[name].dtype == np.float32  # ids never go through half
    assert channels["m0.A"].dtype == np.float16


@pytest.mark.parametrize(
    "names, needle",
    [(["dog", "dog"], "same name"), ([], "no objects")],
)
def test_bad_object_lists_are_refused_naming_the_file(tmp_path: Path, names, needle):
    path = tmp_path / "c.exr"
    mattes = {f"m{i}.A": np.zeros((BOX.height, BOX.width), np.float32) for i in range(2)}
    with pytest.raises(MatteTrackError, match=needle) as err:
        write_matte_exr(path, mattes, BOX, BOX, cryptomatte=Cryptomatte(names))
    assert str(path) in str(err.value) and not path.exists()


def test_only_the_rank_layers_the_objects_need(tmp_path: Path):
    """One layer for one or two objects, two for three or four, three from five on: ranks
    beyond the objects' count would only ever hold zeros."""
    assert [ranks_for(n) for n in range(1, 9)] == [2, 2, 4, 4, 6, 6, 6, 6]
    mattes = discs(["dog"])
    path = write(tmp_path / "one.exr", mattes)
    with OpenEXR.File(str(path), separate_channels=True) as f:
        ranks = sorted(n for n in f.channels() if n.startswith(TYPE_NAME))
    assert ranks == [f"{TYPE_NAME}00.{c}" for c in "ABGR"]
    # Readers take the one layer: cryptomatte-api gives the matte back.
    decoded = cryptomatte_api.Cryptomatte.load(str(path))
    np.testing.assert_array_equal(
        np.asarray(decoded[0].mask("dog")).reshape(mattes["dog"].shape), mattes["dog"])


@pytest.mark.parametrize("ranks", [2, 6])
def test_one_object_fills_rank_zero_and_leaves_the_rest_empty(tmp_path: Path, ranks: int):
    """The one-object path (a shot's usual case): rank 0 is the object's id and coverage
    wherever it covers anything (negative coverage counts as none), every other rank is zero;
    the decoder gives the matte back."""
    (matte,) = discs(["dog"]).values()
    matte[5, 6] = -0.25
    path = tmp_path / "one.exr"
    write_matte_exr(path, {"m0.A": matte}, BOX, BOX, cryptomatte=Cryptomatte(["dog"], ranks=ranks),
                    half=False)
    with OpenEXR.File(str(path), separate_channels=True) as f:
        channels = {k: np.asarray(v.pixels) for k, v in f.channels().items()}
    layers = [f"{TYPE_NAME}{i:02d}" for i in range((ranks + 1) // 2)]
    own = np.float32(struct.unpack("<f", struct.pack("<I", cryptomatte_hash("dog")))[0])
    covered = matte > 0
    np.testing.assert_array_equal(channels[f"{layers[0]}.R"], np.where(covered, own, 0))
    np.testing.assert_array_equal(channels[f"{layers[0]}.G"], np.where(covered, matte, 0))
    empty = [f"{layers[0]}.B", f"{layers[0]}.A"] + [f"{lay}.{c}" for lay in layers[1:]
                                                      for c in "RGBA"]
    assert all(not channels[name].any() for name in empty)
    decoded = decode(path)["dog"]
    np.testing.assert_array_equal(decoded, np.where(covered, matte, 0))
