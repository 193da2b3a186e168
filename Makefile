# ShopSynth: `make run` opens the dashboard on the sample world, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format bench clean-workspace

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m core sample --if-empty
	@echo "ShopSynth dashboard: http://127.0.0.1:8501"
	$(BIN)/streamlit run app.py

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(VENV)/.bench-installed: $(STAMP) requirements-bench.txt
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-bench.txt
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_models.py
	$(BIN)/python benchmarks/bench_encoders.py
	$(BIN)/python benchmarks/bench_eval.py
	$(BIN)/python benchmarks/bench_fusion.py
	$(BIN)/python benchmarks/bench_fusion_page.py
	$(BIN)/python benchmarks/bench_synth.py

clean-workspace:
	rm -rf workspace
