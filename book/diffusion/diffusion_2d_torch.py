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
# # Diffusion on a two-dimensional Gaussian mixture (PyTorch)
#
# We train a small noise-prediction network on points from a ring of eight
# Gaussians, where every quantity of the theory is known in closed form: the noised
# marginals $q(\x_t)$, their score and the exact optimal denoiser. So we can see how
# close the network gets to the optimum at each noise level, and how the ancestral
# and DDIM samplers behave with the learned and with the exact score.
#
# ```{admonition} Learning goals
# :class: tip
#
# After this notebook you can
#
# - noise data with the closed form {eq}`diffusion-q-xt-x0` and train a noise
#   predictor with the simplified loss {eq}`diffusion-simple-loss`;
# - compare the learned noise prediction with the exact one, Tweedie's
#   $-\sqrt{1-\abar_t}\,\nabla\log q(\x_t)$ {eq}`diffusion-tweedie-score`, at every $t$, and
#   split the training loss into its irreducible part and the network's error;
# - read the code of the ancestral sampler {eq}`diffusion-ancestral` and of DDIM
#   {eq}`diffusion-ddim` beside their equations, sample with both (DDIM in fewer steps),
#   and tell the sampler's error from the network's by running the same samplers on the
#   exact score;
# - judge samples of a known distribution by the MMD beside its real-versus-real
#   floor and by the modes they cover.
# ```
#
# The mathematics is in {doc}`theory`.

# %% tags=["hide-input"]
# Setup: install the book's helper package when it is missing (Colab, Binder).
import importlib.util, subprocess, sys
REPO_URL = "https://github.com/genmod-book/genmod-book"
# this notebook's name: its artifacts and checkpoints are filed under it
NOTEBOOK = "diffusion_2d_torch"
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
from genmod.data.toy import Mixture
from genmod.diffusion import (ancestral_sample, ddim_sample, linear_schedule,
                              mixture_eps_fn, mixture_optimal_eps,
                              mixture_score, q_sample, reverse_mean,
                              score_from_eps)
from genmod.metrics import mmd2_against_real, mode_coverage
from genmod.plotting import samples_2d, training_curves
from genmod.torchutils import get_device, seed_everything

print(f"scale: {genmod.get_scale()}")
device = get_device()
seed_everything(0)

# %%
# Configuration: every number that changes with the scale.
config = genmod.Config(
    num_modes=8,                        # M, Gaussians on a ring
    radius=2.0,                         # radius of the ring (data units)
    mode_std=0.1,                       # std sqrt(v_j) of each mode
    num_diffusion_steps=1000,           # N (Ho et al.: 1000)
    noise_start=1e-4,                   # 1 - alpha_1
    noise_end=0.02,                     # 1 - alpha_N
    hidden=128,                         # width of the three hidden layers
    batch_size=pick(quick=256, book=512, full=1024),      # points per step
    num_train_steps=pick(quick=400, book=6000, full=30_000),  # gradient steps
    lr=1e-3,                            # Adam learning rate (cosine decay to 0)
    num_samples=pick(quick=1000, book=2000, full=10_000),  # per sampler
    # DDIM network evaluations to compare
    ddim_steps=pick(quick=(10, 50), book=(10, 50), full=(10, 50, 200)),
    # points per time step in the comparison with the exact score
    num_eval=pick(quick=500, book=4000, full=20_000),
    mmd_samples=pick(quick=500, book=1000, full=2000),  # points per MMD set
    # the first exercise: gradient steps of the network on the sharper ring
    exercise_train_steps=pick(quick=400, book=3000, full=30_000),
)

# %% [markdown]
# ## The data and the noise schedule
#
# The data are a ring of $M = 8$ Gaussians of standard deviation 0.1 at radius 2,
# a `genmod.data.toy.Mixture`. The forward process uses Ho et al.'s linear schedule,
# $1 - \alpha_t$ rising from $10^{-4}$ to $0.02$ over $N = 1000$ steps
# ({eq}`diffusion-encoder`; Ho et al. call $1 - \alpha_t$ $\beta_t$). By
# {eq}`diffusion-mixture-marginal` each noised marginal $q(\x_t)$ is again a mixture,
# with centres $\sqrt{\abar_t}\,\mu_j$ and variances $\abar_t v_j + 1 - \abar_t$, where
# $v_j = 0.1^2$ is the variance of each mode.

