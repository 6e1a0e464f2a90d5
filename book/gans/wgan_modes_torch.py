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
# # Mode collapse on a ring of Gaussians: GAN and WGAN-GP
#
# A generator that fools its discriminator need not reproduce the whole data
# distribution: it can put all its samples on a few of the modes. This notebook
# trains a standard GAN and a Wasserstein GAN with gradient penalty (WGAN-GP) on
# the same two-dimensional ring of eight Gaussians, with the same generator, and
# counts the modes each one covers.
#
# ```{admonition} Learning goals
# :class: tip
#
# After this notebook you can
#
# - recognise mode collapse in samples and measure it with mode coverage, the
#   fraction of high-quality samples and the squared MMD {eq}`gans-mmd`;
# - implement the WGAN-GP critic loss with its gradient penalty {eq}`gans-wgan-gp`
#   and the training loop of {cite}`gulrajani2017` (Algorithm 1);
# - say what the critic of a WGAN estimates {eq}`gans-wgan-dual` and why its
#   gradients reach every mode, and where WGAN-GP's samples fall short.
# ```

# %% tags=["hide-input"]
# Setup: install the book's helper package when it is missing (Colab, Binder).
import importlib.util, subprocess, sys
REPO_URL = "https://github.com/genmod-book/genmod-book"
# this notebook's name: its artifacts and checkpoints are filed under it
NOTEBOOK = "wgan_modes_torch"
if importlib.util.find_spec("genmod") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    f"genmod @ git+{REPO_URL}.git#subdirectory=code"],
                   check=True)

import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
import genmod
from genmod.gan import (discriminator_loss, generator_loss_nonsaturating,
                        gradient_penalty)
from genmod import pick
from genmod.data import Mixture
from genmod.metrics import median_bandwidth, mmd2_unbiased, mode_coverage
from genmod.plotting import samples_2d, training_curves
from genmod.torchutils import get_device, seed_everything

print(f"scale: {genmod.get_scale()}")
device = get_device()
seed_everything(0)
print("data: a ring of 8 Gaussians from genmod.data.Mixture.ring "
      "(generated, no download)")

# %% [markdown]
# ## Configuration
#
# The data are fixed: eight Gaussians of standard deviation $0.02$ on a circle
# of radius 2, the benchmark of {cite}`metz2017` and {cite}`srivastava2017`.
# Both models use the same generator and the same discriminator/critic
# architecture, the same batch size and the same number of generator steps.
# The WGAN-GP settings are those of the authors' published code for the toy
# data sets {cite}`gulrajani2017`: $n_D = 5$ critic steps per generator step
# ($n_{\mathrm{critic}}$ in the paper), Adam with learning rate $\eta = 10^{-4}$ and
# `betas=(0.5, 0.9)` (the paper's Algorithm 1 has `betas=(0.0, 0.9)`), and the
# penalty weight $\lambda_{\mathrm{GP}} = 0.1$ that the code uses for toy data
# (the paper's $\lambda_{\mathrm{GP}} = 10$ is for images). Reference runs
# measured why: with $\lambda_{\mathrm{GP}} = 10$, at the `book` scale on a
# CPU, WGAN-GP collapsed
# onto one blob between two modes (no mode covered, high-quality fraction below
# 1 %) for two of four seeds of the data sampler, and covered all eight modes
# (high-quality fraction about 0.5) for the other two; with
# $\lambda_{\mathrm{GP}} = 0.1$ it covered all eight modes for all four seeds, with
# a high-quality fraction of 0.60 to 0.63. The standard GAN's
# discriminator learns ten times faster than its generator, and the latent
# vector is two-dimensional: with these settings the collapse shows within the
# `book` budget (Section 6 says what other settings do).

