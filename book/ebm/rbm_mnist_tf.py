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
# # A restricted Boltzmann machine on MNIST (TensorFlow/Keras)
#
# The binary RBM of {doc}`rbm_mnist_torch`, written as a Keras model: three
# weights, $W$, $\mathbf{a}$ and $\mathbf{b}$, and a training step that runs
# persistent contrastive divergence inside `model.fit`, in the style of Babcock
# and Bali's RBM {cite}`babcock2021`. It trains on the same binary digits as the
# PyTorch notebook, draws digits from long Gibbs chains started from noise, and
# is scored by the same code: the book's judge, and annealed importance sampling
# from `genmod`.
#
# ```{admonition} Learning goals
# :class: tip
#
# After this notebook you can
#
# - write an RBM {eq}`ebm-rbm-energy` as a `keras.Model` whose `train_step`
#   applies the PCD estimate {eq}`ebm-pcd` of the learning rule
#   {eq}`ebm-rbm-learning-rule` with a Keras optimizer, although no loss is
#   differentiated;
# - run block-Gibbs chains {eq}`ebm-gibbs` in a compiled `tf.function`;
# - draw Bernoulli states from explicit uniform random numbers, so that two
#   implementations can be checked against each other bit for bit;
# - hand a model from one framework to another as plain arrays to estimate its
#   test log-likelihood by AIS {eq}`ebm-ais-estimate`.
# ```
#
# The mathematics is in {doc}`theory`.

# %% tags=["hide-input"]
# Setup: install the book's helper package when it is missing (Colab, Binder).
import importlib.util, subprocess, sys
REPO_URL = "https://github.com/genmod-book/genmod-book"
# this notebook's name: its artifacts and checkpoints are filed under it
NOTEBOOK = "rbm_mnist_tf"
if importlib.util.find_spec("genmod") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    f"genmod @ git+{REPO_URL}.git#subdirectory=code"],
                   check=True)

import time

import matplotlib.pyplot as plt
import numpy as np

import genmod
from genmod import pick
# genmod.tfutils first: it sets TensorFlow's log level (never torch here)
from genmod.tfutils import describe_device, seed_everything
import tensorflow as tf
import keras
from genmod.data import binarize
# AIS of genmod.rbm, in a subprocess here
from genmod.ebm_eval import rbm_log_likelihood
# runs the (PyTorch) judge in a subprocess
from genmod.judge import judge_samples
from genmod.plotting import class_histogram, image_grid, training_curves

print(f"scale: {genmod.get_scale()}")
# TensorFlow places the work on a GPU by itself when it sees one
device = describe_device()
seed_everything(0)
(x_train, y_train), (x_test, y_test) = genmod.load_mnist()   # prints its source

# %% [markdown]
# The configuration is that of the PyTorch notebook's main model, so the two can
# be compared: $d_h = 500$ hidden units at `book` scale, PCD-1 with 100
# persistent chains, SGD with momentum 0.5, a learning rate falling linearly from
# 0.05 to 0, and a small weight decay on $W$.

# %%
config = genmod.Config(
    # d_h (Salakhutdinov & Murray: 500)
    hidden_dim=pick(quick=100, book=500, full=500),
    num_epochs=pick(quick=2, book=20, full=200),  # passes over the training set
    batch_size=100,  # digits per gradient step, at every scale
    lr=0.05,  # SGD learning rate at the start; decays linearly to 0
    momentum=0.5,  # SGD momentum, at every scale
    weight_decay=2e-4,  # L2 penalty on W per step (times lr)
    num_chains=100,  # persistent chains of PCD (fantasy particles)
    k=1,  # Gibbs steps per update: PCD-1 at every scale
    # Gibbs chains started from noise
    num_samples=pick(quick=200, book=2000, full=10_000),
    # block-Gibbs steps of every sampling chain
    num_gibbs_steps=pick(quick=50, book=500, full=1000),
    # AIS temperatures (S&M: 14,500)
    ais_betas=pick(quick=300, book=2000, full=14_500),
    ais_runs=pick(quick=16, book=100, full=100),  # AIS runs (S&M: 100)
)

