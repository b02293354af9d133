# MatteTrack: `make demo` and `make test` work from a clean clone with nothing installed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip -q --disable-pip-version-check
STAMP := $(VENV)/.mattetrack-installed
EXR_HEADER := /usr/include/OpenEXR/ImfOutputFile.h
CHROMIUM := /usr/bin/chromium
DEMO := build/demo
# Blender as a Python module for the Blender adapter's tests: bpy 5.0.1 needs Python 3.11 and
# numpy<2, so it gets its own venv, built once (the stamp), found by the tests through
# MATTETRACK_BPY_PYTHON.
BPY_PYTHON ?= python3.11
BPY_VENV := build/bpyvenv
BPY_STAMP := $(BPY_VENV)/.bpy-installed

.PHONY: setup demo test bench gpu-check gpu-bundle lint asan clean

setup: $(STAMP)

# From Debian, each only when missing, in one apt run: the OpenEXR C++ headers (the native
# module) and chromium (the browser UI's tests drive it headless). The CPU torch wheel is
# installed before anything else so that no dependency ever makes pip resolve a CUDA torch.
$(STAMP): pyproject.toml native/CMakeLists.txt $(wildcard native/src/*)
	@DEBS="$$( [ -f $(EXR_HEADER) ] || echo libopenexr-dev ) $$( [ -x $(CHROMIUM) ] || echo chromium )"; \
	if [ -n "$${DEBS// }" ]; then \
	  echo "make: installing from Debian:$$DEBS"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$DEBS >/dev/null; \
	fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install "scikit-build-core>=0.10" "pybind11>=2.12"
	$(PIP) install --no-build-isolation -e '.[dev]'
	@# Byte-compiled once, as pip does for a regular install: an editable one is compiled on
	@# import, and again in every process where PYTHONDONTWRITEBYTECODE is set (CI, farm
	@# containers): 50-140 ms of each run's start, measured (docs/tuning.md, "The artist's loop").
	$(PY) -m compileall -q plugin/mattetrack
	@touch $(STAMP)

demo: setup
	$(PY) examples/make_demo_shot.py $(DEMO)
	$(VENV)/bin/mattetrack track $(DEMO)/plate.####.exr $$(cat $(DEMO)/clicks.txt) -o $(DEMO)/mattes/mattes.####.exr
	$(PY) examples/score_demo.py $(DEMO)

$(BPY_STAMP):
	@test -x $(BPY_VENV)/bin/python || $(BPY_PYTHON) -m venv $(BPY_VENV)
	$(BPY_VENV)/bin/python -m pip -q --disable-pip-version-check install bpy==5.0.1 'numpy<2'
	@touch $(BPY_STAMP)

# ruff first: a lint failure fails the tests (CI runs this target).
test: setup $(BPY_STAMP)
	$(VENV)/bin/ruff check plugin tests examples host_adapters
	MATTETRACK_BPY_PYTHON=$(abspath $(BPY_VENV))/bin/python $(VENV)/bin/pytest -q

# Measured runs, one table (DAVIS J&F, NoC, frames/s, peak RSS); vos-benchmark without its deps: it would pull the GUI OpenCV.
bench: setup
	$(PIP) install scikit-image
	$(PIP) install --no-deps vos-benchmark
	$(PY) tests/benchmarks/run_all.py

# On a CUDA machine: the CUDA-only tests, every model size's throughput and the memory check in
# one run, one table (tests/benchmarks/gpu_check.py). It installs what the machine lacks, from
# .gpu/ when `make gpu-bundle` packed it (a machine with no package registry), else from the
# registry. GPU_CHECK_ARGS: e.g. --quick (a smoke test that runs on the CPU too).
gpu-check:
	bash tests/benchmarks/gpu_check.sh $(GPU_CHECK_ARGS)

# .gpu/: our wheels and native module for a GPU machine's Python (GPU_PYVER, default 3.12).
gpu-bundle: setup
	bash tests/benchmarks/gpu_bundle.sh $(or $(GPU_PYVER),3.12)

# The native module built with AddressSanitizer, run on every damaged EXR sample and on the
# healthy write and merge paths (tests/native/asan_check.py says what it checks). libstdc++ is
# preloaded with libasan so that ASan can intercept C++ exceptions thrown inside OpenEXR.
ASAN_BUILD := build/asan
asan: setup
	cmake -S native -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS="-fsanitize=address -fno-omit-frame-pointer" \
	  -DPython_EXECUTABLE=$(abspath $(PY)) -Dpybind11_DIR=$$($(PY) -c 'import pybind11; print(pybind11.get_cmake_dir())') >/dev/null
	cmake --build $(ASAN_BUILD) -j 2 >/dev/null
	ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libstdc++.so)" \
	  $(PY) tests/native/asan_check.py $$(ls $(ASAN_BUILD)/_native*.so)

lint: setup
	$(VENV)/bin/ruff check plugin tests examples host_adapters

clean:
	rm -rf build $(VENV)
