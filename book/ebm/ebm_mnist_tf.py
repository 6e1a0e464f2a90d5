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
# # A deep energy-based model on MNIST (TensorFlow/Keras)
#
# The deep EBM of {doc}`ebm_mnist_torch`, written in Keras in the style of the
# energy-based model notebook of Foster's *Generative Deep Learning*
# {cite}`foster2023` (chapter 7): a `Buffer` class that makes the
# negatives, and a `keras.Model` subclass whose `train_step` holds the loss. We
# train it on the same digits with the same settings and look at the same plots
# and numbers.
#
# ```{admonition} Learning goals
# :class: tip
#
# After this notebook you can
#
# - write short-run Langevin sampling {eq}`ebm-practical-langevin` with
#   `tf.GradientTape`, and the deep EBM's loss (the gradient
#   {eq}`ebm-deep-ml-gradient` and the regulariser {eq}`ebm-energy-regulariser`)
#   in a Keras `train_step`;
# - train a model live for a few minutes, load one that the same code trained
#   for 1,500 updates from a checkpoint, and judge both the same way, beside the
#   PyTorch notebook's models.
# ```
#
# The mathematics is in {doc}`langevin`.

# %% tags=["hide-input"]
# Setup: install the book's helper package when it is missing (Colab, Binder).
import importlib.util, subprocess, sys
REPO_URL = "https://github.com/genmod-book/genmod-book"
# this notebook's name: its artifacts and checkpoints are filed under it
NOTEBOOK = "ebm_mnist_tf"
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
from genmod.tfutils import describe_device, load_or_train, seed_everything
import tensorflow as tf
import keras
from keras import layers
# numpy only: the same functions as in the PyTorch notebook
from genmod.ebm_eval import auc_lower, smooth
# the judge is a PyTorch classifier: judge_samples runs it in a subprocess
from genmod.judge import judge_samples
from genmod.plotting import image_grid, samples_and_classes

print(f"scale: {genmod.get_scale()}")
# TensorFlow places the work on a GPU by itself when it sees one
device = describe_device()
seed_everything(0)
(x_train, y_train), (x_test, y_test) = genmod.load_mnist()   # prints its source

# %% [markdown]
# The settings are those of the PyTorch notebook, which follow the reference run
# (Lippe's tutorial {cite}`lippe2022` and Foster's notebook; the method is
# Du and Mordatch's {cite}`du2019`, the MNIST settings are not, as
# {doc}`ebm_mnist_torch` explains); the scales differ in how long they train live and sample. The
# checkpointed model is trained for `checkpoint_updates` updates at every scale,
# with the settings named in `TRAIN_KEYS`.

# %%
config = genmod.Config(
    channels=16,            # channels of the first conv layer (then 2x, 4x, 4x)
    batch_size=64,          # real digits and negatives per update (ref: 128)
    langevin_steps=60,      # Langevin steps per update (ref: 60)
    step_size=10.0,         # eta, gradient step of the sampler (ref: 10)
    noise=0.005,            # sigma, std of the injected noise (ref: 0.005)
    grad_clip=0.03,         # g_max: |dE/dx| clipped to this per pixel
    buffer_size=8192,       # largest number of images in the buffer
    fresh_fraction=0.05,    # expected share of each batch restarted from noise
    lr=1e-4,                # Adam learning rate, beta_1 = 0.0
    alpha=0.1,              # lambda_E, weight of the energy regulariser
    data_noise=0.005,       # std of the noise added to the real digits
    # live training: parameter updates (full: 60 epochs)
    num_updates=pick(quick=4, book=250, full=56_000),
    checkpoint_updates=1500,  # updates of the checkpointed model, every scale
    # fresh chains from noise, judged, and their Langevin steps
    num_samples=pick(quick=128, book=1024, full=10_000),
    sample_steps=pick(quick=20, book=256, full=256),
    # buffer images judged
    num_buffer_samples=pick(quick=128, book=1024, full=8192),
    # images of each kind in the out-of-distribution check
    num_ood=pick(quick=128, book=1000, full=2000),
    log_every=pick(quick=2, book=25, full=1000),  # updates between printouts
)
# the settings a trained model depends on
TRAIN_KEYS = ("channels", "batch_size", "langevin_steps", "step_size", "noise",
              "grad_clip", "buffer_size", "fresh_fraction", "lr", "alpha",
              "data_noise")

