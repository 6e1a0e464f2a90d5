"""genmod.tfutils: Keras weights as .npz files, and checkpoints of Keras models with provenance."""

import numpy as np
import pytest
import tensorflow as tf

import genmod
from genmod import tfutils


def build_model(config):
    """A small Keras model whose weight shapes depend on the configuration."""
    model = tf.keras.Sequential(
        [tf.keras.Input((3,)), tf.keras.layers.Dense(config.width), tf.keras.layers.Dense(1)]
    )
    return model


def test_weights_round_trip_exactly(tmp_path):
    config = genmod.Config(width=4)
    model = build_model(config)
    path = tmp_path / "w.npz"
    tfutils.save_weights(model, path)
    assert path.is_file(), "save_weights must keep the name it is given"
    other = tfutils.load_weights(build_model(config), path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError):
        tfutils.load_weights(build_model(genmod.Config(width=5)), path)


def test_load_or_train_trains_once_and_writes_the_provenance(tmp_path):
    config, calls = genmod.Config(width=2), []

    def train():
        calls.append(1)
        return build_model(config), {"loss": 0.25}

    first, saved = tfutils.load_or_train(
        "nb", config, build=build_model, train=train, folder=tmp_path, verbose=False
    )
    second, loaded = tfutils.load_or_train(
        "nb", config, build=build_model, train=train, folder=tmp_path, verbose=False
    )
    assert calls == [1], "the second call must load, not train"
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    record = loaded.provenance
    assert record == saved.provenance
    assert record["builder"] == "build_model" and record["metrics"] == {"loss": 0.25}
    assert record["scale"] == genmod.get_scale() and record["file"].endswith(".npz")
    assert record["device"] == "cpu, 1 thread" or record["device"].startswith("gpu, ")


def test_the_tensorflow_lane_imports_no_torch():
    """tests/conftest.py imports torchvision for the PyTorch lane only (TensorFlow first would
    crash)."""
    import sys

    assert "torch" not in sys.modules and "torchvision" not in sys.modules
