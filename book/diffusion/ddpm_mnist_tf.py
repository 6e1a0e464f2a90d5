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
# # A denoising diffusion model on MNIST (TensorFlow/Keras)
#
# The DDPM of {doc}`ddpm_mnist_torch`, written again in Keras 3 in the style of the Keras
# example "Denoising Diffusion Implicit Models" {cite}`beres2022ddim`: a U-Net wrapped in a
# `keras.Model` whose custom `train_step` noises a batch of digits and regresses the noise
# with the simplified loss {eq}`diffusion-simple-loss`, an exponential-moving-average (EMA)
# copy of the network that does the sampling, and samplers written as `tf.function`s. The
# data, the schedule (Ho et al.'s linear one with $N = 1000$ steps {cite}`ho2020`), the
# network and the metrics are those of the PyTorch notebook, so the two can be compared
# number for number; the PyTorch notebook is the reference, and this one is a port whose
# pieces the tests check against it. As there, live training on a CPU shows the loss
# falling and the first blurry samples; the samples judged at the end come from the same
# code trained for longer, loaded from a checkpoint trained by this notebook's code for
# 2,500 steps. The page says which figure comes from which model.
#
# ```{admonition} Learning goals
# :class: tip
#
# After this notebook you can
#
# - write a diffusion model as a `keras.Model` with a custom `train_step` and an EMA copy
#   of its network, as the Keras DDIM example does;
# - read a noise schedule through $\abar_t$ and the signal-to-noise ratio {eq}`diffusion-snr`;
# - write the ancestral sampler {eq}`diffusion-ancestral` and DDIM {eq}`diffusion-ddim` as
#   `tf.function`s, and weigh their cost (network evaluations, seconds) against quality;
# - compute the test ELBO {eq}`diffusion-elbo-denoising` in bits per dimension
#   {eq}`diffusion-bpd` in TensorFlow, with a standard error;
# - say which results come from the live model and which from the checkpoint, and why.
# ```
#
# What differs from the Keras example: the example trains a wider U-Net on 64x64 flowers
# with a continuous-time cosine schedule, predicts noise *and* images, and samples with DDIM
# only; here the schedule is discrete and linear (Ho et al.'s, so that the ELBO of the
# PyTorch notebook applies unchanged), the network is the PyTorch notebook's small U-Net,
# and both samplers are used. The mathematics is in {doc}`theory`. $N$ is the number of
# diffusion steps (Ho et al. write $T$, the temperature in this book).

# %% tags=["hide-input"]
# Setup: install the book's helper package when it is missing (Colab, Binder).
import importlib.util, subprocess, sys
REPO_URL = "https://github.com/genmod-book/genmod-book"
# this notebook's name: its artifacts and checkpoints are filed under it
NOTEBOOK = "ddpm_mnist_tf"
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
# first: it sets TensorFlow's log level
from genmod.tfutils import describe_device, load_or_train, seed_everything
import tensorflow as tf                      # TensorFlow only: never torch here
import keras
from keras import layers
# the (PyTorch) judge runs in a subprocess
from genmod.judge import judge_samples
from genmod.plotting import image_grid, samples_and_classes, training_curves

print(f"scale: {genmod.get_scale()}, keras {keras.__version__}")
# TensorFlow places the work on a GPU by itself when it sees one
device = describe_device()
seed_everything(0)
(x_train, y_train), (x_test, y_test) = genmod.load_mnist()   # prints its source

# %% [markdown]
# Every number that changes with the scale sits in the next cell. `full` uses Ho et
# al.'s schedule, learning rate, gradient clipping and EMA decay, with a wider U-Net
# (64 channels; theirs for CIFAR-10 has 128 and attention layers) and 100,000 steps,
# meant for a GPU. The `book` scale keeps the schedule and the network of the checkpoint
# and trains live for 120 steps only; the checkpoint below was trained by the same code
# for 2,500 steps (the PyTorch notebook's for 1,500: at equal steps this Keras run's loss
# is a little higher, and a first Keras checkpoint of 1,200 steps drew mostly blobs, in 6
# of the 10 classes, in its reference run). `base_channels` is the U-Net's channels at 28x28 (twice as many
# at 14x14 and 7x7); Ho et al.'s $\beta_1$ and $\beta_N$ are `noise_start` and `noise_end`.

# %%
# Configuration: every number that changes with the scale.
# `full` follows Ho et al. (2020).
config = genmod.Config(
    num_diffusion_steps=1000,                 # N, at every scale (Ho et al.)
    noise_start=1e-4,                         # 1 - alpha_1
    noise_end=0.02,                           # 1 - alpha_N
    base_channels=pick(quick=16, book=16, full=64),   # U-Net channels, 28x28
    batch_size=128,                           # digits per gradient step
    # Adam learning rate after the warm-up (Ho et al.: 2e-4)
    lr=pick(quick=1e-3, book=1e-3, full=2e-4),
    warmup_steps=100,                         # steps of linear lr warm-up
    grad_clip=1.0,                            # largest global gradient norm
    # decay of the exponential moving average (EMA) of the weights
    ema_decay=pick(quick=0.9, book=0.995, full=0.9999),
    # gradient steps of the live model
    num_train_steps=pick(quick=20, book=120, full=100_000),
    # also load the model trained longer (below)
    use_checkpoint=pick(quick=True, book=True, full=False),
    checkpoint_train_steps=2500,              # gradient steps of that model
    checkpoint_ema_decay=0.995,               # its EMA decay
    # DDIM samples judged (>= 1000 at book scale)
    num_samples=pick(quick=100, book=1000, full=10_000),
    ddim_steps=pick(quick=10, book=50, full=100),   # evaluations per sample
    # ancestral samples (N network evaluations each)
    num_ancestral=pick(quick=4, book=16, full=1000),
    elbo_digits=pick(quick=20, book=500, full=2000),  # test digits in the ELBO
    elbo_time_steps=pick(quick=2, book=20, full=100),  # random t per digit
    # the first exercise: samples per DDIM run, and the values of eta_DDIM
    exercise_samples=pick(quick=20, book=200, full=1000),
    exercise_etas=pick(quick=(1.0,), book=(0.0, 0.5, 1.0),
                       full=(0.0, 0.5, 1.0)),
)

# %% [markdown]
# The model loaded from the checkpoint is trained with exactly these settings, except
# for its number of steps and its EMA decay; `checkpoint_config` is its whole
# configuration, and the key under which `genmod.checkpoints` files it.