# %%
data = Mixture.ring(config.num_modes, radius=config.radius,
                    std=config.mode_std)
schedule = linear_schedule(config.num_diffusion_steps, config.noise_start,
                           config.noise_end)
N = schedule.num_steps
rng = np.random.default_rng(0)
x_real = data.sample(20_000, rng)            # (20000, 2), a large reference
print(data, f"abar_N = {float(schedule.alpha_bar[N]):.2e}")


def scatter_panels(points_at, times, color="C0", with_alpha_bar=False):
    r"""One scatter plot of ``points_at[t]`` (n, 2) per step t of ``times``."""
    fig, axes = plt.subplots(1, len(times), figsize=(2.2 * len(times), 2.4),
                             sharex=True, sharey=True)
    for ax, t in zip(axes, times):
        x = points_at[t]
        ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.4, color=color)
        ab = f", $\\bar\\alpha_t = {float(schedule.alpha_bar[t]):.2f}$"
        ax.set_title(f"$t = {t}$" + (ab if with_alpha_bar else ""), fontsize=8)
        ax.set_aspect("equal")
        ax.set_xlim(-3.5, 3.5)
        ax.set_ylim(-3.5, 3.5)
    axes[0].set_ylabel("$x_2$")
    fig.supxlabel("$x_1$", fontsize=9)
    plt.tight_layout()
    plt.show()


# %%
show_t = [0, 20, 50, 100, 200, 400, 1000]
gen = torch.Generator().manual_seed(0)
x0_show = torch.tensor(x_real[:2000])
# x_t ~ q(x_t | x_0), eq. diffusion-q-xt-x0
noised = {t: q_sample(x0_show, torch.full((2000,), t), schedule,
                      generator=gen)[0] for t in show_t}
scatter_panels(noised, show_t, with_alpha_bar=True)

# %% [markdown]
# **Figure.** The forward process: the same 2,000 data points noised to step $t$ with
# {eq}`diffusion-q-xt-x0`. The modes blur into each other between $t \approx 100$ and
# $t \approx 400$ and the ring is standard normal noise by $t = N$.

# %% [markdown]
# ## The noise predictor and its training
#
# The network $\epsilon_\theta(\x_t, t)$ is a multilayer perceptron of three hidden layers
# that sees $\x_t$ and a sinusoidal embedding of $t$. It is trained with the simplified
# loss {eq}`diffusion-simple-loss`: draw $\x_0$, $t \sim \mathcal{U}\{1, \dots, N\}$ and
# $\epsilon \sim \N(0, \I)$, form $\x_t$ by {eq}`diffusion-q-xt-x0`, and regress $\epsilon$.


# %%
class EpsMLP(nn.Module):
    r"""Noise predictor eps_theta(x_t, t) of points in R^2.

    ``xt`` (B, 2) and ``t`` (B,) integers in 1..N -> (B, 2).
    """

    def __init__(self, hidden=128, time_dim=32, num_steps=1000):
        super().__init__()
        self.time_dim, self.num_steps = time_dim, num_steps
        self.net = nn.Sequential(
            nn.Linear(2 + time_dim, hidden), nn.SiLU(),
            nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, 2),
        )

    def forward(self, xt, t):
        half = self.time_dim // 2          # sinusoidal embedding of t / N
        freqs = torch.exp(torch.linspace(0, math.log(1000.0), half,
                                         device=xt.device))
        angles = (t.float() / self.num_steps)[:, None] * freqs[None]
        return self.net(torch.cat([xt, angles.sin(), angles.cos()], dim=1))


