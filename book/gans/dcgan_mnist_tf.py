# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A deep convolutional GAN on MNIST (TensorFlow/Keras)
#
# We train the deep convolutional GAN (DCGAN) of the TensorFlow tutorial "Deep
# Convolutional Generative Adversarial Network" on MNIST: a generator that grows
# a noise vector into a $28 \times 28$ digit with transposed convolutions, and a
# convolutional discriminator, trained together with `tf.GradientTape` in one
# compiled training step. We follow the game through its losses and the
# discriminator's outputs, watch a fixed batch of noise turn into digits, and
# score the final generator with the maximum mean discrepancy and the book's
# MNIST judge.
#
# ```{admonition} Learning goals
# :class: tip
#
# After this notebook you can
#
# - build the DCGAN generator (dense layer, reshape, transposed convolutions
#   with batch normalisation, $\tanh$ output) and discriminator (strided
#   convolutions, leaky ReLUs, dropout, one logit) as Keras `Sequential` models,
#   and follow the image shapes through them;
# - write the discriminator's loss, minus the value function
#   {eq}`gans-value-function`, and the generator's non-saturating loss
#   {eq}`gans-nonsaturating-loss` with a binary cross-entropy on logits;
# - write a GAN training step with two `tf.GradientTape`s and two optimizers in
#   a `@tf.function`;
# - read the training curves against the values at the optimum
#   ({eq}`gans-optimal-discriminator`, {eq}`gans-loss-at-optimum`), and evaluate
#   samples with the MMD {eq}`gans-mmd` and a Fréchet distance
#   {eq}`gans-frechet`, each next to its real-versus-real value.
# ```
#
# The mathematics is in {doc}`theory`. The fully connected GAN of
# {doc}`gan_mnist_torch` plays the same game with PyTorch; compare its samples
# with the ones below.

# %% tags=["hide-input"]
# Setup: install the book's helper package when it is missing (Colab, Binder).
import importlib.util, subprocess, sys
REPO_URL = "https://github.com/genmod-book/genmod-book"
# this notebook's name: its artifacts and checkpoints are filed under it
NOTEBOOK = "dcgan_mnist_tf"
if importlib.util.find_spec("genmod") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    f"genmod @ git+{REPO_URL}.git#subdirectory=code"],
                   check=True)

import math
import time

import matplotlib.pyplot as plt
import numpy as np

import genmod
from genmod import pick
# genmod.tfutils first: it sets TensorFlow's log level (never torch here)
from genmod.tfutils import describe_device, seed_everything
import tensorflow as tf
from tensorflow.keras import layers
# the judge is a PyTorch classifier: judge_samples runs it in a subprocess
from genmod.judge import judge_samples
from genmod.metrics import mmd2_against_real
from genmod.plotting import gan_curves, image_grid, samples_and_classes

print(f"scale: {genmod.get_scale()}")
# TensorFlow places the work on a GPU by itself when it sees one
device = describe_device()
seed_everything(0)
(x_train, y_train), (x_test, y_test) = genmod.load_mnist()  # prints its source

# %% [markdown]
# Every number that changes with the scale sits in the next cell. The `full`
# values are the tutorial's: 50 epochs over the 60,000 training digits in
# batches of 256, generator widths (256, 128, 64), discriminator widths
# (64, 128), and Adam with learning rate $\eta = 10^{-4}$ and Keras's default
# `beta_1=0.9`. The `book` values, and why they differ, are discussed in
# [](gans-dcgan-differences) at the end.

# %%
config = genmod.Config(
    # training digits used
    num_train=pick(quick=2000, book=len(x_train), full=len(x_train)),
    # passes over those digits
    num_epochs=pick(quick=1, book=15, full=50),
    # real digits per minibatch (and as many generated)
    batch_size=pick(quick=32, book=32, full=256),
    # channels after the dense layer and the two hidden transposed convolutions
    gen_filters=pick(quick=(32, 16, 8), book=(64, 32, 16), full=(256, 128, 64)),
    # channels of the discriminator's two convolutions
    disc_filters=pick(quick=(32, 64), book=(64, 128), full=(64, 128)),
    # Adam learning rate, both networks
    lr=pick(quick=2e-4, book=2e-4, full=1e-4),
    # Adam's first-moment decay, both networks
    beta_1=pick(quick=0.5, book=0.5, full=0.9),
    # epochs whose fixed-noise samples we show
    selected_epochs=pick(quick=[1], book=[1, 2, 4, 8, 15],
                         full=[1, 5, 10, 25, 50]),
    # generated digits for the evaluation
    num_samples=pick(quick=500, book=2000, full=10_000),
    # digits per set in each MMD estimate (at most half the test set)
    num_mmd=pick(quick=250, book=1000, full=1000),
)

