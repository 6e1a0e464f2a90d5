# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A denoising diffusion model on MNIST (PyTorch)
#
# We train a denoising diffusion probabilistic model (DDPM, Ho et al. {cite}`ho2020`) on
# MNIST digits: a small U-Net learns to predict the noise of a digit noised to any of
# $N = 1000$ steps, with the simplified loss {eq}`diffusion-simple-loss`. Then we draw
# digits with the ancestral sampler and with DDIM, estimate the test ELBO in bits per
# dimension, and let the book's judge score the samples. A convolutional denoiser is
# slow on a CPU: the live run shows the loss falling and the first blurry samples,
# and the digits come from the same code trained for longer, loaded from a checkpoint.
#
# ```{admonition} Learning goals
# :class: tip
#
# After this notebook you can
#
# - read a noise schedule through $\abar_t$ and the signal-to-noise ratio {eq}`diffusion-snr`;
# - train a noise-prediction U-Net with {eq}`diffusion-simple-loss` and an exponential
#   moving average of its weights;
# - sample with the ancestral sampler {eq}`diffusion-ancestral` ($N$ network evaluations)
#   and with DDIM {eq}`diffusion-ddim` (50), and weigh cost against quality;
# - estimate the ELBO {eq}`diffusion-elbo-denoising` on test digits in bits per dimension
#   {eq}`diffusion-bpd`, with the number of time steps used and a standard error;
# - say which results come from the live model and which from the checkpoint, and why.
# ```
#
# The mathematics is in {doc}`theory`; {doc}`diffusion_2d_torch` checks the same pieces
# against exact answers in two dimensions.

# %%
# Setup: install the book's helper package when it is missing (Colab, Binder).
import importlib.util, subprocess, sys
REPO_URL = "https://github.com/genmod-book/genmod-book"
NOTEBOOK = "ddpm_mnist_torch"  # this notebook's name: its artifacts and checkpoints are filed under it
if importlib.util.find_spec("genmod") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    f"genmod @ git+{REPO_URL}.git#subdirectory=code"], check=True)

import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

import genmod
from genmod import pick
from genmod.checkpoints import load_or_train
from genmod.diffusion import (ancestral_sample, bits_per_dim, cosine_schedule, ddim_sample, elbo_terms, linear_schedule,
                              q_sample)
from genmod.judge import judge_samples
from genmod.plotting import class_histogram, image_grid, samples_and_classes, training_curves
from genmod.torchutils import get_device, images_to_tensor, seed_everything

print(f"scale: {genmod.get_scale()}")
device = get_device()
if device.type == "cpu":
    torch.set_num_threads(1)  # measured: at quick scale 30 s on one thread, 210 s on two, on a shared 2-core CPU
seed_everything(0)
(x_train, y_train), (x_test, y_test) = genmod.load_mnist()   # prints its source

# %% [markdown]
# Every number that changes with the scale sits in the next cell. `full` uses Ho et
# al.'s schedule, learning rate, gradient clipping and EMA decay, with a wider U-Net
# (64 channels; theirs for CIFAR-10 has 128 and attention layers) and 100,000 steps (their
# MNIST-sized runs are not published; CIFAR-10 took 800,000), meant for a GPU. The `book`
# scale keeps the schedule and the network of the checkpoint and trains live for 400
# steps only; the checkpoint below was trained by the same code for 1,500 steps.

