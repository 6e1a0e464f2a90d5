"""What the notebook run wrote: every generative notebook's metrics.json follows the one schema.

Run after `make notebooks` (nbmake at `quick` scale), which writes the artifacts to
GENMOD_ARTIFACTS or _artifacts/ at the repository root.
"""

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from notebook_code import notebook_config, notebook_constant  # noqa: E402

from genmod.artifacts import artifacts_dir, check_record  # noqa: E402

SAVING = sorted(p for p in ROOT.glob("book/*/*.py") if re.search(r"genmod\.save_artifacts\(", p.read_text()))


def test_some_notebooks_save_artifacts():
    assert len(SAVING) >= 5, f"expected the generative notebooks to save artifacts, found {SAVING}"


@pytest.mark.parametrize("source", SAVING, ids=lambda p: p.stem)
def test_metrics_record_follows_the_schema(source):
    name = notebook_constant(str(source.relative_to(ROOT)), "NOTEBOOK")
    path = artifacts_dir() / name / "metrics.json"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make notebooks` (nbmake at quick scale) first", pytrace=False)
    record = json.loads(path.read_text())
    assert check_record(record) == [], f"{path}: {check_record(record)}"
    assert record["notebook"] == source.stem
    assert record["scale"] == "quick", "the notebook run of `make test` is at quick scale"
    # the whole configuration of the notebook is saved, not a hand-copied part of it
    config = notebook_config(str(source.relative_to(ROOT)), scale="quick").as_dict()
    assert set(record["config"]) == set(config), f"saved settings differ from the notebook's: {set(record['config']) ^ set(config)}"
    with_data = {k: v for k, v in config.items() if k != "num_train"}  # num_train may be len(x_train)
    assert {k: record["config"][k] for k in with_data} == json.loads(json.dumps(with_data))
    assert (path.parent / "samples.npz").is_file()
