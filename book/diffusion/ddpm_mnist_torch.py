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
# against exact answers in two dimensions. $N$ is the number of diffusion steps (Ho et
# al. write $T$, which is the temperature in this book); in code it is `num_steps`.

# %% tags=["hide-input"]
# Setup: install the book's helper package when it is missing (Colab, Binder).
import importlib.util, subprocess, sys
REPO_URL = "https://github.com/genmod-book/genmod-book"
# this notebook's name: its artifacts and checkpoints are filed under it
NOTEBOOK = "ddpm_mnist_torch"
if importlib.util.find_spec("genmod") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    f"genmod @ git+{REPO_URL}.git#subdirectory=code"],
                   check=True)

import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

import genmod
from genmod import pick
from genmod.diffusion import (ancestral_sample, bits_per_dim, cosine_schedule,
                              ddim_sample, denoising_matching_kl, elbo_terms,
                              heldout_simple_loss, linear_schedule, q_sample)
from genmod.judge import judge_samples
from genmod.plotting import image_grid, samples_and_classes, training_curves
from genmod.torchutils import (get_device, images_to_tensor, load_or_train,
                               seed_everything)

print(f"scale: {genmod.get_scale()}")
device = get_device()
seed_everything(0)
(x_train, y_train), (x_test, y_test) = genmod.load_mnist()   # prints its source

# %% [markdown]
# Every number that changes with the scale sits in the next cell. `full` uses Ho et
# al.'s schedule, learning rate, gradient clipping and EMA decay, with a wider U-Net
# (64 channels; theirs for CIFAR-10 has 128 and attention layers) and 100,000 steps (their
# MNIST-sized runs are not published; CIFAR-10 took 800,000), meant for a GPU. The `book`
# scale keeps the schedule and the network of the checkpoint and trains live for 400
# steps only; the checkpoint below was trained by the same code for 1,500 steps.
# `base_channels` is the U-Net's channels at 28x28 (twice as many at 14x14 and 7x7);
# Ho et al.'s $\beta_1$ and $\beta_N$ are `noise_start` and `noise_end`.

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
    grad_clip=1.0,                            # largest gradient norm (Ho)
    # decay of the exponential moving average (EMA) of the weights
    ema_decay=pick(quick=0.9, book=0.995, full=0.9999),
    # gradient steps of the live model
    num_train_steps=pick(quick=20, book=400, full=100_000),
    # also load the model trained longer (below)
    use_checkpoint=pick(quick=True, book=True, full=False),
    checkpoint_train_steps=1500,              # gradient steps of that model
    checkpoint_ema_decay=0.995,               # its EMA decay
    # DDIM samples judged (>= 1000 at book scale)
    num_samples=pick(quick=100, book=1000, full=10_000),
    ddim_steps=pick(quick=10, book=50, full=100),   # evaluations per sample
    # ancestral samples (N network evaluations each)
    num_ancestral=pick(quick=4, book=32, full=1000),
    elbo_digits=pick(quick=20, book=500, full=2000),  # test digits in the ELBO
    elbo_time_steps=pick(quick=2, book=20, full=100),  # random t per digit
    # the first exercise: samples per DDIM run, and the DDIM steps compared
    exercise_samples=pick(quick=50, book=200, full=1000),
    exercise_ddim_steps=pick(quick=(5, 10), book=(10, 25, 50, 100),
                             full=(10, 25, 50, 100)),
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
# {eq}`diffusion-decoder` of the ELBO needs. The schedule is Ho et al.'s linear one:
# $1 - \alpha_t$ (their $\beta_t$) from $10^{-4}$ to $0.02$ over $N = 1000$ steps. We
# find where its signal-to-noise ratio {eq}`diffusion-snr` falls below $10^{-2}$.

# %%
# (8000, 1, 28, 28) in [-1, 1]
x0_train = images_to_tensor(x_train, value_range=(-1, 1))
x0_test = images_to_tensor(x_test, value_range=(-1, 1))
schedule = linear_schedule(config.num_diffusion_steps, config.noise_start,
                           config.noise_end)
N = schedule.num_steps
snr = schedule.snr.numpy()                    # SNR(t) = abar_t / (1 - abar_t)
# the first t with SNR(t) < 10^-2
t_snr_low = genmod.glue("t_snr_low", int(np.argmax(snr[1:] < 1e-2)) + 1)
snr_600 = genmod.glue("snr_600", float(snr[600]))
print(f"SNR(600) = {snr_600:.3f}; SNR(t) < 1e-2 from t = {t_snr_low}")

