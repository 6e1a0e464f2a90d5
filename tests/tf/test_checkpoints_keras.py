"""Every committed Keras checkpoint (book/*/checkpoints/*.npz) loads into the architecture that
its notebook's builder makes from the checkpoint's configuration: the same number of arrays,
each of the shape Keras built. The provenance and the file's SHA-256 are checked in the
PyTorch lane (tests/package/test_checkpoints.py)."""

import json
import math
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers
from notebook_code import notebook_builder

import genmod

ROOT = Path(__file__).resolve().parents[2]
KERAS = [meta for meta in sorted(ROOT.glob("book/*/checkpoints/*.json"))
         if json.loads(meta.read_text())["file"].endswith(".npz")]


def test_the_keras_checkpoints_are_found():
    assert len(KERAS) >= 2, "ebm_mnist_tf and ddpm_mnist_tf commit Keras checkpoints"


@pytest.mark.slow
@pytest.mark.parametrize("meta", KERAS, ids=lambda p: p.name)
def test_committed_keras_checkpoint_loads_into_its_notebooks_builder(meta):
    record = json.loads(meta.read_text())
    notebook = f"{meta.parent.parent.relative_to(ROOT)}/{record['notebook']}.py"
    namespace = {"tf": tf, "keras": keras, "layers": layers, "np": np, "math": math}
    model = notebook_builder(notebook, record["builder"], namespace)(
        genmod.Config(**record["config"]))
    with np.load(meta.parent / record["file"]) as saved:
        names = sorted(saved.files)
        arrays = [saved[f"arr_{i}"] for i in range(len(names))]
    assert names == sorted(f"arr_{i}" for i in range(len(arrays))), names
    assert len(arrays) == len(model.weights), (
        f"{len(arrays)} arrays for {len(model.weights)} weights")
    for a, w in zip(arrays, model.weights):
        assert tuple(a.shape) == tuple(w.shape), f"{w.path}: saved {a.shape}, built {w.shape}"
    model.set_weights(arrays)
