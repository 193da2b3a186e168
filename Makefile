# ShopSynth: `make run` opens the dashboard on the sample world, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-spark lint format bench clean-workspace

# The address and port Streamlit will serve on, as it reads them: STREAMLIT_SERVER_* variables,
# then the project's .streamlit/config.toml, then the user's, then Streamlit's defaults.
define SERVER_URL
import os, pathlib, tomllib
server = {}
for path in (pathlib.Path.home() / ".streamlit/config.toml", pathlib.Path(".streamlit/config.toml")):
    if path.is_file():
        server |= tomllib.loads(path.read_text()).get("server", {})
address = os.environ.get("STREAMLIT_SERVER_ADDRESS") or server.get("address") or "localhost"
print(f"{address}:{os.environ.get('STREAMLIT_SERVER_PORT') or server.get('port', 8501)}")
endef
export SERVER_URL

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m core sample --if-empty
	@echo "ShopSynth dashboard: http://$$($(BIN)/python -c "$$SERVER_URL")"
	$(BIN)/streamlit run app.py

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# The optional Spark engine: PySpark into the same virtualenv, then the tests marked spark.
$(VENV)/.spark-installed: $(STAMP) requirements-spark.txt
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-spark.txt
	touch $@

test-spark: $(VENV)/.spark-installed
	$(BIN)/pytest -m spark

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