# %%
# Configuration: every number that changes with the scale. `full` follows Ho et al. (2020).
config = genmod.Config(
    num_diffusion_steps=1000,                                   # T, at every scale (Ho et al.: 1000)
    noise_start=1e-4,                                           # 1 - alpha_1 (Ho et al.'s beta_1)
    noise_end=0.02,                                             # 1 - alpha_T (Ho et al.'s beta_T)
    base_channels=pick(quick=16, book=16, full=64),             # U-Net channels at 28x28; twice as many at 14x14 and 7x7
    batch_size=128,                                             # digits per gradient step
    lr=pick(quick=1e-3, book=1e-3, full=2e-4),                  # Adam learning rate after the warm-up (Ho et al.: 2e-4)
    warmup_steps=100,                                           # steps of linear learning-rate warm-up
    grad_clip=1.0,                                              # largest gradient norm (Ho et al.: 1)
    ema_decay=pick(quick=0.9, book=0.995, full=0.9999),         # decay of the exponential moving average of the weights
    num_train_steps=pick(quick=20, book=400, full=100_000),     # gradient steps of the live model
    use_checkpoint=pick(quick=True, book=True, full=False),     # also load the model trained longer (below)
    checkpoint_train_steps=1500,                                # gradient steps of that model
    checkpoint_ema_decay=0.995,                                 # its EMA decay
    num_samples=pick(quick=100, book=1000, full=10_000),        # DDIM samples judged (>= 1000 at book scale)
    ddim_steps=pick(quick=10, book=50, full=100),               # DDIM network evaluations per sample
    num_ancestral=pick(quick=4, book=32, full=1000),            # ancestral samples (N network evaluations each)
    elbo_digits=pick(quick=20, book=500, full=2000),            # test digits in the ELBO estimate
    elbo_time_steps=pick(quick=2, book=20, full=100),           # random t per digit in the ELBO estimate
)

# %% [markdown]
# The model loaded from the checkpoint is trained with exactly these settings, except
# for its number of steps and its EMA decay; `checkpoint_config` is its whole
# configuration, and the key under which `genmod.checkpoints` files it.

# %%
TRAINING_SETTINGS = ("num_diffusion_steps", "noise_start", "noise_end", "base_channels", "batch_size", "lr",
                     "warmup_steps", "grad_clip", "ema_decay", "num_train_steps")


def training_config(settings, **changes):
    r"""The settings of ``settings`` that :func:`train_ddpm` reads (``TRAINING_SETTINGS``), with ``changes``."""
    values = {name: getattr(settings, name) for name in TRAINING_SETTINGS}
    values.update(changes)
    return genmod.Config(**values)


checkpoint_config = training_config(config, ema_decay=config.checkpoint_ema_decay,
                                    num_train_steps=config.checkpoint_train_steps)

# %% [markdown]
# ## Data and noise schedule
#
# Grey levels $0, \dots, 255$ are mapped to $[-1, 1]$, so that the data have about the
# scale of the noise; they stay on the 256-level grid that the discretised decoder
# {eq}`diffusion-decoder` of the ELBO needs. The schedule is Ho et al.'s linear one:
# $1 - \alpha_t$ (their $\beta_t$) from $10^{-4}$ to $0.02$ over $N = 1000$ steps.

# %%
x0_train = images_to_tensor(x_train, value_range=(-1, 1))   # (8000, 1, 28, 28) in [-1, 1]
x0_test = images_to_tensor(x_test, value_range=(-1, 1))
schedule = linear_schedule(config.num_diffusion_steps, config.noise_start, config.noise_end)
N = schedule.num_steps
t_axis = np.arange(1, N + 1)
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
axes[0].plot(t_axis, schedule.alpha_bar[1:], label="linear (this notebook)")
axes[0].plot(t_axis, cosine_schedule(N).alpha_bar[1:], "--", label="cosine")
axes[0].set_ylabel(r"$\bar\alpha_t$")
axes[1].semilogy(t_axis, schedule.snr[1:], label="linear")
axes[1].semilogy(t_axis, cosine_schedule(N).snr[1:], "--", label="cosine")
axes[1].set_ylabel(r"$\mathrm{SNR}(t) = \bar\alpha_t / (1 - \bar\alpha_t)$")
for ax in axes[:2]:
    ax.set_xlabel("diffusion step $t$")
    ax.legend()
