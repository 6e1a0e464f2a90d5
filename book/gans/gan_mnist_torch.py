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
# # A fully connected GAN on MNIST (PyTorch)
#
# We train the simplest generative adversarial network that makes digits: a
# generator and a discriminator with one hidden layer each, playing the
# minimax game of {doc}`theory` on MNIST, following the PyTorch example of
# Raschka, Liu and Mirjalili {cite}`raschka2022` (chapter 17). We watch the
# game through its losses and the discriminator's outputs, look at samples
# from a fixed batch of noise as training goes on, and score the final
# generator with the maximum mean discrepancy and the book's MNIST judge.
#
# ```{admonition} Learning goals
# :class: tip
#
# After this notebook you can
#
# - write a generator (noise to image, $\tanh$ output) and a discriminator
#   (image to probability, sigmoid output) as small PyTorch networks;
# - train them in alternation with the binary cross-entropy: the
#   discriminator on real (label 1) and generated (label 0) digits, which
#   ascends the value function {eq}`gans-value-function`, and the generator on
#   the non-saturating loss {eq}`gans-nonsaturating-loss`;
# - read GAN training curves: why neither loss goes to zero, and what
#   $D(\x) \approx D(G(\h)) \approx \tfrac12$ would mean
#   ({eq}`gans-optimal-discriminator`, {eq}`gans-loss-at-optimum`);
# - evaluate samples with the unbiased MMD {eq}`gans-mmd` and a Fréchet
#   distance {eq}`gans-frechet`, each next to its real-versus-real value.
# ```
#
# The mathematics is in {doc}`theory`. A convolutional GAN in Keras is
# {doc}`dcgan_mnist_tf`.

# %% tags=["hide-input"]
# Setup: install the book's helper package when it is missing (Colab, Binder).
import importlib.util, subprocess, sys
REPO_URL = "https://github.com/genmod-book/genmod-book"
# this notebook's name: its artifacts and checkpoints are filed under it
NOTEBOOK = "gan_mnist_torch"
if importlib.util.find_spec("genmod") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    f"genmod @ git+{REPO_URL}.git#subdirectory=code"],
                   check=True)

import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

import genmod
from genmod import pick
from genmod.judge import judge_samples
from genmod.metrics import mmd2_against_real
from genmod.plotting import gan_curves, image_grid, samples_and_classes
from genmod.torchutils import get_device, images_to_tensor, seed_everything

print(f"scale: {genmod.get_scale()}")
device = get_device()
seed_everything(0)
(x_train, y_train), (x_test, y_test) = genmod.load_mnist()  # prints its source

# %%
# Configuration: every number that changes with the scale.
# `full` is the reference run of Raschka et al. (2022), ch. 17: 100 epochs over
# the 60,000 training digits, one hidden layer of 100 units in each network,
# uniform noise, Adam with PyTorch's default settings (lr 1e-3,
# betas=(0.9, 0.999)). `book` differs in two places, to get recognisable digits
# of all classes from the 8,000 offline digits in a few CPU minutes: 256 hidden
# units instead of 100, and standard normal instead of uniform noise.
config = genmod.Config(
    # training digits used
    num_train=pick(quick=2000, book=len(x_train), full=len(x_train)),
    # passes over those digits
    num_epochs=pick(quick=1, book=100, full=100),
    # digits per minibatch (real and fake alike)
    batch_size=pick(quick=64, book=64, full=64),
    # d_h, the dimension of the noise h (z in Raschka et al.)
    z_size=pick(quick=20, book=20, full=20),
    # noise prior p_h: N(0, I) or uniform on [-1, 1]^d_h
    mode_z=pick(quick="normal", book="normal", full="uniform"),
    # hidden layers in each network
    num_hidden_layers=pick(quick=1, book=1, full=1),
    # units per hidden layer of the generator and of the discriminator
    gen_hidden_units=pick(quick=256, book=256, full=100),
    disc_hidden_units=pick(quick=256, book=256, full=100),
    # Adam learning rate, both networks
    lr=pick(quick=1e-3, book=1e-3, full=1e-3),
    # epochs whose fixed-noise samples we show
    selected_epochs=pick(quick=[1], book=[1, 2, 5, 10, 30, 100],
                         full=[1, 2, 4, 10, 50, 100]),
    # generated digits for the evaluation
    num_samples=pick(quick=100, book=2000, full=10_000),
    # digits per set in each MMD estimate (at most half the test set)
    num_mmd=pick(quick=100, book=1000, full=1000),
)