# %%
checkpoint_config = config.subset(
    "num_diffusion_steps", "noise_start", "noise_end", "base_channels",
    "batch_size", "lr", "warmup_steps", "grad_clip",
    ema_decay=config.checkpoint_ema_decay,
    num_train_steps=config.checkpoint_train_steps)

# %% [markdown]
# ## Data and noise schedule
#
# Grey levels $0, \dots, 255$ are mapped to $[-1, 1]$, so that the data have about the
# scale of the noise; they stay on the 256-level grid that the discretised decoder
# {eq}`diffusion-decoder` of the ELBO needs. Keras convolutions want channels last:
# shape `(n, 28, 28, 1)`. The schedule is Ho et al.'s linear one: $1 - \alpha_t$ (their
# $\beta_t$) from $10^{-4}$ to $0.02$ over $N = 1000$ steps; `linear_alpha_bar` computes
# $\abar_t$ in float64 as `genmod.diffusion.linear_schedule` does (a test checks that the
# two agree), and the cosine schedule {cite}`nichol2021` is drawn for comparison.

# %%
def linear_alpha_bar(num_steps, noise_start, noise_end):
    r"""Ho et al.'s linear schedule: abar_t for t = 0..N, float64 (N + 1,).

    1 - alpha_t runs linearly from ``noise_start`` to ``noise_end`` over
    t = 1..N, abar_t = prod_{t' <= t} alpha_t' (eq. diffusion-q-xt-x0) and
    abar_0 = 1: the numbers of ``genmod.diffusion.linear_schedule``.
    """
    if not 0 < noise_start <= noise_end < 1:
        raise ValueError("need 0 < noise_start <= noise_end < 1, got "
                         f"{noise_start}, {noise_end}")
    alpha = 1.0 - np.linspace(noise_start, noise_end, num_steps,
                              dtype=np.float64)
    return np.concatenate([[1.0], np.cumprod(alpha)])


# %%
# (8000, 28, 28, 1) in [-1, 1]
x0_train = (x_train.astype("float32") / 127.5 - 1)[..., None]
x0_test = (x_test.astype("float32") / 127.5 - 1)[..., None]
N = config.num_diffusion_steps
alpha_bar = linear_alpha_bar(N, config.noise_start, config.noise_end)  # (N+1,)
# alpha_t = abar_t / abar_{t-1}
alpha = np.concatenate([[1.0], alpha_bar[1:] / alpha_bar[:-1]])
snr = alpha_bar / (1 - alpha_bar)             # SNR(t); inf at t = 0
# the first t with SNR(t) < 10^-2
t_snr_low = genmod.glue("t_snr_low", int(np.argmax(snr[1:] < 1e-2)) + 1)
snr_600 = genmod.glue("snr_600", float(snr[600]))
print(f"SNR(600) = {snr_600:.3f}; SNR(t) < 1e-2 from t = {t_snr_low}")

# %%
steps = np.arange(N + 1)
f = np.cos((steps / N + 0.008) / 1.008 * np.pi / 2) ** 2     # cosine schedule
cosine_bar = np.concatenate(
    [[1.0], np.cumprod(np.maximum(f[1:] / f[:-1], 1 - 0.999))])
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
axes[0].plot(steps[1:], alpha_bar[1:], label="linear (this notebook)")
axes[0].plot(steps[1:], cosine_bar[1:], "--", label="cosine")
axes[0].set_ylabel(r"$\bar\alpha_t$")
axes[1].semilogy(steps[1:], snr[1:], label="linear")
axes[1].semilogy(steps[1:], cosine_bar[1:] / (1 - cosine_bar[1:]), "--",
                 label="cosine")
axes[1].axvline(t_snr_low, color="k", lw=0.5)
axes[1].set_ylabel(r"$\mathrm{SNR}(t) = \bar\alpha_t / (1 - \bar\alpha_t)$")
for ax in axes[:2]:
    ax.set_xlabel("diffusion step $t$")
    ax.legend()
show_t = np.array([0, 50, 100, 200, 300, 500, 700, 1000])
ab = alpha_bar[np.repeat(show_t, 3)].reshape(-1, 1, 1, 1).astype("float32")
digits = np.tile(x0_test[:3], (len(show_t), 1, 1, 1))
noise = tf.random.stateless_normal(digits.shape, seed=[0, 0])
# x_t ~ q(x_t | x_0), eq. diffusion-q-xt-x0
noised = np.sqrt(ab) * digits + np.sqrt(1 - ab) * noise
grid = np.clip(noised, -1, 1).reshape(len(show_t), 3, 28, 28)
image_grid(grid.transpose(1, 0, 2, 3).reshape(-1, 28, 28), nrow=len(show_t),
           ax=axes[2], value_range=(-1, 1),
           title="$t$ = " + ", ".join(map(str, show_t)))
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** Left and middle: $\abar_t$ and the signal-to-noise ratio {eq}`diffusion-snr` of
# the linear schedule used here and of the cosine schedule {cite}`nichol2021` for comparison.
# The linear schedule has destroyed most of the signal by $t \approx 600$
# ($\mathrm{SNR}(600) =$ {glue:text}`snr_600:.3f`), and its SNR stays below $10^{-2}$ from
# $t =$ {glue:text}`t_snr_low` on (the thin line); the cosine one spreads the destruction
# more evenly. Right: three test digits noised to the steps named in the title, by
# {eq}`diffusion-q-xt-x0`.

# %% [markdown]
# ## The denoiser
#
# The network is the PyTorch notebook's small U-Net, layer for layer (its reasons are
# given there): one residual block at each of the resolutions 28x28, 14x14 and 7x7, skip
# connections from the way down to the way up, and the step $t$ fed to every block
# through a sinusoidal embedding. It is built with the functional API, so that the EMA
# copy is the same function called on the same inputs, and so that `get_weights()` lists
# its arrays in a fixed order (the checkpoint stores them in that order).