# %%
t_axis = np.arange(1, N + 1)
cosine = cosine_schedule(N)
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
axes[0].plot(t_axis, schedule.alpha_bar[1:], label="linear (this notebook)")
axes[0].plot(t_axis, cosine.alpha_bar[1:], "--", label="cosine")
axes[0].set_ylabel(r"$\bar\alpha_t$")
axes[1].semilogy(t_axis, snr[1:], label="linear")
axes[1].semilogy(t_axis, cosine.snr[1:], "--", label="cosine")
axes[1].axvline(t_snr_low, color="k", lw=0.5)
axes[1].set_ylabel(r"$\mathrm{SNR}(t) = \bar\alpha_t / (1 - \bar\alpha_t)$")
for ax in axes[:2]:
    ax.set_xlabel("diffusion step $t$")
    ax.legend()
gen = torch.Generator().manual_seed(0)
show_t = [0, 50, 100, 200, 300, 500, 700, 1000]
digits = x0_test[:3].repeat(len(show_t), 1, 1, 1)
tt = torch.tensor(show_t).repeat_interleave(3)
# x_t ~ q(x_t | x_0), eq. diffusion-q-xt-x0
noised, _ = q_sample(digits, tt, schedule, generator=gen)
grid = noised.view(len(show_t), 3, 28, 28).transpose(0, 1)
image_grid(grid.reshape(-1, 28, 28).clamp(-1, 1), nrow=len(show_t),
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
# direction. First the residual block; the time embedding enters it as a bias per channel.

# %%
class ResBlock(nn.Module):
    r"""A residual block of the U-Net: two 3x3 convolutions, t added between.

    ``h`` (B, c_in, H, W) and the time embedding ``temb`` (B, time_dim) ->
    (B, c_out, H, W).
    """

    def __init__(self, c_in, c_out, time_dim):
        super().__init__()
        self.norm1 = nn.GroupNorm(8, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time = nn.Linear(time_dim, c_out)     # t's embedding, per channel
        self.norm2 = nn.GroupNorm(8, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = (nn.Conv2d(c_in, c_out, 1) if c_in != c_out
                     else nn.Identity())

    def forward(self, h, temb):
        out = self.conv1(nn.functional.silu(self.norm1(h)))
        out = out + self.time(temb)[:, :, None, None]
        out = self.conv2(nn.functional.silu(self.norm2(out)))
        return out + self.skip(h)


# %% [markdown]
# The U-Net stacks five of them: two on the way down, one at 7x7, two on the way up.

# %%
class UNet(nn.Module):
    r"""The noise predictor eps_theta(x_t, t) of 28x28 images: a small U-Net.

    28x28 (C = config.base_channels) -> 14x14 (2C) -> 7x7 (2C) and back.
    ``xt`` (B, 1, 28, 28) and ``t`` (B,) integers in 1..N -> (B, 1, 28, 28).
    """

    def __init__(self, config, time_dim=64):
        super().__init__()
        c1, td = config.base_channels, 2 * time_dim
        c2 = 2 * c1
        self.time_dim = time_dim
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, td), nn.SiLU(),
                                      nn.Linear(td, td))
        self.inc = nn.Conv2d(1, c1, 3, padding=1)
        self.down_block1 = ResBlock(c1, c1, td)
        self.down1 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)   # 28 => 14
        self.down_block2 = ResBlock(c2, c2, td)
        self.down2 = nn.Conv2d(c2, c2, 3, stride=2, padding=1)   # 14 => 7
        self.mid_block = ResBlock(c2, c2, td)
        self.up2 = nn.ConvTranspose2d(c2, c2, 4, stride=2, padding=1)  # => 14
        self.up_block2 = ResBlock(2 * c2, c2, td)
        self.up1 = nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1)  # => 28
        self.up_block1 = ResBlock(2 * c1, c1, td)
        self.out = nn.Sequential(nn.GroupNorm(8, c1), nn.SiLU(),
                                 nn.Conv2d(c1, 1, 3, padding=1))

    def forward(self, xt, t):
        half = self.time_dim // 2             # sinusoidal embedding (Vaswani)
        freqs = torch.exp(-torch.log(torch.tensor(10_000.0))
                          * torch.arange(half, device=t.device) / half)
        angles = t.float()[:, None] * freqs[None]
        temb = self.time_mlp(torch.cat([angles.sin(), angles.cos()], dim=1))
        h0 = self.down_block1(self.inc(xt), temb)            # (B, C, 28, 28)
        h1 = self.down_block2(self.down1(h0), temb)          # (B, 2C, 14, 14)
        h = self.mid_block(self.down2(h1), temb)             # (B, 2C, 7, 7)
        h = self.up_block2(torch.cat([self.up2(h), h1], 1), temb)  # 14x14
        h = self.up_block1(torch.cat([self.up1(h), h0], 1), temb)  # 28x28
        return self.out(h)                   # eps_pred, (B, 1, 28, 28)