# %%
def train_eps_model(model, sample_data, schedule, *, num_steps, batch_size,
                    lr, generator, log_every=100):
    r"""Train ``model`` with the simplified loss; return the loss history.

    ``sample_data(n)`` returns n training points, float32 (n, d); Adam's
    learning rate ``lr`` decays to 0 on a cosine; ``generator`` draws the
    steps and the noise; the history holds means over ``log_every`` steps.
    """
    alpha_bar = schedule.alpha_bar.float()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=num_steps)
    history, recent = {"step": [], "loss": []}, []
    for step in range(1, num_steps + 1):
        x0 = sample_data(batch_size)                                 # (B, 2)
        t = torch.randint(1, schedule.num_steps + 1, (batch_size,),
                          generator=generator)                # t ~ U{1..N}
        eps = torch.randn(x0.shape, generator=generator)      # eps ~ N(0, I)
        ab = alpha_bar[t][:, None]
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps     # x_t ~ q(x_t | x_0)
        loss = ((model(xt, t) - eps) ** 2).mean()     # || eps - eps_theta ||^2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        decay.step()
        recent.append(loss.item())
        if step % log_every == 0:
            history["step"].append(step)
            history["loss"].append(float(np.mean(recent)))
            recent = []
    return history


# %%
torch.manual_seed(0)
model = EpsMLP(config.hidden, num_steps=N).to(device)
data_rng = np.random.default_rng(1)
sample_data = lambda n: torch.tensor(data.sample(n, data_rng),
                                     dtype=torch.float32)
start = time.perf_counter()
history = train_eps_model(model, sample_data, schedule,
                          num_steps=config.num_train_steps,
                          batch_size=config.batch_size, lr=config.lr,
                          generator=torch.Generator().manual_seed(2))
train_time = time.perf_counter() - start
model.eval()
final_loss = genmod.glue("final_loss", history["loss"][-1])
print(f"{sum(p.numel() for p in model.parameters()):,} parameters, "
      f"{config.num_train_steps} steps in {train_time:.1f} s; "
      f"final loss {final_loss:.4f}")

# %% [markdown]
# The loss cannot reach zero: at large $t$ the noise is nearly all of $\x_t$ and is
# easy to predict, but at small $t$ it is invisible, and no function of $\x_t$ can
# recover it. The exact minimum of {eq}`diffusion-simple-loss` is the average over $t$ of
# $\E\lVert \epsilon - \E[\epsilon \mid \x_t] \rVert^2 / d$, which we compute below with the
# exact optimal predictor and draw as a line.

# %%
def per_t_losses(eps_model, data, t_grid, num_points, seed=3):
    r"""Per t: the simple loss of ``eps_model``, the exact minimum, the error.

    All three per dimension: E|eps - eps_theta|^2, E|eps - eps*|^2 and
    E|eps_theta - eps*|^2 with the optimum eps* = E[eps | x_t] of
    :func:`genmod.diffusion.mixture_optimal_eps` (Tweedie); also the relative
    error E|eps_theta - eps*|^2 / E|eps*|^2.
    """
    g, r = torch.Generator().manual_seed(seed), np.random.default_rng(seed)
    out = {"loss": [], "minimum": [], "error": [], "relative_error": []}
    for t in t_grid:
        x0 = torch.tensor(data.sample(num_points, r))
        tt = torch.full((num_points,), int(t))
        xt, eps = q_sample(x0, tt, schedule, generator=g)
        ab = float(schedule.alpha_bar[t])
        # E[eps | x_t]
        eps_star = torch.tensor(mixture_optimal_eps(data, xt.numpy(), ab))
        with torch.no_grad():
            eps_pred = eps_model(xt.float(), tt).double()
        out["loss"].append(float(((eps_pred - eps) ** 2).mean()))
        out["minimum"].append(float(((eps_star - eps) ** 2).mean()))
        error = ((eps_pred - eps_star) ** 2).sum(1).mean()
        out["error"].append(float(error) / eps.shape[1])
        out["relative_error"].append(
            float(error / (eps_star ** 2).sum(1).mean()))
    return {k: np.array(v) for k, v in out.items()}


t_grid = np.unique(np.geomspace(1, N, 25).round().astype(int))
losses = per_t_losses(model, data, t_grid, config.num_eval)
exact = per_t_losses(mixture_eps_fn(data, schedule), data,
                     np.arange(1, N + 1, 10), 200)