# %% [markdown]
# ## Data: digits in $[-1, 1]$
#
# The generator ends in $\tanh$, whose outputs lie in $(-1, 1)$, so the grey
# levels $0, \dots, 255$ of the real digits are mapped to $[-1, 1]$ by
# $x \mapsto (x - 127.5) / 127.5$; otherwise the discriminator could tell real
# from generated digits by their range alone. Images keep their shape
# $28 \times 28 \times 1$ (height, width, channels), the layout Keras
# convolutions expect. A `tf.data` pipeline shuffles them (a buffer at least as
# large as the data set gives a full random permutation each epoch) and cuts
# them into minibatches.
#
# This notebook runs on whatever MNIST `genmod.load_mnist` found; the line
# printed by the setup cell says which. Offline, that is a subset of 8,000
# training digits, not the tutorial's 60,000: an epoch is then 250 minibatches
# of 32 digits.

# %%
# the tutorial's shuffle buffer: >= the number of digits, a full permutation
buffer_size = 60_000
train_images = x_train[:config.num_train].reshape(-1, 28, 28, 1)
train_images = train_images.astype("float32")
train_images = (train_images - 127.5) / 127.5  # [0, 255] => [-1, 1]
train_dataset = (tf.data.Dataset.from_tensor_slices(train_images)
                 .shuffle(buffer_size).batch(config.batch_size))
print(f"training digits: {train_images.shape}, pixel range "
      f"[{train_images.min():.0f}, {train_images.max():.0f}], "
      f"{len(train_dataset)} minibatches per epoch")

# %% [markdown]
# ## The generator
#
# The generator $G$ maps a noise vector $\h \sim \ph = \N(0, \I)$ in
# $\R^{d_h}$, $d_h = 100$ (the tutorial's `noise_dim`), to an image. A dense layer turns $\h$ into $7 \times 7$ feature
# maps; two transposed convolutions with stride 2 then double the resolution
# twice, $7 \to 14 \to 28$, while the number of channels falls, and a final
# $\tanh$ puts the pixels in $(-1, 1)$. Between the layers sit batch
# normalisation and leaky ReLUs, as recommended for DCGANs by Radford et al.
# {cite}`radford2016`. A transposed convolution with stride 2 is the
# gradient of a convolution with stride 2: each input pixel paints a weighted
# $5 \times 5$ patch into an output twice as large. The widths
# (channels) come from `gen_filters`; the shape comments give them at the
# tutorial's widths.

# %%
noise_dim = 100  # d_h, the dimension of the noise h, as in the tutorial


def make_generator_model(filters=config.gen_filters):
    """Generator G: noise h (B, 100) => images (B, 28, 28, 1) in (-1, 1)."""
    f0, f1, f2 = filters
    model = tf.keras.Sequential(name="generator")
    model.add(layers.Input(shape=(noise_dim,)))
    model.add(layers.Dense(7 * 7 * f0, use_bias=False))  # 100 => 7*7*256
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Reshape((7, 7, f0)))  # 12544 => 7x7x256
    assert model.output_shape == (None, 7, 7, f0)

    model.add(layers.Conv2DTranspose(f1, (5, 5), strides=(1, 1),
                                     padding="same", use_bias=False))
    assert model.output_shape == (None, 7, 7, f1)  # 7x7x256 => 7x7x128
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Conv2DTranspose(f2, (5, 5), strides=(2, 2),
                                     padding="same", use_bias=False))
    assert model.output_shape == (None, 14, 14, f2)  # 7x7x128 => 14x14x64
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Conv2DTranspose(1, (5, 5), strides=(2, 2),
                                     padding="same", use_bias=False,
                                     activation="tanh"))
    assert model.output_shape == (None, 28, 28, 1)  # 14x14x64 => 28x28x1
    return model


generator = make_generator_model()
generator.summary()

# %% [markdown]
# ## The discriminator
#
# The discriminator is a small convolutional classifier. Two convolutions with
# stride 2 halve the resolution twice, $28 \to 14 \to 7$, each followed by a
# leaky ReLU and dropout with rate 0.3 (which keeps the discriminator from
# memorising the training digits and from winning the game too early); a dense
# layer then gives one number per image. That number is a **logit**
# $\ell(\x)$, not a probability: the discriminator's probability that $\x$ is
# real is $D(\x) = \sigmoid(\ell(\x))$, with $\sigmoid$ the logistic sigmoid, and
# the losses below take the logit directly, which is numerically safer than
# taking the logarithm of a sigmoid.

