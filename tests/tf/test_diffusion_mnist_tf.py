"""book/diffusion/ddpm_mnist_tf, the Keras port of ddpm_mnist_torch: its U-Net, train_step,
samplers, TensorFlow ELBO and committed checkpoint.

The PyTorch references (genmod.diffusion and ddpm_mnist_torch's UNet on the same inputs) come from
tests/tf/fixtures/diffusion_mnist_tf.npz, which tests/diffusion/test_diffusion_tf_fixtures.py
writes and checks against a fresh computation.
"""

import math
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

import genmod
from genmod.checkpoints import MAX_COMMITTED_BYTES, find_checkpoint
from genmod.tfutils import load_weights
from notebook_code import notebook_config, notebook_functions

NB = "book/diffusion/ddpm_mnist_tf.py"
NAMES = ["checkpoint_config", "linear_alpha_bar", "build_unet", "DiffusionModel", "train_ddpm",
         "heldout_simple_loss", "ancestral_sample", "_ancestral", "ddim_sample", "_ddim",
         "log_normal_cdf", "discretized_log_likelihood", "denoising_kl", "elbo_terms"]
#: As in the fixture: the data N(0, s^2 I) of the sampler test.
DATA_STD = 0.5


@pytest.fixture(scope="module")
def reference(fixtures):
    with np.load(fixtures / "diffusion_mnist_tf.npz") as saved:
        return dict(saved)


@pytest.fixture(scope="module")
def nb():
    """The notebook's definitions, with its schedule arrays computed as its cells compute them."""
    config = notebook_config(NB, scale="book")
    ns = {"tf": tf, "keras": keras, "layers": layers, "np": np, "math": math, "time": time,
          "genmod": genmod, "config": config}
    notebook_functions(NB, ["linear_alpha_bar"], ns)
    N = config.num_diffusion_steps
    alpha_bar = ns["linear_alpha_bar"](N, config.noise_start, config.noise_end)
    alpha = np.concatenate([[1.0], alpha_bar[1:] / alpha_bar[:-1]])
    posterior_var = np.zeros(N + 1)
    posterior_var[2:] = (1 - alpha[2:]) * (1 - alpha_bar[1:-1]) / (1 - alpha_bar[2:])
    sigma2 = posterior_var.copy()
    sigma2[1] = 1 - alpha[1]
    schedule_tf = {name: tf.constant(values, tf.float32) for name, values in
                   (("alpha", alpha), ("alpha_bar", alpha_bar), ("sigma2", sigma2))}
    ns.update(N=N, alpha=alpha, alpha_bar=alpha_bar, posterior_var=posterior_var, sigma2=sigma2,
              schedule_tf=schedule_tf)
    return notebook_functions(NB, NAMES, ns)


def test_schedule_is_genmods(nb, reference):
    np.testing.assert_allclose(nb["alpha_bar"], reference["alpha_bar"], rtol=1e-12, atol=0)


def test_unet_is_the_torch_unet_in_keras(nb, reference):
    """Shapes, dependence on t, and the same number of parameters as ddpm_mnist_torch's UNet."""
    net = nb["build_unet"](nb["checkpoint_config"])
    x = tf.random.stateless_normal((3, 28, 28, 1), seed=[0, 0])
    assert tuple(net([x, tf.constant([1.0, 500.0, 1000.0])]).shape) == (3, 28, 28, 1)
    two_t = net([tf.repeat(x[:1], 2, axis=0), tf.constant([1.0, 1000.0])]).numpy()
    assert np.abs(two_t[0] - two_t[1]).max() > 1e-4, "the step t must change the prediction"
    assert net.count_params() == int(reference["unet_params"])


def test_tf_elbo_agrees_with_genmod_diffusion(nb, reference):
    """The notebook's TensorFlow ELBO (all three terms) equals genmod.diffusion's on the same inputs
    and draws. The noise predictor is a closed-form function (the same in both lanes), so that only
    the ELBO's formulas are compared: the prior-matching KL, the discretised decoder, and the
    denoising-matching KLs."""
    N, schedule_tf = nb["N"], nb["schedule_tf"]

    # eps(x_t, t) = 0.9 sqrt(1 - abar_t) x_t + 0.01 t / N
    def network(inputs, training=False):
        xt, t = inputs
        ab = tf.reshape(tf.gather(schedule_tf["alpha_bar"], tf.cast(t, tf.int32)), (-1, 1, 1, 1))
        return 0.9 * tf.sqrt(1 - ab) * xt + 0.01 * tf.reshape(t, (-1, 1, 1, 1)) / N

    x0 = reference["levels"].astype(np.float32) / 127.5 - 1
    draws = (reference["eps1"], reference["ts"], reference["eps_t"])
    out = nb["elbo_terms"](network, x0, len(reference["ts"]), draws=draws)
    for name in ("prior", "reconstruction", "denoising", "elbo"):
        np.testing.assert_allclose(out[name], reference[f"elbo_{name}"], rtol=1e-4, atol=1e-3,
                                   err_msg=name)
    assert np.all(out["denoising"] > 0) and np.all(out["reconstruction"] < 0)


