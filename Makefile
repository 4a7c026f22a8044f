# Two commands: `make run` (set-up + the default workflow + report) and `make test`.
PYTHON ?= python3
VENV ?= .venv
CORES ?= 2
BIN := $(VENV)/bin

.PHONY: run test setup dry-run report lint style clean distclean real-data download crossuser disentangle hdcnn audit

setup: $(VENV)/.installed

# torch first, pinned, so its CPU build is used and no CUDA packages are pulled in.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

run: setup
	$(BIN)/snakemake --cores $(CORES) $(ARGS)
	$(BIN)/snakemake --cores $(CORES) --report results/report.html $(ARGS)

dry-run: setup
	$(BIN)/snakemake --cores $(CORES) --dry-run $(ARGS)

# One study alone: `make crossuser` (= snakemake crossuser), `make disentangle`, `make hdcnn`;
# `make audit` the protocol audit.
crossuser disentangle hdcnn audit: setup
	$(BIN)/snakemake --cores $(CORES) $@ $(ARGS)

lint: setup
	$(BIN)/snakemake --lint

# ruff (pyflakes, pycodestyle, bugbear) on the library, scripts, tests and benchmarks; snakefmt on
# the rule files: both pinned in requirements.lock
style: setup
	$(BIN)/ruff check src scripts tests bench
	$(BIN)/snakefmt --check Snakefile workflow/rules

test: style
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Extract the real offline recordings (../shared/data/*.tar.xz, or $$MYOFLOW_SHARED_DATA) into
# resources/real/ for config/real/*.yaml.
real-data: setup
	$(BIN)/python scripts/extract_real_data.py

# Fetch one public dataset from its original source into resources/raw/$(DATASET), checked
# (e.g. `make download DATASET=myoarmband`); a config entry of that name with `source: download`
# then uses the folder as it is. Without internet, the error says where to put the files by hand.
download: setup
	$(if $(DATASET),,$(error set DATASET, one of: $(shell $(BIN)/python -m myoflow.download names)))
	$(BIN)/python -m myoflow.download fetch $(DATASET) resources/raw/$(DATASET)

# Everything the workflow made, but not what took long to get: downloads (resources/raw/) and the
# extracted real recordings (resources/real/) stay; `make distclean` removes those too, and .venv.
clean:
	rm -rf results resources/synthetic logs benchmarks .snakemake

distclean: clean
	rm -rf resources $(VENV)