# %% [markdown]
# `train_ddpm` draws a minibatch, a step $t \sim \mathcal{U}\{1, \dots, N\}$ and noise
# $\epsilon$ per digit, and takes an Adam step on
# $\lVert \epsilon - \epsilon_\theta(\x_t, t)\rVert^2$ {eq}`diffusion-simple-loss`; it keeps
# an exponential moving average (EMA) of the weights, which is what samples (Ho et al.
# use a decay of 0.9999 over 800,000 steps; a short run needs a shorter memory).

# %%
def train_ddpm(config, x0_data, *, device, seed=0, log_every=50):
    r"""Train a UNet with the simplified loss; return its EMA copy, history.

    One generator seeded with ``seed`` draws batches of ``x0_data`` (on the
    CPU), steps and noise; the history holds means over ``log_every`` steps.
    """
    gen = torch.Generator().manual_seed(seed)
    N = config.num_diffusion_steps
    alpha_bar = linear_schedule(N, config.noise_start, config.noise_end
                                ).alpha_bar.float().to(device)
    model, ema_model = UNet(config).to(device), UNet(config).to(device)
    ema_model.load_state_dict(model.state_dict())
    ema_model.requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    warmup = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: min(1.0, (step + 1) / config.warmup_steps))
    history, recent = {"step": [], "loss": []}, []
    for step in range(1, config.num_train_steps + 1):
        idx = torch.randint(len(x0_data), (config.batch_size,), generator=gen)
        x0 = x0_data[idx].to(device)                          # (B, 1, 28, 28)
        t = torch.randint(1, N + 1, (config.batch_size,), generator=gen)
        eps = torch.randn(x0.shape, generator=gen).to(device)   # N(0, I)
        ab = alpha_bar[t.to(device)].view(-1, 1, 1, 1)
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps         # x_t ~ q(x_t | x_0)
        loss = ((model(xt, t.to(device)) - eps) ** 2).mean()  # simple loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        opt.step()
        warmup.step()
        with torch.no_grad():         # theta_ema <- d theta_ema + (1 - d) theta
            for p_ema, p in zip(ema_model.parameters(), model.parameters()):
                p_ema.lerp_(p, 1 - config.ema_decay)
        recent.append(loss.item())
        if step % log_every == 0 or step == config.num_train_steps:
            history["step"].append(step)
            history["loss"].append(float(np.mean(recent)))
            recent = []
    return ema_model.eval(), history


# %% [markdown]
# ## Training live
#
# The held-out loss is the simplified loss on 256 test digits with one fixed $t$ and
# noise each (`genmod.diffusion.heldout_simple_loss`), so that two models, or a model
# and its checkpoint's record, can be compared number for number.

# %%
torch.manual_seed(0)
start = time.perf_counter()
live_model, live_history = train_ddpm(config, x0_train, device=device,
                                      log_every=10)
live_time = time.perf_counter() - start
live_loss = genmod.glue("live_heldout_loss", heldout_simple_loss(
    live_model, x0_test[:256].to(device), schedule))
num_params = sum(p.numel() for p in live_model.parameters())
print(f"{num_params:,} parameters; {config.num_train_steps} steps in "
      f"{live_time:.0f} s; held-out loss {live_loss:.4f}")
training_curves({"simple loss": live_history["loss"]},
                xlabel="gradient step / 10", ylabel="loss per pixel", logy=True)
plt.show()

# %% [markdown]
# **Figure.** The simplified loss of the live run, averaged over blocks of 10 steps. It
# falls from about 1 (predicting no noise) to a few hundredths within a few hundred
# steps; most of what makes a digit happens after that, at losses that change little.
# The samplers of `genmod.diffusion` take the network as `eps_fn(xt, t)` and run without
# gradients; here is DDIM with `config.ddim_steps` evaluations (its code is shown below).