def test_tf_decoder_agrees_with_genmod_in_the_far_tails(nb, reference):
    """The TensorFlow discretised Gaussian decoder (with its own log-CDF) equals genmod's where Phi
    underflows."""
    x0 = reference["levels"].astype(np.float32) / 127.5 - 1
    ll = nb["discretized_log_likelihood"](x0, x0 + reference["decoder_offset"], 0.01).numpy()
    assert np.all(np.isfinite(ll))
    np.testing.assert_allclose(ll, reference["decoder_ll"], rtol=1e-6)
    np.testing.assert_allclose(nb["log_normal_cdf"](reference["log_cdf_z"]).numpy(),
                               reference["log_cdf"], rtol=1e-9)


@pytest.mark.slow
def test_tf_samplers_on_gaussian_data(nb, reference):
    """With the exact noise predictor of Gaussian data N(0, s^2 I), the notebook's DDIM equals
    genmod's ddim_sample on the same start, a chain drawn in pieces is one chain, and both samplers
    draw data with standard deviation s (within Monte Carlo error)."""
    schedule_tf, N = nb["schedule_tf"], nb["N"]

    def network(inputs, training=False):            # E[eps | x_t] for x_0 ~ N(0, s^2 I)
        xt, t = inputs
        ab = tf.reshape(tf.gather(schedule_tf["alpha_bar"], tf.cast(t, tf.int32)), (-1, 1, 1, 1))
        return tf.sqrt(1 - ab) * xt / (ab * DATA_STD ** 2 + 1 - ab)

    ddim_start = nb["ddim_sample"](network, reference["xT"], 100).numpy()
    np.testing.assert_allclose(ddim_start, reference["ddim_x0"], rtol=1e-3, atol=1e-4)
    B = 2000
    xT = np.random.default_rng(2).standard_normal((B, 2, 2, 1)).astype("float32")
    ddim = nb["ddim_sample"](network, xT, 100).numpy()
    half = nb["ancestral_sample"](network, xT, N, 400, seed=5)
    pieces = nb["ancestral_sample"](network, half, 400, 0, seed=5).numpy()
    whole = nb["ancestral_sample"](network, xT, N, 0, seed=5).numpy()
    np.testing.assert_array_equal(pieces, whole)
    se = DATA_STD * math.sqrt(2 / (4 * B))                 # standard error of a standard deviation
    for name, x in (("ddim", ddim), ("ancestral", whole)):
        assert abs(x.std() - DATA_STD) < 4 * se + 0.01, (name, x.std())


@pytest.mark.slow
def test_training_lowers_the_simple_loss(nb):
    """A few steps of the notebook's train_step (through train_ddpm) lower the held-out simple loss
    of its EMA network."""
    (x_train, _), (x_test, _) = genmod.load_mnist(verbose=False)
    x0 = (x_train[:512].astype("float32") / 127.5 - 1)[..., None]
    x0_test = (x_test[:128].astype("float32") / 127.5 - 1)[..., None]
    settings = genmod.Config(**{**nb["checkpoint_config"].as_dict(), "num_train_steps": 30,
                                "ema_decay": 0.0, "batch_size": 32})
    model, history = nb["train_ddpm"](settings, x0, seed=0, log_every=10)
    before = nb["heldout_simple_loss"](nb["build_unet"](settings), x0_test, settings)
    after = nb["heldout_simple_loss"](model.ema_network, x0_test, settings)
    assert before > 0.5 and after < 0.7 * before, (before, after)
    assert history["step"] == [10, 20, 30]
    assert int(model.optimizer.iterations.numpy()) == 30


@pytest.mark.slow
def test_committed_checkpoint_reproduces_its_recorded_loss(nb):
    """The checkpoint the notebook loads exists for its configuration, loads into build_unet, and
    reproduces the held-out loss recorded in its provenance."""
    config = nb["checkpoint_config"]
    found = find_checkpoint("ddpm_mnist_tf", config)
    assert found is not None, "book/diffusion/checkpoints has no checkpoint for checkpoint_config"
    assert found.path.suffix == ".npz" and found.path.stat().st_size <= MAX_COMMITTED_BYTES
    record = found.provenance
    assert record["builder"] == "build_unet"
    assert record["history"]["step"][-1] == config.num_train_steps
    network = load_weights(nb["build_unet"](config), found.path)
    (_, _), (x_test, _) = genmod.load_mnist(verbose=False)
    x0_test = (x_test[:256].astype("float32") / 127.5 - 1)[..., None]
    loss = nb["heldout_simple_loss"](network, x0_test, config)
    assert loss == pytest.approx(record["metrics"]["heldout_simple_loss"], rel=1e-4)
    assert loss < 0.1, "the checkpoint should be a trained model"