# %% [markdown]
# ## Data
#
# Foster pads the digits to $32 \times 32$; we keep $28 \times 28$, as the PyTorch
# notebook does, and scale the pixels to $[-1, 1]$, in the layout
# (height, width, channels) that Keras convolutions expect.

# %%
# (8000, 28, 28, 1) in [-1, 1]
x_data = (x_train.astype("float32") / 255.0 * 2 - 1)[..., None]
# (2000, 28, 28, 1)
x_held = (x_test.astype("float32") / 255.0 * 2 - 1)[..., None]


def digit_batches(cfg, seed):
    """An endless stream of shuffled batches (cfg.batch_size, 28, 28, 1) of
    the training digits."""
    digits = tf.data.Dataset.from_tensor_slices(x_data)
    return (digits.shuffle(len(x_data), seed=seed).repeat()
            .batch(cfg.batch_size, drop_remainder=True))


print(f"training digits {x_data.shape}, test digits {x_held.shape}")

# %% [markdown]
# ## The energy network
#
# Four strided convolutions with the Swish activation, then two dense layers:
# the network of the PyTorch notebook. Foster's network outputs the *negative*
# energy (a score that is high on digits); ours outputs the energy $E_\Theta(\x)$ of
# the book's notation, so every sign below is the book's.

# %%
def build_energy(cfg):
    """E_Theta(x): images (B, 28, 28, 1) in [-1, 1] -> energies (B, 1), in nats
    (up to log Z)."""
    c = cfg.channels
    conv = dict(strides=2, padding="same", activation="swish")
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(c, 5, **conv)(inputs)                  # 28x28 -> 14x14
    x = layers.Conv2D(2 * c, 3, **conv)(x)                   # 14x14 -> 7x7
    x = layers.Conv2D(4 * c, 3, **conv)(x)                   # 7x7 -> 4x4
    x = layers.Conv2D(4 * c, 3, **conv)(x)                   # 4x4 -> 2x2
    x = layers.Flatten()(x)
    x = layers.Dense(4 * c, activation="swish")(x)
    outputs = layers.Dense(1)(x)  # E_Theta(x), one number
    return keras.Model(inputs, outputs, name="energy")


energy_net = build_energy(config)
energy_net.summary()

# %% [markdown]
# ## Langevin sampling with a gradient tape
#
# The practical step {eq}`ebm-practical-langevin`: add noise of standard
# deviation $\sigma$, clip to $[-1, 1]$, step by $\eta$ down the clipped energy
# gradient, clip again. As in {doc}`ebm_mnist_torch`, with $\eta = 10$ and
# $\sigma = 0.005$ this samples, at best, the temperature
# $\sigma^2/(2\eta) \approx 10^{-6}$ {eq}`ebm-effective-temperature`, not
# $e^{-E_\Theta}$.

# %%
def generate_samples(model, inp_imgs, steps, step_size, noise, grad_clip,
                     return_img_per_step=False):
    """Short-run Langevin from inp_imgs (B, 28, 28, 1): eq.
    ebm-practical-langevin."""
    imgs_per_step = []
    for _ in range(steps):
        eps = tf.random.normal(tf.shape(inp_imgs), stddev=noise)
        inp_imgs = inp_imgs + eps                           # + sigma eps_t
        inp_imgs = tf.clip_by_value(inp_imgs, -1.0, 1.0)
        with tf.GradientTape() as tape:
            tape.watch(inp_imgs)
            energy = model(inp_imgs, training=False)
        grads = tape.gradient(energy, inp_imgs)
        grads = tf.clip_by_value(grads, -grad_clip, grad_clip)  # clip(dE/dx)
        # - eta clip(grad E)
        inp_imgs = tf.clip_by_value(inp_imgs - step_size * grads, -1.0, 1.0)
        if return_img_per_step:
            imgs_per_step.append(inp_imgs)
    return tf.stack(imgs_per_step, axis=0) if return_img_per_step else inp_imgs