# %%
def build_unet(config, time_dim=64):
    r"""The U-Net of ddpm_mnist_torch in Keras: it predicts eps_theta(x_t, t).

    Inputs ``[xt, t]``: float32 (B, 28, 28, 1) and float32 (B,) holding the
    integers 1..N; output (B, 28, 28, 1). C = ``config.base_channels``.
    """
    c1, c2 = config.base_channels, 2 * config.base_channels

    def norm_silu(h):                            # GroupNorm, then SiLU
        return layers.Activation("silu")(
            layers.GroupNormalization(8, epsilon=1e-5)(h))

    def res_block(h, temb, c_out):
        out = layers.Conv2D(c_out, 3, padding="same")(norm_silu(h))
        # the time embedding, per channel
        out = out + layers.Reshape((1, 1, c_out))(layers.Dense(c_out)(temb))
        out = layers.Conv2D(c_out, 3, padding="same")(norm_silu(out))
        return out + (h if h.shape[-1] == c_out
                      else layers.Conv2D(c_out, 1)(h))

    conv = lambda c, s, h: layers.Conv2D(c, 3, strides=s, padding="same")(h)
    up = lambda c, h: layers.Conv2DTranspose(c, 4, strides=2,
                                             padding="same")(h)
    xt, t = keras.Input((28, 28, 1), name="xt"), keras.Input((), name="t")
    half = time_dim // 2                   # sinusoidal embedding (Vaswani)
    freqs = np.exp(-np.log(10_000.0) * np.arange(half) / half)
    angles = keras.ops.expand_dims(t, -1) * freqs[None].astype("float32")
    temb = keras.ops.concatenate(
        [keras.ops.sin(angles), keras.ops.cos(angles)], axis=-1)
    temb = layers.Dense(2 * time_dim)(temb)
    temb = layers.Dense(2 * time_dim)(layers.Activation("silu")(temb))
    h0 = res_block(conv(c1, 1, xt), temb, c1)                 # (B, 28, 28, C)
    h1 = res_block(conv(c2, 2, h0), temb, c2)                 # (B, 14, 14, 2C)
    h = res_block(conv(c2, 2, h1), temb, c2)                  # (B, 7, 7, 2C)
    h = res_block(layers.Concatenate()([up(c2, h), h1]), temb, c2)  # 14x14
    h = res_block(layers.Concatenate()([up(c1, h), h0]), temb, c1)  # 28x28
    eps_pred = layers.Conv2D(1, 3, padding="same")(norm_silu(h))
    return keras.Model([xt, t], eps_pred, name="unet")


# %%
unet = build_unet(config)
print(f"U-Net: {unet.count_params():,} parameters in {len(unet.weights)} "
      "arrays (the PyTorch notebook's has the same count)")


# %% [markdown]
# ## The model and its `train_step`
#
# As in the Keras DDIM example, the `keras.Model` holds the network and its EMA copy and
# overrides `train_step`: for a batch $\x_0$ it draws $t \sim \mathcal{U}\{1, \dots, N\}$ and
# $\epsilon \sim \N(\mathbf 0, \I)$ per digit, forms $\x_t$ by {eq}`diffusion-q-xt-x0`, takes
# one Adam step on $\lVert \epsilon - \epsilon_\theta(\x_t, t)\rVert^2$
# {eq}`diffusion-simple-loss`, and moves the EMA weights,
# $\theta_{\mathrm{EMA}} \leftarrow d\,\theta_{\mathrm{EMA}} + (1 - d)\,\theta$.

# %%
class DiffusionModel(keras.Model):
    r"""A DDPM as in the Keras DDIM example: a U-Net, its EMA copy, and a
    custom ``train_step`` on the simplified loss, for batches of digits ``x0``
    (B, 28, 28, 1) float32 in [-1, 1].
    """

    def __init__(self, settings, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.settings = settings
        self.network = build_unet(settings)
        self.ema_network = build_unet(settings)
        self.ema_network.set_weights(self.network.get_weights())
        alpha_bar = linear_alpha_bar(settings.num_diffusion_steps,
                                     settings.noise_start, settings.noise_end)
        self.alpha_bar = tf.constant(alpha_bar, tf.float32)       # (N + 1,)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.loss_tracker]

    def train_step(self, x0):
        N, gen = self.settings.num_diffusion_steps, self.seed_generator
        t = keras.random.randint((tf.shape(x0)[0],), 1, N + 1, seed=gen)
        eps = keras.random.normal(tf.shape(x0), seed=gen)        # N(0, I)
        ab = tf.reshape(tf.gather(self.alpha_bar, t), (-1, 1, 1, 1))
        xt = tf.sqrt(ab) * x0 + tf.sqrt(1.0 - ab) * eps     # x_t ~ q(x_t | x_0)
        with tf.GradientTape() as tape:
            eps_pred = self.network([xt, tf.cast(t, tf.float32)], training=True)
            loss = tf.reduce_mean(tf.square(eps - eps_pred))   # simple loss
        weights = self.network.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(loss, weights),
                                           weights))
        d = self.settings.ema_decay
        for w, ema_w in zip(self.network.weights, self.ema_network.weights):
            ema_w.assign(d * ema_w + (1.0 - d) * w)         # the EMA update
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}


# %% [markdown]
# `fit` runs `train_step`; each Keras "epoch" is `log_every` steps, so the history
# holds the mean loss per block of steps. The learning rate warms up linearly over
# `config.warmup_steps` steps, and the global gradient norm is clipped, as in Ho et al.
# and the PyTorch notebook.

# %%
def train_ddpm(config, x0_data, *, seed=0, log_every=50):
    r"""Train a DiffusionModel with ``fit``; return it and the loss history.

    ``x0_data`` float32 (n, 28, 28, 1) in [-1, 1]; ``seed`` seeds the shuffling,
    the steps and the noise; ``config.num_train_steps`` must be a multiple of
    ``log_every``.
    """
    if config.num_train_steps % log_every:
        raise ValueError(f"num_train_steps={config.num_train_steps} is not a "
                         f"multiple of log_every={log_every}")
    keras.utils.set_random_seed(seed)
    model = DiffusionModel(config, seed=seed)

    class WarmUp(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):     # lr min(1, (step + 1) / warmup_steps)
            ramp = (keras.ops.cast(step, "float32") + 1.0) / config.warmup_steps
            return config.lr * keras.ops.minimum(1.0, ramp)

    adam = keras.optimizers.Adam(learning_rate=WarmUp(),
                                 global_clipnorm=config.grad_clip)
    # measured on a CPU: XLA makes a step slower (1.3 s against 0.8 s)
    model.compile(optimizer=adam, jit_compile=False)
    data = (tf.data.Dataset.from_tensor_slices(x0_data)
            .shuffle(len(x0_data), seed=seed).repeat()
            .batch(config.batch_size, drop_remainder=True).prefetch(2))
    fit = model.fit(data, epochs=config.num_train_steps // log_every,
                    steps_per_epoch=log_every, verbose=0)
    losses = [float(v) for v in fit.history["loss"]]
    steps = [log_every * (i + 1) for i in range(len(losses))]
    return model, {"step": steps, "loss": losses}


