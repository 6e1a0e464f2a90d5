r"""The Keras deep EBM's sampler (book/ebm/ebm_mnist_tf.py) against the equation and the PyTorch notebook's sampler.

TensorFlow must not be imported in this process after torchvision (DESIGN.md, known traps), so the notebook's
``generate_samples`` and ``sample_step`` run in a fresh Python process that imports TensorFlow only, on a quadratic
energy :math:`E(\x) = \sum_i (x_i - m)^2 / (2 s^2)`:

- with no noise, five steps of the eager ``generate_samples`` and of the compiled ``sample_step`` equal the
  practical step {eq}`ebm-practical-langevin` written out in numpy, and five steps of the PyTorch notebook's
  ``langevin_negatives`` from the same images;
- with the noise :math:`\sigma = \sqrt{2\eta/\beta}` and no clipping, the compiled sampler gives each pixel the
  exact stationary variance of its linear chain, which tends to :math:`s^2/\beta` {eq}`ebm-effective-temperature`.

The committed Keras checkpoint (``book/ebm/checkpoints/ebm_mnist_tf-*.npz``, the arrays of ``get_weights()`` in
order) is checked the same way as the PyTorch one in tests/test_deep_ebm.py, also in a TensorFlow subprocess:

- it is the checkpoint the notebook asks for (its ``long_config`` at every scale has the checkpoint's key), so the
  notebook loads it instead of training for the better part of an hour;
- the notebook's ``read_weights`` loads it into ``build_energy`` and reproduces the energies of the fixed inputs
  recorded in its provenance, and refuses it for an energy of another size with a clear error.
"""

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import genmod
from genmod.checkpoints import config_key
from notebook_code import notebook_config, notebook_constant, notebook_functions

TESTS = Path(__file__).resolve().parents[1]
M, S = 0.2, 0.5

