r"""The Keras deep EBM (book/ebm/ebm_mnist_tf.py): its sampler against the equation and the PyTorch
notebook's sampler, and its committed checkpoint.

The notebook's ``generate_samples`` and ``sample_step`` run on a quadratic energy
:math:`E(\x) = \sum_i (x_i - m)^2 / (2 s^2)`:

- with no noise, five steps of the eager ``generate_samples`` and of the compiled
  ``sample_step`` equal the practical step {eq}`ebm-practical-langevin` written out in numpy,
  and five steps of the PyTorch notebook's ``langevin_negatives`` from the same images (a
  fixture written and checked by tests/ebm/test_ebm_tf_fixtures.py);
- with the noise :math:`\sigma = \sqrt{2\eta/\beta}` and no clipping, the compiled sampler gives
  each pixel the exact stationary variance of its linear chain, which tends to
  :math:`s^2/\beta` {eq}`ebm-effective-temperature`.

The committed Keras checkpoint (``book/ebm/checkpoints/ebm_mnist_tf-*.npz``, the arrays of
``get_weights()`` in order, :func:`genmod.tfutils.save_weights`) loads into the notebook's
``build_energy`` with :func:`genmod.tfutils.load_weights`, reproduces the energies of the fixed
inputs recorded in its provenance, and is refused by an energy of another size. (That the
notebook asks for exactly this checkpoint is checked in tests/ebm/test_deep_ebm.py.)
"""

import json
import math
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

import genmod
from genmod.checkpoints import find_checkpoint
from genmod.tfutils import load_weights
from notebook_code import notebook_config, notebook_functions

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_PY = "book/ebm/ebm_mnist_tf.py"
COMMITTED = sorted((ROOT / "book/ebm/checkpoints").glob("ebm_mnist_tf-*.json"))


@pytest.fixture(scope="module")
def nb():
    return notebook_functions(NOTEBOOK_PY, ["generate_samples", "sample_step", "build_energy",
                                            "fixed_inputs"],
                              {"tf": tf, "keras": keras, "layers": layers})


@pytest.fixture(scope="module")
def reference(fixtures):
    with np.load(fixtures / "ebm_deep_ebm_sampler.npz") as saved:
        return {k: saved[k] for k in saved.files}


def quadratic(m, s):
    return lambda x, training=False: tf.reduce_sum((x - m) ** 2, axis=[1, 2, 3]) / (2 * s**2)


def practical_steps(x, steps, eta, g_max, m, s):
    """eq. ebm-practical-langevin with sigma = 0, on E = sum (x - m)^2 / (2 s^2), in numpy."""
    for _ in range(steps):
        x = np.clip(x, -1, 1)
        grad = (x - m) / s**2
        x = np.clip(x - eta * np.clip(grad, -g_max, g_max), -1, 1)
    return x


@pytest.fixture(scope="module")
def five_steps(nb, reference):
    """Five noise-free steps from the fixture's images, eager and compiled."""
    energy = quadratic(float(reference["m"]), float(reference["s"]))
    x0 = tf.constant(reference["x0"])
    eager = nb["generate_samples"](energy, x0, 5, 0.05, 0.0, 0.03).numpy()
    graph = nb["sample_step"](energy, x0, tf.constant(5), tf.constant(0.05), tf.constant(0.0),
                              tf.constant(0.03)).numpy()
    return eager, graph


def test_tf_sampler_is_the_practical_step(reference, five_steps):
    eager, graph = five_steps
    expected = practical_steps(reference["x0"].astype(np.float64), 5, 0.05, 0.03,
                               float(reference["m"]), float(reference["s"]))
    np.testing.assert_allclose(eager, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(graph, eager, rtol=0, atol=1e-6)
    # the gradient is clipped in every step: the images move by at most 5 eta g_max
    assert np.abs(graph - reference["x0"]).max() == pytest.approx(5 * 0.05 * 0.03, abs=1e-5)


def test_tf_sampler_equals_the_torch_notebooks_sampler(reference, five_steps):
    _, graph = five_steps
    np.testing.assert_allclose(graph, reference["torch_steps"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("beta", [1.0, 4.0])
def test_tf_sampler_samples_inverse_temperature_beta(nb, beta):
    eta, s, m = 0.001, 0.1, 0.1
    tf.random.set_seed(0)
    start = tf.constant(np.full((16, 28, 28, 1), m, dtype="float32"))
    x = nb["sample_step"](quadratic(m, s), start, tf.constant(300), tf.constant(eta),
                          tf.constant((2 * eta / beta) ** 0.5), tf.constant(1e9))
    mean, var = float(tf.reduce_mean(x)), float(tf.math.reduce_variance(x))
    r = 1 - eta / s**2  # noise first, then the gradient step
    expected = r**2 * (2 * eta / beta) / (1 - r**2)
    n = 16 * 784
    assert abs(mean - m) < 4 * math.sqrt(expected / n)
    assert abs(var / expected - 1) < 4 * math.sqrt(2 / n)
    assert float(tf.reduce_max(tf.abs(x))) < 1


def test_the_checkpoint_is_committed():
    assert COMMITTED, ("book/ebm/checkpoints/ebm_mnist_tf-*.json is missing: "
                       "run the notebook to train it")


@pytest.mark.parametrize("meta", COMMITTED, ids=lambda p: p.name)
def test_checkpoint_reproduces_its_recorded_energies(nb, meta):
    record = json.loads(meta.read_text())
    config = genmod.Config(**record["config"])
    found = find_checkpoint(record["notebook"], config, folder=meta.parent)  # checks the SHA-256
    model = load_weights(nb["build_energy"](config), found.path)
    energies = model(nb["fixed_inputs"]()).numpy()[:, 0]
    np.testing.assert_allclose(energies, record["metrics"]["energy_fixed_inputs"], rtol=0,
                               atol=1e-5)
    assert record["builder"] == "build_energy" and record["file"].endswith(".npz")
    assert record["config"]["num_updates"] == notebook_config(NOTEBOOK_PY).checkpoint_updates


@pytest.mark.parametrize("meta", COMMITTED, ids=lambda p: p.name)
def test_checkpoint_is_refused_by_an_energy_of_another_size(nb, meta):
    record = json.loads(meta.read_text())
    smaller = genmod.Config(**{**record["config"], "channels": 8})
    with pytest.raises(ValueError):
        load_weights(nb["build_energy"](smaller), meta.parent / record["file"])