# %%
gen = torch.Generator(device=device).manual_seed(1)
xN = torch.randn(64, 1, 28, 28, generator=gen, device=device)
live_samples = ddim_sample(live_model, xN, schedule,
                           num_steps=config.ddim_steps)
image_grid(live_samples.clamp(-1, 1).cpu(), nrow=16, value_range=(-1, 1),
           title="live model, DDIM")
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
# run once and its weights committed to `book/diffusion/checkpoints/`;
# `genmod.torchutils.load_or_train` loads them, or trains and saves them with their
# provenance when they are missing (about 7 minutes of one CPU core; the provenance
# says how long it took on the shared machine where it was made). **Every figure and
# number from here on comes from this model**, except where it says "live". At `full`
# scale the live model is used.

# %%
def train_long():
    model, history = train_ddpm(checkpoint_config, x0_train, device=device)
    loss = heldout_simple_loss(model, x0_test[:256].to(device), schedule)
    metrics = {"final_train_loss": history["loss"][-1],
               "heldout_simple_loss": loss}
    return model, metrics, {"history": history}


if config.use_checkpoint:
    model, checkpoint = load_or_train(NOTEBOOK, checkpoint_config, build=UNet,
                                      train=train_long, device=device)
    ckpt_history = checkpoint.provenance["history"]
else:
    model, checkpoint, ckpt_history = live_model, None, None
model.eval()
heldout = genmod.glue("heldout_loss", heldout_simple_loss(
    model, x0_test[:256].to(device), schedule))
print(f"held-out simple loss of the model used below: {heldout:.4f}")

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
# Ancestral sampling {eq}`diffusion-ancestral` runs the learned reverse chain through all
# $N$ steps, with $\sigma_t^2 = \tilde\sigma_t^2$: `genmod.diffusion.ancestral_sample`, whose
# code {doc}`diffusion_2d_torch` shows beside its equations. We run it from standard normal
# noise and keep a few intermediate states.

# %%
keep = (1000, 800, 600, 400, 300, 200, 100, 50, 0)
gen = torch.Generator(device=device).manual_seed(2)
xN = torch.randn(config.num_ancestral, 1, 28, 28, generator=gen, device=device)
start = time.perf_counter()
ancestral, kept = ancestral_sample(model, xN, schedule, generator=gen,
                                   keep_at=keep)
ancestral_time = time.perf_counter() - start
rows = min(6, config.num_ancestral)
chain = torch.stack([kept[t][:rows, 0] for t in keep], 1)
image_grid(chain.reshape(-1, 28, 28).clamp(-1, 1).cpu(), nrow=len(keep),
           value_range=(-1, 1), title="$t$ = " + ", ".join(map(str, keep)))
plt.show()
ancestral_s = genmod.glue("ancestral_s_per_sample",
                          ancestral_time / config.num_ancestral)
print(f"ancestral sampling: {config.num_ancestral} samples x {N} network "
      f"evaluations in {ancestral_time:.1f} s ({ancestral_s:.2f} s per sample)")

# %% [markdown]
# **Figure.** The reverse chain of a few samples, from noise at $t = N$ (left) to digits
# at $t = 0$ (right), clipped to $[-1, 1]$ for display. Nothing of the digit is visible
# before $t \approx 400$; its shape appears between $t \approx 300$ and $t \approx 200$, and the
# last hundred steps clean the background and sharpen the strokes.

# %% [markdown]
# ## Samples: ancestral and DDIM
#
# DDIM {eq}`diffusion-ddim` with $\eta_{\mathrm{DDIM}} = 0$ skips steps: from $t$ to an earlier
# sampling time $t'$ it predicts the clean digit $\hat\x_0$ and moves to
# $\sqrt{\abar_{t'}}\,\hat\x_0 + \sqrt{1 - \abar_{t'}}\,\epsilon_\theta$, on `config.ddim_steps`
# sampling times evenly spaced from $N$ to 1 (`genmod.diffusion.ddim_sample`, whose code
# {doc}`diffusion_2d_torch` shows).
# We draw `config.num_samples` digits with it and clip them to the data range $[-1, 1]$,
# as Ho et al. do, before the judge sees them.

# %%
gen = torch.Generator(device=device).manual_seed(3)
start = time.perf_counter()
samples = torch.cat([
    ddim_sample(model,
                torch.randn(250, 1, 28, 28, generator=gen, device=device),
                schedule, num_steps=config.ddim_steps)
    for _ in range(math.ceil(config.num_samples / 250))])[:config.num_samples]