# %%
def make_discriminator_model(filters=config.disc_filters):
    """Discriminator: images (B, 28, 28, 1) in [-1, 1] => logits l(x) (B, 1).

    D(x) = sigmoid(l(x)) is the probability that x is real.
    """
    f0, f1 = filters
    model = tf.keras.Sequential(name="discriminator")
    model.add(layers.Input(shape=(28, 28, 1)))
    # 28x28x1 => 14x14x64
    model.add(layers.Conv2D(f0, (5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))

    # 14x14x64 => 7x7x128
    model.add(layers.Conv2D(f1, (5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))

    model.add(layers.Flatten())  # 7x7x128 => 6272
    model.add(layers.Dense(1))   # => one logit
    return model


discriminator = make_discriminator_model()
discriminator.summary()

# %% [markdown]
# A quick check before training: a batch of noise goes through $G$ to images
# in $(-1, 1)$ and through the discriminator to logits. Untrained, the logits
# are near 0, so $D(G(\h)) \approx \tfrac12$: the discriminator cannot yet
# tell anything apart.

# %%
h = tf.random.normal([8, noise_dim])            # h ~ N(0, I), (8, 100)
x_fake = generator(h, training=False)           # G(h), (8, 28, 28, 1)
logits = discriminator(x_fake, training=False)  # l(G(h)), (8, 1)
print(f"h {tuple(h.shape)} => G(h) {tuple(x_fake.shape)} in "
      f"[{x_fake.numpy().min():.3f}, {x_fake.numpy().max():.3f}] "
      f"=> logits {tuple(logits.shape)}, "
      f"mean D(G(h)) = {tf.reduce_mean(tf.sigmoid(logits)).numpy():.3f}")

# %% [markdown]
# ## The losses
#
# With the binary cross-entropy of a logit $\ell$ and a label $y$,
# $\mathrm{BCE}(\ell, y) = -\left[y \log \sigmoid(\ell) + (1 - y) \log(1 - \sigmoid(\ell))\right]$,
# the discriminator's loss on a minibatch of $B$ real digits $\x_i$ and $B$
# generated digits $G(\h_i)$ is
#
# $$
# \mathcal{L}_D = \frac1B \sum_i \mathrm{BCE}(\ell(\x_i), 1) + \frac1B \sum_i \mathrm{BCE}(\ell(G(\h_i)), 0)
#     = -\frac1B \sum_i \left[\log D(\x_i) + \log\left(1 - D(G(\h_i))\right)\right],
# $$
#
# minus the minibatch estimate of the value function {eq}`gans-value-function`:
# descending $\mathcal{L}_D$ ascends $v$, as the discriminator should in the minimax
# game {eq}`gans-minimax`. The generator is trained on the non-saturating loss
# {eq}`gans-nonsaturating-loss`, the cross-entropy of its digits with the
# label "real",
#
# $$
# \mathcal{L}_G^{\mathrm{ns}} = \frac1B \sum_i \mathrm{BCE}(\ell(G(\h_i)), 1) = -\frac1B \sum_i \log D(G(\h_i)).
# $$
#
# At the global optimum $\pg = \pr$, the best discriminator is
# $D^* = \tfrac12$ everywhere {eq}`gans-optimal-discriminator`, a logit of 0.
# There $\mathcal{L}_D = 2 \log 2 = \log 4 \approx 1.386$ nats (that is $-v$ at the value
# $-\log 4$ of {eq}`gans-loss-at-optimum`) and $\mathcal{L}_G^{\mathrm{ns}} = \log 2 \approx 0.693$
# nats.
#
# The Keras notebooks of this part share these losses, so they live in the
# book's package, in `genmod.tfutils`, beside the PyTorch ones of `genmod.gan`
# that {doc}`gan_1d_torch` introduced (a test holds the two equal). Here is
# their code; the cross-entropy works on logits
# (`tf.nn.sigmoid_cross_entropy_with_logits`), which stays finite where
# $\sigmoid(\ell)$ rounds to 0 or 1.

# %%
from genmod.tfutils import (binary_cross_entropy_from_logits,
                            discriminator_loss, generator_loss_nonsaturating)

genmod.show_source(binary_cross_entropy_from_logits)
genmod.show_source(discriminator_loss)
genmod.show_source(generator_loss_nonsaturating)

# %% [markdown]
# The cell below checks both values at the optimum on logits of 0.

# %%
undecided = tf.zeros([config.batch_size, 1])  # logits of D* = 1/2
l_d = discriminator_loss(undecided, undecided).numpy()
l_g = generator_loss_nonsaturating(undecided).numpy()
print(f"at D = 1/2: L_D = {l_d:.4f} (log 4 = {math.log(4):.4f}), "
      f"L_G = {l_g:.4f} (log 2 = {math.log(2):.4f})")

# %% [markdown]
# ## The training step
#
# Each network has its own Adam optimizer, so a step on one leaves the other's
# parameters alone. One training step draws a fresh batch of noise, generates
# digits, scores the real and the generated digits with the discriminator, and
# records both losses on two gradient tapes; each tape then gives the
# gradient of its own loss with respect to its own network's weights. Both
# networks are thus updated once per minibatch, both from the same forward pass
# and applied together: a **simultaneous** update, as in the TensorFlow tutorial.
# It is not the alternating update of Goodfellow et al.'s Algorithm 1
# {cite}`goodfellow2014` (with $n_D = 1$), in which the generator's step uses
# the discriminator *after* its update; on the bilinear game of the theory
# chapter ({eq}`gans-bilinear-updates`) the two schemes behave differently, the
# simultaneous one spiralling outwards. The
# decorator `@tf.function` traces the Python function once into a TensorFlow
# graph, which then runs without the Python interpreter in the loop. The step
# also returns the mean of $D(\x)$ and of $D(G(\h))$, the sigmoid of the
# logits, to watch the game.

# %%
generator_optimizer = tf.keras.optimizers.Adam(learning_rate=config.lr,
                                               beta_1=config.beta_1)
discriminator_optimizer = tf.keras.optimizers.Adam(learning_rate=config.lr,
                                                   beta_1=config.beta_1)


@tf.function
def train_step(images):
    """One update of both networks on real digits (B, 28, 28, 1).

    Returns L_G, L_D, mean D(x) and mean D(G(h)).
    """
    # h ~ N(0, I); the last batch may be short
    noise = tf.random.normal([tf.shape(images)[0], noise_dim])

    with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
        generated_images = generator(noise, training=True)  # G(h)
        real_output = discriminator(images, training=True)  # logits l(x)
        # logits l(G(h))
        fake_output = discriminator(generated_images, training=True)

        gen_loss = generator_loss_nonsaturating(fake_output)      # L_G^ns
        disc_loss = discriminator_loss(real_output, fake_output)  # L_D = -v

    g_vars = generator.trainable_variables
    d_vars = discriminator.trainable_variables
    gradients_of_generator = gen_tape.gradient(gen_loss, g_vars)
    gradients_of_discriminator = disc_tape.gradient(disc_loss, d_vars)

    generator_optimizer.apply_gradients(zip(gradients_of_generator, g_vars))
    discriminator_optimizer.apply_gradients(
        zip(gradients_of_discriminator, d_vars))

    d_real = tf.reduce_mean(tf.sigmoid(real_output))  # mean D(x)
    d_fake = tf.reduce_mean(tf.sigmoid(fake_output))  # mean D(G(h))
    return gen_loss, disc_loss, d_real, d_fake


# %% [markdown]
# ## Training
#
# We record, per epoch, the mean of both losses and of the discriminator's
# outputs on real and generated digits, and keep the images that a *fixed*
# batch of 16 noise vectors (the tutorial's `seed`) produces at the selected
# epochs, so that we can watch the same latent points turn into digits. The
# first epoch includes the time to trace `train_step`. While tracing,
# TensorFlow may print a `remapper failed` message: one of its graph
# optimisations (fusing a convolution with its activation) does not apply
# here and is skipped; the result is unaffected.

# %%
num_examples_to_generate = 16
# the same h at every epoch
seed = tf.random.normal([num_examples_to_generate, noise_dim])
history = {"gen_loss": [], "disc_loss": [], "d_real": [], "d_fake": []}
epoch_samples = {}

start = time.perf_counter()
for epoch in range(1, config.num_epochs + 1):
    epoch_start = time.perf_counter()
    step_values = [train_step(batch) for batch in train_dataset]
    epoch_means = np.mean(np.array(step_values), axis=0)
    for key, value in zip(history, epoch_means):
        history[key].append(float(value))
    if epoch in config.selected_epochs:
        # (16, 28, 28, 1) in (-1, 1)
        epoch_samples[epoch] = generator(seed, training=False).numpy()
    print(f"epoch {epoch:2d}/{config.num_epochs}"
          f" | L_G {history['gen_loss'][-1]:.3f}"
          f"  L_D {history['disc_loss'][-1]:.3f}"
          f" | D(x) {history['d_real'][-1]:.3f}"
          f"  D(G(h)) {history['d_fake'][-1]:.3f}"
          f" | {time.perf_counter() - epoch_start:.1f} s")
train_time = time.perf_counter() - start
print(f"training time: {train_time:.0f} s on {device}")
genmod.glue("train_minutes", train_time / 60)
genmod.glue("d_real_final", history["d_real"][-1])
genmod.glue("d_fake_final", history["d_fake"][-1])

# %%
gan_curves(history["gen_loss"], history["disc_loss"], history["d_real"],
           history["d_fake"])
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** Training curves, averaged over each epoch. (a) The generator's
# loss $\mathcal{L}_G^{\mathrm{ns}}$ and the discriminator's loss $\mathcal{L}_D$; the dotted lines are their
# values at the global optimum, $\log 2$ and $\log 4$. (b) The discriminator's
# mean output $D = \sigmoid(\ell)$ on real digits and on generated digits; the
# dotted line is $D^* = \tfrac12$. The outputs are taken in training mode,
# with dropout active, on the minibatches of each step.
#
# Neither loss goes to zero, and they do not fall together: this is a game,
# not a minimisation (see {doc}`theory`). At the `book` scale, in the first
# epoch the discriminator wins easily, with $D(\x)$ high and $D(G(\h))$ low.
# Then the generator catches up and the two settle into a stalemate in which
# the discriminator keeps a small edge: $D(\x)$ stays above $\tfrac12$ and
# $D(G(\h))$ below, $\mathcal{L}_D$ below $\log 4$ and
# $\mathcal{L}_G^{\mathrm{ns}}$ above $\log 2$. In this run the last epoch
# ended at $D(\x) =$ {glue:text}`d_real_final:.3f` and
# $D(G(\h)) =$ {glue:text}`d_fake_final:.3f`. The edge says that
# $\pg \neq \pr$ yet, but the curves cannot say how good the samples are; for
# that we look at the samples and measure them.

# %%
num_shown = len(config.selected_epochs)
fig, axes = plt.subplots(1, num_shown, figsize=(2.2 * num_shown, 2.5),
                         squeeze=False)
for ax, epoch in zip(axes[0], config.selected_epochs):
    image_grid(epoch_samples[epoch], nrow=4, ax=ax, title=f"epoch {epoch}",
               value_range=(-1, 1))
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** Images the generator makes from the same 16 noise vectors $\h$
# after the selected epochs. After one epoch the generator draws grey smudges
# with the rough outline of a digit; dark strokes appear within a few epochs,
# and later epochs join them into digit shapes. A given $\h$ may change its digit
# between epochs: nothing ties a point of the noise space to a class while the
# discriminator keeps moving the target.

# %% [markdown]
# ## Evaluation
#
# We draw `num_samples` digits from the trained generator (in inference mode:
# batch normalisation uses its running statistics) and map them back to
# $[0, 1]$ by $x \mapsto (x + 1)/2$. Two measures compare them with real test
# digits, which the generator never saw:
#
# - the unbiased squared MMD {eq}`gans-mmd` in pixel space, with a Gaussian
#   kernel, between `num_mmd` generated and `num_mmd` test digits. An
#   estimate means something only next to its noise floor, so we also
#   compute it (`genmod.metrics.mmd2_against_real`) between two disjoint sets of `num_mmd` test digits, with the
#   same kernel: the bandwidth $\sigma_\kappa$ is the median pairwise distance
#   between real digits;
# - the book's MNIST judge (`genmod.judge`): the Fréchet distance
#   {eq}`gans-frechet` between the judge's features of the samples and of the
#   test digits, next to the same distance for as many real training digits;
#   the histogram of the judge's predicted classes (are all ten digits
#   there?); and the judge's mean confidence, a rough sharpness score in the
#   spirit of the Inception score {cite}`salimans2016`. The judge is a small
#   PyTorch classifier; `judge_samples` runs it in a separate process, so this
#   notebook never imports PyTorch next to TensorFlow.

# %%
noise = tf.random.normal([config.num_samples, noise_dim])  # h ~ N(0, I)
# (n, 28, 28, 1) in (-1, 1)
generated = generator.predict(noise, batch_size=500, verbose=0)
# (n, 28, 28) in [0, 1]
samples = np.clip((generated[..., 0] + 1) / 2, 0, 1).astype(np.float32)

# (n_test, 784) in [0, 1]
x_test01 = x_test.reshape(len(x_test), -1).astype(np.float32) / 255.0
# eq. gans-mmd, one kernel for both values
mmd = mmd2_against_real(samples, x_test01, num_samples=config.num_mmd)
print(f"MMD^2 (Gaussian kernel, bandwidth {mmd['mmd_bandwidth']:.2f}, "
      f"{config.num_mmd} vs {config.num_mmd} digits):")
print(f"  generated vs test digits: {mmd['mmd2_generated_vs_real']:.2e}")
print(f"  test vs test digits:      {mmd['mmd2_real_vs_real']:.2e}"
      "   (the noise floor)")

# %%
scores = judge_samples(samples)  # prints Fréchet distance, classes, confidence
genmod.glue("frechet", scores["frechet_distance"])
genmod.glue("frechet_real", scores["real_frechet_distance"])
genmod.glue("classes_present", scores["classes_with_2pct"])
genmod.glue("confidence", scores["mean_confidence"])
genmod.glue("mmd2", mmd["mmd2_generated_vs_real"])
genmod.glue("mmd2_floor", mmd["mmd2_real_vs_real"])

# %%
samples_and_classes(samples, scores["class_histogram"], reference=y_test)
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** (a) The first 100 of the generated digits. (b) The fraction of
# generated digits that the judge assigns to each class, beside the true class
# frequencies of the test digits; the dotted line marks 2 %, the share a class
# needs to count as present.
#
# At the `book` scale the digits come in all ten classes and most are
# recognisable, but their strokes are thick and sometimes broken, and some
# shapes belong to no class: after a few thousand steps the generator is far
# from the clean digits of the tutorial's 50-epoch run. The numbers agree.
# In this run the Fréchet distance is {glue:text}`frechet:.0f`, against
# {glue:text}`frechet_real:.0f` for real digits; the pixel-space MMD$^2$,
# {glue:text}`mmd2:.1e`, is well above its real-versus-real floor
# {glue:text}`mmd2_floor:.1e`; and the judge's mean confidence,
# {glue:text}`confidence:.2f`, is below 1: it hesitates between classes on
# the malformed digits. The class histogram tells how evenly the generator
# covers the ten modes of the data (here {glue:text}`classes_present` classes
# hold at least 2 % of the digits); a generator that had *collapsed* onto a
# few digits would leave classes empty here. Compare the samples with the
# fully connected generator of {doc}`gan_mnist_torch`: convolutions build in
# which pixels are neighbours, which a fully connected generator has to
# learn.
#
# Finally we save the samples and the metrics for the book's comparison of all
# models.

# %%
# the configuration is saved whole beside them
metrics = {**mmd, **scores, "train_time_s": train_time}
folder = genmod.save_artifacts(NOTEBOOK, samples, metrics, kind="images",
                               value_range=(0, 1), config=config,
                               device=device)
print(f"saved {len(samples)} samples and {len(metrics)} metrics to {folder}")

# %% [markdown]
# (gans-dcgan-differences)=
# ## What differs from the tutorial
#
# The `full` scale is the tutorial's run: 50 epochs over the 60,000 MNIST
# training digits with batches of 256 (about 11,700 steps per network),
# generator widths (256, 128, 64), discriminator widths (64, 128), and Adam
# with learning rate $\eta = 10^{-4}$ and `beta_1=0.9` for both networks. On one
# GPU it takes minutes; on a 2-core CPU it would take hours. The `book` scale
# keeps the architecture family (every layer, kernel size, stride,
# normalisation and activation), the losses and the training step, and
# changes the following:
#
# | setting | tutorial (`full`) | `book` |
# |---|---|---|
# | training digits | 60,000 | 8,000 offline (all 60,000 online) |
# | epochs | 50 | 15 |
# | batch size | 256 | 32 |
# | gradient steps per network | about 11,700 | 3,750 (offline) |
# | generator widths | (256, 128, 64) | (64, 32, 16) |
# | discriminator widths | (64, 128) | (64, 128) |
# | Adam | $\eta = 10^{-4}$, `beta_1=0.9` | $\eta = 2 \times 10^{-4}$, `beta_1=0.5` |
#
# The generator is four times narrower in every layer, which makes it about
# fifteen times cheaper (see the exercise on cost below), while the
# discriminator keeps the tutorial's widths. In our trial runs (one seed
# each, so only a rough guide) a discriminator of widths (32, 64) gave worse
# digits; a (64, 64) discriminator trained for more epochs at the same cost,
# and a generator twice as wide trained for fewer epochs, scored about the
# same as the `book` setting. Smaller batches give more gradient steps for
# the same arithmetic. The larger learning rate with `beta_1=0.5` is the
# setting of the DCGAN paper, whose authors found that the default
# `beta_1=0.9` made training oscillate {cite}`radford2016`. Without a GPU
# the `full` scale still trains on the digits that `genmod.load_mnist` found
# (offline: 8,000, so about 1,600 steps). The tutorial also saves a
# checkpoint every 15 epochs and an animated GIF of the fixed-noise samples;
# here the samples of the selected epochs stay in memory. Results on a GPU
# may differ from CPU results in the last digits, and a GAN's scores
# vary noticeably with the random seed: treat the numbers above as one draw.
#
# ## Summary
#
# - A DCGAN builds both networks from convolutions: the generator grows a
#   noise vector into an image with a dense layer and transposed convolutions
#   ($7 \to 14 \to 28$ pixels), the discriminator shrinks an image to one logit
#   with strided convolutions.
# - The two losses are binary cross-entropies on logits: $\mathcal{L}_D$ labels real
#   digits 1 and generated digits 0 (minus the value function
#   {eq}`gans-value-function`), $\mathcal{L}_G^{\mathrm{ns}}$ labels generated digits 1 (the
#   non-saturating loss {eq}`gans-nonsaturating-loss`). Two gradient tapes in
#   one `@tf.function` update both networks from one forward pass.
# - The losses settle near, not at, their values at the optimum ($\log 4$ and
#   $\log 2$); samples from a fixed noise batch and metrics next to their
#   real-versus-real values say more about the generator than the losses do.
# - Even a narrowed DCGAN, trained here for {glue:text}`train_minutes:.1f`
#   minutes, draws digits that the judge finds in
#   {glue:text}`classes_present` of the ten classes, at a Fréchet distance of
#   {glue:text}`frechet:.0f` (real digits: {glue:text}`frechet_real:.0f`);
#   clean digits take the tutorial's longer run.
#
# ## Exercises
#
# ```{exercise}
# :label: gans-ex-dcgan-mnist-tf-saturating
# Replace the generator's loss by the saturating loss $\mathcal{L}_G^{\mathrm{sat}}$
# {eq}`gans-saturating-loss` of the minimax game {eq}`gans-minimax`, that is, minimise $\frac1B \sum_i \log(1 - D(G(\h_i)))$.
# Write it with `binary_cross_entropy_from_logits` in one line, train at
# `book` settings, and
# compare $D(G(\h))$ in the first epochs and the samples with the
# non-saturating run. Explain the difference with the derivative of each
# loss with respect to the discriminator's logit.
# ```
#
# ```{solution} gans-ex-dcgan-mnist-tf-saturating
# :class: dropdown
# Since $\mathrm{BCE}(\ell, 0) = -\log(1 - \sigmoid(\ell))$, the saturating loss
# is `-binary_cross_entropy_from_logits(fake_output, 0.0)`, used in
# `train_step` in place of `generator_loss_nonsaturating(fake_output)`. Its
# derivative with respect to the logit $\ell$ of a
# generated digit is $-\sigmoid(\ell) = -D(G(\h))$, which vanishes when the
# discriminator rejects the generated digits with confidence, exactly what it
# learns to do in the first steps. The generator then gets little gradient:
# $D(G(\h))$ stays near 0 and the samples stay smudges for longer, or for the
# whole run (how long depends on the seed). The non-saturating loss has
# derivative $-(1 - D(G(\h))) \approx -1$ in the same situation, so the
# generator learns at once (see {doc}`theory`).
# ```
#
# ```{exercise}
# :label: gans-ex-dcgan-mnist-tf-cost
# A convolution with a $5 \times 5$ kernel from $C_\mathrm{in}$ to
# $C_\mathrm{out}$ channels does $25\, C_\mathrm{in} C_\mathrm{out}$
# multiply-adds per pixel of its *output*; a transposed
# convolution, the gradient of a convolution, does the same per pixel of
# its *input*. Count the multiply-adds per digit of the generator and of
# the discriminator at the tutorial's widths and at the `book` widths. Which
# layers dominate, and why does narrowing every layer of the generator four
# times make it about fifteen times cheaper rather than sixteen?
# ```
#
# ```{solution} gans-ex-dcgan-mnist-tf-cost
# :class: dropdown
# Generator, tutorial widths: dense $100 \cdot 12{,}544 = 1.25$ M; first
# transposed convolution $7 \cdot 7 \cdot 25 \cdot 256 \cdot 128 = 40.1$ M;
# second $7 \cdot 7 \cdot 25 \cdot 128 \cdot 64 = 10.0$ M; last
# $14 \cdot 14 \cdot 25 \cdot 64 \cdot 1 = 0.31$ M; in total 51.7 M. The
# cell below counts every layer at both widths. The layers between two
# hidden widths shrink by $4 \cdot 4 = 16$, but the dense layer (from the
# fixed 100 noise dimensions) and the last layer (to the single output
# channel) shrink only by 4, so the generator as a whole shrinks about 15
# times. In both networks the layer between the two widest feature maps
# dominates. A training step runs the discriminator twice (real and
# generated digits) and the generator once, forward and backward, so at
# `book` widths most of the time goes to the discriminator.
# ```

# %% tags=["hide-input"]
def multiply_adds(gen_filters, disc_filters):
    """Multiply-adds per digit of each layer: (generator, discriminator)."""
    f0, f1, f2 = gen_filters
    k = 5 * 5  # kernel
    generator_layers = [noise_dim * 7 * 7 * f0,  # dense
                        # transposed convolutions, per *input* pixel
                        7 * 7 * k * f0 * f1, 7 * 7 * k * f1 * f2,
                        14 * 14 * k * f2 * 1]
    d0, d1 = disc_filters
    # convolutions, per *output* pixel; then the dense layer
    disc_layers = [14 * 14 * k * 1 * d0, 7 * 7 * k * d0 * d1, 7 * 7 * d1]
    return generator_layers, disc_layers


widths = {"tutorial": ((256, 128, 64), (64, 128)),
          "book": ((64, 32, 16), (64, 128))}
totals = {}
for name, (g_filters, d_filters) in widths.items():
    g, d = multiply_adds(g_filters, d_filters)
    totals[name] = sum(g)
    print(f"{name:8s} generator: "
          + " + ".join(f"{m / 1e6:.2f}" for m in g)
          + f" = {sum(g) / 1e6:.2f} M; discriminator: "
          + " + ".join(f"{m / 1e6:.3f}" for m in d)
          + f" = {sum(d) / 1e6:.2f} M")
print(f"the generator is {totals['tutorial'] / totals['book']:.1f} times "
      "cheaper at book widths")

# %% [markdown]
# ```{exercise}
# :label: gans-ex-dcgan-mnist-tf-frozen-generator
# Freeze the trained generator and train the discriminator alone for a few
# epochs (a training step that updates only the discriminator). What happens
# to $D(\x)$, $D(G(\h))$ and $\mathcal{L}_D$, and what would they converge to if the
# generator were perfect? What does this say about the trained generator?
# ```
#
# ```{solution} gans-ex-dcgan-mnist-tf-frozen-generator
# :class: dropdown
# With the generator frozen, training the discriminator is ordinary binary
# classification between real and generated digits, and it approaches the
# optimal discriminator {eq}`gans-optimal-discriminator` for this fixed $\pg$,
# within its capacity: $D(\x)$ rises, $D(G(\h))$ falls, and $\mathcal{L}_D$ drops
# clearly below $\log 4$, because the generated digits can still be told
# from real ones. For a perfect generator, $\pg = \pr$, the best
# discriminator is $D^* = \tfrac12$ everywhere and $\mathcal{L}_D$ cannot fall below
# $\log 4$ (in expectation). By {eq}`gans-loss-at-optimum`, $\log 4 - \mathcal{L}_D$ at
# the optimum is $2\,\JS{\pr}{\pg}$, so how far $\mathcal{L}_D$ falls is a lower-bound
# estimate of twice the Jensen–Shannon divergence. Measure $\mathcal{L}_D$ on held-out
# digits, and with dropout off, since a discriminator can also overfit.
# ```
#
# ## References
#
# The model and the training loop follow the TensorFlow tutorial "Deep
# Convolutional Generative Adversarial Network"; the architecture is that of
# Radford et al. {cite}`radford2016`. The GAN and its non-saturating loss are
# from {cite}`goodfellow2014`, with practical advice in
# {cite}`goodfellow2016nips`. The MMD is from {cite}`gretton2012`, the
# Fréchet distance as a GAN metric from {cite}`heusel2017`, and the idea of
# scoring samples with a classifier from {cite}`salimans2016`.
#
# ```{bibliography}
# :filter: docname in docnames
# ```