minimum = genmod.glue("loss_minimum", float(np.mean(exact["minimum"])))
print(f"exact minimum of the loss {minimum:.4f}, the network's final loss "
      f"{final_loss:.4f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
training_curves({"simple loss": history["loss"]}, ax=axes[0],
                xlabel=f"gradient step / {history['step'][0]}",
                ylabel="loss per dimension")
axes[0].axhline(minimum, color="k", ls="--", lw=1, label="exact minimum")
axes[0].legend()
axes[1].loglog(t_grid, losses["loss"], "o-",
               label=r"loss $\mathbb{E}\|\epsilon - \epsilon_\theta\|^2/d$")
axes[1].loglog(t_grid, losses["minimum"], "k--",
               label=r"minimum $\mathbb{E}\|\epsilon - \epsilon^*\|^2/d$")
axes[1].loglog(t_grid, losses["error"], "s-", label=r"network error "
               r"$\mathbb{E}\|\epsilon_\theta - \epsilon^*\|^2/d$")
axes[1].set_xlabel("diffusion step $t$")
axes[1].set_ylabel("per dimension")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()
print("relative error E|eps_theta - eps*|^2 / E|eps*|^2 at t =",
      {int(t): round(float(e), 4)
       for t, e in zip(t_grid[::4], losses["relative_error"][::4])})

# %% [markdown]
# **Figure.** Left: the simplified loss during training (mean over each block of steps)
# and its exact minimum over all functions, averaged over $t$ ({glue:text}`loss_minimum:.3f`
# per dimension, against a final loss of {glue:text}`final_loss:.3f` in this run). Right: at
# each step $t$, the network's loss, the exact minimum, and the network's squared distance
# from the exact optimal predictor $\epsilon^* = \E[\epsilon \mid \x_t]$. The loss is the sum of
# the other two (the noise left over is orthogonal to every function of $\x_t$). The network
# is close to the optimum at large $t$, where $q(\x_t)$ is smooth; at small $t$ the exact
# score of the sharp modes is hard to learn, but there the noise is tiny and the
# minimum itself is nearly the whole loss.

# %% [markdown]
# ## The learned score against the exact one
#
# By Tweedie's formula {eq}`diffusion-tweedie-score` the network's score is
# $-\epsilon_\theta(\x_t, t)/\sqrt{1 - \abar_t}$ (the model's
# $\nabla_{\x}\log p_\theta(\x_t)$), and the exact score of the noised mixture is
# `genmod.diffusion.mixture_score`. We draw both fields at three noise levels.

# %%
grid_1d = np.linspace(-3, 3, 17)
grid = np.stack(np.meshgrid(grid_1d, grid_1d), -1).reshape(-1, 2)
grid_t = torch.tensor(grid, dtype=torch.float32)
fig, axes = plt.subplots(1, 3, figsize=(12, 4))
for ax, t in zip(axes, (30, 150, 500)):
    ab = float(schedule.alpha_bar[t])
    exact_score = mixture_score(data, grid, ab)
    tt = torch.full((len(grid),), t)
    with torch.no_grad():                   # -eps_theta / sqrt(1 - abar_t)
        learned = score_from_eps(model(grid_t, tt).double(), tt,
                                 schedule).numpy()
    scale = np.percentile(np.linalg.norm(exact_score, axis=1), 90) * 17
    for field, color, label in ((exact_score, "k", "exact"),
                                (learned, "C3", "learned")):
        ax.quiver(grid[:, 0], grid[:, 1], field[:, 0], field[:, 1],
                  color=color, scale=scale, width=0.004, label=label,
                  alpha=0.7 if label == "learned" else 1.0)
    ax.set_title(f"$t = {t}$, $\\bar\\alpha_t = {ab:.2f}$")
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
axes[0].set_ylabel("$x_2$")
axes[0].legend(loc="lower left", fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** The exact score $\nabla\log q(\x_t)$ of the noised mixture (black) and the
# network's $-\epsilon_\theta/\sqrt{1-\abar_t}$ (red) on a grid, at three noise levels (arrows
# scaled per panel). At $t = 500$ the field points to the centre; at $t = 30$ it points to
# the eight modes. Far from the data, where no training point lands, the two disagree
# most, which matters little, since samples do not go there.

# %% [markdown]
# ## Sampling: ancestral and DDIM
#
# The samplers are `genmod.diffusion`'s, which every PyTorch notebook of this part uses.
# Ancestral sampling {eq}`diffusion-ancestral` runs the learned reverse chain through all
# $N$ steps. Each step computes the mean $\mu_\theta(\x_t, t)$ of
# $p_\theta(\x_{t-1} \mid \x_t)$ from the predicted noise, {eq}`diffusion-eps-mean`:

# %%
genmod.show_source(reverse_mean)

# %% [markdown]
# and adds fresh noise of variance $\sigma_t^2$: by default $\sigma_t^2 = \tilde\sigma_t^2$, the
# variance of the posterior {eq}`diffusion-posterior` (and $\sigma_1^2 = 1 - \alpha_1$, where
# $\tilde\sigma_1^2 = 0$), with no noise at the last step (Ho et al., Algorithm 2);
# {eq}`diffusion-ancestral-split` reads each step as a transport along the probability flow
# followed by a Langevin step at the right temperature:

# %%
genmod.show_source(ancestral_sample)

# %% [markdown]
# DDIM {eq}`diffusion-ddim` skips steps: from $t$ to an earlier sampling time $t'$ it
# predicts the clean point $\hat\x_0$ and moves to
# $\sqrt{\abar_{t'}}\,\hat\x_0 + \sqrt{1 - \abar_{t'} - \sigma_{t \to t'}^2}\,\epsilon_\theta$, plus
# fresh noise of standard deviation $\sigma_{t \to t'}$, which is 0 for
# $\eta_{\mathrm{DDIM}} = 0$; the sampling times are evenly spaced from $N$ to 1
# (`genmod.diffusion.sampling_times`):

# %%
genmod.show_source(ddim_sample)

# %% [markdown]
# We draw `config.num_samples` points with the ancestral sampler {eq}`diffusion-ancestral`
# ($N = 1000$ network evaluations, $\sigma_t^2 = \tilde\sigma_t^2$) and with deterministic DDIM
# {eq}`diffusion-ddim` ($\eta_{\mathrm{DDIM}} = 0$) on 50 and 10 evaluations, all from the
# same starting noise, once with the network and once with the exact optimal predictor.
# The exact runs show the error of the sampler alone.

# %%
eps_exact = mixture_eps_fn(data, schedule)
xN = torch.randn(config.num_samples, 2,
                 generator=torch.Generator().manual_seed(4))
runs, results = {}, {}
for name, fn in (("network", model), ("exact", eps_exact)):
    start = time.perf_counter()
    runs[f"{name}/ancestral"] = ancestral_sample(
        fn, xN, schedule, generator=torch.Generator().manual_seed(5))
    results[f"{name}/ancestral"] = {
        "network_evaluations": N,
        "sampling_time_s": time.perf_counter() - start}
    for steps in config.ddim_steps:
        start = time.perf_counter()
        runs[f"{name}/ddim{steps}"] = ddim_sample(fn, xN, schedule,
                                                  num_steps=steps)
        results[f"{name}/ddim{steps}"] = {
            "network_evaluations": steps,
            "sampling_time_s": time.perf_counter() - start}

# %%
for key, x in runs.items():
    results[key].update(mmd2_against_real(
        x.numpy(), x_real, num_samples=config.mmd_samples, seed=0))
    cover = mode_coverage(x.numpy(), data.means, std=config.mode_std)
    results[key].update(
        modes_covered=cover["modes_covered"],
        high_quality_fraction=cover["high_quality_fraction"])
print(f"{'sampler':>20} {'evals':>6} {'time s':>7} {'MMD^2':>9} "
      f"{'floor':>9} {'modes':>5} {'within 3 sd':>11}")
for key, r in results.items():
    print(f"{key:>20} {r['network_evaluations']:>6} "
          f"{r['sampling_time_s']:>7.2f} {r['mmd2_generated_vs_real']:>9.5f} "
          f"{r['mmd2_real_vs_real']:>9.5f} {r['modes_covered']:>5} "
          f"{r['high_quality_fraction']:>11.3f}")
for key in ("network/ancestral", "exact/ddim10"):
    genmod.glue(key.replace("/", "_") + "_within",
                results[key]["high_quality_fraction"])

# %%
samplers = ["ancestral"] + [f"ddim{s}" for s in config.ddim_steps]
fig, axes = plt.subplots(2, len(samplers),
                         figsize=(3.4 * len(samplers), 6.8))
for row, name in enumerate(("network", "exact")):
    for ax, sampler in zip(axes[row], samplers):
        samples_2d({"data": x_real[:config.num_samples],
                    sampler: runs[f"{name}/{sampler}"].numpy()},
                   centers=data.means, ax=ax, lim=3.0,
                   title=f"{name} score, {sampler}")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** Samples of each sampler (orange) over the data (blue), with the network's
# noise prediction (top) and the exact one (bottom), from the same starting noise. The
# table above gives the squared MMD against held-out data beside the real-versus-real
# floor, and the modes covered by at least 1% of the samples within three standard
# deviations. With the exact score, DDIM's error with 10 steps is the sampler's own: it
# widens the modes (in this run {glue:text}`exact_ddim10_within:.1%` of its samples lie
# within three standard deviations of a mode, against
# {glue:text}`network_ancestral_within:.1%` for the network's ancestral samples), since an
# Euler step of the probability-flow ODE {eq}`diffusion-probability-flow` from $t$ to an
# earlier $t'$ cannot follow the curvature of the paths.

# %% [markdown]
# ## The reverse process
#
# The ancestral chain, kept at the same steps as the forward process above.

# %%
_, kept = ancestral_sample(model, xN[:2000], schedule,
                           generator=torch.Generator().manual_seed(5),
                           keep_at=tuple(show_t))
scatter_panels(kept, show_t[::-1], color="C1")

# %% [markdown]
# **Figure.** The learned reverse chain {eq}`diffusion-ancestral` from $t = N$ (left) to
# $t = 0$ (right): the mirror image of the forward process. The ring appears around
# $t \approx 200$, and the modes separate in the last hundred steps.

# %% [markdown]
# ## Saving the results

# %%
# the relative error at the smooth noise levels, t >= 200
metrics = {"train_time_s": train_time, "simple_loss": history["loss"][-1],
           "eps_relative_error": float(
               np.mean(losses["relative_error"][t_grid >= 200]))}
for key, r in results.items():
    for name in ("mmd2_generated_vs_real", "mmd2_real_vs_real",
                 "modes_covered", "high_quality_fraction",
                 "network_evaluations", "sampling_time_s"):
        metrics[f"{key.replace('/', '_')}/{name}"] = r[name]
folder = genmod.save_artifacts(NOTEBOOK, runs["network/ancestral"].numpy(),
                               metrics, kind="points", config=config,
                               device=str(device))
print(f"saved to {folder}")

# %% [markdown]
# ## Summary
#
# - On Gaussian-mixture data the noised marginals {eq}`diffusion-mixture-marginal`, their
#   score and the optimal noise predictor {eq}`diffusion-tweedie-score` are exact, so a
#   trained network can be measured against the best possible one at each $t$.
# - The simplified loss {eq}`diffusion-simple-loss` has a floor
#   ({glue:text}`loss_minimum:.3f` per dimension here): the part of the noise that no
#   function of $\x_t$ predicts. The network's own error is largest at small $t$, where
#   the score of sharp modes is steep.
# - Ancestral sampling with 1000 steps and DDIM with 50 reproduce the data about as well;
#   DDIM with 10 steps is cheaper and visibly coarser, and the runs on the exact score
#   show how much of that is the sampler.
#
# ## Exercises
#
# ```{exercise}
# :label: diffusion-ex-diffusion-2d-torch-sharp
#
# Halve `mode_std` and train again. How do the exact minimum of the loss and the
# network's error at small $t$ change, and why? (Look at how steep the exact score is near
# a mode of $q(\x_t)$ at small $t$.)
# ```
#
# ```{solution} diffusion-ex-diffusion-2d-torch-sharp
# :class: dropdown
#
# Near a mode, $q(\x_t)$ is a Gaussian of variance $v_t = \abar_t v_j + 1 - \abar_t$ and
# the score has slope $-1/v_t$; for small $t$, $v_t \approx v_j + t \cdot 10^{-4}$, so
# halving the standard deviation $\sqrt{v_j}$ divides $v_j$ by four and makes the score up
# to four times steeper, and the network has to resolve it. The exact minimum $\E\lVert \epsilon - \E[\epsilon \mid \x_t]\rVert^2$ at small $t$ falls,
# since the noise becomes easier to see against the narrower mode: within one component
# the optimal predictor explains the fraction $(1-\abar_t)/v_t$ of the noise's variance.
# The cell below trains the same network for `config.exercise_train_steps` steps on the
# sharper ring and prints both quantities at a few small $t$ for the two rings.
# ```

# %% tags=["hide-input"]
sharp = Mixture.ring(config.num_modes, radius=config.radius,
                     std=config.mode_std / 2)
torch.manual_seed(0)
sharp_model = EpsMLP(config.hidden, num_steps=N)
sharp_rng = np.random.default_rng(1)
train_eps_model(sharp_model, lambda n: torch.tensor(
                    sharp.sample(n, sharp_rng), dtype=torch.float32),
                schedule, num_steps=config.exercise_train_steps,
                batch_size=config.batch_size, lr=config.lr,
                generator=torch.Generator().manual_seed(2))
small_t = np.array([5, 20, 50, 100])
for name, m, d in (("std 0.1 ", model, data),
                   ("std 0.05", sharp_model.eval(), sharp)):
    r = per_t_losses(m, d, small_t, config.num_eval)
    print(f"{name}: exact minimum {np.round(r['minimum'], 4)}, "
          f"network error {np.round(r['error'], 4)} at t = {small_t}")

# %% [markdown]
# ```{exercise}
# :label: diffusion-ex-diffusion-2d-torch-eta
#
# Run `ddim_sample` with $\eta_{\mathrm{DDIM}} = 1$ and 50 steps on the exact predictor. Are the samples
# better or worse than with $\eta_{\mathrm{DDIM}} = 0$? Compare their spread with the data's.
# ```
#
# ```{solution} diffusion-ex-diffusion-2d-torch-eta
# :class: dropdown
#
# The stochastic steps of {eq}`diffusion-ddim` with $\eta_{\mathrm{DDIM}} = 1$ use
# $\hat\x_0 = \E[\x_0 \mid \x_t]$ as if it were the clean point; when a step skips many time
# steps the true reverse step $q(\x_{t'} \mid \x_t)$ has more variance than
# $q(\x_{t'} \mid \x_t, \hat\x_0)$, by the spread of $\x_0$ given $\x_t$. So skipping samplers
# with $\eta_{\mathrm{DDIM}} = 1$ are *under*-dispersed: the modes come out narrower than the
# data's (on one Gaussian the test suite sees the standard deviation fall from 0.60 to
# about 0.56 with 100 steps). With all $N$ steps the missing variance vanishes and
# $\eta_{\mathrm{DDIM}} = 1$ is ancestral sampling. The cell below measures the spread of
# the samples around their nearest mode.
# ```

# %% tags=["hide-input"]
def spread_around_modes(x):
    r"""RMS distance per axis of points (n, 2) to their nearest mode."""
    d2 = ((x[:, None, :] - data.means[None]) ** 2).sum(-1).min(1)
    return float(np.sqrt(d2.mean() / 2))


print(f"data: {spread_around_modes(x_real[:config.num_samples]):.4f}")
for eta in (0.0, 1.0):
    x = ddim_sample(eps_exact, xN.double(), schedule, num_steps=50, eta=eta,
                    generator=torch.Generator().manual_seed(6))
    print(f"eta_DDIM = {eta}: {spread_around_modes(x.numpy()):.4f}")

# %% [markdown]
# ## References
#
# ```{bibliography}
# :filter: docname in docnames
# ```