# %% [markdown]
# ## Data: digits in $[-1, 1]$
#
# The generator will end in $\tanh$, whose outputs lie in $(-1, 1)$, so the real
# digits are mapped from grey levels in $[0, 1]$ to $[-1, 1]$ by $x \mapsto 2x - 1$;
# otherwise the discriminator could tell real from fake by the range of the
# pixel values alone. Each digit is flattened to a vector $\x \in \R^{784}$.
#
# This notebook runs on whatever MNIST `genmod.load_mnist` found; the line
# printed by the setup cell says which. Offline, that is a subset of 8,000
# training digits, not the 60,000 of the full training set used by the
# reference run: an epoch is then 125 minibatches of 64 digits instead of 937,
# so 100 epochs here make about 13 % of the reference run's gradient steps.

# %%
# (n, 784) in [-1, 1]
x_real_all = images_to_tensor(x_train[:config.num_train], value_range=(-1, 1),
                              flatten=True)
train_loader = DataLoader(TensorDataset(x_real_all),
                          batch_size=config.batch_size, shuffle=True,
                          drop_last=True)
print(f"training digits: {tuple(x_real_all.shape)}, pixel range "
      f"[{x_real_all.min():.0f}, {x_real_all.max():.0f}], "
      f"{len(train_loader)} minibatches per epoch")

# %% [markdown]
# ## The two networks
#
# Both networks are multilayer perceptrons built by a factory function, as in
# {cite}`raschka2022`. The **generator** $G$ maps a noise vector $\h \in \R^{d_h}$
# to an image (Raschka et al. call the noise $\mathbf{z}$, hence `z_size` for $d_h$,
# `mode_z` and `fixed_z` in the code): hidden layers of linear maps and leaky ReLUs, then a linear
# layer to 784 outputs and $\tanh$. The **discriminator** $D$ maps an image to
# the probability that it is real: hidden layers of linear maps, leaky ReLUs
# and dropout with rate $\tfrac12$ (a regulariser that keeps $D$ from
# memorising the few thousand training digits and from winning the game too
# early), then one output unit with a sigmoid. As in the reference code, the
# discriminator's hidden linear layers have no bias.

# %%
def make_generator_network(input_size=20, num_hidden_layers=1,
                           num_hidden_units=100, num_output_units=784):
    """Generator G: noise (B, input_size) -> images (B, 784) in (-1, 1)."""
    model = nn.Sequential()
    for i in range(num_hidden_layers):
        model.add_module(f"fc_g{i}",
                         nn.Linear(input_size, num_hidden_units))
        model.add_module(f"relu_g{i}", nn.LeakyReLU())
        input_size = num_hidden_units
    model.add_module(f"fc_g{num_hidden_layers}",
                     nn.Linear(input_size, num_output_units))
    model.add_module("tanh_g", nn.Tanh())
    return model


def make_discriminator_network(input_size=784, num_hidden_layers=1,
                               num_hidden_units=100, num_output_units=1):
    """Discriminator D: images (B, 784) in [-1, 1] -> probabilities (B, 1)."""
    model = nn.Sequential()
    for i in range(num_hidden_layers):
        model.add_module(f"fc_d{i}",
                         nn.Linear(input_size, num_hidden_units, bias=False))
        model.add_module(f"relu_d{i}", nn.LeakyReLU())
        model.add_module(f"dropout_d{i}", nn.Dropout(p=0.5))
        input_size = num_hidden_units
    model.add_module(f"fc_d{num_hidden_layers}",
                     nn.Linear(input_size, num_output_units))
    model.add_module("sigmoid", nn.Sigmoid())
    return model


# %%
generator = make_generator_network(
    input_size=config.z_size, num_hidden_layers=config.num_hidden_layers,
    num_hidden_units=config.gen_hidden_units).to(device)
discriminator = make_discriminator_network(
    input_size=784, num_hidden_layers=config.num_hidden_layers,
    num_hidden_units=config.disc_hidden_units).to(device)
