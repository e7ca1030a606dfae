# The two commands of the README. Both build the virtual environment at .venv when it is missing
# or older than setup.cfg / pyproject.toml, and reuse it otherwise.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
DEMO ?= demo

.PHONY: demo test test-all bench clean-demo

# The package and what it needs to run: all the demo installs.
$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "installing pianorbm and what it needs into $(VENV) (a minute or two the first time, TensorFlow most of it)"
	@(while sleep 10; do echo "  still installing"; done) & ticker=$$!; \
	  $(BIN)/python -m pip install --progress-bar off -e .; status=$$?; kill $$ticker; exit $$status
	touch $(STAMP)

# What only the tests need besides: pytest, Playwright, Apache Beam.
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,beam]'
	touch $(TEST_STAMP)

demo: $(STAMP)
	$(BIN)/pianorbm pipeline pipelines/configs/bach-chorales.toml --out $(DEMO)
	@echo "demo: open $(DEMO)/report.html; play the MIDI files in $(DEMO)/samples/"

# Before each commit: everything but the tests marked slow (end-to-end runs, kills and resumes, the
# wheel in a fresh environment, Beam, several devices). CI runs them all.
test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

test-all: $(TEST_STAMP)
	$(BIN)/python -m pytest -q

bench: $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/curate_speed.py
	$(BIN)/python benchmarks/records_speed.py
	$(BIN)/python benchmarks/train_speed.py
	$(BIN)/python benchmarks/sample_speed.py

clean-demo:
	rm -rf $(DEMO)
