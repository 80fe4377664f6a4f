# Set-up and entry points. Every target creates .venv and installs the course into it first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Kernels started by nbgrader and JupyterLab use the environment's own Python.
export JUPYTER_DATA_DIR := $(CURDIR)/$(VENV)/share/jupyter

.PHONY: demo test lab release clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.10 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 10) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)" >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/course demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# bin/ on PATH: nbgrader runs alembic by name when formgrader creates a gradebook.
lab: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

release: $(STAMP)
	$(BIN)/course release

clean:
	rm -rf .work