# %% [markdown]
# ## Data: the same binary digits
#
# `genmod.data.binarize` sets each pixel to 1 with probability equal to its
# grey level, once, from a seeded uniform draw; with the seeds of
# {doc}`rbm_mnist_torch` it returns the very same binary training and test
# vectors (the reasons for stochastic binarization are given there). A
# `tf.data` pipeline shuffles them every epoch and cuts them into minibatches
# of equal size.

# %%
x_train_bin = binarize(x_train, seed=1)  # (8000, 784) float32 in {0, 1}
x_test_bin = binarize(x_test, seed=2)  # (2000, 784)
d = x_train_bin.shape[1]  # 784 visible units
# clipped, so the log-odds stay finite
pixel_mean = np.clip(x_train_bin.mean(0), 1e-3, 1 - 1e-3)
# log-odds of the training pixel means
base_a = np.log(pixel_mean / (1 - pixel_mean))
train_dataset = (tf.data.Dataset.from_tensor_slices(x_train_bin)
                 .shuffle(len(x_train_bin), seed=0)
                 .batch(config.batch_size, drop_remainder=True))
test_dataset = tf.data.Dataset.from_tensor_slices(x_test_bin).batch(500)
print(f"binary training digits {x_train_bin.shape}, "
      f"test digits {x_test_bin.shape}; "
      f"{len(train_dataset)} minibatches per epoch; "
      f"mean pixel {x_train_bin.mean():.3f}")

# %% [markdown]
# ## The RBM as a Keras model
#
# The model holds the parameters of the energy {eq}`ebm-rbm-energy`,
# $E(\x, \h) = -\mathbf{a}^\top \x - \mathbf{b}^\top \h - \x^\top W \h$, and
# writes out what the PyTorch notebook takes from `genmod.rbm`: the two
# conditionals {eq}`ebm-rbm-hidden-conditional` and
# {eq}`ebm-rbm-visible-conditional`, the free energy {eq}`ebm-rbm-free-energy`,
# one block-Gibbs step {eq}`ebm-gibbs`, and the CD-k / PCD estimate of the
# learning rule {eq}`ebm-rbm-learning-rule`.
#
# Two details make it a Keras model like any other. The training step does not
# differentiate a loss: the learning rule *is* the gradient of the
# log-likelihood, estimated by sampling, so `train_step` computes it and hands
# its negative (Keras optimizers minimise) to `optimizer.apply_gradients`; SGD
# with momentum then updates the weights exactly as the PyTorch loop does. And
# every Bernoulli draw is written as $u < p$ with explicit uniforms $u$, which
# `train_step` draws from a seeded Keras `SeedGenerator`. Given the same
# uniforms, the methods below return the same states and the same update as
# `genmod.rbm` with PyTorch; `tests/tf/test_ebm_rbm_frameworks.py` checks it.

# %%
class RBMEnergy(keras.Model):
    """A binary RBM's parameters, conditionals, free energy and Gibbs step,
    with d visible and d_h hidden units."""

    def __init__(self, visible_dim, hidden_dim, *, seed=0, **kwargs):
        super().__init__(**kwargs)
        init = keras.initializers.RandomNormal(stddev=0.01, seed=seed)
        self.W = self.add_weight(shape=(visible_dim, hidden_dim),
                                 initializer=init, name="W")      # (d, d_h)
        self.a = self.add_weight(shape=(visible_dim,), initializer="zeros",
                                 name="a")                 # visible biases
        self.b = self.add_weight(shape=(hidden_dim,), initializer="zeros",
                                 name="b")                 # hidden biases
        self.seed_generator = keras.random.SeedGenerator(seed)

    def uniform(self, shape):
        return keras.random.uniform(shape, seed=self.seed_generator,
                                    dtype=self.W.dtype)

    # (N, d) -> (N, d_h), eq. ebm-rbm-hidden-conditional
    def p_h_given_x(self, x):
        return tf.sigmoid(self.b + x @ self.W)

    # (N, d_h) -> (N, d), eq. ebm-rbm-visible-conditional
    def p_x_given_h(self, h):
        return tf.sigmoid(self.a + h @ tf.transpose(self.W))

    def free_energy(self, x):  # (N, d) -> (N,), eq. ebm-rbm-free-energy
        softplus = tf.math.softplus(self.b + x @ self.W)
        return -tf.linalg.matvec(x, self.a) - tf.reduce_sum(softplus, axis=-1)

    def gibbs_step(self, x, u_h, u_x):
        """x -> h ~ p(h|x) -> x' ~ p(x|h), each Bernoulli draw as u < p;
        returns (x', h, p(x|h))."""
        h = tf.cast(u_h < self.p_h_given_x(x), x.dtype)
        p_x = self.p_x_given_h(h)
        return tf.cast(u_x < p_x, x.dtype), h, p_x