@tf.function(reduce_retracing=True)
def sample_step(model, inp_imgs, steps, step_size, noise, grad_clip):
    """generate_samples compiled to a graph: the same step in a
    tf.while_loop (steps a tensor)."""
    for _ in tf.range(steps):
        eps = tf.random.normal(tf.shape(inp_imgs), stddev=noise)
        inp_imgs = tf.clip_by_value(inp_imgs + eps, -1.0, 1.0)
        with tf.GradientTape() as tape:
            tape.watch(inp_imgs)
            energy = model(inp_imgs, training=False)
        grads = tape.gradient(energy, inp_imgs)
        grads = tf.clip_by_value(grads, -grad_clip, grad_clip)
        inp_imgs = tf.clip_by_value(inp_imgs - step_size * grads, -1.0, 1.0)
    return inp_imgs


# %% [markdown]
# ## The buffer
#
# As in Foster's notebook, the buffer starts with one batch of uniform noise and
# grows to `buffer_size` images. Each call restarts a binomial number of chains
# (on average `fresh_fraction` of the batch) from noise, continues the rest from
# random buffer images, runs the sampler, and puts the results at the front.

# %%
class Buffer:
    def __init__(self, model, cfg):
        self.model, self.cfg = model, cfg
        self.examples = [tf.random.uniform((1, 28, 28, 1)) * 2 - 1
                         for _ in range(cfg.batch_size)]

    def sample_new_exmps(self, steps, step_size, noise):
        cfg = self.cfg
        n_new = np.random.binomial(cfg.batch_size, cfg.fresh_fraction)
        rand_imgs = tf.random.uniform((n_new, 28, 28, 1)) * 2 - 1
        picks = np.random.choice(len(self.examples), cfg.batch_size - n_new)
        old_imgs = tf.concat([self.examples[i] for i in picks], axis=0)
        inp_imgs = tf.concat([rand_imgs, old_imgs], axis=0)
        inp_imgs = sample_step(self.model, inp_imgs, steps=tf.constant(steps),
                               step_size=tf.constant(step_size),
                               noise=tf.constant(noise),
                               grad_clip=tf.constant(cfg.grad_clip))
        new = tf.split(inp_imgs, cfg.batch_size, axis=0)
        self.examples = new + self.examples
        self.examples = self.examples[: cfg.buffer_size]
        return inp_imgs


# %% [markdown]
# ## The model and its training step
#
# The loss is $\frac1B\sum_i E_\Theta(\x_i) - \frac1B\sum_i E_\Theta(\tilde\x_i)$,
# whose gradient estimates {eq}`ebm-deep-ml-gradient`, plus the regulariser
# {eq}`ebm-energy-regulariser`. Foster calls the first term the contrastive
# divergence loss, `cdiv_loss`.

# %%
class EBM(keras.Model):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = build_energy(cfg)
        self.buffer = Buffer(self.model, cfg)
        self.loss_metric = keras.metrics.Mean(name="loss")
        self.reg_loss_metric = keras.metrics.Mean(name="reg")
        self.cdiv_loss_metric = keras.metrics.Mean(name="cdiv")
        self.real_out_metric = keras.metrics.Mean(name="real")
        self.fake_out_metric = keras.metrics.Mean(name="fake")

    @property
    def metrics(self):
        return [self.loss_metric, self.reg_loss_metric, self.cdiv_loss_metric,
                self.real_out_metric, self.fake_out_metric]

    def train_step(self, real_imgs):
        cfg = self.cfg
        eps = tf.random.normal(tf.shape(real_imgs), stddev=cfg.data_noise)
        real_imgs = tf.clip_by_value(real_imgs + eps, -1.0, 1.0)
        fake_imgs = self.buffer.sample_new_exmps(
            steps=cfg.langevin_steps, step_size=cfg.step_size, noise=cfg.noise)
        inp_imgs = tf.concat([real_imgs, fake_imgs], axis=0)
        with tf.GradientTape() as training_tape:
            real_out, fake_out = tf.split(self.model(inp_imgs), 2, axis=0)
            # eq. ebm-deep-ml-gradient
            cdiv_loss = tf.reduce_mean(real_out) - tf.reduce_mean(fake_out)
            # eq. ebm-energy-regulariser
            reg_loss = cfg.alpha * tf.reduce_mean(real_out**2 + fake_out**2)
            loss = cdiv_loss + reg_loss
        weights = self.model.trainable_variables
        grads = training_tape.gradient(loss, weights)
        self.optimizer.apply_gradients(zip(grads, weights))
        values = (loss, reg_loss, cdiv_loss, tf.reduce_mean(real_out),
                  tf.reduce_mean(fake_out))
        for metric, value in zip(self.metrics, values):
            metric.update_state(value)
        return {m.name: m.result() for m in self.metrics}


