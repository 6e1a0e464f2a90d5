r"""The conditional GAN of book/gans/cgan_mnist_tf.py: its networks, with genmod.tfutils's losses.

- the generator uses its label only as the text says: G(h, y) with the label embedding E equals
  G(h * E[y], y) with every embedding row set to ones, so the network sees h * e_y;
- the notebook's discriminator, trained on real pairs (x, y) against pairs (x', y) whose
  digit x' is drawn independently of the label (a generator that ignores its label), is held
  to the optimal conditional discriminator gans-conditional-optimal-discriminator: with
  p_r(x | y) = p_r(x) [class(x) = y] / p(y) and p_g(x | y) = p_r(x), D* = 1 / (1 + p(y)) on
  matching pairs and 0 on the others, and no discriminator's held-out loss can be below
  L_D* = sum_y p(y) [log(1 + p(y)) + p(y) log((1 + p(y)) / p(y))] (about 0.335 nats) in
  expectation. A few hundred steps do not reach D*, so the test checks what holds at any
  stage: the loss lies between L_D* and far below log 4; a fake whose digit happens to match
  its label is a real pair in distribution, so D gives such fakes the same mean as real pairs;
  the mismatched fakes are pushed towards D* = 0. The same network with the label withheld
  (a constant label) cannot do better than D = 1/2, L_D = log 4, since real and fake digits
  have the same marginal: the gain comes through the label embedding.

The losses themselves (genmod.tfutils, the notebook imports them) are tested in
test_gan_losses.py against closed forms and genmod.gan.
"""

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.keras import layers

from genmod.config import env_path
from genmod.tfutils import discriminator_loss
from notebook_code import notebook_functions

NOTEBOOK = "book/gans/cgan_mnist_tf.py"
ROOT = Path(__file__).resolve().parents[2]
NUM_TRAIN, EPOCHS, BATCH_SIZE = 4000, 5, 32


@pytest.fixture(scope="module")
def nb():
    """The notebook's constants and network builders, with small widths."""
    namespace = {"tf": tf, "layers": layers,
                 "config": SimpleNamespace(gen_filters=(8, 8, 4), disc_filters=(16, 32))}
    return notebook_functions(NOTEBOOK, ["noise_dim", "num_classes", "make_generator_model",
                                         "make_discriminator_model"], namespace)


@pytest.fixture(scope="module")
def mnist():
    """The offline MNIST arrays (GENMOD_MNIST, else ../shared/data/mnist-offline.npz)."""
    path = env_path("GENMOD_MNIST") or ROOT.parent / "shared" / "data" / "mnist-offline.npz"
    if not path.is_file():
        pytest.fail(f"offline MNIST not found at {path}: set GENMOD_MNIST")
    with np.load(path) as d:
        return {key: d[key] for key in ("x_train", "y_train", "x_test", "y_test")}


def test_generator_sees_the_noise_times_the_label_embedding(nb):
    assert nb["noise_dim"] == 100 and nb["num_classes"] == 10
    tf.keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    G = nb["make_generator_model"]((8, 8, 4))
    emb = G.get_layer("label_embedding")
    E = rng.normal(size=emb.get_weights()[0].shape).astype("float32")
    h = rng.normal(size=(20, nb["noise_dim"])).astype("float32")
    y = rng.integers(0, nb["num_classes"], size=20).astype("int32")
    emb.set_weights([E])
    with_embedding = G([h, y], training=False).numpy()
    same_h = G([np.repeat(h[:1], 10, axis=0), np.arange(10, dtype="int32")],
               training=False).numpy()
    emb.set_weights([np.ones_like(E)])
    product_fed = G([h * E[y], y], training=False).numpy()
    assert with_embedding.shape == (20, 28, 28, 1)
    # exact up to float32 rounding, against outputs of order 0.1-1
    assert np.abs(with_embedding).max() > 1e-2
    assert np.abs(with_embedding - product_fed).max() < 1e-5
    # and with a non-trivial embedding, the same h gives a different image for each class
    assert same_h.std(axis=0).mean() > 1e-3


def test_discriminator_gives_one_logit_per_pair(nb):
    D = nb["make_discriminator_model"]((16, 32))
    x = tf.zeros([5, 28, 28, 1])
    assert D([x, tf.range(5)], training=False).shape == (5, 1)


