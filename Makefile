# Two commands: `make run` (set-up + the default workflow + report) and `make test`.
PYTHON ?= python3
VENV ?= .venv
CORES ?= 2
BIN := $(VENV)/bin

.PHONY: run test setup dry-run report lint clean real-data download

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

lint: setup
	$(BIN)/snakemake --lint

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Extract the real offline recordings (../shared/data/*.tar.xz, or $$MYOFLOW_SHARED_DATA) into
# resources/real/ for config/real/*.yaml.
real-data: setup
	$(BIN)/python scripts/extract_real_data.py

# Fetch one public dataset from its original source into resources/raw/$(DATASET), checked
# (e.g. `make download DATASET=myoarmband`); a config entry of that name with `source: download`
# then uses the folder as it is. Without internet, the error says where to put the files by hand.
download: setup
	$(if $(DATASET),,$(error set DATASET, one of: epn612 hyser uci_myo36 myoarmband ciildata flexemg))
	$(BIN)/python -m myoflow.download fetch $(DATASET) resources/raw/$(DATASET)

clean:
	rm -rf results resources logs benchmarks .snakemake
