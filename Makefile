PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo clean goldens bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,mpi]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

demo: $(STAMP)
	$(BIN)/minipaddle train model_zoo/lenet.yaml --data mnist5k --num-passes 10 --seed 1

# Speed and memory figures against their targets (bench/run.py); never part of `make test`.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]' || echo "torch not installed: PyTorch comparisons will be skipped"
	$(BIN)/python bench/run.py

goldens: $(STAMP)
	$(BIN)/python tests/configs/regenerate.py

clean:
	rm -rf $(VENV) build *.egg-info