# %% [markdown]
# The learning rule adds the persistent chains and the CD-k / PCD estimate of
# {eq}`ebm-rbm-learning-rule`.

# %%
class CDRBM(RBMEnergy):
    """An RBM with the CD-k (num_chains None) or PCD-k learning rule."""

    def __init__(self, visible_dim, hidden_dim, *, k=1, num_chains=None,
                 weight_decay=0.0, seed=0, **kwargs):
        super().__init__(visible_dim, hidden_dim, seed=seed, **kwargs)
        self.k, self.weight_decay = k, weight_decay
        self.chain = None  # PCD's fantasy particles, (C, d), not trained
        if num_chains is not None:
            self.chain = self.add_weight(shape=(num_chains, visible_dim),
                                         initializer="zeros",
                                         trainable=False, name="chain")

    def cd_gradient(self, x, uniforms):
        """The CD-k / PCD ascent direction (dW, da, db) and the chain's new
        states; k pairs of uniforms."""
        ph_data = self.p_h_given_x(x)                 # positive phase, (B, d_h)
        x_model = x if self.chain is None else tf.convert_to_tensor(self.chain)
        for u_h, u_x in uniforms:                     # k block-Gibbs steps
            x_model, _, _ = self.gibbs_step(x_model, u_h, u_x)
        ph_model = self.p_h_given_x(x_model)          # negative phase, (C, d_h)
        n_data = tf.cast(tf.shape(x)[0], x.dtype)
        n_model = tf.cast(tf.shape(x_model)[0], x.dtype)
        # <x h>_data - <x h>_model
        dW = (tf.matmul(x, ph_data, transpose_a=True) / n_data
              - tf.matmul(x_model, ph_model, transpose_a=True) / n_model)
        da = tf.reduce_mean(x, 0) - tf.reduce_mean(x_model, 0)
        db = tf.reduce_mean(ph_data, 0) - tf.reduce_mean(ph_model, 0)
        return dW, da, db, x_model


# %% [markdown]
# Keras's side: `train_step` draws the uniforms, hands minus the ascent
# direction to the optimizer, and records the reconstruction error of the
# minibatch before the update; `test_step` records it on the test digits.

