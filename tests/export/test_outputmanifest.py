"""The store's record of what each output file holds (export/outputmanifest.py)."""

from __future__ import annotations

import os

from mattetrack.export.outputmanifest import OutputManifest, output_key


def test_a_file_is_held_only_for_its_key_and_as_it_was_left(tmp_path):
    out = tmp_path / "m.0001.png"
    out.write_bytes(b"matte")
    manifest = OutputManifest(tmp_path / "outputs.json")
    key = output_key(("m.####.png",), 1, "plate-key", ["p123"])
    assert not manifest.holds(str(out), key)  # nothing recorded yet
    manifest.record(str(out), key)
    manifest.save()

    again = OutputManifest(tmp_path / "outputs.json")  # the next run reads it back
    assert again.holds(str(out), key)
    assert not again.holds(str(out), output_key(("m.####.png",), 1, "plate-key", ["p456"]))
    assert not again.holds(str(out), output_key(("m.####.exr",), 1, "plate-key", ["p123"]))
    # The same bytes put there by something else (a new file renamed into place) are not ours.
    (tmp_path / "copy").write_bytes(b"matte")
    os.replace(tmp_path / "copy", out)
    assert not again.holds(str(out), key)
    out.unlink()
    assert not again.holds(str(out), key)


def test_two_runs_on_one_store_keep_each_others_records(tmp_path):
    """Each run adds what it wrote to what is on disk, so neither loses the other's files."""
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    a.write_bytes(b"a")
    b.write_bytes(b"b")
    first = OutputManifest(tmp_path / "outputs.json")
    second = OutputManifest(tmp_path / "outputs.json")
    first.record(str(a), "ka")
    second.record(str(b), "kb")
    first.save()
    second.save()
    both = OutputManifest(tmp_path / "outputs.json")
    assert both.holds(str(a), "ka") and both.holds(str(b), "kb")


def test_a_damaged_or_unwritable_manifest_only_costs_rewrites(tmp_path):
    out = tmp_path / "m.png"
    out.write_bytes(b"m")
    (tmp_path / "outputs.json").write_text('{"x": [1]')
    manifest = OutputManifest(tmp_path / "outputs.json")
    assert not manifest.holds(str(out), "k")
    missing = OutputManifest(tmp_path / "no-such-folder" / "outputs.json")
    missing.record(str(out), "k")
    missing.save()  # cannot be written: no error, nothing kept
    assert not (tmp_path / "no-such-folder").exists()
