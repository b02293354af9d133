"""Cryptomatte 1.2 for the mattes (docs/CONVENTIONS.md, "Cryptomatte").

Each object's id is the MurmurHash3 of its name (as the artist named it, UTF-8), stored as float32
bits; the writer (native, mattes.cpp) ranks the objects' coverages per pixel into RGBA layers
`<type>00, 01, ...` holding (id, coverage, id, coverage), highest coverage first: as many ranks
as objects can cover one pixel (all of them, in whole layers: one layer for one or two
objects), at most six. The spec lets a file have any number of rank layers, and readers (Blender's
Cryptomatte node, cryptomatte-api, Nuke's) read the ones there are; the zero ranks a one-object
file would otherwise carry made files 4.5x larger and runs 4x slower. Coverage is each
matte's own value, not renormalised: where two objects overlap, each keeps its own coverage, so a
Cryptomatte reader gives back exactly the matte channels.

The type name is our own (`MatteTrack`), never `CryptoObject`, which renders already write.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from mattetrack import _native
from mattetrack.errors import MatteTrackError

TYPE_NAME = "MatteTrack"
RANKS = 6  # at most three layers; the same on every frame of a run


def ranks_for(objects: int) -> int:
    """The ranks a Cryptomatte of `objects` objects needs: one per object (every object may
    cover a pixel), rounded up to whole layers of two, at most RANKS."""
    return max(2, min(RANKS, 2 * ((objects + 1) // 2)))


def cryptomatte_hash(name: str) -> int:
    """The stored id of `name`: MurmurHash3 x86_32 (seed 0) of its UTF-8 bytes, with bit 23
    flipped when the exponent would make a denormal, infinite or NaN float32."""
    return _native.cryptomatte_bits(_native.murmur3_32(name))


def layer_names(type_name: str = TYPE_NAME, ranks: int = RANKS) -> list[str]:
    """The rank layers: `<type>00`, `<type>01`, ... (each with R, G, B, A channels)."""
    return [f"{type_name}{i:02d}" for i in range(ranks // 2)]


@dataclass(frozen=True)
class Cryptomatte:
    """What to rank: the objects' names (one per matte channel given as `sources`).

    names: object names in matte order, ids derived from them; sources: indices of those mattes
    among the channels written (default: all, in order); type_name: the Cryptomatte's name;
    ranks: how many (default: `ranks_for` the objects).
    """

    names: Sequence[str]
    sources: Sequence[int] | None = None
    type_name: str = TYPE_NAME
    ranks: int | None = None

    @property
    def rank_count(self) -> int:
        return ranks_for(len(self.names)) if self.ranks is None else self.ranks

    @property
    def layers(self) -> list[str]:
        """The rank layers written."""
        return layer_names(self.type_name, self.rank_count)

    def check(self) -> None:
        if not self.names:
            raise MatteTrackError("Cryptomatte: no objects")
        if len(set(self.names)) != len(self.names):
            raise MatteTrackError("Cryptomatte: two objects have the same name")
        hashes = [cryptomatte_hash(n) for n in self.names]
        if len(set(hashes)) != len(hashes):  # 32-bit hashes: astronomically rare, but say so
            raise MatteTrackError("Cryptomatte: two object names hash to the same id; rename one")

    def attributes(self) -> dict[str, str]:
        """Header attributes `cryptomatte/<key>/...` with the manifest embedded."""
        key = f"{_native.murmur3_32(self.type_name):08x}"[:7]
        manifest = {name: f"{cryptomatte_hash(name):08x}" for name in self.names}
        return {
            f"cryptomatte/{key}/name": self.type_name,
            f"cryptomatte/{key}/hash": "MurmurHash3_32",
            f"cryptomatte/{key}/conversion": "uint32_to_float32",
            f"cryptomatte/{key}/manifest": json.dumps(manifest, separators=(",", ":")),
        }

    def native_args(self, n_channels: int) -> tuple[str, list[int], list[int], int]:
        """(layer prefix, source plane indices, hashes, ranks) for `_native.MatteSpec`."""
        sources = list(range(n_channels)) if self.sources is None else list(self.sources)
        if len(sources) != len(self.names):
            raise MatteTrackError(
                f"Cryptomatte: {len(self.names)} names for {len(sources)} source mattes")
        return (self.type_name, sources, [_native.murmur3_32(n) for n in self.names],
                self.rank_count)
