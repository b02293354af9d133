"""The installed wheel works on its own: built from this checkout, installed into a fresh venv and
run from outside the repository, it has the native module, the browser UI's files and the
Blender Mask builder the core hands to Blender (a file it used to read from host_adapters/ by a
path relative to the checkout)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILDER_SOURCE = REPO / "plugin" / "mattetrack" / "hostscripts" / "blender_mask.py"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Same build folder as the editable install, so the native module is not compiled again.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation",
                    "--no-deps", "--disable-pip-version-check", "-w", str(out), str(REPO)],
                   check=True, capture_output=True, timeout=900)
    (found,) = out.glob("mattetrack-*.whl")
    return found


@pytest.mark.slow
def test_wheel_carries_what_the_core_reads_at_run_time(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "mattetrack/hostscripts/blender_mask.py" in names
    assert "mattetrack/service/static/index.html" in names
    assert any(n.startswith("mattetrack/_native") and n.endswith(".so") for n in names)
    assert not any(n.startswith(("host_adapters/", "tests/")) for n in names)


@pytest.mark.slow
def test_installed_wheel_runs_outside_the_checkout(wheel, tmp_path):
    """A venv with only the wheel installed (its dependencies borrowed from this venv, without
    this venv's editable install): the Blender builder resolves inside site-packages and is the
    same script, the CLI answers, and no module comes from the checkout."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; "
                                "print(sysconfig.get_paths()['purelib'])"], check=True,
                               capture_output=True, text=True).stdout.strip())
    # The dependencies from this venv as a plain path: its .pth files (the editable install's
    # import hook) are not processed from there.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--disable-pip-version-check", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    script = textwrap.dedent(f"""
        import mattetrack, mattetrack._native
        from mattetrack.shapes.blender import BUILDER
        from mattetrack.cli import main
        site = {str(site)!r}
        assert mattetrack.__file__.startswith(site), mattetrack.__file__
        assert str(BUILDER).startswith(site) and BUILDER.is_file(), BUILDER
        print(BUILDER.read_bytes() == open({str(BUILDER_SOURCE)!r}, "rb").read())
        try:
            main(["--version"])
        except SystemExit as done:
            assert done.code == 0
    """)
    done = subprocess.run([str(python), "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[0] == "True"
    assert "mattetrack 0." in done.stdout
