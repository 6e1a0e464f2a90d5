r"""book/vae/vae_mnist_tf: its Keras VAE's loss, sampling layer and training step.

The notebook's own ``Sampling`` layer and ``VAE`` model, taken from its .py, checked in the
TensorFlow lane (no torch in this process):

- ``VAE.negative_elbo`` is the Bernoulli negative log-likelihood summed over the pixels plus
  the closed-form KL divergence to N(0, I) (eq. vae-gaussian-kl-standard), batch means in
  nats; both terms equal genmod.vae's PyTorch values (the fixture
  tests/tf/fixtures/vae_mnist_tf.npz, written and checked by tests/vae/test_tf_fixtures.py)
  and numpy closed forms;
- ``Sampling`` is the reparameterization h = mu + exp(log sigma^2 / 2) eps
  (eq. vae-reparameterization): its draws have the requested mean and variance, and its
  gradients with respect to mu and log sigma^2 are 1 and (h - mu) / 2;
- ``train_step`` and ``test_step`` report the three running means under the keys the notebook
  reads ("loss", "reconstruction_loss", "kl_loss", and "val_..." from ``fit``), with
  loss = reconstruction + KL, and a few steps lower the loss.
"""

from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf
import keras
from keras import layers, ops

from notebook_code import notebook_functions

NOTEBOOK = "book/vae/vae_mnist_tf.py"
NUM_SE = 5.0  # Monte Carlo tolerance in standard errors


@pytest.fixture(scope="module")
def notebook():
    return notebook_functions(NOTEBOOK, ["Sampling", "VAE"],
                              {"keras": keras, "layers": layers, "ops": ops, "tf": tf})


@pytest.fixture(scope="module")
def reference(fixtures):
    with np.load(fixtures / "vae_mnist_tf.npz") as saved:
        return {key: saved[key] for key in saved.files}


def test_negative_elbo_is_bernoulli_nll_plus_closed_form_kl(notebook, reference):
    a = reference
    fake = SimpleNamespace(encoder=lambda data: (tf.constant(a["mu"]), tf.constant(a["logvar"]),
                                                 tf.constant(a["h"])),
                           decoder=lambda z: tf.constant(a["probs"]))
    total, rec, kl = (float(t) for t in notebook["VAE"].negative_elbo(fake, tf.constant(a["x"])))
    # genmod.vae (PyTorch, float64): -E log p(x|h) and KL(q || N(0, I)), batch means
    assert rec == pytest.approx(-a["log_likelihood"].mean(), rel=1e-5)  # float32 sums of 784
    assert kl == pytest.approx(a["kl"].mean(), rel=1e-5)
    assert total == pytest.approx(rec + kl, rel=1e-6)
    # and the closed forms, in numpy
    x, p = a["x"].astype(np.float64), a["probs"].astype(np.float64)
    nll = -(x * np.log(p) + (1 - x) * np.log1p(-p)).sum(axis=(1, 2, 3)).mean()
    mu, logvar = a["mu"].astype(np.float64), a["logvar"].astype(np.float64)
    kl_closed = (-0.5 * (1 + logvar - mu**2 - np.exp(logvar))).sum(axis=1).mean()
    assert rec == pytest.approx(nll, rel=1e-5)
    assert kl == pytest.approx(kl_closed, rel=1e-5)


def test_sampling_draws_the_requested_gaussian_and_is_differentiable(notebook):
    n = 50_000
    mean = np.array([[1.0, -2.0]], np.float32)
    log_var = np.log(np.array([[0.25, 2.0]], np.float32))
    z_mean = tf.Variable(np.repeat(mean, n, 0))
    z_log_var = tf.Variable(np.repeat(log_var, n, 0))
    with tf.GradientTape(persistent=True) as tape:
        h = notebook["Sampling"](seed=0)([z_mean, z_log_var])
        total = tf.reduce_sum(h)
    h_np = h.numpy().astype(np.float64)
    var = np.exp(log_var[0].astype(np.float64))
    se_mean = np.sqrt(var / n)
    assert (np.abs(h_np.mean(0) - mean[0]) < NUM_SE * se_mean).all()
    se_var = var * np.sqrt(2.0 / (n - 1))  # standard error of a Gaussian sample variance
    assert (np.abs(h_np.var(0, ddof=1) - var) < NUM_SE * se_var).all()
    # h = mu + exp(log_var / 2) eps: dh/dmu = 1, dh/dlog_var = (h - mu) / 2
    np.testing.assert_allclose(tape.gradient(total, z_mean).numpy(), 1.0)
    np.testing.assert_allclose(tape.gradient(total, z_log_var).numpy(),
                               (h.numpy() - z_mean.numpy()) / 2, rtol=1e-5, atol=1e-6)


def _tiny_vae(notebook, latent_dim=2):
    """The notebook's VAE around a small dense encoder and decoder (with its Sampling layer)."""
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Dense(8, activation="relu")(layers.Flatten()(inputs))
    z_mean, z_log_var = layers.Dense(latent_dim)(x), layers.Dense(latent_dim)(x)
    z = notebook["Sampling"](seed=0)([z_mean, z_log_var])
    encoder = keras.Model(inputs, [z_mean, z_log_var, z])
    latent = keras.Input(shape=(latent_dim,))
    probs = layers.Reshape((28, 28, 1))(layers.Dense(784, activation="sigmoid")(latent))
    decoder = keras.Model(latent, probs)
    vae = notebook["VAE"](encoder, decoder)
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2))
    return vae


@pytest.mark.slow  # builds and trains a Keras model
def test_train_and_test_steps_report_the_elbo_terms(notebook):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    data = (rng.uniform(size=(256, 28, 28, 1)) < 0.2).astype(np.float32)
    vae = _tiny_vae(notebook)
    before = vae.evaluate(data, batch_size=128, verbose=0, return_dict=True)
    assert set(before) == {"loss", "reconstruction_loss", "kl_loss"}
    assert before["loss"] == pytest.approx(before["reconstruction_loss"] + before["kl_loss"],
                                           rel=1e-3)
    history = vae.fit(data, epochs=3, batch_size=64, validation_data=(data,), verbose=0)
    keys = {"loss", "reconstruction_loss", "kl_loss"}
    assert keys | {"val_" + k for k in keys} <= set(history.history)
    after = vae.evaluate(data, batch_size=128, verbose=0, return_dict=True)
    assert after["loss"] < before["loss"] - 1.0, "a few Adam steps lower the negative ELBO"
    assert after["kl_loss"] >= 0.0