gen = torch.Generator().manual_seed(0)
show_t = [0, 50, 100, 200, 300, 500, 700, 1000]
digits = x0_test[:3].repeat(len(show_t), 1, 1, 1)
tt = torch.tensor(show_t).repeat_interleave(3)
noised, _ = q_sample(digits, tt, schedule, generator=gen)       # x_t ~ q(x_t | x_0), eq. diffusion-q-xt-x0
grid = noised.view(len(show_t), 3, 28, 28).transpose(0, 1).reshape(-1, 28, 28).clamp(-1, 1)
image_grid(grid, nrow=len(show_t), ax=axes[2], value_range=(-1, 1), title="$t$ = " + ", ".join(map(str, show_t)))
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** Left and middle: $\abar_t$ and the signal-to-noise ratio {eq}`diffusion-snr` of
# the linear schedule used here and of the cosine schedule {cite}`nichol2021` for comparison.
# The linear schedule has destroyed most of the signal by $t \approx 600$ (SNR below
# $10^{-2}$); the cosine one spreads the destruction more evenly. Right: three test digits
# noised to the steps named in the title, by {eq}`diffusion-q-xt-x0`.

# %% [markdown]
# ## The denoiser
#
# The network is a small U-Net: one residual block at each of the resolutions 28x28,
# 14x14 and 7x7, with skip connections from the way down to the way up and the step
# $t$ fed to every block through a sinusoidal embedding. Why this one: convolutions
# share weights over the image, so a network of 0.16 M parameters sees whole strokes,
# and the U-Net's skips let it predict the fine noise at small $t$ and the global
# shape at large $t$. On this book's 2-core CPU one step of batch 128 costs about
# 0.27 s at 16 base channels, against about 0.6 s with 32 and about 0.03 s for a fully
# connected network of 3 x 1024 units, which after 7,000 steps does not yet draw
# digits (measured while writing the book). A smaller U-Net trained for more steps
# was the better use of a fixed CPU budget. Ho et al.'s U-Net is wider (128 base
# channels, two blocks per resolution, self-attention at 16x16): that is the `full` scale's
# direction.

# %%
class UNet(nn.Module):
    r"""A small U-Net that predicts the noise :math:`\epsilon_\theta(\x_t, t)` of a 28x28 image.

    28x28 (C channels) -> 14x14 (2C) -> 7x7 (2C) and back, one residual block per
    resolution, skip connections across, and the time step entering every block
    through a sinusoidal embedding. ``settings.base_channels`` is C.

    Input ``xt`` (B, 1, 28, 28) float32 and ``t`` (B,) integers in 1..T; output (B, 1, 28, 28).
    """

    class ResBlock(nn.Module):
        def __init__(self, c_in, c_out, time_dim):
            super().__init__()
            self.norm1, self.conv1 = nn.GroupNorm(8, c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
            self.time = nn.Linear(time_dim, c_out)                    # adds the time embedding per channel
            self.norm2, self.conv2 = nn.GroupNorm(8, c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
            self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

        def forward(self, h, temb):
            out = self.conv1(nn.functional.silu(self.norm1(h))) + self.time(temb)[:, :, None, None]
            out = self.conv2(nn.functional.silu(self.norm2(out)))
            return out + self.skip(h)

    def __init__(self, settings, time_dim=64):
        super().__init__()
        c1, c2 = settings.base_channels, 2 * settings.base_channels
        self.time_dim = time_dim
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, 2 * time_dim), nn.SiLU(), nn.Linear(2 * time_dim, 2 * time_dim))
        td = 2 * time_dim
        self.inc = nn.Conv2d(1, c1, 3, padding=1)
        self.down_block1 = self.ResBlock(c1, c1, td)
        self.down1 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)          # 28x28 => 14x14
        self.down_block2 = self.ResBlock(c2, c2, td)
        self.down2 = nn.Conv2d(c2, c2, 3, stride=2, padding=1)          # 14x14 => 7x7
        self.mid_block = self.ResBlock(c2, c2, td)
        self.up2 = nn.ConvTranspose2d(c2, c2, 4, stride=2, padding=1)   # 7x7 => 14x14
        self.up_block2 = self.ResBlock(2 * c2, c2, td)
        self.up1 = nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1)   # 14x14 => 28x28
        self.up_block1 = self.ResBlock(2 * c1, c1, td)
        self.out = nn.Sequential(nn.GroupNorm(8, c1), nn.SiLU(), nn.Conv2d(c1, 1, 3, padding=1))

    def embed_time(self, t):
        half = self.time_dim // 2                                       # sinusoidal embedding of Vaswani et al.
        freqs = torch.exp(-torch.log(torch.tensor(10_000.0)) * torch.arange(half, device=t.device) / half)
        angles = t.float()[:, None] * freqs[None]
        return self.time_mlp(torch.cat([angles.sin(), angles.cos()], dim=1))

    def forward(self, xt, t):
        temb = self.embed_time(t)                                       # (B, 2 * time_dim)
        h0 = self.down_block1(self.inc(xt), temb)                       # (B, C, 28, 28)
        h1 = self.down_block2(self.down1(h0), temb)                     # (B, 2C, 14, 14)
        h = self.mid_block(self.down2(h1), temb)                        # (B, 2C, 7, 7)
        h = self.up_block2(torch.cat([self.up2(h), h1], dim=1), temb)   # (B, 2C, 14, 14)
        h = self.up_block1(torch.cat([self.up1(h), h0], dim=1), temb)   # (B, C, 28, 28)
        return self.out(h)                                              # eps_pred, (B, 1, 28, 28)


