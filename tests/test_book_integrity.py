"""Book integrity: the table of contents, paired and stripped notebooks, shared settings."""

import json
import re
from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
NOTEBOOKS = sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def toc_files(node):
    """Every `file:` entry of the toc, depth first."""
    if isinstance(node, dict):
        if "file" in node:
            yield node["file"]
        if "root" in node:
            yield node["root"]
        for value in node.values():
            yield from toc_files(value)
    elif isinstance(node, list):
        for item in node:
            yield from toc_files(item)


TOC_FILES = list(toc_files(TOC))


def test_toc_entries_are_unique():
    assert len(TOC_FILES) == len(set(TOC_FILES))


@pytest.mark.parametrize("entry", TOC_FILES)
def test_every_toc_page_exists(entry):
    candidates = [ROOT / f"{entry}{ext}" for ext in (".md", ".ipynb")]
    assert any(p.is_file() for p in candidates), f"_toc.yml lists {entry}, but neither .md nor .ipynb exists"


def test_every_page_under_book_is_in_the_toc():
    pages = [p for p in BOOK.rglob("*") if p.suffix in (".md", ".ipynb") and ".ipynb_checkpoints" not in p.parts]
    listed = set(TOC_FILES)
    missing = [str(p.relative_to(ROOT)) for p in pages if str(p.relative_to(ROOT).with_suffix("")) not in listed]
    assert not missing, f"pages not listed in _toc.yml: {missing}"


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4


def _cells(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_paired_and_in_sync(path):
    py = path.with_suffix(".py")
    assert py.is_file(), f"{path.name} has no paired {py.name}: run `jupytext --set-formats ipynb,py:percent {path}`"
    assert py.read_text().lstrip().startswith("# ---") and "format_name: percent" in py.read_text()
    nb_ipynb = jupytext.read(path)
    nb_py = jupytext.read(py)
    assert _cells(nb_ipynb) == _cells(nb_py), f"{path.name} and {py.name} differ: run `jupytext --sync {path}`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_no_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert not any(c.get("outputs") for c in code), f"{path.name} has stored outputs: strip them"
    assert not any(c.get("execution_count") for c in code), f"{path.name} has execution counts: strip them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_uses_the_configured_repository(path):
    url = CONFIG["repository"]["url"].rstrip("/")
    source = path.with_suffix(".py").read_text()
    found = re.findall(r'REPO_URL\s*=\s*"([^"]+)"', source)
    assert found == [url], f"{path.name}: REPO_URL {found} differs from _config.yml repository.url {url!r}"
    assert "importlib.util.find_spec(\"genmod\")" in source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_one_framework_per_notebook(path):
    source = path.with_suffix(".py").read_text()
    uses_torch = bool(re.search(r"^\s*(import torch|from torch)", source, re.M))
    uses_tf = bool(re.search(r"^\s*(import tensorflow|from tensorflow|import keras|from keras)", source, re.M))
    assert uses_torch != uses_tf, f"{path.name} must use exactly one of PyTorch and TensorFlow"
    assert path.stem.endswith("_torch" if uses_torch else "_tf"), f"{path.name}: name it *_torch or *_tf"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_reads_no_environment_and_scales_its_settings(path):
    source = path.with_suffix(".py").read_text()
    assert "os.environ" not in source and "getenv" not in source, f"{path.name}: only genmod reads the environment"
    assert "pick(" in source, f"{path.name}: scale-dependent settings belong in a pick(...) configuration cell"
    assert "%cd" not in source and "sys.path" not in source


def test_mathjax_macros_are_documented_in_notation():
    macros = CONFIG["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
    notation = (BOOK / "notation.md").read_text()
    undocumented = [m for m in macros if f"`\\{m}" not in notation]
    assert not undocumented, f"macros missing from book/notation.md: {undocumented}"


def test_cited_keys_exist_in_the_bibliography():
    bib = (BOOK / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\s*\{\s*([^,\s]+)\s*,", bib))
    cited = set()
    for page in list(BOOK.rglob("*.md")) + list(BOOK.rglob("*.py")):
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", page.read_text()):
            cited.update(k.strip() for k in group.split(","))
    assert cited, "no citations found"
    assert not cited - keys, f"cited but not in book/references.bib: {sorted(cited - keys)}"


def test_execution_settings():
    execute = CONFIG["execute"]
    assert execute["execute_notebooks"] == "cache"
    assert execute["allow_errors"] is False
    assert execute["timeout"] >= 300
    assert CONFIG["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert CONFIG["only_build_toc_files"] is True
