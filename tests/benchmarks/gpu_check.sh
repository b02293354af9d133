#!/usr/bin/env bash
# make gpu-check: installs what the GPU machine lacks, then runs gpu_check.py (the CUDA-only
# tests, sam_throughput.py for every model size, sam_memory.py; one table in $OUT or
# build/gpu-check). Arguments go to gpu_check.py (--quick, --budget S, --sizes a,b, --out DIR).
#
# Which Python, and how the rest gets there:
#   GPU_PYTHON set      that interpreter as it is (it has everything; `--quick` on the CPU with
#                       .venv/bin/python tests this script here);
#   .gpu/ present       (tests/benchmarks/gpu_bundle.sh made it) a machine with a CUDA PyTorch
#                       and no package registry: python3 and its torch, our missing wheels
#                       installed from .gpu/wheels into build/gpu-site, the native module prebuilt;
#   otherwise           a venv in build/gpu-venv from the registry: torch 2.13.0 (on Linux PyPI's
#                       wheel is the CUDA build, for drivers of CUDA 12.8 or newer) and the project.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1

if [ -n "${GPU_PYTHON:-}" ]; then
  PY=$GPU_PYTHON
elif [ -d .gpu/wheels ]; then
  PY=${PYTHON:-python3}
  SITE=$ROOT/build/gpu-site
  rm -rf "$SITE"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" \
    .gpu/wheels/*.whl || { echo "gpu_check: cannot install .gpu/wheels" >&2; exit 2; }
  # The package from the checkout, its native module beside it (*.so is ignored by git).
  cp .gpu/native/_native*.so plugin/mattetrack/
  export PYTHONPATH=$SITE:$ROOT/plugin${PYTHONPATH:+:$PYTHONPATH}
  export LD_LIBRARY_PATH=$ROOT/.gpu/native/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
else
  VENV=build/gpu-venv
  test -x $VENV/bin/python || ${PYTHON:-python3} -m venv $VENV || exit 2
  PY=$VENV/bin/python
  "$PY" -m pip install -q torch==2.13.0 "scikit-build-core>=0.10" "pybind11>=2.12" pytest \
    && "$PY" -m pip install -q --no-build-isolation -e '.[sam]' \
    || { echo "gpu_check: cannot install torch 2.13.0 and the project into $VENV" >&2; exit 2; }
fi

"$PY" -c 'import torch, transformers, OpenImageIO, PyOpenColorIO, mattetrack._native' \
  || { echo "gpu_check: $PY cannot import what the check needs (see above)" >&2; exit 2; }
exec "$PY" tests/benchmarks/gpu_check.py "$@"