# %% [markdown]
# The held-out loss is the simplified loss on 256 test digits with one fixed $t$ and
# noise each, so that the live model, the checkpoint and its recorded value can be
# compared number for number (the PyTorch notebook's is `genmod.diffusion.heldout_simple_loss`).

# %%
def heldout_simple_loss(network, x0, config, *, seed=0):
    r"""The simplified loss of ``network`` on digits ``x0`` (n, 28, 28, 1),
    with one t and noise per digit from a numpy generator seeded with ``seed``.
    """
    rng = np.random.default_rng(seed)
    alpha_bar = linear_alpha_bar(config.num_diffusion_steps,
                                 config.noise_start, config.noise_end)
    t = rng.integers(1, config.num_diffusion_steps + 1, len(x0))
    eps = rng.standard_normal(x0.shape).astype("float32")
    ab = alpha_bar[t].reshape(-1, 1, 1, 1).astype("float32")
    xt = np.sqrt(ab) * x0 + np.sqrt(1 - ab) * eps          # x_t ~ q(x_t | x_0)
    eps_pred = network.predict_on_batch([xt, t.astype("float32")])
    return float(np.mean((np.asarray(eps_pred) - eps) ** 2))


# %% [markdown]
# ## Training live
#
# The EMA weights are what samples (Ho et al. use a decay of 0.9999 over 800,000 steps; a
# short run needs a shorter memory).

# %%
start = time.perf_counter()
live_model, live_history = train_ddpm(config, x0_train, seed=0, log_every=10)
live_time = time.perf_counter() - start
live_loss = genmod.glue("live_heldout_loss", heldout_simple_loss(
    live_model.ema_network, x0_test[:256], config))
print(f"{config.num_train_steps} steps in {live_time:.0f} s; held-out loss "
      f"of the EMA network {live_loss:.4f}")
training_curves({"simple loss": live_history["loss"]},
                xlabel="gradient step / 10", ylabel="loss per pixel", logy=True)
plt.show()

# %% [markdown]
# **Figure.** The simplified loss of the live run, averaged over blocks of 10 steps. It
# falls from about 1 (predicting no noise) to about a tenth within the first hundred
# steps; the checkpoint's curve (below) shows the slow descent to a few hundredths that
# follows, where most of what makes a digit happens, at losses that change little.

# %% [markdown]
# ## The samplers as `tf.function`s
#
# Both samplers run the whole loop over time steps inside one `tf.function`, so TensorFlow
# traces the network once and runs the loop as a graph; they are ports of
# `genmod.diffusion.ancestral_sample` and `ddim_sample`, whose code {doc}`diffusion_2d_torch`
# shows, and a test runs both on the same inputs. The ancestral sampler
# {eq}`diffusion-ancestral` draws $\x_{t-1} = \mu_\theta(\x_t, t) + \sigma_t \mathbf z$ with
# $\mu_\theta$ of {eq}`diffusion-eps-mean` and $\sigma_t^2 = \tilde\sigma_t^2$ of
# {eq}`diffusion-posterior` (and $\sigma_1^2 = 1 - \alpha_1$, no noise added at the last step);
# it runs from `t_start` down to `t_stop`, so that the reverse chain can be drawn in pieces.
# First the schedule's arrays as TensorFlow constants:

# %%
posterior_var = np.zeros(N + 1)
# tilde sigma_t^2, eq. diffusion-posterior
posterior_var[2:] = ((1 - alpha[2:]) * (1 - alpha_bar[1:-1])
                     / (1 - alpha_bar[2:]))
sigma2 = posterior_var.copy()
sigma2[1] = 1 - alpha[1]                           # sigma_1^2 = 1 - alpha_1
schedule_tf = {name: tf.constant(values, tf.float32) for name, values in
               (("alpha", alpha), ("alpha_bar", alpha_bar), ("sigma2", sigma2))}

# %%
def ancestral_sample(network, xt, t_start, t_stop, seed):
    r"""Run the reverse chain (eq. diffusion-ancestral) from t_start to t_stop.

    ``xt`` float32 (B, 28, 28, 1) is the state at ``t_start``; needs
    N >= t_start > t_stop >= 0. The noise of step t is
    ``stateless_normal(seed=[seed, t])``, so a chain drawn in pieces equals
    one drawn at once. Returns x at ``t_stop``.
    """
    if not N >= t_start > t_stop >= 0:
        raise ValueError(f"need N = {N} >= t_start > t_stop >= 0, got "
                         f"t_start={t_start}, t_stop={t_stop}")
    return _ancestral(network, tf.convert_to_tensor(xt, tf.float32),
                      tf.constant(t_start), tf.constant(t_stop),
                      tf.constant(seed))


@tf.function(reduce_retracing=True)
def _ancestral(network, x, t_start, t_stop, seed):
    for t in tf.range(t_start, t_stop, -1):
        a, ab, var = (tf.gather(schedule_tf[k], t)
                      for k in ("alpha", "alpha_bar", "sigma2"))
        t_batch = tf.fill([tf.shape(x)[0]], tf.cast(t, tf.float32))
        eps = network([x, t_batch], training=False)
        # mu_theta(x_t, t), eq. diffusion-eps-mean
        mean = (x - (1 - a) / tf.sqrt(1 - ab) * eps) / tf.sqrt(a)
        z = tf.random.stateless_normal(tf.shape(x), seed=tf.stack([seed, t]))
        # x_{t-1} = mu_theta + sigma_t z, no noise at the last step
        x = mean + tf.where(t > 1, tf.sqrt(var), 0.0) * z
    return x


# %% [markdown]
# DDIM {eq}`diffusion-ddim` with $\eta_{\mathrm{DDIM}} = 0$ is deterministic: from $t$ to the
# next sampling time $t' < t$ it predicts $\hat\x_0$ and moves to
# $\sqrt{\abar_{t'}}\,\hat\x_0 + \sqrt{1 - \abar_{t'}}\,\epsilon_\theta$. Its time steps are those
# of `genmod.diffusion.sampling_times`: evenly spaced from $N$ to 1.

# %%
def ddim_sample(network, xN, num_steps):
    r"""Deterministic DDIM (eta_DDIM = 0) in ``num_steps`` network evaluations.

    ``xN`` float32 (B, 28, 28, 1) standard normal; ``num_steps`` in 1..N, the
    times evenly spaced from N to 1. Returns x_0 (B, 28, 28, 1), not clipped.
    """
    if not 1 <= num_steps <= N:
        raise ValueError(f"num_steps must lie in 1..{N}, got {num_steps}")
    # the times of genmod.diffusion.sampling_times
    times = np.unique(np.round(np.linspace(1, N, num_steps)).astype(int))[::-1]
    return _ddim(network, tf.convert_to_tensor(xN, tf.float32),
                 tf.constant(times, tf.int32),
                 tf.constant(np.append(times[1:], 0), tf.int32))