print(generator)
print(discriminator)
for name, net in (("generator", generator), ("discriminator", discriminator)):
    num_parameters = sum(p.numel() for p in net.parameters())
    print(f"{name}: {num_parameters:,} parameters")

# %% [markdown]
# The noise prior $\ph$ is either uniform on $[-1, 1]^{d_h}$ (the reference run) or
# the standard normal $\N(0, \I)$ (this notebook at `book` scale). A quick shape
# check: a batch of noise goes through $G$ to images in $(-1, 1)$, and through
# $D$ to probabilities in $(0, 1)$. Untrained, $D$ outputs about $\tfrac12$ for
# everything.

# %%
def create_noise(batch_size, z_size, mode_z, device="cpu"):
    """Noise h ~ p_h, (batch_size, z_size): uniform on [-1, 1] or N(0, I)."""
    if mode_z == "uniform":
        # U[-1, 1]
        return torch.rand(batch_size, z_size, device=device) * 2 - 1
    if mode_z == "normal":
        return torch.randn(batch_size, z_size, device=device)  # N(0, I)
    raise ValueError(
        f"mode_z must be 'uniform' or 'normal', got {mode_z!r}")


with torch.no_grad():
    h = create_noise(config.batch_size, config.z_size, config.mode_z,
                     device)            # (B, d_h)
    x_fake = generator(h)               # (B, 784)
    d_fake = discriminator(x_fake)      # (B, 1)
print(f"h {tuple(h.shape)} -> G(h) {tuple(x_fake.shape)} in "
      f"[{x_fake.min():.2f}, {x_fake.max():.2f}]"
      f" -> D(G(h)) {tuple(d_fake.shape)}, mean {d_fake.mean():.3f}")

# %% [markdown]
# ## The training step
#
# Written with the binary cross-entropy
# $\mathrm{BCE}(r, y) = -\left[y \log r + (1 - y) \log(1 - r)\right]$ of a probability $r$ and a label $y$, the
# discriminator's loss on a minibatch of $B$ real digits $\x_i$ and $B$
# generated digits $G(\h_i)$ is
#
# $$
# \mathcal{L}_D = \frac1B \sum_i \mathrm{BCE}(D(\x_i), 1) + \frac1B \sum_i \mathrm{BCE}(D(G(\h_i)), 0)
#     = -\frac1B \sum_i \left[\log D(\x_i) + \log\left(1 - D(G(\h_i))\right)\right],
# $$
#
# minus the minibatch estimate of the value function {eq}`gans-value-function`:
# descending $\mathcal{L}_D$ ascends $v$, as the inner player of {eq}`gans-minimax` should.
# The generator is then trained on the non-saturating loss
# {eq}`gans-nonsaturating-loss`, the cross-entropy of $D(G(\h))$ with the label
# "real",
#
# $$
# \mathcal{L}_G^{\mathrm{ns}} = \frac1B \sum_i \mathrm{BCE}(D(G(\h_i)), 1) = -\frac1B \sum_i \log D(G(\h_i)),
# $$
#
# on a fresh batch of noise. We alternate one step of each ($n_D = 1$, $k = 1$ in
# Goodfellow et al.'s Algorithm 1 {cite}`goodfellow2014`), each with its own
# Adam optimizer, so a step on one network leaves the other's parameters alone.
#
# If the game reached its global optimum $\pg = \pr$, the best discriminator
# would output $D^* = \tfrac12$ everywhere {eq}`gans-optimal-discriminator`, and
# the two losses would be $\mathcal{L}_D = 2 \log 2 \approx 1.386$ (the value
# $v = -\log 4$ of {eq}`gans-loss-at-optimum`) and $\mathcal{L}_G^{\mathrm{ns}} = \log 2 \approx 0.693$.
# These are the reference lines in the training curves below.

# %%
loss_fn = nn.BCELoss()
g_optimizer = torch.optim.Adam(generator.parameters(), lr=config.lr)
d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=config.lr)