SCRIPT = textwrap.dedent(r"""
    import json, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import tensorflow as tf
    from notebook_code import notebook_functions
    assert "torch" not in sys.modules
    nb = notebook_functions("book/ebm/ebm_mnist_tf.py", ["generate_samples", "sample_step"], {"tf": tf})
    x0 = np.load(sys.argv[2])["x0"]
    m, s = float(sys.argv[3]), float(sys.argv[4])
    energy = lambda x, training=False: tf.reduce_sum((x - m) ** 2, axis=[1, 2, 3]) / (2 * s**2)
    out = {}
    eager = nb["generate_samples"](energy, tf.constant(x0), 5, 0.05, 0.0, 0.03)
    graph = nb["sample_step"](energy, tf.constant(x0), tf.constant(5), tf.constant(0.05), tf.constant(0.0),
                              tf.constant(0.03))
    out["eager"] = eager.numpy().tolist()
    out["graph"] = graph.numpy().tolist()
    tf.random.set_seed(0)
    for beta in (1.0, 4.0):
        eta, s2, m2 = 0.001, 0.1, 0.1
        quad = lambda x, training=False: tf.reduce_sum((x - m2) ** 2, axis=[1, 2, 3]) / (2 * s2**2)
        start = tf.constant(np.full((16, 28, 28, 1), m2, dtype="float32"))
        x = nb["sample_step"](quad, start, tf.constant(300), tf.constant(eta), tf.constant((2 * eta / beta) ** 0.5),
                              tf.constant(1e9))
        out[f"beta{beta}"] = [float(tf.reduce_mean(x)), float(tf.math.reduce_variance(x)), float(tf.reduce_max(tf.abs(x)))]
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def tf_results(tmp_path_factory):
    rng = np.random.default_rng(0)
    x0 = rng.uniform(-0.9, 0.9, (3, 28, 28, 1)).astype("float32")
    path = tmp_path_factory.mktemp("tf") / "x0.npz"
    np.savez(path, x0=x0)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(TESTS), str(path), str(M), str(S)],
                          capture_output=True, text=True, cwd=TESTS.parent, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return x0, json.loads(proc.stdout.strip().splitlines()[-1])


def practical_steps(x, steps, eta, g_max):
    """eq. ebm-practical-langevin with sigma = 0, on E = sum (x - M)^2 / (2 S^2), in numpy."""
    for _ in range(steps):
        x = np.clip(x, -1, 1)
        grad = (x - M) / S**2
        x = np.clip(x - eta * np.clip(grad, -g_max, g_max), -1, 1)
    return x


def test_tf_sampler_is_the_practical_step(tf_results):
    x0, out = tf_results
    expected = practical_steps(x0.astype(np.float64), 5, 0.05, 0.03)
    assert np.allclose(out["eager"], expected, atol=1e-5)
    assert np.allclose(out["graph"], out["eager"], atol=1e-6)


def test_tf_sampler_equals_the_torch_notebooks_sampler(tf_results):
    x0, out = tf_results
    fn = notebook_functions("book/ebm/ebm_mnist_torch.py", ["langevin_negatives"], {"torch": torch, "nn": nn})
    energy = lambda x: ((x - M) ** 2).flatten(1).sum(1) / (2 * S**2)
    x_t = torch.from_numpy(x0).permute(0, 3, 1, 2)                          # (B, 1, 28, 28) for PyTorch
    got = fn["langevin_negatives"](energy, x_t, num_steps=5, step_size=0.05, noise=0.0, grad_clip=0.03)
    assert np.allclose(got.permute(0, 2, 3, 1).numpy(), out["graph"], atol=1e-5)


@pytest.mark.parametrize("beta", [1.0, 4.0])
def test_tf_sampler_samples_inverse_temperature_beta(tf_results, beta):
    _, out = tf_results
    mean, var, max_abs = out[f"beta{beta}"]
    s, m, eta = 0.1, 0.1, 0.001
    r = 1 - eta / s**2                                                       # noise first, then the gradient step
    expected = r**2 * (2 * eta / beta) / (1 - r**2)
    n = 16 * 784
    assert abs(mean - m) < 4 * math.sqrt(expected / n)
    assert abs(var / expected - 1) < 4 * math.sqrt(2 / n)
    assert max_abs < 1


NOTEBOOK_PY = "book/ebm/ebm_mnist_tf.py"
COMMITTED = sorted((TESTS.parent / "book/ebm/checkpoints").glob("ebm_mnist_tf-*.json"))

CHECKPOINT_SCRIPT = textwrap.dedent(r"""
    import json, sys
    from pathlib import Path
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import tensorflow as tf
    import keras
    from keras import layers
    import genmod
    from genmod.checkpoints import find_checkpoint
    from notebook_code import notebook_functions
    assert "torch" not in sys.modules
    nb = notebook_functions("book/ebm/ebm_mnist_tf.py", ["build_energy", "fixed_inputs", "read_weights"],
                            {"tf": tf, "keras": keras, "layers": layers, "np": np})
    meta = Path(sys.argv[2])
    record = json.loads(meta.read_text())
    config = genmod.Config(**record["config"])
    found = find_checkpoint(record["notebook"], config, folder=meta.parent)   # checks the SHA-256
    model = nb["read_weights"](nb["build_energy"](config), found.path)
    out = {"energies": model(nb["fixed_inputs"]()).numpy()[:, 0].tolist()}
    try:
        nb["read_weights"](nb["build_energy"](genmod.Config(**{**record["config"], "channels": 8})), found.path)
        out["wrong_size"] = "loaded"
    except ValueError as e:
        out["wrong_size"] = str(e)
    print(json.dumps(out))
""")


def test_the_checkpoint_is_committed():
    assert COMMITTED, "book/ebm/checkpoints/ebm_mnist_tf-*.json is missing: run the notebook to train it"


@pytest.mark.parametrize("scale", ["quick", "book", "full"])
def test_the_notebook_asks_for_the_committed_checkpoint(scale):
    config = notebook_config(NOTEBOOK_PY, scale=scale)
    keys = notebook_constant(NOTEBOOK_PY, "TRAIN_KEYS")
    long_config = genmod.Config(**{k: config.as_dict()[k] for k in keys}, num_updates=config.checkpoint_updates)
    assert {p.stem.split("-")[-1] for p in COMMITTED} == {config_key(long_config)}


@pytest.fixture(scope="module", params=COMMITTED, ids=lambda p: p.name)
def checkpoint_results(request):
    proc = subprocess.run([sys.executable, "-c", CHECKPOINT_SCRIPT, str(TESTS), str(request.param)],
                          capture_output=True, text=True, cwd=TESTS.parent, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(request.param.read_text()), json.loads(proc.stdout.strip().splitlines()[-1])


def test_checkpoint_reproduces_its_recorded_energies(checkpoint_results):
    record, out = checkpoint_results
    assert np.allclose(out["energies"], record["metrics"]["energy_fixed_inputs"], atol=1e-5)
    assert record["builder"] == "build_energy" and record["file"].endswith(".npz")
    assert record["config"]["num_updates"] == notebook_config(NOTEBOOK_PY).checkpoint_updates


def test_checkpoint_is_refused_by_an_energy_of_another_size(checkpoint_results):
    _, out = checkpoint_results
    assert out["wrong_size"] != "loaded", "weights of 16 channels must not load into an energy of 8"