def optimal_conditional_loss(p_y):
    r"""L_D at D* for a generator that draws p_r(x) whatever the label (module docstring), nats."""
    p = np.asarray(p_y)
    return float(np.sum(p * (np.log1p(p) + p * np.log((1 + p) / p))))


def train_and_evaluate(nb, mnist, *, blind):
    """Train the notebook's D against a label-blind generator (real digits, shuffled labels)."""
    scale = lambda x: ((x.astype("float32") - 127.5) / 127.5)[..., None]
    x_tr, y_tr = scale(mnist["x_train"][:NUM_TRAIN]), mnist["y_train"][:NUM_TRAIN].astype("int32")
    x_te, y_te = tf.constant(scale(mnist["x_test"])), mnist["y_test"].astype("int32")
    tf.keras.utils.set_random_seed(1)
    D = nb["make_discriminator_model"]((16, 32))
    opt = tf.keras.optimizers.Adam(1e-3)
    label = (lambda y: tf.zeros_like(y)) if blind else tf.convert_to_tensor

    @tf.function
    def step(x, y, x_other):
        with tf.GradientTape() as tape:
            loss = discriminator_loss(D([x, label(y)], training=True),
                                      D([x_other, label(y)], training=True))
        opt.apply_gradients(zip(tape.gradient(loss, D.trainable_variables), D.trainable_variables))
        return loss

    order = np.random.default_rng(2)
    for _ in range(EPOCHS):
        perm, other = order.permutation(len(x_tr)), order.permutation(len(x_tr))
        for i in range(0, len(x_tr) - BATCH_SIZE + 1, BATCH_SIZE):
            batch, fakes = perm[i:i + BATCH_SIZE], other[i:i + BATCH_SIZE]
            step(x_tr[batch], y_tr[batch], x_tr[fakes])  # fakes: digits independent of y
    other = np.random.default_rng(3).permutation(len(x_te))
    l_real = D([x_te, label(y_te)], training=False)
    l_fake = D([tf.gather(x_te, other), label(y_te)], training=False)
    matched = y_te[other] == y_te
    d_fake = tf.sigmoid(l_fake).numpy()[:, 0]
    return {"loss": float(discriminator_loss(l_real, l_fake)),
            "d_real": float(tf.reduce_mean(tf.sigmoid(l_real))),
            "d_fake_matched": float(d_fake[matched].mean()),
            "d_fake_mismatched": float(d_fake[~matched].mean()),
            "p_y": np.bincount(y_te, minlength=10) / len(y_te)}


@pytest.fixture(scope="module")
def conditional(nb, mnist):
    return train_and_evaluate(nb, mnist, blind=False)


@pytest.fixture(scope="module")
def blind(nb, mnist):
    return train_and_evaluate(nb, mnist, blind=True)


@pytest.mark.slow
def test_conditional_discriminator_moves_towards_the_optimal_conditional_discriminator(conditional):
    r"""Eq. gans-conditional-optimal-discriminator on MNIST pairs, for a label-blind generator."""
    res = conditional
    l_star = optimal_conditional_loss(res["p_y"])
    assert l_star == pytest.approx(0.335, abs=0.01)  # p(y) close to 1/10: log(11/10) + log(11) / 10
    # the held-out loss of any fixed D is >= L_D* in expectation (2,000 pairs: noise ~0.02) ...
    assert res["loss"] > l_star - 0.05
    # ... and the label has taken it more than half way from the log 4 = 1.386 of a discriminator
    # that cannot use it down to L_D*
    assert res["loss"] < (math.log(4) + l_star) / 2
    # fakes that match their label are real pairs in distribution: the same mean D (about 200)
    assert res["d_fake_matched"] == pytest.approx(res["d_real"], abs=0.05)
    # mismatched fakes are pushed towards D* = 0, real pairs towards D* = 1 / (1 + p(y)) ~ 0.91
    assert res["d_fake_mismatched"] < 0.35
    assert res["d_real"] > 0.7


@pytest.mark.slow
def test_discriminator_without_the_label_cannot_beat_log_4(blind, conditional):
    r"""Same network, label withheld: real and fake digits have one marginal, so L_D* = log 4."""
    assert blind["loss"] > math.log(4) - 0.03
    assert blind["d_fake_matched"] == pytest.approx(blind["d_fake_mismatched"], abs=0.05)
    # with the label, the same network closes more than half the gap between the blind loss and L_D*
    l_star = optimal_conditional_loss(conditional["p_y"])
    assert conditional["loss"] < (blind["loss"] + l_star) / 2