# %% [markdown]
# ## Training
#
# We call `train_step` ourselves, one minibatch at a time, and record the mean
# energies of the digits and of the negatives at every update (Foster calls
# `fit`, which does the same and prints the running means).

# %%
def train_ebm(cfg, *, seed, log_every):
    """Train EBM(cfg) for cfg.num_updates updates from seed; return
    (ebm, history of mean energies)."""
    seed_everything(seed)
    ebm = EBM(cfg)
    ebm.compile(optimizer=keras.optimizers.Adam(learning_rate=cfg.lr,
                                                beta_1=0.0))
    history = {"energy_real": [], "energy_fake": []}
    start = time.perf_counter()
    batches = digit_batches(cfg, seed).take(cfg.num_updates)
    for step, real_imgs in enumerate(batches, start=1):
        for m in ebm.metrics:
            m.reset_state()
        out = ebm.train_step(real_imgs)
        history["energy_real"].append(float(out["real"]))
        history["energy_fake"].append(float(out["fake"]))
        if step % log_every == 0 or step == cfg.num_updates:
            print(f"update {step:5d}/{cfg.num_updates}: "
                  f"E(data) {history['energy_real'][-1]:+.3f}, "
                  f"E(negatives) {history['energy_fake'][-1]:+.3f}, "
                  f"{time.perf_counter() - start:.0f} s")
    return ebm, history


start = time.perf_counter()
ebm, history = train_ebm(config, seed=0, log_every=config.log_every)
train_time = time.perf_counter() - start
print(f"live training: {config.num_updates} updates in {train_time:.0f} s")

# %% [markdown]
# ## The checkpointed model
#
# Live training on a CPU cannot go far in the `book` budget, so we also load a
# model trained by exactly this code for `checkpoint_updates` updates, with the
# same settings, and committed with its provenance (`book/ebm/checkpoints/`):
# its weights are the arrays of `get_weights()`, in order, in an `.npz` file.
# If the checkpoint is missing, this cell trains it (on a 2-core CPU, about
# forty minutes) and saves it.

# %%
long_config = config.subset(*TRAIN_KEYS, num_updates=config.checkpoint_updates)


def fixed_inputs():
    """Four fixed images (4, 28, 28, 1) in [-1, 1]: their energies check that
    a loaded model is the one saved."""
    return tf.reshape(tf.sin(tf.linspace(-1.0, 1.0, 4 * 784)), (4, 28, 28, 1))


def train_long():
    long_ebm, hist = train_ebm(long_config, seed=1, log_every=100)
    fixed = long_ebm.model(fixed_inputs()).numpy()[:, 0].tolist()
    return long_ebm.model, {
        "energy_real_last100": float(np.mean(hist["energy_real"][-100:])),
        "energy_fake_last100": float(np.mean(hist["energy_fake"][-100:])),
        "energy_fixed_inputs": fixed}


energy_long, checkpoint = load_or_train(NOTEBOOK, long_config,
                                        build=build_energy, train=train_long)
fixed_now = energy_long(fixed_inputs()).numpy()[:, 0].tolist()
recorded = checkpoint.provenance["metrics"]["energy_fixed_inputs"]
print(f"energies of the fixed inputs: {fixed_now} (recorded: {recorded})")

