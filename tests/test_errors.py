"""Errors carry the field they are about; each front end spells it its own way."""

from __future__ import annotations

import pytest

from mattetrack.cli import main
from mattetrack.errors import InputError, MatteTrackError, cli_option
from mattetrack.framerange import parse_range
from mattetrack.service.errors import service_message


def test_field_rendered_per_front_end():
    with pytest.raises(InputError) as info:
        parse_range("10-2")
    err = info.value
    assert err.field == "range" and err.detail == "'10-2': the last frame is before the first"
    assert str(err) == "--range '10-2': the last frame is before the first"
    assert service_message(err) == "range '10-2': the last frame is before the first"


def test_spellings():
    assert cli_option("output") == "-o" and cli_option("roto_channels") == "--roto-channels"
    flag = InputError(": needs EXR output, not 'a.png'", field="merge")
    assert str(flag) == "--merge: needs EXR output, not 'a.png'"
    named = InputError("'x': there is already an object with that name", field="object")
    assert service_message(named).startswith("name 'x'")  # the service's body field
    plain = MatteTrackError("a.exr: damaged\\nmore")
    assert plain.field is None and service_message(plain) == str(plain)
    assert "\n" not in str(MatteTrackError("two\nlines"))


def test_cli_prints_the_option(capsys):
    assert main(["ui-url", "--range", "x"]) == 2
    expected = "mattetrack: error: --range 'x': expected A-B, e.g. 1001-1100\n"
    assert capsys.readouterr().err == expected