# %%
config = genmod.Config(
    # the ring: M modes, radius and standard deviation (data units)
    num_modes=8,
    radius=2.0,
    std=0.02,
    # d_h, the dimension of the noise h ~ N(0, I)
    latent_dim=2,
    # hidden units per layer (generator and discriminator)
    width=128,
    # WGAN-GP penalty weight lambda_GP (the authors' toy-data value), and
    # n_D critic steps per generator step
    lam=0.1,
    n_critic=5,
    # Adam learning rates of the GAN's discriminator and generator
    lr_d_gan=1e-3,
    lr_g_gan=1e-4,
    # Adam betas of the standard GAN
    betas_gan=(0.5, 0.999),
    # Adam for critic and generator of WGAN-GP
    lr_wgan=1e-4,
    betas_wgan=(0.5, 0.9),
    # generator steps, both models
    num_steps=pick(quick=200, book=5000, full=100_000),
    # samples per step
    batch_size=pick(quick=128, book=256, full=256),
    # evenly spaced evaluations during training
    num_checkpoints=pick(quick=2, book=4, full=5),
    # samples per evaluation
    num_eval=pick(quick=1000, book=2000, full=5000),
)
checkpoints = [round(config.num_steps * (i + 1) / config.num_checkpoints)
               for i in range(config.num_checkpoints)]
print("checkpoints (generator steps):", checkpoints)

# %% [markdown]
# ## 1. The data and how we score samples
#
# The target is the equal-weight mixture
# $\pr = \frac1M \sum_{j=1}^{M} \N(\mu_j, \sigma^2 \I)$ of $M = 8$ components with
# centres $\mu_j = 2\left(\cos\frac{2\pi (j - 1)}{M}, \sin\frac{2\pi (j - 1)}{M}\right)$
# and $\sigma = 0.02$: eight sharp, well-separated modes. Because the modes are known, sample
# quality can be measured directly {cite}`srivastava2017` (Sec. 5.1):
#
# - a sample is of **high quality** if it lies within $3\sigma$ of its nearest
#   mode centre;
# - a mode is **covered** if at least 1 % of all samples are high-quality
#   samples assigned to it;
# - the squared **MMD** {eq}`gans-mmd` between generated and real samples
#   (`genmod.metrics.mmd2_unbiased`, Gaussian kernel) compares the two
#   distributions as a whole, and is near 0 when they agree. Its kernel bandwidth
#   $\sigma_\kappa$ is fixed once, by the median heuristic on two sets of real samples, so that the
#   values of both models at every checkpoint are comparable.
#
# Real samples score as follows; in two dimensions a Gaussian puts
# $1 - e^{-9/2} \approx 98.9\,\%$ of its mass within $3\sigma$ of its centre,
# not the 99.7 % of one dimension.

# %%
rng = np.random.default_rng(0)
# the data distribution, known in closed form
p_r = Mixture.ring(config.num_modes, radius=config.radius, std=config.std)
centers = p_r.means
x_eval = p_r.sample(config.num_eval, rng)
x_check = p_r.sample(config.num_eval, rng)
# one kernel for every MMD^2 below
mmd_bandwidth = median_bandwidth(x_eval, x_check)


def score(samples):
    """Mode coverage, high-quality fraction and MMD^2 to held-out real data."""
    cover = mode_coverage(samples, centers, std=config.std, num_std=3.0)
    mmd2 = mmd2_unbiased(samples, x_eval, bandwidth=mmd_bandwidth)
    return {"modes_covered": cover["modes_covered"],
            "high_quality": cover["high_quality_fraction"],
            "mmd2": mmd2, "counts": cover["counts"]}


real_score = score(x_check)
print(f"real samples: {real_score['modes_covered']}/{config.num_modes} modes, "
      f"high quality {real_score['high_quality']:.3f}, "
      f"MMD^2 {real_score['mmd2']:.5f}")

# %% [markdown]
# ## 2. Generator and discriminator
#
# Both models use the same two networks: multilayer perceptrons with two hidden
# layers of ReLU units. The generator maps $\h \in \R^{2}$ to a point in the
# plane. The discriminator outputs one real number: for the standard GAN it is
# the logit $\ell(\x)$ of $D(\x) = \sigmoid(\ell(\x))$, for the WGAN it is the
# critic's value $f(\x)$, with no sigmoid. Neither uses batch normalisation,
# which would make the gradient penalty, computed sample by sample, depend on
# the rest of the batch.

