"""Prompt parsing and validation (ARCHITECTURE.md: `--point`, `--negative`, `--box`, `--mask`)."""

import numpy as np
import pytest

from mattetrack.errors import InputError
from mattetrack.prompts import FramePrompts, parse_box, parse_mask, parse_point


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100,200", (None, 100.0, 200.0)),
        ("1001:420.5,310", (1001, 420.5, 310.0)),
        ("0:.5,1e2", (0, 0.5, 100.0)),
        (" 12:3,4 ", (12, 3.0, 4.0)),
    ],
)
def test_parse_point(text, expected):
    assert parse_point(text) == expected


@pytest.mark.parametrize("text", ["", "100", "1,2,3", "a:1,2", "1:x,2", "1001:420;310", "1:2:3,4"])
def test_parse_point_rejects_malformed_with_option_name(text):
    with pytest.raises(InputError) as err:
        parse_point(text, "--negative")
    message = str(err.value)
    assert message.startswith("--negative ")
    assert "\n" not in message


def test_parse_box():
    assert parse_box("10:1,2,30,40") == (10, (1.0, 2.0, 30.0, 40.0))
    assert parse_box("1,2,30,40") == (None, (1.0, 2.0, 30.0, 40.0))
    with pytest.raises(InputError, match="X1 > X0"):
        parse_box("30,2,10,40")
    with pytest.raises(InputError, match="--box"):
        parse_box("1,2,3")


def test_parse_mask_requires_frame():
    assert parse_mask("0:masks/00000.png") == (0, "masks/00000.png")
    assert parse_mask("1001:C:/win/path.png") == (1001, "C:/win/path.png")
    with pytest.raises(InputError, match="FRAME:PATH"):
        parse_mask("masks/00000.png")


def test_frame_prompts_validate_bounds():
    p = FramePrompts()
    p.add_point(10, 20)
    p.add_point(5, 5, positive=False)
    p.validate(100, 50)
    assert p.labels.tolist() == [1, 0]
    assert p.points.shape == (2, 2)
    p.add_point(101, 10)
    with pytest.raises(InputError, match="outside the 100x50 frame"):
        p.validate(100, 50, "--point 101,10")
    with pytest.raises(InputError, match="is off the"):
        FramePrompts(box=(200, 0, 300, 10)).validate(100, 50)
    with pytest.raises(InputError, match="mask is 10x5"):
        FramePrompts(mask=np.zeros((5, 10), np.float32)).validate(100, 50)


def test_empty_prompts():
    assert FramePrompts().empty
    assert not FramePrompts(box=(0, 0, 1, 1)).empty


def test_parse_stroke_and_samples():
    from mattetrack.prompts import Stroke, parse_stroke

    frame, pts = parse_stroke("12:0,0,10,0,10,5")
    assert frame == 12 and pts.shape == (3, 2)
    assert parse_stroke("3.5,4")[0] is None
    for bad in ("1,2,3", "a,b", "", "1:2:3,4"):
        with pytest.raises(InputError, match="--stroke"):
            parse_stroke(bad)
    line = Stroke(pts).samples(2.0)
    assert line[0].tolist() == [0, 0] and line[-1].tolist() == [10, 5]
    steps = np.hypot(*np.diff(line, axis=0).T)
    assert steps.max() <= 2.0 + 1e-5 and len(line) == 9


def test_a_base_is_not_a_prompt_but_what_prompts_refine():
    base = np.ones((4, 5), np.float32)
    prompts = FramePrompts(base=base)
    assert prompts.empty and prompts.dense is base
    prompts.mask = np.zeros((4, 5), np.float32)
    assert not prompts.empty and prompts.dense is prompts.mask
