r"""genmod.ebm_eval (an RBM's log-likelihood from numpy arrays, in-process or in a subprocess; the
AUC of an energy and the moving average of the deep EBMs) and genmod.data.binarize (the binary
digits both RBM notebooks train on)."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from genmod.data import binarize
from genmod.rbm import free_energy, log_z_exact
from genmod.ebm_eval import auc_lower, rbm_log_likelihood, smooth


@pytest.fixture(scope="module")
def small_rbm():
    """A 40 x 10 RBM with structure (exact log Z over 2^10 hidden states) and binary data from it.
    """
    rng = np.random.default_rng(3)
    W = rng.normal(0, 0.4, size=(40, 10))
    a = rng.normal(0, 0.5, size=40)
    b = rng.normal(0, 0.5, size=10)
    x = (rng.uniform(size=(300, 40)) < 0.3).astype(np.float64)
    return W, a, b, x


@pytest.mark.slow
def test_log_likelihood_matches_the_exact_one_within_its_error(small_rbm):
    W, a, b, x = small_rbm
    result = rbm_log_likelihood(W, a, b, x, num_betas=1000, num_runs=200, seed=1)
    Wt, at, bt, xt = (torch.as_tensor(v) for v in (W, a, b, x))
    log_z = float(log_z_exact(Wt, at, bt))
    exact = float((-free_energy(xt, Wt, at, bt)).mean()) - log_z
    assert abs(result["log_z"] - log_z) < 3 * result["log_z_se"] + 1e-9, (result, log_z)
    assert result["log_z_se"] < 0.05, "1,000 temperatures on so small an RBM should pin log Z down"
    # the data spread enters the reported se too: it is at least the se of the mean of -F over
    # the rows
    spread = float((-free_energy(xt, Wt, at, bt)).std()) / math.sqrt(len(x))
    assert result["log_likelihood_se"] >= spread
    assert abs(result["log_likelihood"] - exact) == pytest.approx(abs(result["log_z"] - log_z),
                                                                  abs=1e-9)
    assert (result["num_betas"], result["num_runs"], result["num_vectors"]) == (1000, 200, 300)


@pytest.mark.slow
def test_the_subprocess_path_gives_the_same_numbers(small_rbm, tmp_path):
    """What a TensorFlow process gets (the command line, in a fresh process) equals the
    in-process result."""
    W, a, b, x = small_rbm
    here = rbm_log_likelihood(W, a, b, x, base_a=np.full(40, -0.5), num_betas=200, num_runs=20,
                              seed=7)
    np.savez(tmp_path / "rbm.npz", W=W, a=a, b=b, x=x, base_a=np.full(40, -0.5))
    run = subprocess.run([sys.executable, "-m", "genmod.ebm_eval", str(tmp_path / "rbm.npz"),
                          str(tmp_path / "out.json"),
                          "--num-betas", "200", "--num-runs", "20", "--seed", "7"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    there = json.loads((tmp_path / "out.json").read_text())
    assert there == pytest.approx(here, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("bad, message", [
    (dict(x=np.full((5, 40), 0.5)), "binary"),
    (dict(x=np.zeros((5, 39))), r"\(N, 40\)"),
    (dict(b=np.zeros(9)), "need W"),
    (dict(base_a=np.zeros(3)), "base_a"),
])
def test_bad_input_is_refused_with_a_clear_error(small_rbm, bad, message):
    W, a, b, x = small_rbm
    args = dict(W=W, a=a, b=b, x=x, base_a=None) | bad
    with pytest.raises(ValueError, match=message):
        rbm_log_likelihood(args["W"], args["a"], args["b"], args["x"], base_a=args["base_a"],
                           num_betas=20, num_runs=2)


def test_binarize_draws_each_pixel_with_its_grey_level():
    grey = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    images = np.repeat(np.pad(grey, ((0, 0), (6, 6), (6, 6))), 4000, axis=0)    # (4000, 28, 28)
    bits = binarize(images, seed=0)
    assert bits.dtype == np.float32 and bits.shape == (4000, 784)
    assert set(np.unique(bits)) == {0.0, 1.0}
    p = np.pad(grey[0], 6).reshape(-1) / 255.0
    se = np.sqrt(p * (1 - p) / 4000) + 1e-12
    z = (bits.mean(0) - p) / se
    assert np.all(bits[:, p == 0] == 0) and np.all(bits[:, p == 1] == 1)
    assert np.abs(z[(p > 0) & (p < 1)]).max() < 5.0, "frequencies of 1 must match grey / 255"
    np.testing.assert_array_equal(bits, binarize(images, seed=0))  # one fixed draw per seed
    assert not np.array_equal(bits, binarize(images, seed=1))


@pytest.mark.parametrize("images",
                         [np.zeros((3, 28, 28), np.float32), np.zeros((3, 784), np.uint8)])
def test_binarize_refuses_what_load_mnist_does_not_return(images):
    with pytest.raises(ValueError, match="uint8 digits of shape"):
        binarize(images, seed=0)


def test_auc_lower_is_the_mann_whitney_probability():
    """P(E_in < E_out) over all pairs, ties half: checked against a count by hand and a closed form.
    """
    assert auc_lower([0.0, 1.0], [2.0, 3.0]) == 1.0
    assert auc_lower([2.0, 3.0], [0.0, 1.0]) == 0.0
    # pairs (in, out): (0,1) <, (0,0) tie, (2,1) >, (2,0) > : (1 + 0.5) / 4
    assert auc_lower([0.0, 2.0], [1.0, 0.0]) == pytest.approx(0.375)
    # two unit normals a distance 1 apart: AUC = Phi(1 / sqrt 2)
    rng = np.random.default_rng(0)
    auc = auc_lower(rng.normal(0, 1, 4000), rng.normal(1, 1, 4000))
    assert auc == pytest.approx(0.5 * (1 + math.erf(0.5)), abs=0.01)
    with pytest.raises(ValueError, match="non-empty"):
        auc_lower([], [1.0])


def test_smooth_is_the_moving_average():
    values = np.arange(12, dtype=float) ** 2
    out = smooth(values, width=3)
    assert out.shape == (10,)
    np.testing.assert_allclose(out, [values[t:t + 3].mean() for t in range(10)])
    np.testing.assert_allclose(smooth(values[:4], width=10), [values[:4].mean()])
    np.testing.assert_allclose(smooth(values, width=1), values)
