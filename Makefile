# The two commands of the README. Both build the virtual environment at .venv when it is missing
# or older than setup.cfg / pyproject.toml, and reuse it otherwise.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO ?= demo

.PHONY: demo test bench clean-demo

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pianorbm corpus music21 bach/chorales $(DEMO)/raw
	$(BIN)/pianorbm curate --piano-only $(DEMO)/raw $(DEMO)/clean
	$(BIN)/pianorbm build-records $(DEMO)/clean $(DEMO)/records --steps-per-quarter 2 --transpose -3..3
	$(BIN)/pianorbm train $(DEMO)/records $(DEMO)/run --cell gru --epochs 3 --seq-len 64 --batch-size 32 --image-every 1
	$(BIN)/pianorbm sample $(DEMO)/run $(DEMO)/samples --num-outputs 4 --bars 8 --qpm 90
	@echo "demo: play the MIDI files in $(DEMO)/samples/ (pictures beside them)"

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/curate_speed.py
	$(BIN)/python benchmarks/records_speed.py
	$(BIN)/python benchmarks/train_speed.py
	$(BIN)/python benchmarks/sample_speed.py

clean-demo:
	rm -rf $(DEMO)