def d_train(x_real):
    """One discriminator step on a real batch (B, 784).

    Returns L_D, D(x) and D(G(h)).
    """
    discriminator.zero_grad()
    b = x_real.size(0)
    d_real = discriminator(x_real)  # D(x), (B, 1)
    # -mean log D(x)
    d_loss_real = loss_fn(d_real, torch.ones(b, 1, device=device))
    x_fake = generator(create_noise(b, config.z_size, config.mode_z, device))
    d_fake = discriminator(x_fake.detach())  # D(G(h)); no gradient into G
    # -mean log(1 - D(G(h)))
    d_loss_fake = loss_fn(d_fake, torch.zeros(b, 1, device=device))
    d_loss = d_loss_real + d_loss_fake  # L_D = -v(G, D) on the batch
    d_loss.backward()
    d_optimizer.step()
    return d_loss.item(), d_real.detach(), d_fake.detach()


def g_train(b):
    """One generator step on a fresh noise batch of size b; returns L_G."""
    generator.zero_grad()
    h = create_noise(b, config.z_size, config.mode_z, device)
    d_fake = discriminator(generator(h))
    # L_G = -mean log D(G(h)), the non-saturating loss
    g_loss = loss_fn(d_fake, torch.ones(b, 1, device=device))
    g_loss.backward()
    g_optimizer.step()  # updates G only
    return g_loss.item()


# %% [markdown]
# ## Training
#
# We record, per epoch, the mean of both losses and of the discriminator's
# outputs on real and on generated digits, and we keep the images that a
# *fixed* batch of noise $\h$ produces at the selected epochs, so that we can
# watch the same latent points turn into digits.

# %%
torch.manual_seed(1)
# the same h at every epoch
fixed_z = create_noise(config.batch_size, config.z_size, config.mode_z, device)
history = {"d_loss": [], "g_loss": [], "d_real": [], "d_fake": []}
epoch_samples = {}
start = time.perf_counter()
for epoch in range(1, config.num_epochs + 1):
    generator.train()
    discriminator.train()
    sums = dict.fromkeys(history, 0.0)
    for (x_real,) in train_loader:
        x_real = x_real.to(device)
        d_loss, d_real, d_fake = d_train(x_real)
        g_loss = g_train(x_real.size(0))
        sums["d_loss"] += d_loss
        sums["g_loss"] += g_loss
        sums["d_real"] += d_real.mean().item()
        sums["d_fake"] += d_fake.mean().item()
    for key in history:
        history[key].append(sums[key] / len(train_loader))
    if epoch in config.selected_epochs:
        generator.eval()
        with torch.no_grad():
            x_fixed = generator(fixed_z)
        epoch_samples[epoch] = ((x_fixed + 1) / 2).cpu().numpy()  # in [0, 1]
    if epoch == 1 or epoch % 10 == 0 or epoch == config.num_epochs:
        print(f"epoch {epoch:3d}/{config.num_epochs}"
              f" | L_G {history['g_loss'][-1]:.3f}"
              f"  L_D {history['d_loss'][-1]:.3f}"
              f" | D(x) {history['d_real'][-1]:.3f}"
              f"  D(G(h)) {history['d_fake'][-1]:.3f}"
              f" | {time.perf_counter() - start:.0f} s")
train_time = time.perf_counter() - start
print(f"training time: {train_time:.0f} s on {device}")
genmod.glue("train_minutes", train_time / 60)
genmod.glue("d_real_final", history["d_real"][-1])
genmod.glue("d_fake_final", history["d_fake"][-1])

# %%
gan_curves(history["g_loss"], history["d_loss"], history["d_real"],
           history["d_fake"])
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** Training curves, averaged over each epoch. (a) The generator's
# loss $\mathcal{L}_G^{\mathrm{ns}}$ and the discriminator's loss $\mathcal{L}_D$; the dotted lines are their
# values at the global optimum, $\log 2$ and $\log 4$. (b) The discriminator's
# mean output on real digits and on generated digits; the dotted line is
# $D^* = \tfrac12$. The discriminator's outputs are taken in training mode,
# with dropout active.
#
# Neither loss goes to zero, and they do not decrease together: this is a game,
# not a minimisation (see {doc}`theory`, "Why training is hard"). After a first
# phase in which the discriminator wins easily (the generated digits are blobs
# of noise, $D(G(\h))$ is small and $\mathcal{L}_G^{\mathrm{ns}}$ large), the two settle into a
# stalemate in which the discriminator keeps a small, noisy edge:
# $D(\x)$ stays above $\tfrac12$ and $D(G(\h))$ below, and both creep slowly
# towards $\tfrac12$ while $\mathcal{L}_D$ creeps towards $\log 4$ (at the
# last epoch of this run, $D(\x) =$ {glue:text}`d_real_final:.3f` and
# $D(G(\h)) =$ {glue:text}`d_fake_final:.3f`). A discriminator that
# drove $D(G(\h))$ to zero would mean the generator had lost the game; outputs
# pinned at exactly $\tfrac12$ would mean either a perfect generator or a
# discriminator that has stopped learning. The slow drift towards $\tfrac12$
# says as much about the discriminator, held to one step per generator step and
# slowed by dropout, as about the generator: a discriminator trained on its own
# against the final generator separates real from generated digits almost
# perfectly (the second exercise below). The curves alone
# cannot tell a good generator from a bad one; for that we look at samples and
# measure them.