# %%
def mlp(n_in, n_out, width):
    """n_in -> width -> width -> n_out, ReLU between layers."""
    return nn.Sequential(nn.Linear(n_in, width), nn.ReLU(),
                         nn.Linear(width, width), nn.ReLU(),
                         nn.Linear(width, n_out))


def real_batch(n):
    """n samples of p_r as a float32 tensor (n, 2)."""
    return torch.from_numpy(p_r.sample(n, rng).astype(np.float32)).to(device)


def noise(n):
    """Latent samples h ~ N(0, I), shape (n, latent_dim)."""
    return torch.randn(n, config.latent_dim, device=device)


@torch.no_grad()
def generate(generator, n):
    """n samples of the generator, a numpy array (n, 2)."""
    return generator(noise(n)).cpu().numpy()

# %% [markdown]
# ## 3. The standard GAN
#
# The discriminator ascends the value function {eq}`gans-value-function`, i.e.
# minimises the binary cross-entropy with real samples labelled 1 and
# generated samples labelled 0; the generator minimises the non-saturating loss
# {eq}`gans-nonsaturating-loss`. One discriminator step alternates with one
# generator step.

# %%
def train_gan(num_steps, seed=0):
    """Standard GAN.

    Returns the generator, the samples at each checkpoint and the losses.
    """
    torch.manual_seed(seed)
    generator = mlp(config.latent_dim, 2, config.width).to(device)
    discriminator = mlp(2, 1, config.width).to(device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr_g_gan,
                             betas=config.betas_gan)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr_d_gan,
                             betas=config.betas_gan)
    snapshots = {}
    history = {"discriminator loss": [], "generator loss": []}
    for step in range(1, num_steps + 1):
        # discriminator: -v = BCE(real -> 1) + BCE(fake -> 0)
        d_real = discriminator(real_batch(config.batch_size))
        d_fake = discriminator(generator(noise(config.batch_size)).detach())
        loss_d = discriminator_loss(d_real, d_fake)  # gans-value-function
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        # generator: non-saturating loss -E[log D(G(h))] = BCE(fake -> 1)
        d_fake = discriminator(generator(noise(config.batch_size)))
        # eq. gans-nonsaturating-loss
        loss_g = generator_loss_nonsaturating(d_fake)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        history["discriminator loss"].append(loss_d.item())
        history["generator loss"].append(loss_g.item())
        if step in checkpoints:
            snapshots[step] = generate(generator, config.num_eval)
    return generator, snapshots, history


# %%
start = time.perf_counter()
generator_gan, snapshots_gan, history_gan = train_gan(config.num_steps)
time_gan = time.perf_counter() - start
print(f"standard GAN: {config.num_steps} generator steps in {time_gan:.0f} s")

# %% [markdown]
# ## 4. WGAN-GP
#
# The critic $f$ estimates the Wasserstein-1 distance through its dual form
# {eq}`gans-wgan-dual`, $W_1(\pr, \pg) = \sup_{\lVert f \rVert_{\mathrm{Lip}} \le 1}
# \E_{\pr}[f] - \E_{\pg}[f]$. Instead of constraining $f$ to be 1-Lipschitz,
# WGAN-GP penalises the deviation of its gradient norm from 1 at random points
# $\hat\x = \rho \x + (1 - \rho)\tilde\x$ between real samples $\x$ and
# generated samples $\tilde\x$, $\rho \sim \mathcal{U}(0, 1)$. The critic minimises
# {eq}`gans-wgan-gp`,
#
# $$
# \mathcal{L}_{\mathrm{critic}} = \E_{\tilde\x \sim \pg}[f(\tilde\x)] - \E_{\x \sim \pr}[f(\x)]
#   + \lambda_{\mathrm{GP}}\, \E_{\hat\x}\left[\left(\lVert \nabla_{\hat\x} f(\hat\x) \rVert_2 - 1\right)^2\right],
# $$
#
# and the generator minimises $-\E_{\h}[f(G(\h))]$. The gradient with respect to
# the *input* $\hat\x$ comes from `torch.autograd.grad` with
# `create_graph=True`, so that the penalty can itself be differentiated with
# respect to the critic's weights. Later notebooks reuse the penalty, so it
# lives in the book's package as `genmod.gan.gradient_penalty`; here is its code
# (its argument `lam` is $\lambda_{\mathrm{GP}}$, and its `rho` is $\rho$, Gulrajani
# et al.'s $\epsilon$).
# The test file `tests/gans/test_gan_math.py` checks it: for a linear critic
# $f(\x) = W\x$, whose gradient is $W$ everywhere, the penalty is
# $\lambda_{\mathrm{GP}}(\lVert W \rVert - 1)^2$, and 0 when the weight has unit norm.