# %%
def train_ddpm(settings, x0_data, *, device, seed=0, log_every=50, verbose=True):
    r"""Train a :class:`UNet` with the simplified loss {eq}`diffusion-simple-loss`; return its EMA copy and the history.

    Args:
        settings: a configuration with the names in ``TRAINING_SETTINGS``.
        x0_data: training images, float32 tensor (N, 1, 28, 28) in [-1, 1] (on the CPU).
        device: where to train.
        seed: seed of the one generator that draws minibatches, time steps and noise.
        log_every: steps between entries of the history (mean loss over those steps).

    Returns:
        ``(ema_model, history)``: the averaged weights in evaluation mode, and a dict with
        ``step``, ``loss`` (lists) and ``train_time_s``.
    """
    gen = torch.Generator().manual_seed(seed)
    T = settings.num_diffusion_steps
    alpha_bar = linear_schedule(T, settings.noise_start, settings.noise_end).alpha_bar.float().to(device)
    model = UNet(settings).to(device)
    ema_model = UNet(settings).to(device)
    ema_model.load_state_dict(model.state_dict())
    ema_model.requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    warmup = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / settings.warmup_steps))
    history, recent, start = {"step": [], "loss": []}, [], time.perf_counter()
    for step in range(1, settings.num_train_steps + 1):
        idx = torch.randint(len(x0_data), (settings.batch_size,), generator=gen)
        x0 = x0_data[idx].to(device)                                            # (B, 1, 28, 28)
        t = torch.randint(1, T + 1, (settings.batch_size,), generator=gen)      # t ~ U{1..T}
        eps = torch.randn(x0.shape, generator=gen).to(device)                   # eps ~ N(0, I)
        ab = alpha_bar[t.to(device)].view(-1, 1, 1, 1)
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps                             # x_t ~ q(x_t | x_0)
        loss = ((model(xt, t.to(device)) - eps) ** 2).mean()                    # || eps - eps_theta(x_t, t) ||^2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
        opt.step()
        warmup.step()
        with torch.no_grad():                                                   # theta_ema <- d theta_ema + (1 - d) theta
            for p_ema, p in zip(ema_model.parameters(), model.parameters()):
                p_ema.lerp_(p, 1 - settings.ema_decay)
        recent.append(loss.item())
        if step % log_every == 0 or step == settings.num_train_steps:
            history["step"].append(step)
            history["loss"].append(float(np.mean(recent)))
            recent = []
            if verbose and (len(history["step"]) % 10 == 0 or step == settings.num_train_steps):
                print(f"step {step:6d}: loss {history['loss'][-1]:.4f} ({time.perf_counter() - start:.0f} s)",
                      flush=True)
    history["train_time_s"] = time.perf_counter() - start
    return ema_model.eval(), history