# %% [markdown]
# Which figures come from which model: the energies during training and the
# buffer samples come from the **live** model of this run (the checkpoint keeps
# the energy's weights, not its buffer); the fresh chains are drawn from both;
# the step-by-step chain, the out-of-distribution check and the saved, judged
# samples come from the **checkpointed** model.

# %% [markdown]
# ## Energies of data and negatives during training
#
# The moving average is `genmod.ebm_eval.smooth`, shown in {doc}`ebm_mnist_torch`.

# %%
fig, ax = plt.subplots(figsize=(7, 3.8))
ax.plot(smooth(history["energy_real"]), label=r"data, $E_\Theta(\mathbf{x})$")
ax.plot(smooth(history["energy_fake"]),
        label=r"negatives, $E_\Theta(\tilde{\mathbf{x}})$")
ax.set(xlabel="update", ylabel="mean energy (moving average of 10)",
       title="live training")
ax.legend()
plt.show()

# %% [markdown]
# **Figure.** The mean energy of the digits and of the negatives at each
# update of the live run, as a moving average over 10 updates: the same picture
# as in {doc}`ebm_mnist_torch`. The gap opens when the negatives are still noise
# and closes as the sampler learns to reach low energies. The checkpointed
# model's mean energies over its last 100 updates, recorded in its provenance
# (printed above), are $-0.006$ for the digits and $-0.003$ for the negatives:
# at the end of its training the two look nearly alike to the energy.

# %% [markdown]
# ## Samples from the buffer and from fresh noise, and one chain step by step
#
# The buffer holds the negatives of the last updates of the live run. A fresh
# chain starts from uniform noise and runs `sample_steps` steps of the training
# sampler; we draw fresh chains from the live and from the checkpointed model.

# %%
def to01(x):
    """Images (N, 28, 28, 1) in [-1, 1] -> (N, 28, 28) in [0, 1]."""
    return np.clip((np.asarray(x)[..., 0] + 1) / 2, 0, 1)


def fresh_chains(model, num, steps, chunk=256):
    """num chains from uniform noise, steps steps of the training sampler;
    images (num, 28, 28) in [0, 1]."""
    out = []
    for i in range(0, num, chunk):
        x0 = tf.random.uniform((min(chunk, num - i), 28, 28, 1)) * 2 - 1
        x = sample_step(model, x0, steps=tf.constant(steps),
                        step_size=tf.constant(config.step_size),
                        noise=tf.constant(config.noise),
                        grad_clip=tf.constant(config.grad_clip))
        out.append(to01(x))
    return np.concatenate(out)


# %%
rng = np.random.default_rng(0)
stored = ebm.buffer.examples
idx = rng.choice(len(stored), min(config.num_buffer_samples, len(stored)),
                 replace=False)
buffer_samples = to01(tf.concat([stored[i] for i in idx], axis=0))
start = time.perf_counter()
steps = config.sample_steps
fresh_live = fresh_chains(ebm.model, min(256, config.num_samples), steps)
fresh_long = fresh_chains(energy_long, config.num_samples, steps)
print(f"{len(stored):,} images in the live buffer; "
      f"fresh chains took {time.perf_counter() - start:.0f} s")
fig, axes = plt.subplots(1, 3, figsize=(15, 5.4))
image_grid(buffer_samples[:64], nrow=8, ax=axes[0],
           title="(a) live model: replay buffer")
image_grid(fresh_live[:64], nrow=8, ax=axes[1],
           title=f"(b) live model: fresh chains, {steps} steps")
image_grid(fresh_long[:64], nrow=8, ax=axes[2],
           title=f"(c) checkpoint: fresh chains, {steps} steps")
plt.show()

# %% [markdown]
# **Figure.** (a) 64 random images of the live model's buffer; (b) 64 fresh
# chains of the live model and (c) of the checkpointed model, each from uniform
# noise after `sample_steps` steps of the training sampler
# {eq}`ebm-practical-langevin`. In the `book` run, after 250 live updates, some
# buffer images are faint but recognisable digits and many are still speckled
# noise (chains restarted recently, or continued only a few times), and the live
# model's fresh chains all end as the same dark, speckled blob: low in energy, not
# a digit. The checkpointed model turns noise into dark strokes and loops on a
# clean background; some are digits (2s, 3s, 8s), many are broken strokes that no
# one would call a digit.

