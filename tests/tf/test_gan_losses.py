r"""genmod.tfutils's GAN losses (the Keras notebooks' losses) against closed forms and genmod.gan.

With :math:`D = \sigmoid(\ell)` and :math:`\mathrm{BCE}(\ell, y) = \log(1 + e^\ell) - y\ell`:

- ``binary_cross_entropy_from_logits`` is that closed form, for labels in [0, 1], and the value
  of ``tf.keras.losses.BinaryCrossentropy(from_logits=True)``, which the notebooks used before;
- ``discriminator_loss`` is :math:`-\hat v(G, D)` (eq. gans-value-function), and
  ``generator_loss_nonsaturating`` is :math:`-\frac1B \sum_i \log D(G(\h_i))`
  (eq. gans-nonsaturating-loss); at :math:`D = \tfrac12` they are :math:`\log 4` and
  :math:`\log 2`;
- their gradients with respect to the logits are :math:`(D(\x_i) - 1)/B`, :math:`D(G(\h_i))/B`
  and :math:`-(1 - D(G(\h_i)))/B` (the chapter's logit gradients);
- they equal genmod.gan's PyTorch losses (the fixture tests/tf/fixtures/gan_losses.npz,
  written and checked by tests/gans/test_tf_fixtures.py), also for logits far in the tails,
  where they stay finite.
"""

import math

import numpy as np
import pytest
import tensorflow as tf

from genmod.tfutils import (binary_cross_entropy_from_logits, discriminator_loss,
                            generator_loss_nonsaturating)


def log1p_exp(l):
    """log(1 + e^l), stable for large |l|, in float64."""
    return np.logaddexp(0.0, np.asarray(l, dtype=np.float64))


@pytest.fixture(scope="module")
def reference(fixtures):
    with np.load(fixtures / "gan_losses.npz") as saved:
        return {key: saved[key] for key in saved.files}


@pytest.mark.parametrize("label", [0.0, 1.0, 0.3])
def test_bce_from_logits_is_the_closed_form(label):
    logits = np.linspace(-30, 30, 121).reshape(-1, 1)
    got = binary_cross_entropy_from_logits(tf.constant(logits), label).numpy()
    expected = np.mean(log1p_exp(logits) - label * logits)  # BCE(l, y) = log(1 + e^l) - y l
    assert got == pytest.approx(expected, rel=1e-12)


def test_bce_from_logits_equals_the_keras_loss_the_notebooks_used(reference):
    keras_bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    for logits in (reference["logits_real"][4:], reference["logits_fake"][4:]):
        logits = tf.constant(logits)
        for label in (0.0, 1.0):
            ours = binary_cross_entropy_from_logits(logits, label).numpy()
            theirs = keras_bce(tf.fill(tf.shape(logits), label), logits).numpy()
            assert ours == pytest.approx(theirs, rel=1e-6)


def test_bce_takes_a_label_tensor_per_sample():
    logits = tf.constant([[2.0], [-1.0], [0.5]], dtype=tf.float64)
    labels = tf.constant([[1.0], [0.0], [1.0]], dtype=tf.float64)
    expected = np.mean(log1p_exp([2.0, -1.0, 0.5]) - np.array([2.0, 0.0, 0.5]))
    assert binary_cross_entropy_from_logits(logits, labels).numpy() == pytest.approx(expected)


@pytest.mark.parametrize("shape", [(32, 1), (32,)])
def test_losses_at_an_undecided_discriminator_are_log_four_and_log_two(shape):
    undecided = tf.zeros(shape)  # l = 0: D = 1/2
    assert discriminator_loss(undecided, undecided).numpy() == pytest.approx(math.log(4), rel=1e-6)
    assert generator_loss_nonsaturating(undecided).numpy() == pytest.approx(math.log(2), rel=1e-6)


def test_losses_are_the_closed_forms_of_the_chapter(reference):
    l_real = reference["logits_real"].astype(np.float64)
    l_fake = reference["logits_fake"].astype(np.float64)
    # -mean log D(x) - mean log(1 - D(G(h))), with -log sigmoid(l) = log(1 + e^-l)
    d_closed = log1p_exp(-l_real).mean() + log1p_exp(l_fake).mean()
    g_closed = log1p_exp(-l_fake).mean()  # -mean log D(G(h))
    d_tf = discriminator_loss(tf.constant(l_real), tf.constant(l_fake)).numpy()
    g_tf = generator_loss_nonsaturating(tf.constant(l_fake)).numpy()
    assert d_tf == pytest.approx(d_closed, rel=1e-12)
    assert g_tf == pytest.approx(g_closed, rel=1e-12)


@pytest.mark.parametrize("dtype,rel", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_losses_equal_the_pytorch_losses_of_genmod_gan(reference, dtype, rel):
    """The fixture holds genmod.gan's values on the same logits, some at |l| = 40 and 90."""
    l_real = tf.constant(reference["logits_real"].astype(dtype))
    l_fake = tf.constant(reference["logits_fake"].astype(dtype))
    d_tf = discriminator_loss(l_real, l_fake).numpy()
    g_tf = generator_loss_nonsaturating(l_fake).numpy()
    assert np.isfinite(d_tf) and np.isfinite(g_tf)
    assert d_tf == pytest.approx(float(reference["discriminator_loss"]), rel=rel)
    assert g_tf == pytest.approx(float(reference["generator_loss_nonsaturating"]), rel=rel)
    # the saturating loss, log(1 - D(G(h))), is minus the cross-entropy with the label 0
    sat_tf = -binary_cross_entropy_from_logits(l_fake, 0.0).numpy()
    assert sat_tf == pytest.approx(float(reference["generator_loss_saturating"]), rel=rel)


def test_logit_gradients_are_the_chapters(reference):
    l_real = tf.Variable(reference["logits_real"].astype(np.float64))
    l_fake = tf.Variable(reference["logits_fake"].astype(np.float64))
    b = l_real.shape[0]
    with tf.GradientTape(persistent=True) as tape:
        l_d = discriminator_loss(l_real, l_fake)
        l_g = generator_loss_nonsaturating(l_fake)
    d_real = 1 / (1 + np.exp(-l_real.numpy()))
    d_fake = 1 / (1 + np.exp(-l_fake.numpy()))
    grad_real, grad_fake = tape.gradient(l_d, [l_real, l_fake])
    np.testing.assert_allclose(grad_real.numpy(), (d_real - 1) / b, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(grad_fake.numpy(), d_fake / b, rtol=1e-10, atol=1e-15)
    # the non-saturating loss: -(1 - D) / B, of order 1 / B where D rejects the fakes
    grad_g = tape.gradient(l_g, l_fake).numpy()
    np.testing.assert_allclose(grad_g, -(1 - d_fake) / b, rtol=1e-10, atol=1e-15)
    rejected = d_fake < 1e-3
    assert rejected.any() and np.all(grad_g[rejected] < -0.99 / b)