# %%
def heldout_simple_loss(model, x0, settings, *, seed=0):
    r"""The simplified loss {eq}`diffusion-simple-loss` on fixed digits, with fixed time steps and noise (one per digit).

    Deterministic for a given ``seed`` on a CPU, so the loss recorded with a checkpoint can be reproduced.
    """
    gen = torch.Generator().manual_seed(seed)
    T = settings.num_diffusion_steps
    alpha_bar = linear_schedule(T, settings.noise_start, settings.noise_end).alpha_bar.float()
    t = torch.randint(1, T + 1, (len(x0),), generator=gen)
    eps = torch.randn(x0.shape, generator=gen)
    ab = alpha_bar[t].view(-1, 1, 1, 1)
    with torch.no_grad():
        return float(((model(ab.sqrt() * x0 + (1 - ab).sqrt() * eps, t) - eps) ** 2).mean())


# %% [markdown]
# ## Training live
#
# `train_ddpm` draws a minibatch, a step $t \sim \mathcal{U}\{1, \dots, N\}$ and noise
# $\epsilon$ per digit, and takes an Adam step on $\lVert \epsilon - \epsilon_\theta(\x_t, t)\rVert^2$;
# it keeps an exponential moving average (EMA) of the weights, which is what samples
# (Ho et al. use a decay of 0.9999 over 800,000 steps; a short run needs a shorter memory).

# %%
torch.manual_seed(0)
live_model, live_history = train_ddpm(config, x0_train, device=device, seed=0, log_every=10)
print(f"{sum(p.numel() for p in live_model.parameters()):,} parameters; {config.num_train_steps} steps in "
      f"{live_history['train_time_s']:.0f} s; held-out loss {heldout_simple_loss(live_model.cpu(), x0_test[:256], config):.4f}")
live_model.to(device)
training_curves({"simple loss": live_history["loss"]}, xlabel="gradient step / 10", ylabel="loss per pixel", logy=True)
plt.show()

# %% [markdown]
# **Figure.** The simplified loss of the live run, averaged over blocks of 10 steps. It
# falls from about 1 (predicting no noise) to a few hundredths within a few hundred
# steps; most of what makes a digit happens after that, at losses that change little.


# %%
def eps_fn_of(model):
    r"""The model as the ``eps_fn(xt, t)`` that the samplers of `genmod.diffusion` call, without gradients."""
    def eps_fn(xt, t):
        with torch.no_grad():
            return model(xt, t)
    return eps_fn


gen = torch.Generator(device=device).manual_seed(1)
xN = torch.randn(64, 1, 28, 28, generator=gen, device=device)
live_samples = ddim_sample(eps_fn_of(live_model), xN, schedule, num_steps=config.ddim_steps)
image_grid(live_samples.clamp(-1, 1).cpu(), nrow=16, value_range=(-1, 1), title="live model, DDIM")
plt.show()

# %% [markdown]
# **Figure.** DDIM samples ($\eta_{\mathrm{DDIM}} = 0$, `config.ddim_steps` network evaluations) of the
# model trained live for `config.num_train_steps` steps, clipped to the data range
# $[-1, 1]$. At `book` scale (400 steps) they are still noise with dark and light patches,
# although the loss has fallen to a few hundredths: the loss is small long before the
# predictions are accurate enough for a deterministic sampler to draw digits.

# %% [markdown]
# ## The model trained longer
#
# The same `train_ddpm`, with `checkpoint_config` (1,500 steps, EMA decay 0.995), was
# run once and its weights committed to `book/diffusion/checkpoints/` with their
# provenance; `load_or_train` loads them, or trains and saves them when they are missing
# (about 7 minutes of one CPU core; the provenance says how long it took on the
# shared machine where it was made). **Every figure and number from here on comes
# from this model**, except where it says "live". At `full` scale the live model is used.

# %%
def train_checkpoint():
    model, history = train_ddpm(checkpoint_config, x0_train, device=device, seed=0)
    provenance = {"command": "GENMOD_SCALE=book jupyter nbconvert --to notebook --execute ddpm_mnist_torch.ipynb",
                  "scale": "checkpoint_config", "device": str(device), "train_time_s": history["train_time_s"],
                  "metrics": {"final_train_loss": history["loss"][-1],
                              "heldout_simple_loss": heldout_simple_loss(model.cpu(), x0_test[:256], checkpoint_config)},
                  "history": history, "builder": "UNet"}
    return model.to(device), provenance