# %%
# (E * 16, 784)
rows = np.concatenate([epoch_samples[epoch][:16]
                       for epoch in config.selected_epochs])
ax = image_grid(rows.reshape(-1, 28, 28), nrow=16)
for r, epoch in enumerate(config.selected_epochs):
    ax.text(-3, 1 + 29 * r + 14, f"epoch {epoch}", ha="right", va="center",
            fontsize=9)
plt.show()

# %% [markdown]
# **Figure.** Images the generator makes from the same 16 noise vectors
# $\h$ after the selected epochs (one row per epoch). Early on the generator
# loses the game badly: its first images are noise, and for a few epochs after
# that every $\h$ gives nearly the same grey blob in the shape of an average
# digit, a short-lived collapse in which the generator ignores its input.
# Strokes appear within about ten epochs, and later epochs make them sharper and
# more varied. A given $\h$ may change its digit class from one row to the next:
# nothing asks the generator to keep its map from noise to digits fixed while
# the discriminator keeps moving the target.

# %% [markdown]
# ## Evaluation
#
# We draw `num_samples` digits from the trained generator and map them back to
# $[0, 1]$. Two measures compare them with real test digits, which the
# generator never saw:
#
# - the unbiased squared MMD {eq}`gans-mmd` in pixel space, with a Gaussian
#   kernel, between `num_mmd` generated digits and `num_mmd` test digits. An
#   estimate is only meaningful next to its noise floor, so
#   `genmod.metrics.mmd2_against_real` computes it also between two disjoint
#   sets of `num_mmd` real test digits, with the same kernel: its bandwidth
#   $\sigma_\kappa$ is the median pairwise distance between those real digits;
# - the book's MNIST judge (`genmod.judge`): the Fréchet distance
#   {eq}`gans-frechet` between the judge's features of the samples and of the
#   test digits, next to the same distance for real training digits; the
#   histogram of the judge's predicted classes (are all ten digits there?); and
#   the judge's mean confidence, a rough sharpness score in the spirit of the
#   Inception score {cite}`salimans2016`.

# %%
generator.eval()
with torch.no_grad():
    batches = [generator(create_noise(500, config.z_size, config.mode_z,
                                      device))
               for _ in range(math.ceil(config.num_samples / 500))]
# (n, 784) in [0, 1]
samples = ((torch.cat(batches)[:config.num_samples] + 1) / 2).cpu().numpy()
samples = samples.clip(0, 1).astype(np.float32)
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
# prints the Fréchet distance, the classes and the confidence
scores = judge_samples(samples.reshape(-1, 28, 28))
genmod.glue("frechet", scores["frechet_distance"])
genmod.glue("frechet_real", scores["real_frechet_distance"])
genmod.glue("classes_present", scores["classes_with_2pct"])
genmod.glue("mmd2", mmd["mmd2_generated_vs_real"])
genmod.glue("mmd2_floor", mmd["mmd2_real_vs_real"])

