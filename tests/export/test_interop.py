"""Interoperability of the EXR output: two independent readers and the hosts' naming rules.

Files written by the CLI are read back with OpenImageIO and with PyPI `OpenEXR`; their channel
names are then mapped the way Nuke and Blender map EXR channel names (docs/CONVENTIONS.md, "EXR
channel names in hosts"), to show that every object lands as a layer (Nuke) or pass (Blender) of
its own with an alpha channel, next to the plate's channels and the Cryptomatte's layers.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from mattetrack.cli import main
from mattetrack.synthetic import click_point, render_shot

oiio = pytest.importorskip("OpenImageIO")
OpenEXR = pytest.importorskip("OpenEXR", reason="PyPI OpenEXR (dev extra)")

# Object names an artist might type: spaces, dots, a leading digit, non-ASCII, a name that
# only differs in case, and names of layers the hosts or the plate already have.
OBJECTS = ["hero ball", "car.door", "2nd car", "Größe", "rgba", "RGBA", "MatteTrack00", "R"]
W, H = 160, 96


def nuke_layers(channels: list[str]) -> dict[str, list[str]]:
    """Nuke's view of EXR channel names: {layer: [channel, ...]}.

    Nuke splits on dots (the last part is the channel, the rest the layer, nested dots joined
    with `_`), maps R/G/B/A to red/green/blue/alpha, puts unlayered channels in layer `rgba`, and
    sanitises other characters to `_`.
    """
    names = {"R": "red", "G": "green", "B": "blue", "A": "alpha"}
    layers: dict[str, list[str]] = defaultdict(list)
    for full in channels:
        layer, _, channel = full.rpartition(".")
        layer = re.sub(r"[^A-Za-z0-9_]", "_", layer.replace(".", "_")) or "rgba"
        layers[layer].append(names.get(channel, re.sub(r"[^A-Za-z0-9_]", "_", channel)))
    return dict(layers)


def blender_passes(channels: list[str]) -> dict[tuple[str, str], list[str]]:
    """Blender's view: {(layer, pass): [channel, ...]}; `layer.pass.channel`, and a two-part
    name is a pass on the unnamed layer; a one-part name is a channel of the unnamed pass."""
    passes: dict[tuple[str, str], list[str]] = defaultdict(list)
    for full in channels:
        parts = full.split(".")
        if len(parts) == 1:
            passes[("", "")].append(parts[0])
        elif len(parts) == 2:
            passes[("", parts[0])].append(parts[1])
        else:
            passes[(".".join(parts[:-2]), parts[-2])].append(parts[-1])
    return dict(passes)


@pytest.fixture(scope="module")
def plate(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("plate")
    for i, (rgb, _) in enumerate(render_shot(n_frames=2, width=W, height=H, seed=5)):
        spec = oiio.ImageSpec(W, H, 4, "half")
        spec.channelnames = ("R", "G", "B", "A")
        spec.attribute("compression", "zip")
        out = oiio.ImageOutput.create(str(folder / f"p.{i + 1:04d}.exr"))
        assert out.open(str(folder / f"p.{i + 1:04d}.exr"), spec)
        alpha = np.ones((H, W, 1), np.float32)
        assert out.write_image(np.concatenate([rgb, alpha], axis=2))
        out.close()
    return folder


def track(plate: Path, out: Path, *flags: str) -> None:
    _, truth = render_shot(n_frames=1, width=W, height=H, seed=5)[0]
    x, y = click_point(truth)
    args = ["track", str(plate / "p.####.exr")]
    for i, name in enumerate(OBJECTS):
        args += ["--object", name, "--point", f"{x + i},{y}"]
    assert main([*args, *flags, "-q", "-o", str(out)]) == 0


def channels_both_readers(path: Path) -> list[str]:
    """Channel names read with OpenImageIO and PyPI OpenEXR (all parts); both must agree."""
    inp = oiio.ImageInput.open(str(path))
    from_oiio = []
    part = 0
    while inp.seek_subimage(part, 0):
        from_oiio += list(inp.spec().channelnames)
        part += 1
    inp.close()
    with OpenEXR.File(str(path), separate_channels=True) as f:
        from_openexr = [name for p in f.parts for name in p.channels]
    assert sorted(from_oiio) == sorted(from_openexr)
    return from_oiio


@pytest.mark.parametrize("merge", [False, True], ids=["sidecar", "merged"])
def test_each_object_is_its_own_layer_in_nuke_and_blender(plate: Path, tmp_path: Path, merge):
    out = tmp_path / "m.####.exr"
    track(plate, out, "--cryptomatte", *(["--merge"] if merge else []))
    channels = channels_both_readers(tmp_path / "m.0001.exr")
    mattes = [c for c in channels if c.endswith(".A") and not c.startswith("MatteTrack0")]
    assert len(mattes) == len(OBJECTS)
    # docs/ARCHITECTURE.md: `<object>.A`, layer names in [A-Za-z_][A-Za-z0-9_]*.
    for name in mattes:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\.A", name), name

    nuke = nuke_layers(channels)
    matte_layers = [c.rpartition(".")[0] for c in mattes]
    assert len(set(matte_layers)) == len(OBJECTS)  # distinct layers, one per object
    for layer in matte_layers:
        assert nuke[layer] == ["alpha"], (layer, nuke[layer])
    assert all(len(chs) <= 4 for chs in nuke.values())  # Nuke keeps 4 channels per layer
    assert len(channels) <= 1023
    if merge:  # the plate's own channels are still Nuke's rgba, untouched by any object
        assert sorted(nuke["rgba"]) == ["alpha", "blue", "green", "red"]
    for layer in ("MatteTrack00", "MatteTrack01", "MatteTrack02"):
        assert sorted(nuke[layer]) == ["alpha", "blue", "green", "red"]

    blender = blender_passes(channels)
    for layer in matte_layers:
        assert blender[("", layer)] == ["A"]
