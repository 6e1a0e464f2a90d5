r"""The DCGAN of book/gans/dcgan_mnist_tf.py: its networks, its training step and its cost exercise.

The losses it trains with are genmod.tfutils's (tested in test_gan_losses.py against closed
forms and genmod.gan); here:

- the generator maps noise h (B, 100) to images (B, 28, 28, 1) in (-1, 1) (tanh), at any widths,
  and the discriminator gives one logit per image;
- ``train_step`` returns the losses of eqs. gans-nonsaturating-loss and gans-value-function on the
  logits of the step's own batch: with both optimizers at learning rate 0 and the networks in a
  deterministic state (no dropout), its L_D and L_G equal genmod.tfutils's losses recomputed on
  the same real digits and the same noise;
- the exercise's count of multiply-adds per digit gives the solution's 51.7 M for the tutorial's
  generator, and about 15 (not 16) times fewer at the ``book`` widths.
"""

from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.keras import layers

from genmod.tfutils import discriminator_loss, generator_loss_nonsaturating
from notebook_code import notebook_functions

NOTEBOOK = "book/gans/dcgan_mnist_tf.py"


@pytest.fixture(scope="module")
def nb():
    namespace = {"tf": tf, "layers": layers,
                 "config": SimpleNamespace(gen_filters=(8, 8, 4), disc_filters=(8, 16))}
    return notebook_functions(NOTEBOOK, ["noise_dim", "make_generator_model",
                                         "make_discriminator_model", "multiply_adds"], namespace)


@pytest.mark.parametrize("filters", [(8, 8, 4), (16, 8, 4)])
def test_generator_maps_noise_to_images_in_the_tanh_range(nb, filters):
    tf.keras.utils.set_random_seed(0)
    G = nb["make_generator_model"](filters)
    x = G(tf.random.normal([6, nb["noise_dim"]]) * 50.0, training=False).numpy()
    assert nb["noise_dim"] == 100
    assert x.shape == (6, 28, 28, 1)
    assert np.all(np.abs(x) <= 1.0)


def test_discriminator_gives_one_logit_per_image(nb):
    D = nb["make_discriminator_model"]((8, 16))
    assert D(tf.zeros([5, 28, 28, 1]), training=False).shape == (5, 1)


def test_train_step_returns_the_losses_of_its_own_batch(nb):
    tf.keras.utils.set_random_seed(1)
    generator = nb["make_generator_model"]((8, 8, 4))
    discriminator = nb["make_discriminator_model"]((8, 16))
    # no dropout, so that the step's forward pass can be repeated exactly
    for layer in discriminator.layers:
        if isinstance(layer, layers.Dropout):
            layer.rate = 0.0
    noise = tf.random.normal([16, nb["noise_dim"]], seed=3)

    class FixedNoise:
        """TensorFlow, except that tf.random.normal gives the noise above."""
        random = SimpleNamespace(normal=lambda shape: noise)

        def __getattr__(self, name):
            return getattr(tf, name)

    namespace = {"tf": FixedNoise(), "noise_dim": nb["noise_dim"], "generator": generator,
                 "discriminator": discriminator,
                 "generator_loss_nonsaturating": generator_loss_nonsaturating,
                 "discriminator_loss": discriminator_loss,
                 "generator_optimizer": tf.keras.optimizers.SGD(0.0),
                 "discriminator_optimizer": tf.keras.optimizers.SGD(0.0)}
    step = notebook_functions(NOTEBOOK, ["train_step"], namespace)["train_step"]
    images = tf.random.uniform([16, 28, 28, 1], -1.0, 1.0, seed=2)
    gen_loss, disc_loss, d_real, d_fake = (float(v) for v in step(images))
    real = discriminator(images, training=True)
    fake = discriminator(generator(noise, training=True), training=True)
    assert gen_loss == pytest.approx(float(generator_loss_nonsaturating(fake)), rel=1e-5)
    assert disc_loss == pytest.approx(float(discriminator_loss(real, fake)), rel=1e-5)
    assert d_real == pytest.approx(float(tf.reduce_mean(tf.sigmoid(real))), rel=1e-5)
    assert d_fake == pytest.approx(float(tf.reduce_mean(tf.sigmoid(fake))), rel=1e-5)


def test_multiply_adds_of_the_cost_exercise(nb):
    gen, disc = nb["multiply_adds"]((256, 128, 64), (64, 128))
    assert sum(gen) == 100 * 12_544 + 49 * 25 * (256 * 128 + 128 * 64) + 196 * 25 * 64
    assert sum(gen) / 1e6 == pytest.approx(51.7, abs=0.05)
    assert sum(disc) / 1e6 == pytest.approx(10.4, abs=0.05)
    gen_book, _ = nb["multiply_adds"]((64, 32, 16), (64, 128))
    assert sum(gen_book) / 1e6 == pytest.approx(3.53, abs=0.01)
    assert 14 < sum(gen) / sum(gen_book) < 16
