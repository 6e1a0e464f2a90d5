# make book       : run every notebook at GENMOD_SCALE (default `book`) and build the site into
#                   _build/<scale>/_build/html; each scale has its own execution cache,
#                   _build/<scale>/_build/.jupyter_cache, so a switch of scale never shows
#                   another scale's outputs (GENMOD_SCALE=full make book: _build/full/...)
# make test       : in this order: lint, unit, notebooks, site-quick, built-tests
# make lint       : ruff over genmod, the tests and the notebooks' code cells (pyproject.toml;
#                   the notebooks hold 80 characters a line, book/ruff.toml)
# make unit       : unit tests, the book's math, integrity (pytest tests, without tests/built),
#                   then the TensorFlow lane tests/tf in a process of its own
# make unit-fast  : make unit without the tests marked slow (trainings, subprocesses,
#                   the fresh-venv setup-cell test): the edit-test loop, under a minute
# make notebooks  : every notebook at `quick` scale (nbmake), the notebooks' CI route; prints
#                   each notebook's time (--durations=0)
# make site-quick : warnings-as-errors build of the whole site without executing notebooks
#                   (the notebooks ran under `make notebooks`), into _build/check/_build/html
# make built-tests: tests of that build (tests/built): math typeset offline in a headless
#                   Chromium, equation numbers and references
# make venv       : create or update the virtual environment only
# make clean      : remove every build: all scales' sites and caches, and the check build

VENV ?= .venv
PYTHON_BOOTSTRAP ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JB_FLAGS := -W -n --keep-going
SCALE := $(or $(strip $(GENMOD_SCALE)),book)
SCALES := quick book full
CHECK_BUILD := _build/check

.PHONY: book test venv lint unit unit-fast notebooks site-quick built-tests clean

venv: $(STAMP)

$(STAMP): requirements.txt code/pyproject.toml
	test -x $(PY) || $(PYTHON_BOOTSTRAP) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	$(PY) -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	touch $(STAMP)

book: $(STAMP)
	@case " $(SCALES) " in *" $(SCALE) "*) ;; \
	  *) echo "GENMOD_SCALE=$(SCALE) is not one of: $(SCALES)" >&2; exit 2;; esac
	GENMOD_SCALE=$(SCALE) $(VENV)/bin/jupyter-book build . $(JB_FLAGS) --path-output _build/$(SCALE)
	@echo "site at $(SCALE) scale: _build/$(SCALE)/_build/html/index.html"

lint: $(STAMP)
	$(VENV)/bin/ruff check code tests book

# Two pytest processes: TensorFlow must not share one with torchvision (tests/tf/conftest.py).
unit: $(STAMP)
	$(PY) -m pytest tests --ignore=tests/built --ignore=tests/tf
	$(PY) -m pytest tests/tf

unit-fast: $(STAMP)
	$(PY) -m pytest tests --ignore=tests/built --ignore=tests/tf -m "not slow"
	$(PY) -m pytest tests/tf -m "not slow"

notebooks: $(STAMP)
	GENMOD_SCALE=quick $(PY) -m pytest --nbmake --nbmake-timeout=300 --durations=0 book

# _config.yml with two changes, written beside the check build: execute_notebooks "off", and
# the warning for a glue key with no value silenced (the prose's {glue:text} numbers come from
# outputs that an unexecuted build does not have; make book keeps that warning an error).
site-quick: $(STAMP)
	mkdir -p $(CHECK_BUILD)
	$(PY) -c 'import sys, yaml; c = yaml.safe_load(open("_config.yml")); \
	  c["execute"]["execute_notebooks"] = "off"; \
	  s = c.setdefault("sphinx", {}).setdefault("config", {}); \
	  s["suppress_warnings"] = [*s.get("suppress_warnings", []), "mystnb.glue"]; \
	  yaml.safe_dump(c, sys.stdout, sort_keys=False)' \
	  > $(CHECK_BUILD)/_config.yml
	GENMOD_SCALE=quick $(VENV)/bin/jupyter-book build . $(JB_FLAGS) \
	  --config $(CHECK_BUILD)/_config.yml --path-output $(CHECK_BUILD)
	@echo "site (notebooks not executed): $(CHECK_BUILD)/_build/html/index.html"

built-tests: $(STAMP)
	GENMOD_SITE=$(CHECK_BUILD)/_build/html $(PY) -m pytest tests/built

test: lint unit notebooks site-quick built-tests

clean:
	rm -rf _build