# %%
samples_and_classes(samples.reshape(-1, 28, 28), scores["class_histogram"],
                    reference=y_test)
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** (a) The first 100 of the generated digits. (b) The fraction of
# generated digits that the judge assigns to each class, beside the true class
# frequencies of the test digits; the dotted line marks 2 %, the share a class
# needs to count as present.
#
# At the `book` scale the samples are recognisable digits of every class,
# but they are grainy: a fully connected generator treats the 784 pixels as
# unrelated outputs and has no notion of neighbouring pixels, so isolated
# speckles survive. The Fréchet distance says the same in numbers: in this
# run it is {glue:text}`frechet:.0f`, against {glue:text}`frechet_real:.0f`
# for real digits. Convolutional generators, which build images from local
# patterns, are the standard fix ({doc}`dcgan_mnist_tf`). The pixel-space
# MMD$^2$, {glue:text}`mmd2:.1e`, is far above its real-versus-real floor
# {glue:text}`mmd2_floor:.1e` too: with 1,000 digits on each side the
# estimator can tell the samples from real digits with ease. The class
# histogram shows how evenly the generator covers the ten modes of the data;
# a generator that had *collapsed* onto a few digits would leave classes
# empty here while still scoring a high confidence on the others.
#
# Finally we save the samples and the metrics for the book's comparison of all
# models.

# %%
# the configuration is saved whole beside them
metrics = {**mmd, **scores, "train_time_s": train_time}
folder = genmod.save_artifacts(NOTEBOOK, samples.reshape(-1, 28, 28), metrics,
                               kind="images", value_range=(0, 1),
                               config=config, device=str(device))
print(f"saved {len(samples)} samples and {len(metrics)} metrics to {folder}")