# %%
class RBM(CDRBM):
    """A binary RBM trained by PCD-k (num_chains given) or CD-k with fit()."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reconstruction_tracker = keras.metrics.Mean(
            name="reconstruction_error")

    @property
    def metrics(self):
        return [self.reconstruction_tracker]  # reset by fit() at every epoch

    def reconstruction_error(self, x):
        """Mean over rows of sum_i (x_i - p(x_i = 1 | h))^2 with
        h ~ p(h | x): one Gibbs step from the data."""
        u = self.uniform(tf.shape(self.b + x @ self.W))
        h = tf.cast(u < self.p_h_given_x(x), x.dtype)
        return tf.reduce_mean(
            tf.reduce_sum((x - self.p_x_given_h(h)) ** 2, axis=-1))

    def train_step(self, x):
        x = tf.cast(x, self.W.dtype)                  # error before the update:
        self.reconstruction_tracker.update_state(self.reconstruction_error(x))
        size = x.shape[0] if self.chain is None else self.chain.shape[0]
        d, d_h = self.W.shape
        uniforms = [(self.uniform((size, d_h)), self.uniform((size, d)))
                    for _ in range(self.k)]           # k pairs (u_h, u_x)
        dW, da, db, x_model = self.cd_gradient(x, uniforms)
        if self.chain is not None:
            self.chain.assign(x_model)                # PCD: the chains carry on
        # Keras optimizers minimise: minus the ascent direction, decay on W
        self.optimizer.apply_gradients([
            (-(dW - self.weight_decay * self.W), self.W), (-da, self.a),
            (-db, self.b)])
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, x):
        x = tf.cast(x, self.W.dtype)
        self.reconstruction_tracker.update_state(self.reconstruction_error(x))
        return {m.name: m.result() for m in self.metrics}


# %% [markdown]
# The weights start small and random, the hidden biases at zero, the visible
# biases at the log-odds of the training pixel means (Hinton's practical guide
# {cite}`hinton2012practical`), and the persistent chains at uniform noise. The
# learning rate falls linearly to zero over training (Keras's
# `PolynomialDecay` with power 1), as in the PyTorch notebook. `fit` compiles
# `train_step` into a graph, and with `validation_data` runs `test_step` on the
# test digits after every epoch.

# %%
rbm = RBM(d, config.hidden_dim, k=config.k, num_chains=config.num_chains,
          weight_decay=config.weight_decay, seed=0)
rbm.a.assign(base_a.astype("float32"))
u = np.random.default_rng(0).uniform(size=(config.num_chains, d))
rbm.chain.assign((u < 0.5).astype("float32"))
num_steps = config.num_epochs * len(train_dataset)
schedule = keras.optimizers.schedules.PolynomialDecay(
    config.lr, decay_steps=num_steps, end_learning_rate=0.0, power=1.0)
rbm.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule,
                                           momentum=config.momentum))

start = time.perf_counter()
history = rbm.fit(train_dataset, epochs=config.num_epochs,
                  validation_data=test_dataset,
                  verbose=0).history
train_time = time.perf_counter() - start
for epoch in sorted({0, config.num_epochs // 2, config.num_epochs - 1}):
    print(f"epoch {epoch + 1:3d}/{config.num_epochs}: reconstruction error "
          f"train {history['reconstruction_error'][epoch]:.2f}, "
          f"test {history['val_reconstruction_error'][epoch]:.2f} "
          "squared pixels per digit")
print(f"PCD-{config.k} training took {train_time:.0f} s ({num_steps} updates)")

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.6),
                         gridspec_kw={"width_ratios": [1, 1.4]})
training_curves({"train (during the epoch)": history["reconstruction_error"],
                 "test (after the epoch)": history["val_reconstruction_error"]},
                ax=axes[0], title=f"PCD-{config.k}",
                ylabel="reconstruction error\n(squared pixels per digit)")
filters = rbm.W.numpy()[:, :50].T.reshape(-1, 28, 28)  # first 50 columns of W
limit = float(np.abs(filters).max())
image_grid(filters, nrow=10, ax=axes[1], value_range=(-limit, limit),
           cmap="RdBu_r",
           title=f"first 50 filters, colour scale $\\pm${limit:.2f}")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** Left: the reconstruction error, averaged over each epoch's
# minibatches before their updates (train) and over the test digits after the
# epoch (test). Right: the first 50 columns of $W$ reshaped to $28 \times 28$,
# red positive and blue negative on a scale symmetric about zero. As in
# {doc}`rbm_mnist_torch`, the filters are local pieces of strokes, and the
# reconstruction error says little about the likelihood (see that notebook).

# %% [markdown]
# ## Samples from long Gibbs chains
#
# `num_samples` chains start from uniform noise and run `num_gibbs_steps`
# block-Gibbs steps inside one compiled function, a `tf.while_loop` that
# AutoGraph writes for the `for` over `tf.range`. As the digit we show the
# means $p(\x \mid \h)$ of the last step.

# %%
@tf.function
def gibbs_chains(x, num_steps):
    """Run num_steps block-Gibbs steps from x (N, d); return the last states and
    p(x|h) (N, d).
    """
    p_x = tf.zeros_like(x)
    for _ in tf.range(num_steps):
        u_h = rbm.uniform(tf.shape(rbm.p_h_given_x(x)))
        x, _, p_x = rbm.gibbs_step(x, u_h, rbm.uniform(tf.shape(x)))
    return x, p_x


snapshot_steps = [s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
                  if s < config.num_gibbs_steps]
snapshot_steps.append(config.num_gibbs_steps)
start = time.perf_counter()
# noise, (N, 784)
x_chain = tf.cast(rbm.uniform((config.num_samples, d)) < 0.5, tf.float32)
snapshots, done = [x_chain[:8].numpy()], 0
for step in snapshot_steps:  # the same chains, in stretches
    x_chain, p_x = gibbs_chains(x_chain, tf.constant(step - done))
    snapshots.append(p_x[:8].numpy())
    done = step
sampling_time = time.perf_counter() - start
samples = p_x.numpy().reshape(-1, 28, 28)  # p(x|h), in [0, 1]
print(f"{config.num_samples} chains x {config.num_gibbs_steps} Gibbs steps: "
      f"{sampling_time:.0f} s")

fig, axes = plt.subplots(1, 2, figsize=(12, 5.4),
                         gridspec_kw={"width_ratios": [1.2, 1]})
image_grid(np.stack(snapshots, 1).reshape(-1, 28, 28), nrow=len(snapshots),
           ax=axes[0],
           title="steps 0, " + ", ".join(map(str, snapshot_steps)))
image_grid(samples[:64], nrow=8, ax=axes[1],
           title=f"$p(\\mathbf{{x}}|\\mathbf{{h}})$ after "
                 f"{config.num_gibbs_steps} steps")
plt.show()

# %% [markdown]
# **Figure.** Left: eight chains, one per row, from binary noise (first column)
# through the steps in the title. Right: 64 free-running samples after
# `num_gibbs_steps` steps, one chain each. Nothing of the data entered these
# chains.
#
# The book's MNIST judge (`genmod.judge`, see {doc}`../gans/theory`) scores the
# samples: the Fréchet distance to real test digits, with the real-versus-real
# value beside it, the classes that get at least 2 % of the samples, and the
# judge's mean confidence. It is a PyTorch model, so `judge_samples` runs it in
# a separate process.

# %%
judge = judge_samples(samples)  # prints Fréchet distance, classes, confidence
class_histogram(judge["class_histogram"], reference=y_test,
                title=f"PCD-{config.k} samples (Keras)")
plt.show()
genmod.glue("classes", judge["classes_with_2pct"])
genmod.glue("frechet", judge["frechet_distance"])
genmod.glue("frechet_real", judge["real_frechet_distance"])

# %% [markdown]
# **Figure.** The fraction of the samples that the judge assigns to each class,
# beside the class frequencies of the test digits; the dotted line marks 2 %.

# %% [markdown]
# ## The test log-likelihood by AIS, with the PyTorch code
#
# The log-likelihood $\log p(\x) = -F(\x) - \log Z$ needs $\log Z$, which we
# estimate by annealed importance sampling {eq}`ebm-ais-estimate`, with the base
# model and schedule of {doc}`rbm_mnist_torch`. Rather than write AIS a second
# time, we hand the trained weights, as plain arrays, to
# `genmod.ebm_eval.rbm_log_likelihood`, which runs `genmod.rbm.ais_log_z` (in
# PyTorch, in a separate process) and returns numbers. The same function scores
# any RBM, so the two notebooks' likelihoods differ only through their models.

# %%
W, a, b = (v.numpy() for v in (rbm.W, rbm.a, rbm.b))
start = time.perf_counter()
result = rbm_log_likelihood(W, a, b, x_test_bin, base_a=base_a,
                            num_betas=config.ais_betas,
                            num_runs=config.ais_runs, seed=0)
ais_time = time.perf_counter() - start
neg_free_energy_train = -rbm.free_energy(tf.constant(x_train_bin)).numpy()
# same log Z, Keras free energy
train_ll = float(neg_free_energy_train.mean(dtype=np.float64)
                 - result["log_z"])
print(f"log Z = {result['log_z']:.3f} +- {result['log_z_se']:.3f} nats "
      f"(AIS, {result['num_betas']} temperatures, {result['num_runs']} runs; "
      f"{ais_time:.0f} s)")
print(f"test log-likelihood {result['log_likelihood']:.2f} "
      f"+- {result['log_likelihood_se']:.2f} nats per digit "
      f"(train {train_ll:.2f}) on {result['num_vectors']:,} test digits")
genmod.glue("test_ll", result["log_likelihood"])
genmod.glue("test_ll_se", result["log_likelihood_se"])
genmod.glue("train_ll", train_ll)

# %% [markdown]
# In this run the Keras RBM reached {glue:text}`test_ll:.1f` $\pm$
# {glue:text}`test_ll_se:.1f` nats per test digit (train
# {glue:text}`train_ll:.1f`), and its samples covered {glue:text}`classes` of
# the 10 classes with a Fréchet distance of {glue:text}`frechet:.0f` (real
# digits: {glue:text}`frechet_real:.0f`). In the `book` reference run it reached
# $-115.0 \pm 0.9$ (train $-108.7$), and the PyTorch RBM of
# {doc}`rbm_mnist_torch`, trained with the same settings on the same binary
# digits but with other random numbers, $-113.5 \pm 0.9$: the same model up to
# the noise of training, and both far from Salakhutdinov and Murray's $-86.34$
# nats {cite}`salakhutdinov2008` for a much longer CD-25 run on the full MNIST
# ({doc}`rbm_mnist_torch` lists the differences). Their samples differed more
# than their likelihoods in that reference run: the judge found 9 of 10 classes
# in both, with Fréchet distances of 243 (Keras) and 150 (PyTorch) against 17
# for real digits, and the Keras chains favoured 7s and 0s where the PyTorch
# chains favoured 3s and 8s. Which digits 2,000 chains of
# 500 steps end on depends on the slow mixing between classes more than on the
# small differences between the two models.
#
# We save the samples, the numbers and the parameters.

# %%
metrics = {
    **judge,  # judge scores of the samples
    "test_log_likelihood": result["log_likelihood"],  # nats per test digit, AIS
    # nats, digits and log Z combined
    "test_log_likelihood_se": result["log_likelihood_se"],
    "train_log_likelihood": train_ll,  # nats per training digit, same log Z
    "log_z": result["log_z"],                                 # nats
    "log_z_se": result["log_z_se"],                           # nats
    # squared pixels per test digit
    "reconstruction_error": history["val_reconstruction_error"][-1],
    "train_time_s": train_time,                               # s
}   # the configuration is saved whole beside them
folder = genmod.save_artifacts(NOTEBOOK, samples, metrics, kind="images",
                               value_range=(0, 1), config=config, device=device)
np.savez(folder / "params.npz", W=W, a=a, b=b)
print(f"saved {len(samples)} samples, {len(metrics)} metrics and params.npz "
      f"to {folder}")

# %% [markdown]
# ## What differs from the reference run
#
# The reference is the RBM of Salakhutdinov and Murray {cite}`salakhutdinov2008`
# (500 hidden units, CD-25, the full MNIST, AIS with 14,500 temperatures). This
# notebook differs from it exactly as {doc}`rbm_mnist_torch` does (offline
# subset of 8,000 training and 2,000 test digits, stochastic binarization with
# the book's seeds, PCD-1 for 20 epochs at `book` scale, 2,000 AIS
# temperatures), and from the PyTorch notebook only in its random numbers: the
# initial weights, the minibatch order and the Gibbs draws come from Keras's
# generators, not PyTorch's.
#
# ## Summary
#
# - An RBM is a Keras model whose `train_step` applies a sampled gradient, the
#   learning rule {eq}`ebm-rbm-learning-rule`, through a Keras optimizer; no
#   loss is differentiated.
# - With explicit uniforms for every Bernoulli draw, the Keras RBM and
#   `genmod.rbm` compute the same free energies, Gibbs states and CD-1 update
#   (checked by `tests/tf/test_ebm_rbm_frameworks.py`).
# - A model crosses frameworks as arrays: the Keras weights were scored by the
#   book's PyTorch AIS and judge, so its numbers can be set beside those of
#   {doc}`rbm_mnist_torch` directly: in this run a test log-likelihood of
#   {glue:text}`test_ll:.1f` nats per digit and {glue:text}`classes` classes
#   with at least $2\%$ of the samples.
#
# ## Exercises
#
# ```{exercise}
# :label: ebm-ex-rbm-mnist-tf-cd-k
#
# Give `RBM` the argument `num_chains=None` to train it with CD-k instead of
# PCD, and train it with $k = 1$ and $k = 10$. Compare the free-running samples
# (judge) and the test log-likelihoods with those of PCD-1.
# ```
#
# ```{solution} ebm-ex-rbm-mnist-tf-cd-k
# :class: dropdown
#
# `RBM(d, config.hidden_dim, k=10, num_chains=None, ...)`: `cd_gradient` then
# starts its chains at the minibatch. As in {doc}`rbm_mnist_torch`, CD-1 gives
# blurrier samples of fewer classes and a lower test log-likelihood than PCD-1;
# CD-10 closes part of the gap at ten times the cost per update, because its
# chains get further from the data before the negative phase is taken
# {eq}`ebm-cd`.
# ```
#
# ```{exercise}
# :label: ebm-ex-rbm-mnist-tf-keras-gradient
#
# Write a `train_step` that lets `tf.GradientTape` find the update: a
# "loss" whose gradient is the negative CD estimate. Show that
# $\mathcal{L} = \frac1B \sum_b F(\x_b) - \frac1C \sum_c F(\tilde\x_c)$, with the
# chain states $\tilde\x_c$ held fixed (`tf.stop_gradient`), has exactly the
# gradient $-(\Delta W, \Delta \mathbf{a}, \Delta \mathbf{b})$ of `cd_gradient`.
# ```
#
# ```{solution} ebm-ex-rbm-mnist-tf-keras-gradient
# :class: dropdown
#
# By {eq}`ebm-rbm-free-energy`, $\partial F(\x) / \partial w_{ij} = -x_i \,
# \sigmoid(b_j + (\x^\top W)_j) = -x_i\, p(h_j = 1 \mid \x)$,
# $\partial F / \partial a_i = -x_i$ and
# $\partial F / \partial b_j = -p(h_j = 1 \mid \x)$. Averaging over the data
# and subtracting the average over the fixed chain states gives
# $\partial \mathcal{L} / \partial w_{ij} = -\langle x_i p(h_j \mid \x)\rangle_{\mathrm{data}}
# + \langle \tilde x_i p(h_j \mid \tilde\x)\rangle_{\mathrm{chain}} = -\Delta w_{ij}$,
# and likewise for the biases. This is how many RBM codes are written; it is
# also the form of the deep energy-based models, whose energy is a network
# (the chapter's energy-based models trained by Langevin sampling). The cell
# below checks it on the trained RBM: the largest difference between the tape's
# gradient and minus the CD estimate is at the level of float32 rounding.
# ```

# %% tags=["hide-input"]
x = tf.constant(x_test_bin[:100])
uniforms = [(rbm.uniform((config.num_chains, config.hidden_dim)),
             rbm.uniform((config.num_chains, d)))]
dW, da, db, x_model = rbm.cd_gradient(x, uniforms)
x_model = tf.stop_gradient(x_model)
with tf.GradientTape() as tape:
    loss = (tf.reduce_mean(rbm.free_energy(x))
            - tf.reduce_mean(rbm.free_energy(x_model)))
grads = tape.gradient(loss, [rbm.W, rbm.a, rbm.b])
for name, g, delta in zip(("W", "a", "b"), grads, (dW, da, db)):
    gap = float(tf.reduce_max(tf.abs(g + delta)))
    print(f"max |dL/d{name} + Delta {name}| = {gap:.1e}")

# %% [markdown]
#
# ## References
#
# ```{bibliography}
# :filter: docname in docnames
# ```
