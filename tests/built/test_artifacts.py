"""What the notebook run wrote: every notebook that saves artifacts has a quick-scale record,
and every record follows the one schema.

Run after `make notebooks` (nbmake at `quick` scale), which writes the artifacts to
`<GENMOD_ARTIFACTS or _artifacts>/quick/<notebook>/` (genmod.artifacts, one folder a scale).
The saving notebooks are found by reading each notebook's .py with ast: a call of
`genmod.save_artifacts`, however it was imported.
"""

import ast
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from notebook_code import notebook_config, notebook_constant  # noqa: E402

from genmod.artifacts import artifacts_dir, check_record  # noqa: E402

#: The notebooks that save artifacts today (the generative ones): a notebook that stops saving,
#: or one the search below misses, fails `test_every_saving_notebook_is_found`. Add one here
#: when a new notebook saves.
EXPECTED_SAVING = 19

_MODULES = ("genmod", "genmod.artifacts")


def calls_save_artifacts(source: str) -> bool:
    """Whether ``source`` calls ``genmod.save_artifacts`` (``genmod.artifacts.save_artifacts``).

    Follows the imports of the module: ``import genmod [as g]``, ``import genmod.artifacts
    [as a]``, ``from genmod import artifacts [as a]``, ``from genmod[.artifacts] import
    save_artifacts [as s]``; a call through any of the names they bind counts.
    """
    tree = ast.parse(source)
    functions: set[str] = set()  # local names of save_artifacts itself
    modules: dict[str, str] = {}  # local name -> the genmod module it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in _MODULES:
                    # `import genmod.artifacts` binds `genmod`; `... as a` binds the submodule
                    modules[alias.asname or "genmod"] = alias.name if alias.asname else "genmod"
        elif isinstance(node, ast.ImportFrom) and node.module in _MODULES:
            for alias in node.names:
                if alias.name == "save_artifacts":
                    functions.add(alias.asname or alias.name)
                elif node.module == "genmod" and alias.name == "artifacts":
                    modules[alias.asname or alias.name] = "genmod.artifacts"

    def dotted(expr) -> str | None:
        """``a.b.c`` with ``a`` replaced by the module it stands for, or None."""
        if isinstance(expr, ast.Name):
            return modules.get(expr.id)
        if isinstance(expr, ast.Attribute):
            base = dotted(expr.value)
            return None if base is None else f"{base}.{expr.attr}"
        return None

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in functions:
            return True
        if dotted(func) in ("genmod.save_artifacts", "genmod.artifacts.save_artifacts"):
            return True
    return False


SAVING = sorted(p for p in ROOT.glob("book/*/*.py") if calls_save_artifacts(p.read_text()))


@pytest.mark.parametrize(
    "source, saves",
    [
        ("import genmod\ngenmod.save_artifacts('n', x, m)", True),
        ("import genmod as g\ng.save_artifacts('n', x, m)", True),
        ("from genmod import save_artifacts\nsave_artifacts('n', x, m)", True),
        ("from genmod import save_artifacts as keep\nkeep('n', x, m)", True),
        ("from genmod.artifacts import save_artifacts\nsave_artifacts('n', x, m)", True),
        ("import genmod.artifacts\ngenmod.artifacts.save_artifacts('n', x, m)", True),
        ("import genmod.artifacts as a\na.save_artifacts('n', x, m)", True),
        ("from genmod import artifacts\nartifacts.save_artifacts('n', x, m)", True),
        ("import genmod\n# genmod.save_artifacts('n', x, m)\ns = 'save_artifacts('", False),
        ("import genmod\nf = genmod.save_artifacts", False),
        ("def save_artifacts(*a):\n    pass\nsave_artifacts('n', x, m)", False),
    ],
)
def test_the_search_follows_imports(source, saves):
    assert calls_save_artifacts(source) is saves


def test_every_saving_notebook_is_found():
    names = [p.stem for p in SAVING]
    assert len(SAVING) == EXPECTED_SAVING, (
        f"found {len(SAVING)} notebooks that call genmod.save_artifacts, expected "
        f"{EXPECTED_SAVING}: {names} (update EXPECTED_SAVING when a notebook starts or stops "
        "saving)"
    )


def test_the_quick_run_saved_exactly_the_saving_notebooks():
    """Every saving notebook has a quick-scale record, and no record is left by another name."""
    expected = {notebook_constant(str(p.relative_to(ROOT)), "NOTEBOOK") for p in SAVING}
    base = artifacts_dir(scale="quick")
    found = {p.parent.name for p in base.glob("*/metrics.json")}
    assert expected - found == set(), (
        f"no quick-scale record in {base} for {sorted(expected - found)}: run `make notebooks` "
        "(nbmake at quick scale) first"
    )
    assert found - expected == set(), (
        f"{base} holds records of {sorted(found - expected)}, which no notebook saves: a renamed "
        "or removed notebook's leftovers; delete those folders"
    )


@pytest.mark.parametrize("source", SAVING, ids=lambda p: p.stem)
def test_metrics_record_follows_the_schema(source):
    relpath = str(source.relative_to(ROOT))
    name = notebook_constant(relpath, "NOTEBOOK")
    path = artifacts_dir(name, scale="quick") / "metrics.json"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make notebooks` (nbmake at quick scale) first",
                    pytrace=False)
    record = json.loads(path.read_text())
    assert check_record(record) == [], f"{path}: {check_record(record)}"
    assert record["notebook"] == source.stem
    assert record["scale"] == "quick", "the notebook run of `make test` is at quick scale"
    # the whole configuration of the notebook is saved, not a hand-copied part of it
    config = notebook_config(relpath, scale="quick").as_dict()
    assert set(record["config"]) == set(config), (
        f"saved settings differ from the notebook's: {set(record['config']) ^ set(config)}"
    )
    # num_train may be len(x_train)
    with_data = {k: v for k, v in config.items() if k != "num_train"}
    assert {k: record["config"][k] for k in with_data} == json.loads(json.dumps(with_data))
    assert (path.parent / "samples.npz").is_file()
