# make book : build the site into _build/html at `book` scale (GENMOD_SCALE=book)
# make test : unit tests, the book's math, integrity, every notebook (nbmake, quick scale)
#             and a warnings-as-errors site build at quick scale
# make venv : create or update the virtual environment only
# make clean: remove the site build and the execution cache

VENV ?= .venv
PYTHON_BOOTSTRAP ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JB_FLAGS := -W -n --keep-going
QUICK_BUILD := _build/quick

.PHONY: book test venv unit notebooks site-quick clean

venv: $(STAMP)

$(STAMP): requirements.txt code/pyproject.toml
	test -x $(PY) || $(PYTHON_BOOTSTRAP) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	$(PY) -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	touch $(STAMP)

book: $(STAMP)
	GENMOD_SCALE=$${GENMOD_SCALE:-book} $(VENV)/bin/jupyter-book build . $(JB_FLAGS)
	@echo "site: _build/html/index.html"

unit: $(STAMP)
	$(PY) -m pytest tests

notebooks: $(STAMP)
	GENMOD_SCALE=quick $(PY) -m pytest --nbmake --nbmake-timeout=300 book

site-quick: $(STAMP)
	GENMOD_SCALE=quick $(VENV)/bin/jupyter-book build . $(JB_FLAGS) --path-output $(QUICK_BUILD)

test: unit notebooks site-quick

clean:
	rm -rf _build