ddim_time = time.perf_counter() - start
ddim_ms = genmod.glue("ddim_ms_per_sample",
                      ddim_time / config.num_samples * 1000)
print(f"DDIM: {config.num_samples} samples x {config.ddim_steps} network "
      f"evaluations in {ddim_time:.1f} s ({ddim_ms:.0f} ms per sample)")
# (num_samples, 28, 28) in [0, 1]
samples01 = ((samples.clamp(-1, 1) + 1) / 2).cpu().numpy()[:, 0]
fig, axes = plt.subplots(1, 2, figsize=(12, 5))
image_grid(((ancestral.clamp(-1, 1) + 1) / 2).cpu()[:32], nrow=8, ax=axes[0],
           title=f"ancestral, {N} steps")
image_grid(samples01[:64], nrow=8, ax=axes[1],
           title=f"DDIM, {config.ddim_steps} steps")
plt.show()

# %% [markdown]
# **Figure.** Samples from the ancestral sampler ($N = 1000$ network evaluations each, left)
# and from DDIM (right), both from the checkpoint's model; they cost
# {glue:text}`ancestral_s_per_sample:.2f` s and {glue:text}`ddim_ms_per_sample:.0f` ms per
# sample in this run. With this briefly trained model the ancestral samples are the
# cleaner: strokes on a white background, many of them recognisable digits. The DDIM
# samples keep grey, speckled backgrounds and thicker blots. A deterministic sampler
# follows the network's noise prediction exactly at every step, so its errors
# accumulate, while the fresh noise of each ancestral step, and its thousand small
# steps, wash part of them out. A better-trained model (the exercise below, or the
# `full` scale) closes the gap.

# %% [markdown]
# ## The test ELBO in bits per dimension
#
# {eq}`diffusion-elbo-denoising` on test digits, with the discretised decoder
# {eq}`diffusion-decoder`: the prior term exactly, the reconstruction with one $\x_1$, and
# the sum over $t = 2, \dots, N$ as $N - 1$ times the mean over `config.elbo_time_steps` random
# steps per digit (`genmod.diffusion.elbo_terms`). The standard error is that of the mean
# over digits of the per-digit estimates, which includes the randomness of $t$ and of $\x_t$.

# %%
gen = torch.Generator(device=device).manual_seed(4)
terms = elbo_terms(model, x0_test[:config.elbo_digits].to(device), schedule,
                   num_t=config.elbo_time_steps, generator=gen, batch_size=100)
terms = {k: v.cpu() for k, v in terms.items() if k != "denoising_terms"}
bpd = bits_per_dim(terms["elbo"], 784)                    # eq. diffusion-bpd
bpd_mean = genmod.glue("bpd", float(bpd.mean()))
bpd_se = genmod.glue("bpd_se", float(bpd.std() / math.sqrt(len(bpd))))
print(f"test ELBO: {float(terms['elbo'].mean()):.1f} nats per digit = "
      f"{bpd_mean:.3f} +- {bpd_se:.3f} bits per dimension ({len(bpd)} test "
      f"digits, {config.elbo_time_steps} random t each)")
print("terms (nats per digit): " + ", ".join(
    f"{k} {float(v.mean()):.1f}" for k, v in terms.items() if k != "elbo"))

# %% [markdown]
# This run's bound is {glue:text}`bpd:.2f` $\pm$ {glue:text}`bpd_se:.2f` bits per dimension.
# For comparison: Ho et al. {cite}`ho2020` report no MNIST bound; for CIFAR-10 their model
# trained with the simplified loss reaches $\le 3.75$ bits per dimension. MNIST digits are
# mostly exactly white or black, so good models of the 8-bit data reach about 1 bit per
# dimension; a small model trained briefly with the *simplified* loss, which does not
# weight the small-$t$ terms as the ELBO does, is far from that. The reconstruction and
# the small-$t$ denoising terms dominate the bound, while the samples are made at large $t$.

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
# the classes of real test digits. In this run the Fréchet distance {eq}`gans-frechet`
# between the judge's features of the samples and of real digits is
# {glue:text}`frechet_distance:.0f`, against {glue:text}`real_frechet_distance:.0f` for real
# training digits, and {glue:text}`classes` of the 10 classes hold at least 2 % of the
# samples; the GAN and VAE notebooks ({doc}`../gans/dcgan_mnist_tf`,
# {doc}`../vae/vae_mnist_tf`) report theirs on the same judge.

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
                               device=str(device))