# %%
genmod.show_source(gradient_penalty)

# %%
def train_wgan_gp(num_steps, seed=0):
    """WGAN-GP (Gulrajani et al. 2017, Algorithm 1).

    Returns the generator, the samples at each checkpoint and the history.
    """
    torch.manual_seed(seed)
    generator = mlp(config.latent_dim, 2, config.width).to(device)
    critic = mlp(2, 1, config.width).to(device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr_wgan,
                             betas=config.betas_wgan)
    opt_c = torch.optim.Adam(critic.parameters(), lr=config.lr_wgan,
                             betas=config.betas_wgan)
    snapshots = {}
    history = {"critic estimate of W1": [], "gradient penalty": []}
    for step in range(1, num_steps + 1):
        for _ in range(config.n_critic):
            x_real = real_batch(config.batch_size)
            x_fake = generator(noise(config.batch_size)).detach()
            # E_pr[f] - E_pg[f]
            w1_estimate = critic(x_real).mean() - critic(x_fake).mean()
            penalty = gradient_penalty(critic, x_real, x_fake, config.lam)
            loss_c = -w1_estimate + penalty  # eq. gans-wgan-gp
            opt_c.zero_grad()
            loss_c.backward()
            opt_c.step()
        # -E[f(G(h))]
        loss_g = -critic(generator(noise(config.batch_size))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        history["critic estimate of W1"].append(w1_estimate.item())
        history["gradient penalty"].append(penalty.item())
        if step in checkpoints:
            snapshots[step] = generate(generator, config.num_eval)
    return generator, snapshots, history


# %%
start = time.perf_counter()
generator_wgan, snapshots_wgan, history_wgan = train_wgan_gp(config.num_steps)
time_wgan = time.perf_counter() - start
print(f"WGAN-GP: {config.num_steps} generator steps "
      f"({config.n_critic * config.num_steps} critic steps) "
      f"in {time_wgan:.0f} s")

# %% [markdown]
# ## 5. Samples and scores
#
# The samples of both generators at each checkpoint, with the mode centres:

# %%
models = (("GAN", snapshots_gan), ("WGAN-GP", snapshots_wgan))
fig, axes = plt.subplots(2, config.num_checkpoints,
                         figsize=(3.2 * config.num_checkpoints, 6.6),
                         squeeze=False)
for col, step in enumerate(checkpoints):
    for row, (name, snaps) in enumerate(models):
        ax = samples_2d({name: snaps[step]}, centers=centers,
                        ax=axes[row, col], lim=2.8, s=2.0,
                        title=f"{name}, step {step}")
        ax.get_legend().remove()
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** Samples of the standard GAN (top) and of WGAN-GP (bottom) after
# the given number of generator steps; crosses mark the eight mode centres.
#
# The table scores each snapshot: modes covered out of 8, the fraction of
# high-quality samples and the squared MMD to held-out real samples (lower is
# better; real samples score about 0).

# %%
scores = {(name, step): score(snaps[step])
          for step in checkpoints for name, snaps in models}
scores[("real", "")] = real_score
print(f"{'model':8s} {'step':>6s} {'modes':>5s} {'quality':>7s} {'MMD^2':>8s}"
      "  samples per mode (high quality)")
for (name, step), s in scores.items():
    print(f"{name:8s} {step:>6} {s['modes_covered']:3d}/{config.num_modes} "
          f"{s['high_quality']:7.3f} {s['mmd2']:8.5f}  {s['counts']}")
final_gan = scores[("GAN", config.num_steps)]
final_wgan = scores[("WGAN-GP", config.num_steps)]
for tag, final in (("gan", final_gan), ("wgan", final_wgan)):
    genmod.glue(f"{tag}_modes", final["modes_covered"])
    genmod.glue(f"{tag}_quality", final["high_quality"])
    genmod.glue(f"{tag}_mmd2", final["mmd2"])
genmod.glue("real_mmd2", real_score["mmd2"])

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
window = max(1, config.num_steps // 100)
# moving average
smooth = lambda v: np.convolve(v, np.ones(window) / window, mode="valid")
training_curves({k: smooth(v) for k, v in history_gan.items()}, ax=axes[0],
                xlabel="generator step", ylabel="loss (nats)",
                title="standard GAN")
training_curves({k: smooth(v) for k, v in history_wgan.items()}, ax=axes[1],
                xlabel="generator step", ylabel="critic value",
                title="WGAN-GP")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** Training curves (moving averages over 1 % of the run). Left: the
# GAN's losses; nothing in them reveals whether the generator covers all the
# modes. Right: the WGAN critic's estimate $\E_{\pr}[f] - \E_{\pg}[f]$ of the
# Wasserstein distance {eq}`gans-wgan-dual`, and the gradient penalty. After an
# unsettled start the estimate falls as the samples approach the ring, a
# loss curve that tracks sample quality, as {cite}`arjovsky2017` point out.

# %%
fig, ax = plt.subplots(figsize=(7, 3.2))
modes = np.arange(1, config.num_modes + 1)
bars = (("GAN", final_gan), ("WGAN-GP", final_wgan), ("real", real_score))
for offset, (name, s) in zip((-0.27, 0.0, 0.27), bars):
    ax.bar(modes + offset, np.asarray(s["counts"]) / config.num_eval,
           width=0.27, label=name)
ax.axhline(0.01, color="k", ls=":", lw=1, label="coverage threshold (1 %)")
ax.set(xlabel="mode $j$ (counter-clockwise from $(2, 0)$)",
       ylabel="share of all samples",
       title="high-quality samples per mode after "
             f"{config.num_steps} generator steps")
ax.set_ylim(0, 1.35 * ax.get_ylim()[1])  # room for the legend above the bars
ax.legend(fontsize="small", ncol=4, loc="upper center")
plt.show()

# %% [markdown]
# **Figure.** The share of all samples that are high-quality samples of each
# mode, at the end of training. The real distribution puts $1/8$ on every mode
# (less the 1.1 % that lie beyond $3\sigma$); a mode is counted as covered
# when its bar reaches the dotted line.
#
# ## 6. What happened, and what you may see instead
#
# In this run the standard GAN ended with {glue:text}`gan_modes` of the 8
# modes covered, a high-quality fraction of {glue:text}`gan_quality:.2f` and
# an MMD$^2$ of {glue:text}`gan_mmd2:.4f`; WGAN-GP with
# {glue:text}`wgan_modes` modes, {glue:text}`wgan_quality:.2f` and
# {glue:text}`wgan_mmd2:.4f` (real samples: {glue:text}`real_mmd2:.4f`). The
# rest of this section describes the reference run at `book` scale.
#
# **The standard GAN collapsed partially.** In the reference run at the
# `book` scale (CPU, seed 0) its samples are sharp (the larger high-quality fraction in the
# table), but they sit on only four of the eight modes, every other one around
# the ring, and the other four receive almost nothing; the scatter plots show
# thin lines of samples running through the empty modes without stopping
# there. The same four modes held most of the samples from the first checkpoint
# on (at the first one two other modes still had just over 1 % each), and the
# GAN never recovered the others. The discriminator is trained ten times faster than
# the generator here, so it is close to the optimal discriminator for the
# current generator; but a generated sample only feels the slope of the
# discriminator at its own position. Near a mode that the generator already
# covers, $D^* = \pr/(\pr + \pg)$ is about $\tfrac12$ and flat; the empty modes,
# where $D^* = 1$, are far away, and the non-saturating loss does not pull
# samples across the gap. Its MMD is the largest of the two: the distribution
# as a whole is wrong even though every sample looks right.
#
# **WGAN-GP covers more modes, with blurrier samples.** Its critic is trained to
# have a gradient of norm one everywhere between real and generated samples
# {eq}`gans-wgan-gp`, so every generated sample is pulled along a transport direction
# towards real mass that is not yet matched {eq}`gans-wgan-dual`, near or far. After
# the same number of generator steps it covers all or nearly all modes and has
# the lowest MMD, close to that of real samples. Its high-quality fraction is
# lower: many samples lie on the arcs between modes. A continuous generator
# fed with connected noise cannot produce eight disconnected clusters, so it
# has to squeeze the transitions into thin, fast-traversed regions, and the
# Wasserstein loss penalises mass between two modes only in proportion to the
# distance it has to move, gently. With more steps the arcs thin out and the
# fraction rises; the `full` scale runs 100,000 generator steps, the length of
# the authors' toy experiments.
#
# **What you may see instead.** Mode collapse in a GAN depends on the seed and
# the settings, and this notebook's settings were chosen so that it shows at
# the `book` scale:
#
# - With another seed the GAN may drop a different set of modes, or a
#   different number of them; on a GPU the numbers differ in the last digits,
#   and after thousands of steps that is enough to change which modes survive.
# - With the generator's learning rate equal to the discriminator's
#   ($10^{-3}$), the standard GAN in reference runs covered all eight modes within
#   5,000 steps, after hopping between subsets of them on the way.
# - With a 256-dimensional latent vector, as in {cite}`metz2017`, and the
#   learning rates used here, the standard GAN in reference runs put all its samples
#   on a *single* mode, the complete collapse that unrolled GANs were designed
#   to cure; WGAN-GP then also needed many more steps to spread out.
# - WGAN-GP is not immune to bad luck at this budget either: one or two modes
#   may stay just under the 1 % threshold at the last checkpoint (the counts in
#   the table show how close they are). With the paper's image setting
#   $\lambda_{\mathrm{GP}} = 10$ instead of 0.1, it collapsed completely for two of
#   four data seeds in reference runs (see the configuration).
#
# The conclusion that survives all of these is the one the literature draws
# {cite}`srivastava2017,gulrajani2017`: the Wasserstein critic gives the
# generator a reason to cover every mode, the standard GAN's discriminator
# does not, and sample-by-sample quality alone (the high-quality fraction)
# cannot tell the two apart; a distribution-level score such as the MMD or
# the mode count can.
#
# Finally we save the WGAN-GP samples and both models' scores for the book's
# summary chapter.

# %%
metrics = {"mmd2_real_vs_real": real_score["mmd2"],
           "mmd_bandwidth": mmd_bandwidth, "num_modes": config.num_modes}
runs = (("gan", final_gan, time_gan), ("wgan_gp", final_wgan, time_wgan))
for tag, final, seconds in runs:
    metrics |= {f"{tag}/modes_covered": final["modes_covered"],
                f"{tag}/high_quality_fraction": final["high_quality"],
                f"{tag}/mmd2": final["mmd2"],
                f"{tag}/mode_counts": final["counts"],
                f"{tag}/train_time_s": seconds}
samples = snapshots_wgan[config.num_steps]
folder = genmod.save_artifacts(NOTEBOOK, samples, metrics, kind="points",
                               config=config, device=str(device))
print(f"saved {len(samples)} WGAN-GP samples and the metrics of both models "
      f"to {folder}")

# %% [markdown]
# ## Summary
#
# - On a ring of eight sharp Gaussians, a standard GAN can produce sharp
#   samples that cover only some of the modes: partial mode collapse. It shows
#   in the mode count and the MMD {eq}`gans-mmd`, not in the quality of
#   individual samples.
# - WGAN-GP trains a critic on the dual form of the Wasserstein distance
#   {eq}`gans-wgan-dual` with a gradient penalty {eq}`gans-wgan-gp` ($n_D = 5$ critic steps per
#   generator step, $\lambda_{\mathrm{GP}} = 0.1$ for these toy data); the critic's gradients point from every
#   generated sample towards unmatched real mass, and the generator covers all
#   or nearly all modes, at the price of samples between the modes early in
#   training. In this run WGAN-GP covered {glue:text}`wgan_modes` of the 8
#   modes and the standard GAN {glue:text}`gan_modes`.
# - The gradient penalty needs the critic's gradient with respect to its input,
#   computed with `torch.autograd.grad(..., create_graph=True)`.
# - Whether and how a GAN collapses depends on seeds, learning rates and the
#   latent dimension: compare models over several runs, not one.
#
# ## Exercises
#
# ```{exercise}
# :label: gans-ex-wgan-modes-torch-seeds
#
# Train both models with three other seeds (the `seed` argument of
# `train_gan` and `train_wgan_gp`) and report the mean and spread of the modes
# covered and of the MMD. Is the ranking of the two models the same for every
# seed?
# ```
#
# ```{solution} gans-ex-wgan-modes-torch-seeds
# :class: dropdown
#
# Loop over seeds, call `score` on the final snapshot of each run and collect
# the numbers. Expect them to vary from run to run: which modes the GAN keeps,
# and how many, is decided in the first few hundred steps, and WGAN-GP's last
# modes may sit just above or just below the 1 % threshold. A single run can
# mislead in either direction, which is why comparisons of GANs should report
# results over several seeds, with their spread.
# ```
#
# ```{exercise}
# :label: gans-ex-wgan-modes-torch-latent
#
# Set `latent_dim = 256` and rerun the standard GAN. What do the samples look
# like? Then set the generator's learning rate `lr_g_gan` equal to
# `lr_d_gan`. What changes?
# ```
#
# ```{solution} gans-ex-wgan-modes-torch-latent
# :class: dropdown
#
# With 256-dimensional noise and the generator ten times slower than the
# discriminator, the GAN in reference runs put nearly all samples on one mode: sharp
# samples (a high-quality fraction near 1) and one mode covered out of eight,
# the picture of {cite}`metz2017`. With equal learning rates the generator
# moves as fast as the discriminator, overshoots the modes it holds, and in our
# runs it hopped between subsets of the modes and eventually spread over all
# eight, with lower sample quality along the way. Neither behaviour is
# guaranteed: the dynamics of the game {eq}`gans-minimax` have no loss that
# decreases, and small changes decide where they end.
# ```
#
# ```{exercise}
# :label: gans-ex-wgan-modes-torch-penalty
#
# Set `lam=0.0`, that is $\lambda_{\mathrm{GP}} = 0$, in the configuration
# (no constraint on the critic) and train for a few hundred steps, printing
# the critic's estimate of $W_1$. What happens, and why?
# ```
#
# ```{solution} gans-ex-wgan-modes-torch-penalty
# :class: dropdown
#
# Without the penalty nothing bounds the critic: the supremum in
# {eq}`gans-wgan-dual` over all functions, not only 1-Lipschitz ones, is infinite
# whenever $\pg \ne \pr$. The critic's estimate $\E_{\pr}[f] - \E_{\pg}[f]$
# grows without limit, its gradients grow with it, and the generator's updates
# become erratic. The Lipschitz constraint is what turns the critic's value
# into an estimate of a distance.
# ```
#
# ## References
#
# The ring of Gaussians and mode collapse: {cite}`metz2017`; the mode-coverage
# and high-quality metrics: {cite}`srivastava2017`; WGAN: {cite}`arjovsky2017`;
# WGAN-GP and its settings: {cite}`gulrajani2017`; the MMD: {cite}`gretton2012`;
# why GANs collapse: {cite}`goodfellow2016nips`.