# %%
keep = max(1, config.sample_steps // 16)
x0 = tf.random.uniform((1, 28, 28, 1)) * 2 - 1
states = generate_samples(energy_long, x0, steps=config.sample_steps,
                          step_size=config.step_size, noise=config.noise,
                          grad_clip=config.grad_clip, return_img_per_step=True)
chain = states[keep - 1::keep, 0]
chain_energy = energy_long(chain).numpy()[:, 0]
fig, axes = plt.subplots(2, 1, figsize=(14, 4.6),
                         gridspec_kw={"height_ratios": [1.3, 1]})
image_grid(to01(chain), nrow=len(chain), ax=axes[0],
           title="one fresh chain of the checkpointed model")
axes[1].plot(np.arange(1, len(chain) + 1) * keep, chain_energy, "o-")
axes[1].set(xlabel="Langevin step", ylabel=r"$E_\Theta(\tilde{\mathbf{x}}_t)$")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** One chain of the checkpointed model from uniform noise, every
# `sample_steps / 16` steps (top), and its energy (bottom). The clipped
# gradient steps wipe out the noise within the first 50 steps or so, as the
# energy falls fast; a stroke pattern then sharpens and hardly moves while the
# energy levels off: at the sampler's temperature of about $10^{-6}$
# {eq}`ebm-effective-temperature` the chain is nearly gradient descent into the
# nearest minimum.

# %% [markdown]
# ## Judging the samples
#
# The book's MNIST judge scores the checkpointed model's fresh chains (the
# samples we save), the live model's buffer and its fresh chains, as in
# {doc}`ebm_mnist_torch`. The target is that at least 8 of the 10 classes
# receive at least 2 % of the samples.

# %%
judge = judge_samples(fresh_long)       # checkpoint, fresh chains: saved
judge_buffer = judge_samples(buffer_samples)   # live model, buffer
judge_live = judge_samples(fresh_live)         # live model, fresh chains
samples_and_classes(fresh_long, judge["class_histogram"], reference=y_test)
plt.show()
genmod.glue("num_judged", len(fresh_long))
genmod.glue("ckpt_classes", judge["classes_with_2pct"])
genmod.glue("ckpt_confidence", judge["mean_confidence"])
genmod.glue("ckpt_frechet", judge["frechet_distance"])
genmod.glue("ckpt_frechet_real", judge["real_frechet_distance"])
genmod.glue("buffer_classes", judge_buffer["classes_with_2pct"])
genmod.glue("buffer_frechet", judge_buffer["frechet_distance"])
genmod.glue("live_classes", judge_live["classes_with_2pct"])
genmod.glue("live_frechet", judge_live["frechet_distance"])
genmod.glue("live_frechet_real", judge_live["real_frechet_distance"])

# %% [markdown]
# **Figure.** (a) The first 100 fresh samples of the checkpointed model; (b)
# the judge's class histogram of them, beside the class frequencies of the test
# digits (dotted line: 2 %). In this run the judge put at least 2 % of the
# samples in {glue:text}`ckpt_classes` of the 10 classes; its mean confidence
# was {glue:text}`ckpt_confidence:.2f` and the Fréchet distance
# {glue:text}`ckpt_frechet:.0f`, against {glue:text}`ckpt_frechet_real:.1f` for
# as many real digits. In the `book` reference run these were 9 classes (all but
# 9, with 1 %; 2, 3 and 8 over-represented), 0.67, and 286 against 16.7: the
# classes are covered, the digits are rough.

# %% [markdown]
# ## Out-of-distribution scores
#
# Under the checkpointed model: the energies of test digits, of the same digits
# with shuffled pixels, and of uniform noise. The AUC is the probability that a
# random test digit has a lower energy than a random image of the other kind.
#
# The AUC is `genmod.ebm_eval.auc_lower`, shown in {doc}`ebm_mnist_torch`.

# %%
digits = x_held[: config.num_ood]
shuffled = np.stack([rng.permutation(d.reshape(-1)).reshape(28, 28, 1)
                     for d in digits])
noise_imgs = rng.uniform(-1, 1, digits.shape).astype("float32")
ood = {name: energy_long(x).numpy()[:, 0] for name, x in
       (("test digits", digits), ("shuffled pixels", shuffled),
        ("uniform noise", noise_imgs))}
auc = {name: auc_lower(ood["test digits"], e) for name, e in ood.items()
       if name != "test digits"}
fig, ax = plt.subplots(figsize=(7, 3.8))
for name, e in ood.items():
    ax.hist(e, bins=60, histtype="step", lw=1.5, density=True, label=name)
ax.set(xlabel=r"energy $E_\Theta(\mathbf{x})$", ylabel="density",
       title="checkpointed model")
ax.legend()
plt.show()
print("AUC (test digits lower than ...):",
      {k: round(v, 4) for k, v in auc.items()})
genmod.glue("auc_shuffled", auc["shuffled pixels"])
genmod.glue("auc_noise", auc["uniform noise"])

# %% [markdown]
# **Figure.** Energies of test digits, of the same digits with shuffled
# pixels, and of uniform noise, under the checkpointed model. In this run the
# AUC against noise is {glue:text}`auc_noise:.5f` and against shuffled digits
# {glue:text}`auc_shuffled:.5f` (in the `book` reference run 1.0 and 0.99999:
# every test digit below every noise image, and below all but a handful of
# shuffled digits). Shuffled pixels, which keep the grey levels of a digit, lie
# between the two.

# %% [markdown]
# We save the checkpointed model's fresh samples and the numbers for the book's
# comparison of all models.

# %%
energy_samples = float(
    energy_long(fresh_long[..., None] * 2 - 1).numpy().mean())
metrics = {
    **judge,  # checkpoint, fresh chains
    "buffer/frechet_distance": judge_buffer["frechet_distance"],
    "buffer/classes_with_2pct": judge_buffer["classes_with_2pct"],
    "buffer/mean_confidence": judge_buffer["mean_confidence"],
    "live/frechet_distance": judge_live["frechet_distance"],
    "live/classes_with_2pct": judge_live["classes_with_2pct"],
    # checkpoint, mean energy of test digits
    "energy_data": float(ood["test digits"].mean()),
    # checkpoint, mean energy of its fresh samples
    "energy_samples": energy_samples,
    "shuffled/ood_auc": auc["shuffled pixels"],
    "noise/ood_auc": auc["uniform noise"],
    "train_time_s": train_time,                               # s, live training
}
folder = genmod.save_artifacts(NOTEBOOK, fresh_long, metrics, kind="images",
                               value_range=(0, 1), config=config, device=device)
print(f"saved {len(fresh_long)} samples and {len(metrics)} metrics to {folder}")

# %% [markdown]
# ## What differs from the reference run
#
# | | Foster's notebook | this notebook (`book`) |
# |---|---|---|
# | data | 60,000 MNIST digits padded to $32 \times 32$ | 8,000 digits of the MNIST test set (offline), $28 \times 28$ |
# | batch size | 128 | 64 |
# | training | 60 epochs (about 28,000 updates) | live: 250 updates; checkpoint: 1,500 updates |
# | output of the network | the negative energy | the energy |
# | optimiser | Adam, learning rate $10^{-4}$ | the same, with `beta_1=0.0` as in Lippe's tutorial |
#
# The checkpoint was trained by this notebook's `train_long()` on a shared
# 2-core CPU, one thread, in 862 s at a load of about 2 to 4 (its provenance,
# printed above, says how, and what it reached); {doc}`ebm_mnist_torch`'s checkpoint has 2,000
# updates. At `full` scale the live run trains for 56,000 updates (60 epochs of
# 60,000 digits at batch 64), which needs a GPU. Results on a GPU may differ from
# CPU results in the last digits.
#
# ## Summary
#
# - The Keras version is the same algorithm as the PyTorch one: a gradient tape
#   for the sampler, a buffer, and a `train_step` with the loss and the
#   regulariser.
# - In this run the judge put at least $2\%$ of the checkpointed model's
#   (1,500 updates) {glue:text}`num_judged` fresh samples in
#   {glue:text}`ckpt_classes` of the 10 classes (the target is eight), with a
#   Fréchet distance of {glue:text}`ckpt_frechet:.0f` against
#   {glue:text}`ckpt_frechet_real:.1f` for as many real digits. The `book`
#   reference run reached 9 classes and 286 against 16.7
#   ({doc}`ebm_mnist_torch`'s checkpoint, 2,000 updates: 8 classes, 228). Many
#   of those samples are broken strokes rather than clean digits.
# - The live model, after `num_updates` updates, reached
#   {glue:text}`buffer_classes` classes in its buffer (Fréchet distance
#   {glue:text}`buffer_frechet:.0f`) and {glue:text}`live_classes` in its fresh
#   chains ({glue:text}`live_frechet:.0f`, against
#   {glue:text}`live_frechet_real:.1f` for as many real digits).
# - The checkpointed energy separates test digits from uniform noise (AUC
#   {glue:text}`auc_noise:.5f`) and from shuffled pixels (AUC
#   {glue:text}`auc_shuffled:.5f`).
#
# ## Exercises
#
# ```{exercise}
# :label: ebm-ex-ebm-mnist-tf-compile
#
# `sample_step` is `generate_samples` compiled with `tf.function`, its loop over
# `tf.range(steps)`. Time one call of 60 steps on a batch of 64 of each. What
# happens if `sample_step` loops over `range(steps)` with a Python integer
# instead, and when does it get traced again?
# ```
#
# ```{solution} ebm-ex-ebm-mnist-tf-compile
# :class: dropdown
#
# With `tf.range` and a tensor `steps`, autograph turns the loop into one
# `tf.while_loop`: the graph holds one step, traced once, and the compiled call
# avoids the Python overhead of every step. With `range(steps)` and a Python
# integer the loop is unrolled into 60 copies of the step, and tracing and
# optimising that graph takes many seconds (about half a minute here), again for
# every new number of steps; a Python float `step_size` also retraces when it
# changes, which is why the notebook passes tensors. `reduce_retracing=True` lets one
# trace serve batches of different sizes. The cell below times one call of
# each (the compiled one twice: the first call traces).
# ```

# %% tags=["hide-input"]
x0 = tf.random.uniform((64, 28, 28, 1)) * 2 - 1
settings = dict(step_size=config.step_size, noise=config.noise,
                grad_clip=config.grad_clip)
tensors = {k: tf.constant(v) for k, v in settings.items()}
for name, run in (
        ("generate_samples (eager)",
         lambda: generate_samples(energy_long, x0, 60, **settings)),
        ("sample_step, first call",
         lambda: sample_step(energy_long, x0, tf.constant(60), **tensors)),
        ("sample_step, second call",
         lambda: sample_step(energy_long, x0, tf.constant(60), **tensors))):
    start = time.perf_counter()
    run()
    print(f"{name:26s}: {time.perf_counter() - start:.2f} s for 60 steps")

# %% [markdown]
# ```{exercise}
# :label: ebm-ex-ebm-mnist-tf-buffer
#
# Foster's buffer grows from one batch to `buffer_size` images, while the PyTorch
# notebook's starts full of noise. After $u$ updates, how many images does each
# contain that a chain has visited, and what does that mean for the buffer
# samples early in training?
# ```
#
# ```{solution} ebm-ex-ebm-mnist-tf-buffer
# :class: dropdown
#
# The growing buffer holds $\min(B(u + 1), 8192)$ images, every one of them
# written by a chain, except the initial batch of noise. The full buffer has
# 8,192 images, of which, after $u$ updates of $B$ random draws, about
# $8192\,(1 - e^{-uB/8192})$ have been visited, and the rest are still noise. Early
# on the growing buffer therefore continues the few recent chains more often,
# which makes them better, and the full one continues each chain rarely. The
# PyTorch notebook judges only visited slots for this reason.
# ```
#
# ## References
#
# ```{bibliography}
# :filter: docname in docnames
# ```
