"""The native module under AddressSanitizer (the `make asan` target, run as a test).

Builds `mattetrack._native` with -fsanitize=address into build/asan (incremental after the first
time) and runs tests/native/asan_check.py with libasan preloaded: every damaged EXR sample through
validation and merge, and the healthy write and merge paths. ASan aborts the child process with
its report on any memory error in our code, which fails this test with that report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "asan"


def _gcc_file(name: str) -> str | None:
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    path = subprocess.run([gcc, f"-print-file-name={name}"], capture_output=True,
                          text=True).stdout.strip()
    return path if os.path.isabs(path) and os.path.exists(path) else None


@pytest.mark.slow
def test_native_module_is_clean_under_address_sanitizer(shared_data: Path):
    libasan, libstdcxx = _gcc_file("libasan.so"), _gcc_file("libstdc++.so")
    if shutil.which("cmake") is None or libasan is None or libstdcxx is None:
        pytest.skip("needs cmake and gcc's libasan (Debian gcc) to build the ASan module")
    import pybind11

    configure = ["cmake", "-S", str(ROOT / "native"), "-B", str(BUILD),
                 "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                 "-DCMAKE_CXX_FLAGS=-fsanitize=address -fno-omit-frame-pointer",
                 f"-DPython_EXECUTABLE={sys.executable}",
                 f"-Dpybind11_DIR={pybind11.get_cmake_dir()}"]
    for command in (configure, ["cmake", "--build", str(BUILD), "-j", "2"]):
        done = subprocess.run(command, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    module = next(BUILD.glob("_native*.so"))
    env = {**os.environ, "ASAN_OPTIONS": "detect_leaks=0", "LD_PRELOAD": f"{libasan} {libstdcxx}"}
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("asan_check.py")),
                           str(module)], capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-6000:]
    assert "no memory errors" in done.stdout