@tf.function(reduce_retracing=True)
def _ddim(network, x, times, next_times):
    for i in tf.range(tf.shape(times)[0]):
        ab_t = tf.gather(schedule_tf["alpha_bar"], times[i])
        ab_next = tf.gather(schedule_tf["alpha_bar"], next_times[i])  # t' < t
        t_batch = tf.fill([tf.shape(x)[0]], tf.cast(times[i], tf.float32))
        eps = network([x, t_batch], training=False)
        x0_pred = (x - tf.sqrt(1 - ab_t) * eps) / tf.sqrt(ab_t)     # hat x_0
        # eq. diffusion-ddim with eta_DDIM = 0
        x = tf.sqrt(ab_next) * x0_pred + tf.sqrt(1 - ab_next) * eps
    return x


# %%
xN = tf.random.stateless_normal((64, 28, 28, 1), seed=[1, 0])
live_samples = ddim_sample(live_model.ema_network, xN, config.ddim_steps)
image_grid(np.clip(live_samples, -1, 1), nrow=16, value_range=(-1, 1),
           title="live model, DDIM")
plt.show()

# %% [markdown]
# **Figure.** DDIM samples ($\eta_{\mathrm{DDIM}} = 0$, `config.ddim_steps` network evaluations) of the
# live model's EMA network after `config.num_train_steps` steps, clipped to the data range
# $[-1, 1]$. At `book` scale (120 steps) they are noise with dark and light patches,
# although the loss has fallen to about a tenth: the loss is small long before the
# predictions are accurate enough for a sampler to draw digits.

# %% [markdown]
# ## The model trained longer
#
# The same `train_ddpm`, with `checkpoint_config` (2,500 steps, EMA decay 0.995), was run
# once and the arrays of its EMA network committed to `book/diffusion/checkpoints/` as an
# `.npz`; `genmod.tfutils.load_or_train` loads them into `build_unet(checkpoint_config)`,
# or trains and saves them with their provenance when they are missing (about 40 minutes
# of one busy CPU core; the provenance says how long it took on the shared machine where
# it was made). **Every figure and number from here on comes from this model**, except
# where it says "live". At `full` scale the live model is used.

# %%
def train_long():
    model, history = train_ddpm(checkpoint_config, x0_train, seed=0)
    loss = heldout_simple_loss(model.ema_network, x0_test[:256],
                               checkpoint_config)
    metrics = {"final_train_loss": history["loss"][-1],
               "heldout_simple_loss": loss}
    return model.ema_network, metrics, {"history": history}


if config.use_checkpoint:
    network, checkpoint = load_or_train(NOTEBOOK, checkpoint_config,
                                        build=build_unet, train=train_long)
    ckpt_history = checkpoint.provenance["history"]
else:
    network, checkpoint = live_model.ema_network, None
    ckpt_history = None
heldout = genmod.glue("heldout_loss",
                      heldout_simple_loss(network, x0_test[:256], config))
print(f"held-out simple loss of the network used below: {heldout:.4f}")

# %%
if ckpt_history is not None:
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.semilogy(live_history["step"], live_history["loss"],
                label="live (means over 10 steps)")
    ax.semilogy(ckpt_history["step"], ckpt_history["loss"],
                label="checkpoint (means over 50 steps)")
    ax.set_xlabel("gradient step")
    ax.set_ylabel("loss per pixel")
    ax.legend()
    plt.show()

# %% [markdown]
# **Figure.** The training loss of the checkpoint (recorded in its provenance) beside the
# live run's, against the gradient step. At `full` scale there is no checkpoint and no figure.

# %% [markdown]
# ## The reverse chain
#
# Ancestral sampling runs the learned reverse chain through all $N$ steps. We run it in
# pieces between the steps we want to see; the noise of each step depends on the step
# only, so the pieces make one chain.

# %%
keep = (1000, 800, 600, 400, 300, 200, 100, 50, 0)
x = tf.random.stateless_normal((config.num_ancestral, 28, 28, 1), seed=[2, 0])
kept = {N: x}
start = time.perf_counter()
for t_start, t_stop in zip(keep, keep[1:]):
    x = ancestral_sample(network, x, t_start, t_stop, seed=2)
    kept[t_stop] = x
ancestral_time = time.perf_counter() - start
ancestral = kept[0].numpy()
rows = min(6, config.num_ancestral)
chain = np.stack([kept[t][:rows, ..., 0] for t in keep], 1).reshape(-1, 28, 28)
image_grid(np.clip(chain, -1, 1), nrow=len(keep), value_range=(-1, 1),
           title="$t$ = " + ", ".join(map(str, keep)))
plt.show()
ancestral_s = genmod.glue("ancestral_s_per_sample",
                          ancestral_time / config.num_ancestral)
print(f"ancestral sampling: {config.num_ancestral} samples x {N} network "
      f"evaluations in {ancestral_time:.1f} s ({ancestral_s:.2f} s per "
      "sample, tracing included)")

# %% [markdown]
# **Figure.** The reverse chain of a few samples of the checkpoint's model, from noise at
# $t = N$ (left) to $t = 0$ (right), clipped to $[-1, 1]$ for display. Where a shape forms, it
# appears between $t \approx 400$ and $t \approx 200$, and the last hundred steps clean the
# background. In the reference run (`book` scale) some chains instead drift to an
# all-background or an all-ink image by $t \approx 600$-$400$ and never recover: the briefly
# trained network's noise prediction at large $t$ gets the overall brightness wrong, and
# the chain follows it.

# %% [markdown]
# ## Samples: ancestral and DDIM
#
# DDIM skips steps: `config.ddim_steps` network evaluations instead of $N$. We draw
# `config.num_samples` digits with it and clip them to the data range $[-1, 1]$, as Ho et
# al. do, before the judge sees them.

# %%
start = time.perf_counter()
samples = np.concatenate([
    ddim_sample(network, tf.random.stateless_normal((250, 28, 28, 1),
                                                    seed=[3, i]),
                config.ddim_steps).numpy()
    for i in range(math.ceil(config.num_samples / 250))])[:config.num_samples]
ddim_time = time.perf_counter() - start
ddim_ms = genmod.glue("ddim_ms_per_sample",
                      ddim_time / config.num_samples * 1000)
print(f"DDIM: {config.num_samples} samples x {config.ddim_steps} network "
      f"evaluations in {ddim_time:.1f} s ({ddim_ms:.0f} ms per sample)")
