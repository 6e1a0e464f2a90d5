"""genmod.checkpoints: keyed by the configuration, with provenance, refusing corrupted files;
committed ones load.

A committed checkpoint is a PyTorch ``state_dict`` (``.pt``), loaded here, or the arrays of a
Keras model's ``get_weights()`` in order (``.npz``, ``arr_0``, ``arr_1``, ...), whose provenance
and file are checked here and which loads in the TensorFlow lane
(tests/tf/test_checkpoints_keras.py), because TensorFlow must not be imported after torchvision
in one process (CONTRIBUTING.md, "Known traps").
"""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import genmod
from genmod.checkpoints import (MAX_COMMITTED_BYTES, PROVENANCE_KEYS, config_key, find_checkpoint,
                                load_or_train, save_checkpoint)
from notebook_code import notebook_builder

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = sorted(ROOT.glob("book/*/checkpoints/*.json"))
PROVENANCE = {"command": "GENMOD_SCALE=full python make.py", "scale": "full", "device": "cpu",
              "train_time_s": 1.5, "metrics": {"loss": 0.1}, "builder": "build_model"}


def test_key_depends_on_values_not_order():
    a = genmod.Config(lr=1e-3, num_epochs=3)
    assert config_key(a) == config_key(genmod.Config(num_epochs=3, lr=1e-3))
    assert config_key(a) != config_key(genmod.Config(lr=1e-3, num_epochs=4))
    assert len(config_key(a)) == 12


def _roundtrip(tmp_path, config, calls):
    def train():
        calls.append(1)
        torch.manual_seed(0)
        return torch.nn.Linear(3, 2), dict(PROVENANCE["metrics"])

    return load_or_train("nb", config, train=train,
                         write=lambda m, p: torch.save(m.state_dict(), p),
                         read=lambda p: _load_linear(p), builder="build_model",
                         device="cpu, 1 thread",
                         folder=tmp_path, save=True, verbose=False)


def _load_linear(path):
    model = torch.nn.Linear(3, 2)
    model.load_state_dict(torch.load(path, weights_only=True))
    return model


def test_trains_once_then_loads_the_same_weights(tmp_path):
    config, calls = genmod.Config(lr=1e-3), []
    first, ckpt = _roundtrip(tmp_path, config, calls)
    second, again = _roundtrip(tmp_path, config, calls)
    assert calls == [1], "the second call must load, not train"
    assert torch.equal(first.weight, second.weight)
    assert again.provenance["sha256"] == ckpt.provenance["sha256"]
    assert again.provenance == ckpt.provenance
    # the provenance is written by load_or_train itself, the same way for every notebook
    assert again.provenance["metrics"] == PROVENANCE["metrics"]
    assert again.provenance["builder"] == "build_model"
    assert again.provenance["device"] == "cpu, 1 thread"
    assert again.provenance["scale"] == genmod.get_scale()
    command = again.provenance["command"]
    assert command.startswith(f"GENMOD_SCALE={genmod.get_scale()} jupyter nbconvert")
    assert again.provenance["train_time_s"] >= 0
    # another configuration has no checkpoint
    assert find_checkpoint("nb", genmod.Config(lr=2e-3), folder=tmp_path) is None


def test_corrupted_weights_are_refused(tmp_path):
    _, ckpt = _roundtrip(tmp_path, genmod.Config(lr=1e-3), [])
    ckpt.path.write_bytes(ckpt.path.read_bytes()[:-8] + b"xxxxxxxx")
    with pytest.raises(ValueError, match="SHA-256"):
        find_checkpoint("nb", genmod.Config(lr=1e-3), folder=tmp_path)


def test_provenance_is_required_and_size_is_bounded(tmp_path):
    def one_byte(path):
        path.write_bytes(b"0")

    with pytest.raises(ValueError, match="missing"):
        save_checkpoint("nb", {"a": 1}, one_byte, provenance={"command": "x"}, folder=tmp_path)
    with pytest.raises(ValueError, match="scale"):
        save_checkpoint("nb", {"a": 1}, one_byte, provenance={**PROVENANCE, "scale": "long"},
                        folder=tmp_path)
    with pytest.raises(ValueError, match="larger than"):
        save_checkpoint("nb", {"a": 1}, lambda p: p.write_bytes(b"0" * 2048),
                        provenance=PROVENANCE, folder=tmp_path, max_bytes=1024)
    assert not list(tmp_path.glob("*.pt")), "an oversized checkpoint must not be left behind"


@pytest.mark.parametrize("meta", COMMITTED, ids=lambda p: p.name)
def test_committed_checkpoint_loads_into_its_notebooks_architecture(meta):
    """Every committed checkpoint: provenance complete, file small and intact, weights fit the
    notebook's builder."""
    record = json.loads(meta.read_text())
    assert all(k in record for k in PROVENANCE_KEYS), (
        f"{meta.name}: provenance lacks {PROVENANCE_KEYS}")
    assert record["scale"] in genmod.SCALES, (
        f"{meta.name}: scale {record['scale']!r} is not a scale name")
    assert re.fullmatch(r"(cpu, \d+ threads?|cuda, .+|gpu, .+)", record["device"]), (
        f"{meta.name}: device {record['device']!r} is not as "
        "genmod.torchutils/tfutils.describe_device say it")
    assert record["command"].startswith(f"GENMOD_SCALE={record['scale']} jupyter nbconvert"), (
        record["command"])
    weights = meta.parent / record["file"]
    assert weights.stat().st_size <= MAX_COMMITTED_BYTES
    config = genmod.Config(**record["config"])
    assert find_checkpoint(record["notebook"], config, folder=meta.parent) is not None
    notebook = f"{meta.parent.parent.relative_to(ROOT)}/{record['notebook']}.py"
    if weights.suffix == ".npz":
        return  # it loads in the TensorFlow lane (tests/tf/test_checkpoints_keras.py)
    assert weights.suffix == ".pt", (
        f"{weights.name}: a committed checkpoint is a .pt (PyTorch) or .npz (Keras) file")
    namespace = {"torch": torch, "nn": torch.nn, "F": torch.nn.functional, "math": math, "np": np}
    builder = notebook_builder(notebook, record["builder"], namespace)
    model = builder(config)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