def read_checkpoint(path):
    model = UNet(checkpoint_config)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.to(device).eval()


if config.use_checkpoint:
    model, checkpoint = load_or_train(NOTEBOOK, checkpoint_config, train=train_checkpoint,
                                      write=lambda m, path: torch.save(m.state_dict(), path),
                                      read=read_checkpoint, save=True)
    ckpt_history = checkpoint.provenance["history"]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.semilogy(live_history["step"], live_history["loss"], label="live (means over 10 steps)")
    ax.semilogy(ckpt_history["step"], ckpt_history["loss"], label="checkpoint (means over 50 steps)")
    ax.set_xlabel("gradient step")
    ax.set_ylabel("loss per pixel")
    ax.legend()
    plt.show()
else:
    model, checkpoint = live_model, None
print(f"held-out simple loss of the model used below: {heldout_simple_loss(model.cpu(), x0_test[:256], config):.4f}")
model.to(device).eval();

# %% [markdown]
# **Figure.** The training loss of the checkpoint (recorded in its provenance) beside the
# live run's, against the gradient step. At `full` scale there is no checkpoint and no figure.

# %% [markdown]
# ## The reverse chain
#
# Ancestral sampling {eq}`diffusion-ancestral` runs the learned reverse chain through all
# $N$ steps, with $\sigma_t^2 = \tilde\sigma_t^2$. We keep a few intermediate states.

# %%
keep = (1000, 800, 600, 400, 300, 200, 100, 50, 0)
gen = torch.Generator(device=device).manual_seed(2)
xN = torch.randn(config.num_ancestral, 1, 28, 28, generator=gen, device=device)
start = time.perf_counter()
ancestral, kept = ancestral_sample(eps_fn_of(model), xN, schedule, generator=gen, keep_at=keep)
ancestral_time = time.perf_counter() - start
rows = min(6, config.num_ancestral)
chain = torch.stack([kept[t][:rows, 0] for t in keep], 1).reshape(-1, 28, 28).clamp(-1, 1)
image_grid(chain.cpu(), nrow=len(keep), value_range=(-1, 1), title="$t$ = " + ", ".join(map(str, keep)))
plt.show()
print(f"ancestral sampling: {config.num_ancestral} samples x {N} network evaluations in {ancestral_time:.1f} s "
      f"({ancestral_time / config.num_ancestral:.2f} s per sample)")

# %% [markdown]
# **Figure.** The reverse chain of a few samples, from noise at $t = N$ (left) to digits
# at $t = 0$ (right), clipped to $[-1, 1]$ for display. Nothing of the digit is visible
# before $t \approx 400$; its shape appears between $t \approx 300$ and $t \approx 200$, and the
# last hundred steps clean the background and sharpen the strokes.

# %% [markdown]
# ## Samples: ancestral and DDIM
#
# DDIM {eq}`diffusion-ddim` with $\eta_{\mathrm{DDIM}} = 0$ skips steps: `config.ddim_steps` network
# evaluations instead of $N$. We draw `config.num_samples` digits with it and clip them to the
# data range $[-1, 1]$, as Ho et al. do, before the judge sees them.

# %%
gen = torch.Generator(device=device).manual_seed(3)
start = time.perf_counter()
samples = torch.cat([ddim_sample(eps_fn_of(model), torch.randn(250, 1, 28, 28, generator=gen, device=device),
                                 schedule, num_steps=config.ddim_steps)
                     for _ in range(math.ceil(config.num_samples / 250))])[:config.num_samples]
ddim_time = time.perf_counter() - start
print(f"DDIM: {config.num_samples} samples x {config.ddim_steps} network evaluations in {ddim_time:.1f} s "
      f"({ddim_time / config.num_samples * 1000:.0f} ms per sample)")