# (num_samples, 28, 28) in [0, 1]
samples01 = (np.clip(samples, -1, 1)[..., 0] + 1) / 2
fig, axes = plt.subplots(1, 2, figsize=(12, 5))
image_grid((np.clip(ancestral, -1, 1)[:32] + 1) / 2, nrow=8, ax=axes[0],
           title=f"ancestral, {N} steps")
image_grid(samples01[:64], nrow=8, ax=axes[1],
           title=f"DDIM, {config.ddim_steps} steps")
plt.show()

# %% [markdown]
# **Figure.** Samples from the ancestral sampler ($N = 1000$ network evaluations each, left)
# and from DDIM (right), both from the checkpoint's model; they cost
# {glue:text}`ancestral_s_per_sample:.2f` s and {glue:text}`ddim_ms_per_sample:.0f` ms per
# sample in this run. In the reference run (`book` scale) they are strokes, many of them
# recognisable digits, with both samplers; a few DDIM samples saturate to a blob of ink or
# a grey square, and the ancestral ones have the cleaner backgrounds. The network is still
# undertrained: its held-out loss after 2,500 steps ({glue:text}`heldout_loss:.3f` in this
# run) is about that of the PyTorch checkpoint after 1,500 (0.030 in its reference run);
# more steps (the `full` scale) are the cure.

# %% [markdown]
# ## The test ELBO in bits per dimension
#
# {eq}`diffusion-elbo-denoising` on test digits, written in TensorFlow: the prior-matching
# term exactly, the reconstruction term with one $\x_1$ and the discretised decoder
# {eq}`diffusion-decoder`, and the sum of the denoising-matching terms over $t = 2, \dots, N$ as
# $N - 1$ times the mean over `config.elbo_time_steps` random steps per digit. First the
# decoder, with a log-CDF that stays accurate in the far tails:

# %%
def log_normal_cdf(z):
    r"""log Phi(z) of the standard normal, float64, accurate in the far tail.

    ``log(erfc(-z / sqrt 2) / 2)`` down to z = -30, below that the asymptotic
    series -z^2/2 - log(-z) - log(2 pi)/2 + log(1 - z^-2 + 3 z^-4).
    """
    z = tf.convert_to_tensor(z, tf.float64)
    direct = tf.math.log(0.5 * tf.math.erfc(-z / math.sqrt(2.0)))
    zs = tf.minimum(z, -30.0)
    series = (-0.5 * zs ** 2 - tf.math.log(-zs) - 0.5 * math.log(2 * math.pi)
              + tf.math.log1p(-zs ** -2 + 3 * zs ** -4))
    return tf.where(z < -30.0, series, direct)


def discretized_log_likelihood(x0, mean, std, num_levels=256):
    r"""Per digit log P(x_0) under the decoder of eq. diffusion-decoder, nats.

    Each pixel's probability is the mass of N(mean, std^2) on its bin
    [x - 1/255, x + 1/255], the outer bins reaching to -inf and +inf. ``x0``
    float (B, 28, 28, 1) on the 256-level grid in [-1, 1]; returns (B,).
    """
    x = tf.cast(x0, tf.float64)
    levels = (x + 1) * (num_levels - 1) / 2
    if (tf.reduce_min(x) < -1 - 1e-6 or tf.reduce_max(x) > 1 + 1e-6
            or tf.reduce_max(tf.abs(levels - tf.round(levels))) > 1e-4):
        raise ValueError(f"x0 must lie on the {num_levels}-level grid in "
                         "[-1, 1] (8-bit data scaled to [-1, 1])")
    delta, mean = 1.0 / (num_levels - 1), tf.cast(mean, tf.float64)
    upper, lower = (x + delta - mean) / std, (x - delta - mean) / std
    flip = upper + lower > 0           # compute on the side whose tail is small
    b, a = tf.where(flip, -lower, upper), tf.where(flip, -upper, lower)
    log_b, log_a = log_normal_cdf(b), log_normal_cdf(a)
    ratio = tf.minimum(tf.exp(tf.minimum(log_a - log_b, 0.0)), 1 - 1e-300)
    log_mass = log_b + tf.math.log1p(-ratio)
    log_mass = tf.where(tf.round(levels) == 0,               # (-inf, x + delta]
                        log_normal_cdf(upper), log_mass)
    log_mass = tf.where(tf.round(levels) == num_levels - 1,  # [x - delta, inf)
                        log_normal_cdf(-lower), log_mass)
    return tf.reduce_sum(tf.reshape(log_mass, (tf.shape(x)[0], -1)), axis=1)


# %% [markdown]
# Each denoising-matching term is the KL divergence between the posterior
# $q(\x_{t-1} \mid \x_t, \x_0)$ and $p_\theta(\x_{t-1} \mid \x_t)$, two Gaussians with the same
# variance $\tilde\sigma_t^2$, so it is $\lVert \tilde\mu_t - \mu_\theta \rVert^2 / (2\tilde\sigma_t^2)$
# ({eq}`diffusion-kl-eps`). These are the formulas of `genmod.diffusion.elbo_terms`; a
# test runs both on the same inputs and checks that they agree. The standard error is
# that of the mean over digits of the per-digit estimates, which includes the
# randomness of $t$ and of $\x_t$.

# %%
def denoising_kl(network, x0, t, eps):
    r"""KL(q(x_{t-1} | x_t, x_0) || p_theta(x_{t-1} | x_t)) per pixel, float64.

    ``x0`` float64 (B, 28, 28, 1), ``t`` int (B,) in 2..N, ``eps`` the noise
    of x_t; sigma_t^2 = tilde sigma_t^2 (eq. diffusion-kl-eps).
    """
    a, ab, ab_prev, var = (tf.constant(v.reshape(-1, 1, 1, 1), tf.float64)
                           for v in (alpha[t], alpha_bar[t], alpha_bar[t - 1],
                                     posterior_var[t]))
    xt = tf.sqrt(ab) * x0 + tf.sqrt(1 - ab) * tf.cast(eps, tf.float64)
    eps_pred = tf.cast(network([tf.cast(xt, tf.float32),
                                tf.constant(t, tf.float32)], training=False),
                       tf.float64)
    # tilde mu_t, eq. diffusion-posterior; mu_theta, eq. diffusion-eps-mean
    mean_q = (tf.sqrt(ab_prev) * (1 - a) / (1 - ab) * x0
              + tf.sqrt(a) * (1 - ab_prev) / (1 - ab) * xt)
    mean_p = (xt - (1 - a) / tf.sqrt(1 - ab) * eps_pred) / tf.sqrt(a)
    return 0.5 * (mean_q - mean_p) ** 2 / var


