#!/usr/bin/env bash
# Packs into .gpu/ what `make gpu-check` needs on a GPU machine that has a CUDA PyTorch but no
# package registry (the lent H200 here: Python 3.12, torch 2.11+cu130, no OpenImageIO, OpenColorIO
# or OpenEXR, an older transformers):
#   .gpu/wheels/  the wheels, for that machine's Python, of our dependencies its image lacks, at
#                 the versions this checkout's venv runs (no dependencies pulled: --no-deps);
#   .gpu/native/  mattetrack._native built for that Python against Debian's OpenEXR, with the
#                 OpenEXR and Imath libraries it links (glibc 2.36 here, so it loads on newer).
# gpu_check.sh installs them there. Everything else (torch, numpy, OpenCV, safetensors...) is
# the machine's own.
#
#   tests/benchmarks/gpu_bundle.sh [PYTHON_VERSION]      (default 3.12; needs that Python here
#                                                          for its headers: python3.X or pyenv's)
set -euo pipefail
PYVER=${1:-3.12}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
VENV_PY=.venv/bin/python
DEST=.gpu
TAG=cp${PYVER/./}
# The interpreter itself, not a shim (pyenv's shims hide it from CMake's FindPython).
BUILD_PY=""
for cand in ${GPU_BUNDLE_PYTHON:-} "python$PYVER" "$HOME"/.pyenv/versions/"$PYVER".*/bin/python"$PYVER"; do
  BUILD_PY=$(PYENV_VERSION=$PYVER "$cand" -c 'import sys; print(sys.executable)' 2>/dev/null) && break
  BUILD_PY=""
done
if [ -z "$BUILD_PY" ]; then
  echo "gpu_bundle: no python$PYVER here to build the native module with (set GPU_BUNDLE_PYTHON)" >&2
  exit 2
fi
[ -x "$VENV_PY" ] || { echo "gpu_bundle: run make setup first ($VENV_PY missing)" >&2; exit 2; }

rm -rf "$DEST"
mkdir -p "$DEST/wheels" "$DEST/native/lib"

# 1. Wheels: the versions this venv runs, for the target Python.
PINS=$("$VENV_PY" - <<'EOF'
from importlib.metadata import version
names = ["transformers", "opencolorio", "openimageio", "PyMaxflow", "lz4", "threadpoolctl"]
print(" ".join(f"{n}=={version(n)}" for n in names))
EOF
)
PLATFORMS=""
for p in manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux_2_27_x86_64 manylinux_2_28_x86_64 \
         manylinux_2_31_x86_64 manylinux_2_34_x86_64 manylinux_2_35_x86_64; do
  PLATFORMS="$PLATFORMS --platform $p"
done
# shellcheck disable=SC2086
"$VENV_PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
  --python-version "$PYVER" --implementation cp $PLATFORMS -d "$DEST/wheels" $PINS

# 2. The native module for the target Python (headers from BUILD_PY, pybind11 from the venv).
BUILD=build/native-$TAG
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
cmake -S native -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPython_EXECUTABLE="$BUILD_PY" \
  -Dpybind11_DIR="$("$VENV_PY" -c 'import pybind11; print(pybind11.get_cmake_dir())')" \
  -DSKBUILD_PROJECT_VERSION="$VERSION" >/dev/null
cmake --build "$BUILD" -j "$(nproc)" 2>&1 | grep -E "error|Error" || true
SO=$(ls "$BUILD"/_native.cpython-"${PYVER/./}"-*.so)
cp "$SO" "$DEST/native/"
# The shared libraries it needs that a CUDA image does not have: OpenEXR's and Imath's.
ldd "$SO" | awk '/=> \//{print $3}' | grep -E 'lib(OpenEXR|Iex|IlmThread|Imath)' \
  | while read -r lib; do cp -L "$lib" "$DEST/native/lib/"; done

echo "gpu_bundle: $DEST for Python $PYVER ($(du -sh "$DEST" | cut -f1)):"
ls "$DEST/wheels" "$DEST/native" "$DEST/native/lib"
