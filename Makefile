PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo clean goldens

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/minipaddle train model_zoo/lenet.yaml --data mnist5k --num-passes 10 --seed 1

goldens: $(STAMP)
	$(BIN)/python tests/configs/regenerate.py

clean:
	rm -rf $(VENV) build *.egg-info
