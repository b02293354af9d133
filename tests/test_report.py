"""Where the matte is weak: the frames `--report` suggests and its JSON."""

import json

import numpy as np

from mattetrack.report import GOOD_ENOUGH, build_report, suggest_frames, write_report


def test_suggestions_are_the_least_confident_spread_out_and_never_keyframes():
    frames = list(range(100, 150))
    conf = {f: 0.95 for f in frames}
    conf.update({120: 0.2, 121: 0.25, 122: 0.3, 140: 0.5, 101: 0.1, 130: 0.6})
    got = suggest_frames(conf, keyframes=[100], frames=frames)
    # 101 sits next to the keyframe; 121 and 122 next to 120, already picked.
    assert got == [120, 140, 130]
    assert all(conf[f] < GOOD_ENOUGH for f in got)
    many = suggest_frames({f: f / 1000 for f in frames}, [], frames)
    assert len(many) == 10 and many[0] == 100
    assert min(np.diff(sorted(many))) > 2


class _Session:
    class _Obj:
        def __init__(self, oid, name, keys):
            self.id, self.name, self.keyframes = oid, name, keys

    objects = [_Obj(1, "dog", [0]), _Obj(2, "ball", [3])]
    confidence = {1: {0: 1.0, 1: 0.9, 2: 0.4, 3: 0.3}, 2: {0: 0.5, 1: 0.5, 2: 0.8, 3: 1.0}}


def test_report_json(tmp_path):
    path = tmp_path / "r.json"
    write_report(path, _Session(), [0, 1, 2, 3])
    report = json.loads(path.read_text())
    assert report == build_report(_Session(), [0, 1, 2, 3])
    assert report["frames"] == [0, 3]
    dog, ball = report["objects"]
    assert dog["name"] == "dog" and dog["confidence"]["2"] == 0.4
    assert dog["suggested"] == [3]  # 2 is next to 3, and 0 is the keyframe
    assert ball["suggested"] == [0]  # 1 is next to 0; 2 is next to the keyframe 3
