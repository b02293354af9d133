"""The Resolve adapter's pure conversions (host_adapters/resolve/mattetrack_resolve/plates.py):
Resolve's sequence forms to the service's plate pattern, source frames to file frames, the
default output, the browser UI's address; and that the adapter stays Python 3.6 syntax."""

from __future__ import annotations

import ast
import sys
import urllib.parse
from pathlib import Path

import pytest

HOST_ADAPTERS = Path(__file__).resolve().parents[3] / "host_adapters"
sys.path[:0] = [str(HOST_ADAPTERS / "resolve"), str(HOST_ADAPTERS / "client")]
from mattetrack_resolve import plates  # noqa: E402


def _touch(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def test_bracket_sequence_becomes_a_hash_pattern():
    p = plates.plate_from_path("/shots/a/plate.[1001-1100].exr")
    assert p == plates.Plate("/shots/a/plate.####.exr", "sequence", 1001, 1100, 4)
    p = plates.plate_from_path("/shots/b/frames_[00010-00020].dpx")
    assert p == plates.Plate("/shots/b/frames_#####.dpx", "sequence", 10, 20, 5)


def test_printf_and_hash_sequences_take_their_range_from_disk(tmp_path):
    _touch(tmp_path / "a", [f"plate.{f:04d}.exr" for f in range(1001, 1006)] + ["plate.txt"])
    want = plates.Plate(str(tmp_path / "a" / "plate.####.exr"), "sequence", 1001, 1005, 4)
    assert plates.plate_from_path(str(tmp_path / "a" / "plate.%04d.exr")) == want
    assert plates.plate_from_path(str(tmp_path / "a" / "plate.####.exr")) == want
    # Not on disk (yet): the pattern still converts, the range is unknown.
    p = plates.plate_from_path(str(tmp_path / "none" / "x_%06d.png"))
    assert p == plates.Plate(str(tmp_path / "none" / "x_######.png"), "sequence", None, None, 6)


def test_numbered_frame_of_a_many_frame_clip_is_a_sequence_else_a_single_frame():
    p = plates.plate_from_path("/s/plate.1001.exr", frames=100)
    assert p == plates.Plate("/s/plate.####.exr", "sequence", 1001, 1100, 4)
    assert plates.plate_from_path("/s/plate.1001.exr", frames=1) == plates.Plate(
        "/s/plate.1001.exr", "frame", 1001, 1001, 4)
    assert plates.plate_from_path("/s/Carrots.exr").kind == "frame"
    assert plates.plate_from_path("/s/Carrots.exr").first == 0


def test_movie_stays_a_path():
    assert plates.plate_from_path("/s/A001 C002.mov", frames=240) == plates.Plate(
        "/s/A001 C002.mov", "movie", 0, 239, 4)
    assert plates.plate_from_path("/s/clip.mp4").last is None


def test_patterns_convert_both_ways():
    assert plates.to_printf("/s/m.####.exr") == "/s/m.%04d.exr"
    assert plates.frame_path("/s/m.####.exr", 1001) == "/s/m.1001.exr"
    assert plates.frame_path("/s/v2.#####.exr", 7) == "/s/v2.00007.exr"  # token in the name only
    assert plates.frame_path("/s/m.####.exr", -3) == "/s/m.-0003.exr"


def test_same_plate_whatever_the_token_form(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    a = str(real / "plate.####.exr")
    assert plates.same_plate(a, str(real / "plate.%04d.exr"))
    assert plates.same_plate(a, str(real / "plate.[1001-1008].exr"))
    assert plates.same_plate(a, str(tmp_path / "link" / "plate.####.exr"))
    assert not plates.same_plate(a, str(real / "plate2.####.exr"))
    assert not plates.same_plate(a, str(tmp_path / "plate.####.exr"))


def test_default_output_next_to_the_plate():
    seq = plates.plate_from_path("/shots/a/plate.[1001-1100].exr")
    assert plates.default_output(seq, "plate.[1001-1100].exr") == \
        "/shots/a/mattetrack/plate_matte.####.exr"
    movie = plates.plate_from_path("/shots/b/A001 C002.mov", 48)
    assert plates.default_output(movie, "A001 C002.mov") == \
        "/shots/b/mattetrack/A001_C002_matte.####.exr"
    wide = plates.plate_from_path("/s/x.[000001-000100].exr")
    assert plates.default_output(wide, "") == "/s/mattetrack/plate_matte.######.exr"


def test_timecodes():
    assert plates.timecode_frames("01:00:00:00", "24") == 86400
    assert plates.timecode_frames("00:00:41:17", 24.0) == 1001
    assert plates.timecode_frames("00:00:01;02", "29.97") == 32
    assert plates.timecode_frames("", "24") is None
    assert plates.timecode_frames("01:00:00:00", "") is None


@pytest.mark.parametrize(("raw", "duration", "base", "want"), [
    ((1003, 1008), 5, None, (1003, 1007, True)),  # frame numbers, end exclusive
    ((2, 7), 5, None, (1003, 1007, False)),  # offsets into the clip
    ((1003, 1007), 5, 1001, (1003, 1007, True)),  # an inclusive end, told by the duration
    ((1090, 1120), 30, None, (1090, 1100, True)),  # past the media's end: clamped
])
def test_source_range_of_a_sequence(raw, duration, base, want):
    plate = plates.plate_from_path("/s/plate.[1001-1100].exr")
    assert plates.source_range(raw[0], raw[1], duration, plate, base) == want


def test_source_range_of_a_movie_with_a_start_timecode():
    movie = plates.plate_from_path("/s/a.mov", frames=240)
    assert plates.source_range(86400 + 10, 86400 + 20, 10, movie, 86400) == (10, 19, True)
    assert plates.source_range(10, 20, 10, movie, 86400) == (10, 19, False)
    assert plates.source_range(10, 20, 10, movie, 0) == (10, 19, True)
    assert plates.source_range(500, 510, 10, movie, 0) is None


def test_ui_url_round_trip():
    url = plates.ui_url("http://127.0.0.1:8765/v1/", "t0k+en/=", "/s/a b/plate.####.exr",
                        (1002, 1006), "/s/a b/mattetrack/plate_matte.####.exr")
    head, fragment = url.split("#", 1)
    assert head == "http://127.0.0.1:8765/ui/"
    assert urllib.parse.parse_qs(fragment) == {
        "token": ["t0k+en/="], "plate": ["/s/a b/plate.####.exr"], "range": ["1002-1006"],
        "output": ["/s/a b/mattetrack/plate_matte.####.exr"]}
    assert "range=" not in plates.ui_url("http://h:1", "t", "/s/p.exr", None, "/s/o.####.exr")


def _adapter_sources() -> list[Path]:
    resolve = HOST_ADAPTERS / "resolve"
    return sorted(resolve.glob("*.py")) + sorted(resolve.glob("mattetrack_resolve/*.py")) + [
        HOST_ADAPTERS / "client" / "mattetrack_client.py"]


@pytest.mark.parametrize("path", _adapter_sources(), ids=lambda p: p.name)
def test_adapter_is_python_36_syntax(path):
    """Resolve runs scripts with the artist's Python, 3.6 at the oldest: no newer syntax and no
    newer standard-library modules (ast checks what a 3.6 parser would refuse)."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path), feature_version=(3, 6))
    for node in ast.walk(tree):
        assert not isinstance(node, ast.NamedExpr), f"{path.name}:{node.lineno}: walrus"
        if isinstance(node, ast.ImportFrom):
            assert node.module not in ("__future__", "dataclasses", "contextvars"), \
                f"{path.name}:{node.lineno}: from {node.module} import (3.7+)"
        if isinstance(node, ast.Import):
            names = {a.name for a in node.names}
            assert not names & {"dataclasses", "contextvars", "importlib.resources"}, path.name
        if isinstance(node, ast.Attribute):
            assert node.attr not in ("removeprefix", "removesuffix"), \
                f"{path.name}:{node.lineno}: str.{node.attr} is 3.9+"
        if isinstance(node, ast.arguments):
            assert not node.posonlyargs, f"{path.name}: positional-only parameters are 3.8+"