samples01 = ((samples.clamp(-1, 1) + 1) / 2).cpu().numpy()[:, 0]          # (num_samples, 28, 28) in [0, 1]
fig, axes = plt.subplots(1, 2, figsize=(12, 5))
image_grid(((ancestral.clamp(-1, 1) + 1) / 2).cpu()[:32], nrow=8, ax=axes[0], title=f"ancestral, {N} steps")
image_grid(samples01[:64], nrow=8, ax=axes[1], title=f"DDIM, {config.ddim_steps} steps")
plt.show()

# %% [markdown]
# **Figure.** Samples from the ancestral sampler ($N = 1000$ network evaluations each, left)
# and from DDIM (right), both from the checkpoint's model; the times above give the cost.
# With this briefly trained model the ancestral samples are the cleaner: strokes on a
# white background, many of them recognisable digits. The DDIM samples keep grey,
# speckled backgrounds and thicker blots. A deterministic sampler follows the network's
# noise prediction exactly at every step, so its errors accumulate, while the fresh
# noise of each ancestral step, and its thousand small steps, wash part of them out.
# A better-trained model (the exercise below, or the `full` scale) closes the gap.

# %% [markdown]
# ## The test ELBO in bits per dimension
#
# {eq}`diffusion-elbo-denoising` on test digits, with the discretised decoder
# {eq}`diffusion-decoder`: the prior term exactly, the reconstruction with one $\x_1$, and
# the sum over $t = 2, \dots, N$ as $N - 1$ times the mean over `config.elbo_time_steps` random
# steps per digit. The standard error is that of the mean over digits of the
# per-digit estimates, which includes the randomness of $t$ and of $\x_t$.

# %%
gen = torch.Generator(device=device).manual_seed(4)
x0_elbo = x0_test[:config.elbo_digits].to(device)
terms = {k: [] for k in ("elbo", "reconstruction", "prior", "denoising")}
for batch in x0_elbo.split(100):
    out = elbo_terms(eps_fn_of(model), batch, schedule, num_t=config.elbo_time_steps, generator=gen)
    for k in terms:
        terms[k].append(out[k].cpu())
terms = {k: torch.cat(v) for k, v in terms.items()}
bpd = bits_per_dim(terms["elbo"], 784)                                    # eq. diffusion-bpd
bpd_mean, bpd_se = float(bpd.mean()), float(bpd.std() / math.sqrt(len(bpd)))
print(f"test ELBO: {float(terms['elbo'].mean()):.1f} nats per digit = {bpd_mean:.3f} +- {bpd_se:.3f} bits per "
      f"dimension ({len(bpd)} test digits, {config.elbo_time_steps} random t each)")
print("terms (nats per digit): " + ", ".join(f"{k} {float(v.mean()):.1f}" for k, v in terms.items() if k != "elbo"))

# %% [markdown]
# For comparison: Ho et al. report no MNIST bound; for CIFAR-10 their model trained with
# the simplified loss reaches $\le 3.75$ bits per dimension. MNIST digits are mostly
# exactly white or black, so good models of the 8-bit data reach about 1 bit per
# dimension; a small model trained briefly with the *simplified* loss, which does not
# weight the small-$t$ terms as the ELBO does, is far from that. The reconstruction and
# the small-$t$ denoising terms dominate the bound, while the samples are made at large $t$.

# %% [markdown]
# ## Judging the samples

# %%
scores = judge_samples(samples01)   # prints the Fréchet distance, the classes and the confidence
samples_and_classes(samples01, scores["class_histogram"], reference=y_test)
plt.show()

# %% [markdown]
# **Figure.** DDIM samples of the checkpoint's model and the judge's class histogram, beside
# the classes of real test digits. The Fréchet distance {eq}`gans-frechet` between the
# judge's features of the samples and of real digits is printed above, beside its value for
# real training digits; the GAN and VAE notebooks ({doc}`../gans/dcgan_mnist_tf`,
# {doc}`../vae/vae_mnist_tf`) report theirs on the same judge.