# %% [markdown]
# ## What differs from the reference run
#
# The `full` scale is the run of Raschka et al. {cite}`raschka2022`: 100 epochs
# over the 60,000 training digits with batches of 64 (about 94,000 steps per
# network), one hidden layer of 100 units in each network, uniform noise in
# $[-1, 1]^{20}$, and Adam with PyTorch's defaults (learning rate
# $\eta = 10^{-3}$, `betas=(0.9, 0.999)`); it takes minutes on a GPU. The `book`
# scale keeps the architecture family, the losses, the optimizer and the batch
# size, and changes three things: it trains on the 8,000 offline digits when
# the full set is unavailable (about 12,500 steps per network), it widens both
# hidden layers to 256 units, and it draws standard normal noise. In reference runs
# these choices gave digits of all ten classes within the CPU budget;
# with 100 units and uniform noise the same number of steps gives thinner,
# noisier digits. Results on a GPU may differ from CPU results in the last
# digits, and a GAN's scores vary noticeably with the random seed
# {cite}`lucic2018`: treat the numbers above as one draw.
#
# ## Summary
#
# - A GAN is two networks and two cross-entropies: the discriminator learns to
#   label real digits 1 and generated digits 0, which ascends the value
#   function {eq}`gans-value-function`; the generator learns to make the
#   discriminator say 1 on its digits, the non-saturating loss
#   {eq}`gans-nonsaturating-loss`.
# - The losses do not go to zero and are poor guides to sample quality; at the
#   equilibrium $\pg = \pr$ they would sit at $\log 4$ and $\log 2$ with
#   $D = \tfrac12$ everywhere. Samples from a fixed noise batch and metrics
#   with a real-versus-real reference tell more.
# - One hidden layer in each network is enough for recognisable digits from
#   a few thousand training digits: here the judge finds
#   {glue:text}`classes_present` of the ten classes after
#   {glue:text}`train_minutes:.1f` minutes of training, at a Fréchet distance of
#   {glue:text}`frechet:.0f` (real digits: {glue:text}`frechet_real:.0f`);
#   the grainy strokes that remain are what convolutional generators fix.
#
# ## Exercises
#
# ```{exercise}
# :label: gans-ex-gan-mnist-torch-saturating
# Replace the generator's loss by the saturating loss $\mathcal{L}_G^{\mathrm{sat}}$
# {eq}`gans-saturating-loss`, that is, minimise
# $\frac1B \sum_i \log(1 - D(G(\h_i)))$ (in code: `-loss_fn(d_fake, zeros)`),
# and train for 10 epochs at `book` settings. Compare the first epochs of
# $D(G(\h))$ and the samples with the non-saturating run. Explain what you see
# with the derivative of each loss with respect to the discriminator's logit.
# ```
#
# ```{solution} gans-ex-gan-mnist-torch-saturating
# :class: dropdown
# Change the line that computes `g_loss` in `g_train` to
# `g_loss = -loss_fn(d_fake, torch.zeros(b, 1, device=device))`, since
# $\mathrm{BCE}(r, 0) = -\log(1 - r)$. At the start the discriminator quickly
# learns to reject the first, noisy images, so $D(G(\h))$ falls towards 0. The
# derivative of $\log(1 - \sigmoid(\ell))$ with respect to the logit $\ell$ is
# $-\sigmoid(\ell) = -D(G(\h))$, which vanishes there, so the generator gets
# almost no gradient. In a reference run at `book` scale $D(G(\h))$ was
# 0.17 on average in the first
# epoch and 0.000 from the second on, $D(\x)$ was 1.000, both losses were 0,
# and after 10 epochs every sample was the same grey blob (the judge put all
# of them in one class): the generator never recovered. The non-saturating
# loss has derivative $-(1 - D(G(\h))) \approx -1$ in the same situation, so
# the generator learns fastest exactly when it is worst (see {doc}`theory`).
# ```
#
# ```{exercise}
# :label: gans-ex-gan-mnist-torch-equilibrium
# Train a discriminator alone, with the generator frozen at its final state,
# for a few epochs (only `d_train` in the loop). What happens to $D(\x)$,
# $D(G(\h))$ and $\mathcal{L}_D$? What would they converge to if the generator were
# perfect, and what does the result say about the trained generator?
# ```
#
# ```{solution} gans-ex-gan-mnist-torch-equilibrium
# :class: dropdown
# With the generator frozen, training the discriminator is ordinary binary
# classification between real and generated digits, and it approaches the
# optimal discriminator {eq}`gans-optimal-discriminator` for this fixed
# $\pg$ (within its capacity). $D(\x)$ rises to nearly 1, $D(G(\h))$ falls to
# nearly 0 and $\mathcal{L}_D$ collapses: in a reference run (a generator trained for 40 epochs
# at `book` settings), $\mathcal{L}_D$ on the 2,000 held-out test digits and as many
# fresh generated digits fell from 1.07 to 0.12 after one epoch of
# discriminator training and below 0.01 after five. The generated digits are
# easy to tell from real ones (their speckle alone gives them away). For a
# perfect generator, $\pg = \pr$, the best discriminator is
# $D^* = \tfrac12$ everywhere and $\mathcal{L}_D$ cannot go below $2\log 2 = \log 4$.
# In general $-\mathcal{L}_D$ estimates $v(G, D) \le v(G, D^*) = 2\,\JS{\pr}{\pg} - \log 4$
# {eq}`gans-loss-at-optimum`, so $\log 4 - \mathcal{L}_D$, evaluated on held-out digits
# (a discriminator can overfit), is an estimate of a lower bound on
# $2\,\JS{\pr}{\pg}$. Here it is about 1.38 nats, close to the largest
# possible value $2 \log 2$: to a discriminator that is allowed to win, the
# two distributions barely overlap, as in the disjoint-support argument of
# {doc}`theory`. That the game still makes progress is thanks to the
# generator's non-saturating loss and to a discriminator that is never
# trained to the end.
# ```
#
# ```{exercise}
# :label: gans-ex-gan-mnist-torch-reference
# Run the reference configuration at `book` budget: set
# `gen_hidden_units = disc_hidden_units = 100` and `mode_z = "uniform"` and keep
# the rest. Compare the samples, the Fréchet distance and the class histogram
# with the `book` run. Then change only one of the two settings. Which matters
# more here, and is one run per setting enough to say so?
# ```
#
# ```{solution} gans-ex-gan-mnist-torch-reference
# :class: dropdown
# The reference networks have about 2.5 times fewer parameters, and their
# samples after 12,500 steps are thinner and noisier, with a larger Fréchet
# distance; all or nearly all classes are usually still present. Which change
# matters more depends on the seed: differences between single runs are of
# the same order as the differences between runs with different seeds. To make
# a claim, repeat each setting with several seeds and compare the spread of
# the scores {cite}`lucic2018`.
# ```
#
# ## References
#
# The reference implementation is chapter 17 of {cite}`raschka2022`; the GAN
# and its non-saturating loss are from {cite}`goodfellow2014`, with practical
# advice in {cite}`goodfellow2016nips`. The MMD is from {cite}`gretton2012`,
# the Fréchet distance as a GAN metric from {cite}`heusel2017`, and the
# cautions about evaluating generative models from {cite}`theis2016`.
#
# ```{bibliography}
# :filter: docname in docnames
# ```