# %%
def elbo_terms(network, x0, num_t, *, seed=0, draws=None):
    r"""The ELBO (eq. diffusion-elbo-denoising) per digit, nats, float64 (B,).

    ``network([xt, t])`` predicts the noise; ``x0`` float32 (B, 28, 28, 1) on
    the 256-level grid; ``num_t`` random steps per digit from a numpy
    generator seeded with ``seed``, or ``draws = (eps1, ts, eps_t)``: the
    noise of x_1, the steps (num_t, B) in 2..N and their noise. Returns a dict:
    reconstruction, prior, denoising and elbo, as genmod.diffusion.elbo_terms.
    """
    x0, B = np.asarray(x0, np.float32), len(x0)
    if draws is None:
        rng = np.random.default_rng(seed)
        draws = (rng.standard_normal(x0.shape).astype("float32"),
                 rng.integers(2, N + 1, (num_t, B)),
                 rng.standard_normal((num_t,) + x0.shape).astype("float32"))
    eps1, ts, eps_t = draws
    x0_64 = tf.cast(x0, tf.float64)
    flat_sum = lambda v: tf.reduce_sum(tf.reshape(v, (B, -1)), 1)
    # prior matching: KL(q(x_N | x_0) || N(0, I)), per pixel
    # (var + mean^2 - 1 - log var) / 2
    mean_N, var_N = math.sqrt(alpha_bar[N]) * x0_64, 1 - alpha_bar[N]
    prior = 0.5 * flat_sum(var_N + mean_N ** 2 - 1 - math.log(var_N))
    # reconstruction: log p(x_0 | x_1), mean mu_theta(x_1, 1), std sigma_1
    x1 = math.sqrt(alpha_bar[1]) * x0 + math.sqrt(1 - alpha_bar[1]) * eps1
    eps_pred = tf.cast(network([tf.constant(x1), tf.ones(B)], training=False),
                       tf.float64)
    mean1 = ((tf.cast(x1, tf.float64) - (1 - alpha[1])
              / math.sqrt(1 - alpha_bar[1]) * eps_pred) / math.sqrt(alpha[1]))
    reconstruction = discretized_log_likelihood(x0, mean1, math.sqrt(sigma2[1]))
    # denoising matching: (N - 1) times the mean over num_t steps of the KLs
    terms = [(N - 1) * flat_sum(denoising_kl(network, x0_64, t, eps))
             for t, eps in zip(ts, eps_t)]
    denoising = tf.reduce_mean(tf.stack(terms), 0)
    out = {"reconstruction": reconstruction, "prior": prior,
           "denoising": denoising,
           "elbo": reconstruction - prior - denoising}
    return {k: v.numpy() for k, v in out.items()}


# %%
terms = {k: [] for k in ("elbo", "reconstruction", "prior", "denoising")}
for i in range(0, config.elbo_digits, 100):
    batch = x0_test[i:min(i + 100, config.elbo_digits)]
    out = elbo_terms(network, batch, config.elbo_time_steps, seed=4 + i)
    for k in terms:
        terms[k].append(out[k])
terms = {k: np.concatenate(v) for k, v in terms.items()}
bpd = -terms["elbo"] / (784 * math.log(2))              # eq. diffusion-bpd
bpd_mean = genmod.glue("bpd", float(bpd.mean()))
bpd_se = genmod.glue("bpd_se", float(bpd.std(ddof=1) / math.sqrt(len(bpd))))
print(f"test ELBO: {terms['elbo'].mean():.1f} nats per digit = "
      f"{bpd_mean:.3f} +- {bpd_se:.3f} bits per dimension ({len(bpd)} test "
      f"digits, {config.elbo_time_steps} random t each)")
print("terms (nats per digit): " + ", ".join(
    f"{k} {v.mean():.1f}" for k, v in terms.items() if k != "elbo"))

# %% [markdown]
# This run's bound is {glue:text}`bpd:.2f` $\pm$ {glue:text}`bpd_se:.2f` bits per dimension.
# For comparison: in the reference runs (`book` scale) this checkpoint reached about 2.27
# and the PyTorch notebook's (1,500 steps) 2.44 bits per dimension, within about one
# standard error of each other; Ho et al. {cite}`ho2020` report no MNIST bound, and for
# CIFAR-10 their model trained with the simplified loss reaches $\le 3.75$. Good models of
# 8-bit MNIST reach about 1 bit per dimension; a small model trained briefly with the
# *simplified* loss, which does not weight the small-$t$ terms as the ELBO does, is far
# from that. The reconstruction and the small-$t$ denoising terms dominate the bound,
# while the samples are made at large $t$.

# %% [markdown]
# ## Judging the samples

# %%
# prints the Fréchet distance, the classes and the confidence
scores = judge_samples(samples01)
samples_and_classes(samples01, scores["class_histogram"], reference=y_test)
plt.show()
genmod.glue("frechet_distance", scores["frechet_distance"])
genmod.glue("real_frechet_distance", scores["real_frechet_distance"])
genmod.glue("classes", scores["classes_with_2pct"]);

# %% [markdown]
# **Figure.** DDIM samples of the checkpoint's model and the judge's class histogram, beside
# the classes of real test digits. In this run the judge puts at least 2 % of the samples
# in {glue:text}`classes` of the 10 classes (the book's target is 8), and the Fréchet
# distance {eq}`gans-frechet` between the judge's features of the samples and of real
# digits is {glue:text}`frechet_distance:.0f`, against
# {glue:text}`real_frechet_distance:.0f` for real training digits. In the reference runs
# (`book` scale) this notebook reached 10 classes and about 169 (real digits about 19), and
# the PyTorch checkpoint of the same network (1,500 steps) 10 classes and about 164;
# {doc}`ddpm_mnist_torch`, the GAN and the VAE notebooks ({doc}`../gans/dcgan_mnist_tf`,
# {doc}`../vae/vae_mnist_tf`) report theirs on the same judge. In the reference run the
# class histogram is uneven (many 8s and 1s, few 9s and 6s), and the blobs among the
# samples are what a Fréchet distance far above the real digits' is made of.

# %%
metrics = {k: scores[k] for k in (
    "frechet_distance", "real_frechet_distance", "classes_with_2pct",
    "class_histogram", "mean_confidence", "judge_test_accuracy")}