# %%
metrics = {**{k: scores[k] for k in ("frechet_distance", "real_frechet_distance", "classes_with_2pct",
                                     "class_histogram", "mean_confidence", "judge_test_accuracy")},
           "num_samples": config.num_samples, "test_elbo_bpd": bpd_mean, "test_elbo_bpd_se": bpd_se,
           "elbo_num_test_digits": len(bpd), "elbo_num_time_steps": config.elbo_time_steps,
           "network_evaluations": config.ddim_steps, "sampling_time_s": ddim_time,
           "ancestral/network_evaluations": N, "ancestral/sampling_time_s": ancestral_time,
           "train_time_s": checkpoint.provenance["train_time_s"] if checkpoint else live_history["train_time_s"],
           "live/train_time_s": live_history["train_time_s"], "live/simple_loss": live_history["loss"][-1]}
folder = genmod.save_artifacts(NOTEBOOK, samples01, metrics, kind="images", value_range=(0, 1), config=config,
                               device=str(device))
print(f"saved to {folder}")

# %% [markdown]
# ## Summary
#
# - A DDPM is trained by regressing noise {eq}`diffusion-simple-loss`: every step is one
#   Gaussian draw {eq}`diffusion-q-xt-x0` and one network evaluation, at a random $t$.
# - On two CPU cores a small U-Net needs well over a thousand steps before it draws
#   digits; the live run shows the loss falling while its samples are still noise, the
#   checkpoint (same code, 1,500 steps) strokes and digits.
# - Ancestral sampling costs $N = 1000$ network evaluations per sample; DDIM with 50 costs
#   a twentieth of that, and with this briefly trained model gives noisier samples.
# - The test ELBO {eq}`diffusion-bpd` is a bound on the likelihood with a standard error;
#   it is dominated by the small-$t$ terms and does not measure sample quality, which the
#   judge does.
#
# ## Exercises
#
# ```{exercise}
# :label: diffusion-ex-ddpm-mnist-torch-steps
#
# Draw 200 samples with DDIM at 10, 25, 50 and 100 network evaluations and judge them.
# Where does the quality stop improving? Plot the judge's Fréchet distance against the
# cost in seconds.
# ```
#
# ````{solution} diffusion-ex-ddpm-mnist-torch-steps
# :class: dropdown
#
# ```python
# for steps in (10, 25, 50, 100):
#     xN = torch.randn(200, 1, 28, 28, device=device)
#     x = ddim_sample(eps_fn_of(model), xN, schedule, num_steps=steps)
#     print(steps, judge_samples(((x.clamp(-1, 1) + 1) / 2).cpu().numpy()[:, 0], verbose=False)["frechet_distance"])
# ```
#
# With few steps each Euler step of {eq}`diffusion-probability-flow` is long and the
# digits are smooth and thick; the distance usually falls steeply up to 25-50 steps and
# little after. With 200 samples the Fréchet distance is biased upwards (it needs many
# samples), so compare the values with each other, not with the 1,000-sample value above.
# ````
#
# ```{exercise}
# :label: diffusion-ex-ddpm-mnist-torch-elbo-terms
#
# Split the ELBO estimate by $t$: compute the mean denoising-matching term
# {eq}`diffusion-kl-eps` at $t = 2, 10, 50, 200, 1000$ on 100 test digits. Which steps carry
# most of the bound? Why does the simplified loss give so little weight to them?
# ```
#
# ```{solution} diffusion-ex-ddpm-mnist-torch-elbo-terms
# :class: dropdown
#
# Use `genmod.diffusion.denoising_matching_kl` with `q_sample` at each fixed $t$. The terms
# are largest at small $t$: there the weight of {eq}`diffusion-kl-eps`,
# $(1-\alpha_t)^2/(2\tilde\sigma_t^2(1-\abar_t)\alpha_t) = \frac12(\mathrm{SNR}(t-1) - \mathrm{SNR}(t))(1-\abar_t)/\abar_t$, is
# large, and the network's noise error there is not small. The simplified loss weights
# every $t$ equally in noise units, which relative to the ELBO down-weights small $t$; that
# improves samples and costs likelihood (Ho et al., Sec. 4.2).
# ```
#
# ## References
#
# ```{bibliography}
# :filter: docname in docnames
# ```