print(f"saved to {folder}")

# %% [markdown]
# ## Summary
#
# - A DDPM is trained by regressing noise {eq}`diffusion-simple-loss`: every step is one
#   Gaussian draw {eq}`diffusion-q-xt-x0` and one network evaluation, at a random $t$.
# - On two CPU cores a small U-Net needs well over a thousand steps before it draws
#   digits; the live run shows the loss falling (held-out loss
#   {glue:text}`live_heldout_loss:.3f`) while its samples are still noise, the
#   checkpoint (same code, 1,500 steps; held-out loss {glue:text}`heldout_loss:.3f`)
#   strokes and digits, {glue:text}`classes` of 10 classes at Fréchet distance
#   {glue:text}`frechet_distance:.0f` in this run.
# - Ancestral sampling {eq}`diffusion-ancestral` costs $N = 1000$ network evaluations per
#   sample; DDIM {eq}`diffusion-ddim` with 50 costs a twentieth of that, and with this
#   briefly trained model gives noisier samples. Both are `genmod.diffusion`'s, shown in
#   {doc}`diffusion_2d_torch`.
# - The test ELBO {eq}`diffusion-bpd` is a bound on the likelihood with a standard error
#   ({glue:text}`bpd:.2f` $\pm$ {glue:text}`bpd_se:.2f` bits per dimension here); it is
#   dominated by the small-$t$ terms and does not measure sample quality, which the
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
# ```{solution} diffusion-ex-ddpm-mnist-torch-steps
# :class: dropdown
#
# The cell below does it with `config.exercise_samples` samples (200 at `book` scale)
# for each of `config.exercise_ddim_steps`. With few steps each Euler step of
# {eq}`diffusion-probability-flow` is long and the digits are smooth and thick; the
# distance usually falls steeply up to 25-50 steps and little after. With 200 samples
# the Fréchet distance is biased upwards (it needs many samples), so compare the
# values with each other, not with the 1,000-sample value above.
# ```

# %% tags=["hide-input"]
gen = torch.Generator(device=device).manual_seed(5)
xN = torch.randn(config.exercise_samples, 1, 28, 28, generator=gen,
                 device=device)
cost, distance = [], []
for steps in config.exercise_ddim_steps:
    start = time.perf_counter()
    x = ddim_sample(model, xN, schedule, num_steps=steps)
    cost.append(time.perf_counter() - start)
    x01 = ((x.clamp(-1, 1) + 1) / 2).cpu().numpy()[:, 0]
    distance.append(judge_samples(x01, verbose=False, with_reference=False)
                    ["frechet_distance"])
    print(f"{steps:4d} steps: {cost[-1]:.1f} s, Fréchet distance "
          f"{distance[-1]:.0f}")
fig, ax = plt.subplots(figsize=(4.5, 3.2))
ax.plot(cost, distance, "o-")
for steps, c, d in zip(config.exercise_ddim_steps, cost, distance):
    ax.annotate(f"{steps}", (c, d))
ax.set_xlabel("sampling time (s)")
ax.set_ylabel("Fréchet distance")
plt.show()

# %% [markdown]
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
# The cell below uses `genmod.diffusion.denoising_matching_kl` with `q_sample` at each
# fixed $t$. The terms are largest at small $t$: there the weight of {eq}`diffusion-kl-eps`,
# $(1-\alpha_t)^2/(2\tilde\sigma_t^2(1-\abar_t)\alpha_t) = \frac12(\mathrm{SNR}(t-1) - \mathrm{SNR}(t))(1-\abar_t)/\abar_t$, is
# large, and the network's noise error there is not small. The simplified loss weights
# every $t$ equally in noise units, which relative to the ELBO down-weights small $t$; that
# improves samples and costs likelihood (Ho et al., Sec. 4.2).
# ```

# %% tags=["hide-input"]
gen = torch.Generator(device=device).manual_seed(6)
x0 = x0_test[:100].to(device)
for t in (2, 10, 50, 200, 1000):
    tt = torch.full((len(x0),), t, device=device)
    xt, _ = q_sample(x0, tt, schedule, generator=gen)
    with torch.no_grad():
        kl = denoising_matching_kl(x0, xt, tt, model(xt, tt), schedule)
    print(f"t = {t:4d}: mean denoising-matching term {float(kl.mean()):8.3f} "
          f"nats per digit")

# %% [markdown]
# ## References
#
# ```{bibliography}
# :filter: docname in docnames
# ```