metrics.update({
    "num_samples": config.num_samples, "test_elbo_bpd": bpd_mean,
    "test_elbo_bpd_se": bpd_se, "elbo_num_test_digits": len(bpd),
    "elbo_num_time_steps": config.elbo_time_steps,
    "network_evaluations": config.ddim_steps, "sampling_time_s": ddim_time,
    "ancestral/network_evaluations": N,
    "ancestral/sampling_time_s": ancestral_time,
    "train_time_s": (checkpoint.provenance["train_time_s"] if checkpoint
                     else live_time),
    "live/train_time_s": live_time,
    "live/simple_loss": live_history["loss"][-1]})
folder = genmod.save_artifacts(NOTEBOOK, samples01, metrics, kind="images",
                               value_range=(0, 1), config=config,
                               device=device)
print(f"saved to {folder}")

# %% [markdown]
# ## Summary
#
# - In Keras a diffusion model is a `keras.Model` whose `train_step` noises a batch by
#   {eq}`diffusion-q-xt-x0` and regresses the noise {eq}`diffusion-simple-loss`, with an EMA
#   copy of the network that samples, as in the Keras DDIM example.
# - The samplers are loops over time steps inside a `tf.function`: $N = 1000$ network
#   evaluations per ancestral sample, `config.ddim_steps` per DDIM sample; they port
#   `genmod.diffusion`'s, which {doc}`diffusion_2d_torch` shows.
# - The ELBO {eq}`diffusion-elbo-denoising` in bits per dimension is computed with the
#   formulas of `genmod.diffusion`, re-written in TensorFlow and tested against them
#   ({glue:text}`bpd:.2f` $\pm$ {glue:text}`bpd_se:.2f` bits per dimension here).
# - On a CPU the live run shows the loss falling while its samples are still noise; the
#   checkpoint (same code, 2,500 steps) draws strokes and digits, in
#   {glue:text}`classes` of the 10 classes at Fréchet distance
#   {glue:text}`frechet_distance:.0f` in this run, as {doc}`ddpm_mnist_torch`'s (same
#   network, 1,500 steps) does.
#
# ## Exercises
#
# ```{exercise}
# :label: diffusion-ex-ddpm-mnist-tf-eta
#
# Add the stochasticity $\eta_{\mathrm{DDIM}}$ of {eq}`diffusion-ddim` to `_ddim` (with
# `tf.random.stateless_normal` as in `_ancestral`), and judge 200 samples at 50 steps with
# $\eta_{\mathrm{DDIM}} = 0, 0.5, 1$. Which gives the cleaner digits with this network, and why?
# ```
#
# ```{solution} diffusion-ex-ddpm-mnist-tf-eta
# :class: dropdown
#
# In the loop, with
# $\sigma_{t \to t'} = \eta_{\mathrm{DDIM}}\sqrt{(1-\abar_{t'})/(1-\abar_t)}\sqrt{1-\abar_t/\abar_{t'}}$,
# add $\sigma_{t \to t'} \mathbf z$ and shrink the noise term to
# $\sqrt{1 - \abar_{t'} - \sigma_{t \to t'}^2}\,\epsilon_\theta$: the cell below does it
# (`config.exercise_samples` samples per value, 200 at `book` scale). With
# $\eta_{\mathrm{DDIM}} = 1$ and all $N$ steps this is the ancestral sampler. With a briefly
# trained network the noisier samplers usually give cleaner backgrounds: the fresh noise
# corrects part of the accumulated error of the noise predictions (compare the two sample
# grids above), at the price of needing more steps for the same sharpness.
# ```

# %% tags=["hide-input"]
@tf.function(reduce_retracing=True)
def _ddim_eta(network, x, times, next_times, eta, seed):
    for i in tf.range(tf.shape(times)[0]):
        ab_t = tf.gather(schedule_tf["alpha_bar"], times[i])
        ab_next = tf.gather(schedule_tf["alpha_bar"], next_times[i])
        t_batch = tf.fill([tf.shape(x)[0]], tf.cast(times[i], tf.float32))
        eps = network([x, t_batch], training=False)
        x0_pred = (x - tf.sqrt(1 - ab_t) * eps) / tf.sqrt(ab_t)
        sigma = (eta * tf.sqrt((1 - ab_next) / (1 - ab_t))
                 * tf.sqrt(1 - ab_t / ab_next))
        z = tf.random.stateless_normal(tf.shape(x),
                                       seed=tf.stack([seed, times[i]]))
        x = (tf.sqrt(ab_next) * x0_pred
             + tf.sqrt(tf.maximum(1 - ab_next - sigma ** 2, 0.0)) * eps
             + sigma * z)
    return x


times = np.unique(np.round(np.linspace(1, N, 50)).astype(int))[::-1]
xN = tf.random.stateless_normal((config.exercise_samples, 28, 28, 1),
                                seed=[5, 0])
for eta in config.exercise_etas:
    x = _ddim_eta(network, xN, tf.constant(times, tf.int32),
                  tf.constant(np.append(times[1:], 0), tf.int32),
                  tf.constant(eta, tf.float32), tf.constant(5))
    x01 = (np.clip(x.numpy(), -1, 1)[..., 0] + 1) / 2
    score = judge_samples(x01, verbose=False, with_reference=False)
    print(f"eta_DDIM = {eta}: Fréchet distance "
          f"{score['frechet_distance']:.0f}, "
          f"{score['classes_with_2pct']} classes with >= 2 %")

# %% [markdown]
# ```{exercise}
# :label: diffusion-ex-ddpm-mnist-tf-frameworks
#
# The PyTorch and the Keras notebooks train the same network with the same loss, schedule,
# optimiser, warm-up, clipping and EMA. List what still differs between the two runs, and
# say which differences should change the held-out loss and which only its random draws.
# ```
#
# ```{solution} diffusion-ex-ddpm-mnist-tf-frameworks
# :class: dropdown
#
# The random draws (minibatches with replacement in PyTorch, shuffled epochs here; other
# generators for $t$ and $\epsilon$), the initialisation (PyTorch's default uniform
# initialisation against Keras's Glorot uniform with zero biases), the layout (channels
# first against channels last, which changes nothing mathematically), the number of steps
# of the checkpoints (1,500 against 2,500), and small numerical details (GroupNorm's
# epsilon is set to PyTorch's $10^{-5}$ here; Adam's epsilon is $10^{-8}$ in PyTorch and
# $10^{-7}$ in Keras). The initialisation and the number of steps change the loss reached;
# the rest changes only which random path the training takes.
# ```
#
# ## References
#
# ```{bibliography}
# :filter: docname in docnames
# ```
