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
# # A GAN in one dimension, where everything is known
#
# In one dimension we can write down both densities, $\pr$ and $\pg$, and so
# check the results of the theory chapter on a computer: a discriminator
# trained by binary cross-entropy learns $D^* = \pr/(\pr + \pg)$, the value of
# the game at $D^*$ is $2\,\JS{\pr}{\pg} - 2\log 2$, and when the generator
# wins the discriminator can only guess. We also see, with automatic
# differentiation, why the generator is trained on the non-saturating loss.
#
# ```{admonition} Learning goals
# :class: tip
#
# After this notebook you can
#
# - train a discriminator with the binary cross-entropy and compare it with the
#   optimal discriminator {eq}`gans-optimal-discriminator`;
# - compute the value function {eq}`gans-value-function` by quadrature and by
#   Monte Carlo, and check the identity {eq}`gans-loss-at-optimum`;
# - train a generator with alternating updates and recognise the equilibrium:
#   $D(x) \to \tfrac12$ and $v \to -2\log 2$;
# - explain, with the gradients that autograd computes, why the saturating
#   generator loss {eq}`gans-saturating-loss` stalls and the non-saturating loss
#   {eq}`gans-nonsaturating-loss` does not.
# ```

# %% tags=["hide-input"]
# Setup: install the book's helper package when it is missing (Colab, Binder).
import importlib.util, subprocess, sys
REPO_URL = "https://github.com/genmod-book/genmod-book"
# this notebook's name: its artifacts and checkpoints are filed under it
NOTEBOOK = "gan_1d_torch"
if importlib.util.find_spec("genmod") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    f"genmod @ git+{REPO_URL}.git#subdirectory=code"],
                   check=True)

import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from scipy import integrate, stats
from torch import nn
import genmod
import genmod.gan
from genmod import pick
from genmod.plotting import density_1d
from genmod.torchutils import get_device, seed_everything

print(f"scale: {genmod.get_scale()}")
device = get_device()
generator_rng = seed_everything(0)  # torch.Generator for the latent noise h
rng = np.random.default_rng(0)  # numpy Generator for the samples of p_r, p_g
print("data: samples of two known 1D densities (scipy.stats), "
      "no data set is loaded")

# %% [markdown]
# ## Configuration
#
# The two densities are the same at every scale: the data distribution
# $\pr = \N(2, 0.5^2)$ and a first generator distribution $\pg = \N(-1, 1)$.
# They overlap a little, so a discriminator can tell them apart most of the
# time but not always. The numbers below the line change with the scale
# (`GENMOD_SCALE`: `quick` for tests, `book` by default, `full` for a longer
# run).

# %%
config = genmod.Config(
    # data distribution p_r = N(mu_r, sigma_r^2)
    mu_r=2.0,
    sigma_r=0.5,
    # generator distribution p_g = N(mu_g, sigma_g^2) at the start
    mu_g=-1.0,
    sigma_g=1.0,
    # hidden units per layer of the discriminator
    width=32,
    # samples of p_r and of p_g per step
    batch_size=pick(quick=256, book=512, full=1024),
    # discriminator steps against the fixed p_g (Section 1)
    num_steps_d=pick(quick=400, book=3000, full=20000),
    # Adam learning rate of the discriminator
    lr_d=pick(quick=1e-3, book=1e-3, full=5e-4),
    # alternating D/G steps (Section 3)
    num_steps_gan=pick(quick=400, book=4000, full=20000),
    # Adam learning rate of the generator
    lr_g=pick(quick=2e-3, book=2e-3, full=1e-3),
    # steps between logged values in Section 3
    log_every=pick(quick=20, book=50, full=100),
    # Monte Carlo samples for the value v(G, D)
    num_mc=pick(quick=20_000, book=200_000, full=2_000_000),
    # Monte Carlo samples per logged value in Section 3
    num_eval=pick(quick=2048, book=8192, full=32768),
    # steps per run when comparing the two losses (Section 4)
    num_steps_compare=pick(quick=100, book=1000, full=3000),
    # learning rate of plain SGD for the generator in Section 4
    lr_g_sgd=0.01,
)
p_r = stats.norm(config.mu_r, config.sigma_r)
p_g = stats.norm(config.mu_g, config.sigma_g)

# %% [markdown]
# ## 1. The optimal discriminator
#
# For a fixed generator, the discriminator maximises the value function
# {eq}`gans-value-function`,
# $v(G, D) = \E_{x \sim \pr}[\log D(x)] + \E_{x \sim \pg}[\log(1 - D(x))]$,
# which is minus the binary cross-entropy of a classifier that labels real
# samples 1 and generated samples 0. Maximising the integrand point by point
# gives the optimal discriminator {eq}`gans-optimal-discriminator`,
#
# $$
# D^*(x) = \frac{\pr(x)}{\pr(x) + \pg(x)} .
# $$
#
# Here both distributions have ordinary (Lebesgue) densities, and $\pr(x)$, $\pg(x)$
# denote them; {doc}`theory` takes densities with respect to $\nu = \pr + \pg$,
# which give the same ratio. Our discriminator is a small multilayer perceptron that outputs the logit
# $\ell(x)$, with $D(x) = \sigmoid(\ell(x))$; the loss works on logits
# (`logsigmoid`), which is the numerically stable way to compute
# $\log \sigmoid$. The GAN losses are used by later notebooks too, so they live
# in the book's package, `genmod.gan`; here is the discriminator's loss, minus the
# value function on a minibatch. Every step draws fresh samples, so the network is fitted
# to the distributions, not to a finite data set.

# %%
class Discriminator(nn.Module):
    """MLP x (B, 1) -> logit l(x) (B, 1); D(x) = sigmoid(l(x))."""

    def __init__(self, width: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(1, width), nn.SiLU(),
            nn.Linear(width, width), nn.SiLU(),
            nn.Linear(width, 1),
        )

    def forward(self, x):
        return self.net(x)


def sample(p, n):
    """n samples of a scipy.stats distribution, a float32 tensor (n, 1)."""
    return torch.as_tensor(p.rvs(size=(n, 1), random_state=rng),
                           dtype=torch.float32, device=device)


genmod.show_source(genmod.gan.discriminator_loss)

# %%
def discriminator_loss(discriminator, x_real, x_fake):
    """-v(G, D) on a minibatch of real and generated samples.

    Eq. gans-value-function, from the logits (B, 1).
    """
    return genmod.gan.discriminator_loss(discriminator(x_real),
                                         discriminator(x_fake))


discriminator = Discriminator(config.width).to(device)
opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr_d)
loss_history = []
for step in range(config.num_steps_d):
    loss = discriminator_loss(discriminator, sample(p_r, config.batch_size),
                              sample(p_g, config.batch_size))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    loss_history.append(loss.item())
print("discriminator loss (= -v) over the last 100 steps: "
      f"{np.mean(loss_history[-100:]):.4f}")

# %% [markdown]
# We compare the trained $D$ with $D^*$ on a grid. Far from both densities
# $D$ is never trained and may be anything (the value function does not
# depend on it there), so we measure the error where the mixture
# $p_m = \tfrac12(\pr + \pg)$ carries mass, $p_m(x) > 0.01$, and also as the
# average $\int p_m(x)\,\lvert D(x) - D^*(x) \rvert\,dx$.

# %%
def d_optimal(x):
    """D*(x) = p_r / (p_r + p_g), in log space for accuracy in the tails."""
    log_r, log_g = p_r.logpdf(x), p_g.logpdf(x)
    # eq. gans-optimal-discriminator
    return np.exp(log_r - np.logaddexp(log_r, log_g))


@torch.no_grad()
def d_trained(x):
    """The trained discriminator's D(x) = sigmoid(l(x)) on a numpy grid."""
    x = torch.as_tensor(x, dtype=torch.float32, device=device)[:, None]
    return torch.sigmoid(discriminator(x))[:, 0].cpu().double().numpy()


x_grid = np.linspace(-5.0, 6.5, 1151)
dx = x_grid[1] - x_grid[0]
m_grid = 0.5 * (p_r.pdf(x_grid) + p_g.pdf(x_grid))  # mixture density p_m(x)
error = np.abs(d_trained(x_grid) - d_optimal(x_grid))
region = m_grid > 0.01
print("region where p_m(x) > 0.01: "
      f"[{x_grid[region].min():.2f}, {x_grid[region].max():.2f}]")
print(f"max |D - D*| on the region: {error[region].max():.4f}")
print(f"mean |D - D*| on the region: {error[region].mean():.4f}")
print(f"p_m-weighted mean |D - D*|: {np.sum(m_grid * error) * dx:.4f}")
genmod.glue("max_error_d", error[region].max())

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
density_1d(x_grid, {"$p_r$": p_r.pdf(x_grid), "$p_g$": p_g.pdf(x_grid)},
           ax=axes[0], title="the two densities")
density_1d(x_grid, {"$D^*(x)$ (analytic)": d_optimal(x_grid),
                    "$D(x)$ (trained)": d_trained(x_grid)},
           ax=axes[1], ylabel="probability of 'real'",
           title="optimal vs trained discriminator")
axes[1].axvspan(x_grid[region].min(), x_grid[region].max(), color="grey",
                alpha=0.1)
axes[1].lines[1].set_linestyle("--")
axes[1].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** Left: the data density $\pr$ and the generator density $\pg$.
# Right: the analytic optimal discriminator $D^*$ {eq}`gans-optimal-discriminator`
# and the trained discriminator; the shaded band is the region where
# $p_m(x) > 0.01$. The two curves lie on top of each other where there are
# samples to learn from (on the shaded band they differ by at most
# {glue:text}`max_error_d:.3f` in this run). Beyond $x \approx 4$ they part: $\pr$ is narrower
# than $\pg$, so far to the right of $\mu_r$ the generator is again more
# likely than the data and $D^*$ falls back to 0, but almost no samples fall
# there and the trained $D$ simply stays at 1. The value function does not
# care, because it weights $D$ by the densities. The logit of $D^*$ is the log
# density ratio $\log \pr(x) - \log \pg(x)$, here a quadratic in $x$: a
# discriminator is a density-ratio estimator.

# %% [markdown]
# ## 2. The value at the optimum is a Jensen–Shannon divergence
#
# Substituting $D^*$ into the value function gives {eq}`gans-loss-at-optimum`,
#
# $$
# v(G, D^*) = \int \left[\pr(x) \log D^*(x) + \pg(x) \log\left(1 - D^*(x)\right)\right] dx
#           = 2\,\JS{\pr}{\pg} - 2\log 2 .
# $$
#
# We check it with two independent quadratures (`scipy.integrate.quad`): the
# left-hand side integrates the value function with $D^*$ inserted; the
# right-hand side computes $\JS{\pr}{\pg} = \tfrac12\KL{\pr}{p_m} + \tfrac12\KL{\pg}{p_m}$
# from its definition, without any discriminator.

# %%
def integration_limits(*dists, tail=1e-14):
    """An interval outside of which every density has mass below `tail`."""
    return min(p.ppf(tail) for p in dists), max(p.isf(tail) for p in dists)


def value_at_optimum(p, q):
    """v(G, D*) = int [p log D* + q log(1 - D*)] dx by quadrature.

    Eq. gans-value-function with D = D*.
    """
    def integrand(x):
        log_p, log_q = p.logpdf(x), q.logpdf(x)
        log_sum = np.logaddexp(log_p, log_q)
        return (np.exp(log_p) * (log_p - log_sum)
                + np.exp(log_q) * (log_q - log_sum))
    lo, hi = integration_limits(p, q)
    return integrate.quad(integrand, lo, hi, points=[p.mean(), q.mean()],
                          limit=200)[0]


def js_divergence(p, q):
    """JS(p || q) = 1/2 KL(p || p_m) + 1/2 KL(q || p_m) by quadrature.

    p_m = (p + q) / 2 is the mixture.
    """
    def kl_to_mixture(a, b):
        def integrand(x):
            log_a = a.logpdf(x)
            log_m = np.logaddexp(log_a, b.logpdf(x)) - np.log(2.0)
            return np.exp(log_a) * (log_a - log_m)  # a log(a / p_m)
        lo, hi = integration_limits(a, b)
        return integrate.quad(integrand, lo, hi, points=[a.mean(), b.mean()],
                              limit=200)[0]
    return 0.5 * kl_to_mixture(p, q) + 0.5 * kl_to_mixture(q, p)


# %%
v_star = value_at_optimum(p_r, p_g)
jsd = js_divergence(p_r, p_g)
identity_gap = v_star - (2 * jsd - 2 * np.log(2))
print(f"v(G, D*) by quadrature:      {v_star:.8f}")
print(f"2 JS(p_r || p_g) - 2 log 2:  {2 * jsd - 2 * np.log(2):.8f}"
      f"   (JS = {jsd:.6f} nats, log 2 = {np.log(2):.6f})")
print(f"difference:                  {identity_gap:.2e}")
print(f"v(G, D*) when p_g = p_r:     {value_at_optimum(p_r, p_r):.8f}"
      f"   (-2 log 2 = {-2 * np.log(2):.8f})")
genmod.glue("identity_gap", abs(identity_gap))

# %% [markdown]
# The trained discriminator is not exactly $D^*$, so its value is at most
# $v(G, D^*)$. We estimate both by Monte Carlo on the same samples,
# $\hat v(G, D) = \frac1n \sum_i \log D(x_i^{(r)}) + \frac1n \sum_i \log\left(1 - D(x_i^{(g)})\right)$
# with $n$ = `num_mc` samples of each, and report the statistical error. Using the same samples for both makes
# their difference precise: it equals an average of Bernoulli KL divergences
# between $D^*(x)$ and $D(x)$, weighted by $\pr + \pg$, so it is never negative.

# %%
x_r, x_g = sample(p_r, config.num_mc), sample(p_g, config.num_mc)
with torch.no_grad():
    l_r = discriminator(x_r)[:, 0].double()
    l_g = discriminator(x_g)[:, 0].double()
    # log D(x_r) + log(1 - D(x_g))
    terms = (F.logsigmoid(l_r) + F.logsigmoid(-l_g)).cpu().numpy()
x_r_np = x_r[:, 0].cpu().double().numpy()
x_g_np = x_g[:, 0].cpu().double().numpy()
# the same with D*
terms_star = np.log(d_optimal(x_r_np)) + np.log1p(-d_optimal(x_g_np))
gap = terms_star - terms
root_n = np.sqrt(config.num_mc)
print(f"v(G, D) trained D, Monte Carlo:   {terms.mean():.4f}"
      f" +- {terms.std() / root_n:.4f}")
print(f"v(G, D*) Monte Carlo:             {terms_star.mean():.4f}"
      f" +- {terms_star.std() / root_n:.4f}   (quadrature {v_star:.4f})")
print(f"v(G, D*) - v(G, D), same samples: {gap.mean():.5f}"
      f" +- {gap.std() / root_n:.5f}")
genmod.glue("value_gap", gap.mean())

# %% [markdown]
# ## 3. Training the generator: the equilibrium at $D = \tfrac12$
#
# Now the generator learns. We use the simplest generator that can reach the
# data: an affine map of standard normal noise, $G(h) = a h + b$ with
# $h \sim \ph = \N(0, 1)$, so that $\pg = \N(b, a^2)$ is known at every step.
# It starts at $a = \sigma_g$, $b = \mu_g$, the $\pg$ of Sections 1 and 2,
# and plays against the discriminator trained there. Each step makes one
# discriminator update (ascending $v$) and one generator update on the
# non-saturating loss {eq}`gans-nonsaturating-loss`,
# $\mathcal{L}_G^{\mathrm{ns}} = -\E_{h}[\log D(G(h))]$, the cross-entropy of the fakes with the label
# "real": Algorithm 1 of {cite}`goodfellow2014` with $n_D = 1$ discriminator step per
# generator step (Goodfellow et al. call it $k$).
#
# Since $\pg$ is known, we can follow the exact value at the optimal
# discriminator, $2\,\JS{\pr}{\pg} - 2\log 2$, beside the Monte Carlo value at
# the discriminator being trained. At the equilibrium $\pg = \pr$, the theory
# says $D^* = \tfrac12$ everywhere and $v = -2\log 2 \approx -1.386$.

# %%
def affine_generator():
    """G(h) = a h + b for h of shape (B, 1), started at a = sigma_g, b = mu_g.

    At the start p_g is that of Sections 1 and 2.
    """
    generator = nn.Linear(1, 1).to(device)
    with torch.no_grad():
        generator.weight.fill_(config.sigma_g)
        generator.bias.fill_(config.mu_g)
    return generator


# the Section 1 discriminator, kept for Section 4
discriminator_start = copy.deepcopy(discriminator)
generator = affine_generator()
opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr_d)
opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr_g)


def noise(n):
    """Latent samples h ~ N(0, 1), shape (n, 1)."""
    return torch.randn(n, 1, generator=generator_rng).to(device)


# %% [markdown]
# Every `log_every` steps we record the Monte Carlo value at the current
# discriminator, the exact value $2\,\JS{\pr}{\pg} - 2\log 2$ at the optimal
# one, the discriminator's mean outputs, and the generator's $a$ and $b$.

# %%
history = {key: [] for key in ("step", "v_mc", "v_star", "d_real", "d_fake",
                               "max_dev", "a", "b")}
# 99 % of the data mass
data_region = np.linspace(p_r.ppf(0.005), p_r.isf(0.005), 201)


def log_state(step):
    """Append the state of the game at `step` to `history`."""
    with torch.no_grad():
        l_real = discriminator(sample(p_r, config.num_eval))[:, 0]
        l_fake = discriminator(generator(noise(config.num_eval)))[:, 0]
    a, b = generator.weight.item(), generator.bias.item()
    v_mc = F.logsigmoid(l_real).mean() + F.logsigmoid(-l_fake).mean()
    p_g_now = stats.norm(b, abs(a))
    history["step"].append(step)
    history["v_mc"].append(v_mc.item())
    history["v_star"].append(2 * js_divergence(p_r, p_g_now) - 2 * np.log(2))
    history["d_real"].append(torch.sigmoid(l_real).mean().item())
    history["d_fake"].append(torch.sigmoid(l_fake).mean().item())
    history["max_dev"].append(np.abs(d_trained(data_region) - 0.5).max())
    history["a"].append(a)
    history["b"].append(b)


# %%
for step in range(config.num_steps_gan + 1):
    # log before the update: step 0 is the starting point
    if step % config.log_every == 0:
        log_state(step)
    if step == config.num_steps_gan:
        break
    # discriminator step: ascend v(G, D)
    x_fake = generator(noise(config.batch_size)).detach()
    loss_d = discriminator_loss(discriminator, sample(p_r, config.batch_size),
                                x_fake)
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    # generator step: descend the non-saturating loss -E[log D(G(h))]
    d_fake = discriminator(generator(noise(config.batch_size)))
    loss_g = F.binary_cross_entropy_with_logits(d_fake,
                                                torch.ones_like(d_fake))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()

a, b = history["a"][-1], history["b"][-1]
narrowest = int(np.argmin(np.abs(history["a"])))
print(f"generator after {config.num_steps_gan} steps: "
      f"p_g = N({b:.3f}, {abs(a):.3f}^2)   "
      f"(p_r = N({config.mu_r}, {config.sigma_r}^2))")
print(f"final 2 JS(p_r || p_g) - 2 log 2 = {history['v_star'][-1]:.4f}"
      f"   (-2 log 2 = {-2 * np.log(2):.4f})")
print(f"final v(G, D), Monte Carlo       = {history['v_mc'][-1]:.4f}")
print(f"final mean D on real / fake      = {history['d_real'][-1]:.3f}"
      f" / {history['d_fake'][-1]:.3f}")
print("final max |D(x) - 1/2| on the data region = "
      f"{history['max_dev'][-1]:.3f}")
print("narrowest generator during training: "
      f"|a| = {abs(history['a'][narrowest]):.3f} "
      f"at step {history['step'][narrowest]}")
genmod.glue("final_d_real", history["d_real"][-1])
genmod.glue("final_d_fake", history["d_fake"][-1])
genmod.glue("final_v_star", history["v_star"][-1])

# %%
steps = np.asarray(history["step"])
fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
axes[0].plot(steps, history["v_mc"],
             label="$v(G, D)$, trained $D$ (Monte Carlo)")
axes[0].plot(steps, history["v_star"],
             label=r"$2\,\mathrm{JS}(p_r \| p_g) - 2\log 2$ (exact)")
axes[0].axhline(-2 * np.log(2), color="k", ls=":", label=r"$-2\log 2$")
axes[0].set(xlabel="training step", ylabel="value (nats)",
            title="value of the game")
axes[0].legend(fontsize="small")
axes[1].plot(steps, history["d_real"], label=r"mean $D(x)$, $x \sim p_r$")
axes[1].plot(steps, history["d_fake"], label=r"mean $D(G(h))$")
axes[1].plot(steps, history["max_dev"],
             label=r"max $|D(x) - 1/2|$ on the data region")
axes[1].axhline(0.5, color="k", ls=":")
axes[1].set(xlabel="training step", ylabel="discriminator output",
            title="discriminator")
axes[1].legend(fontsize="small")
with torch.no_grad():
    x_final = generator(noise(config.num_mc // 4))[:, 0].cpu().numpy()
density_1d(x_grid, {"$p_r$": p_r.pdf(x_grid),
                    "final $D(x)$": d_trained(x_grid)},
           samples={"samples of $G(h)$": x_final}, bins=100, ax=axes[2],
           ylabel="density / probability", title="generator at the end")
axes[2].set_xlim(-1, 5)
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** Left: the value of the game during training. The exact value
# at the optimal discriminator (orange) falls from $2\,\JS{\pr}{\pg} - 2\log 2$
# at the start to $-2\log 2$ (dotted) as $\pg$ approaches $\pr$ (in this run
# it ends at {glue:text}`final_v_star:.4f`, against
# $-2\log 2 \approx -1.3863$). It does not
# fall monotonically. On its way the generator first narrows, at the `book` scale
# almost to a single point (the smallest $\lvert a \rvert$ is printed above),
# and the exact value climbs towards 0, its value for non-overlapping
# distributions: the generator follows the gradient of the *current*
# discriminator, not of the Jensen–Shannon divergence, and piles its samples
# where that discriminator is largest. The discriminator then learns to
# reject the narrow peak and the generator widens again. This is mode
# collapse in miniature; {doc}`wgan_modes_torch` shows it in two dimensions. The Monte Carlo value at the trained
# discriminator (blue) can only lie below the exact one, up to sampling noise,
# since the trained $D$ is never quite optimal; it too approaches $-2\log 2$. Middle: the
# discriminator's average output on real and on generated samples, and its
# largest deviation from $\tfrac12$ on the region holding 99 % of the data.
# Both averages meet at $\tfrac12$: at the equilibrium the best classifier can only
# guess. Right: the generator's samples at the end against $\pr$, and the final
# $D(x)$, flat at about $\tfrac12$ where the data are (beyond $x \approx 4$,
# where neither player puts samples, it is left over from earlier training).
#
# The curves do not settle exactly. Each player keeps reacting to the other's
# last step, so the generator's $\lvert a \rvert$ and $b$ wander around $\sigma_r$ and $\mu_r$, and
# $D$ fluctuates around $\tfrac12$ by an amount set by the learning rates and
# the minibatch noise; smaller learning rates at the `full` scale give smaller
# fluctuations. In this game the generator really can reach $\pr$; with a
# generator family that cannot, the value stays above $-2\log 2$.

# %% [markdown]
# ## 4. Why the generator uses the non-saturating loss
#
# The generator can minimise its part of the value function, the saturating
# loss $\mathcal{L}_G^{\mathrm{sat}}$ {eq}`gans-saturating-loss`, the mean of
# $\log(1 - D(G(h)))$, or the non-saturating loss $\mathcal{L}_G^{\mathrm{ns}}$
# {eq}`gans-nonsaturating-loss`, the mean of $-\log D(G(h))$. Both push $D(G(h))$ up.
# Every gradient that reaches the generator passes through the
# discriminator's logit $\ell$ on the fake sample: for the loss $\mathcal{L}_G$ of
# one sample (either of the two),
# $\nabla_\theta \mathcal{L}_G = \frac{\partial \mathcal{L}_G}{\partial \ell}\,\nabla_\theta \ell(G_\theta(h))$.
# So we compare the two factors $\partial \mathcal{L}_G / \partial \ell$ as functions of
# $D(G(h)) = \sigmoid(\ell)$, computing them with autograd, not by hand.

# %%
logits = torch.linspace(-12.0, 12.0, 2001, dtype=torch.float64,
                        requires_grad=True)
# log(1 - D), D = sigmoid(l); eq. gans-saturating-loss
loss_sat = F.logsigmoid(-logits)
loss_ns = -F.logsigmoid(logits)  # -log D; eq. gans-nonsaturating-loss
(grad_sat,) = torch.autograd.grad(loss_sat.sum(), logits)
(grad_ns,) = torch.autograd.grad(loss_ns.sum(), logits)
d_of_logits = torch.sigmoid(logits).detach()

fig, ax = plt.subplots(figsize=(6, 3.6))
ax.plot(d_of_logits, grad_sat, label=r"saturating: $\partial_\ell \log(1 - D)$")
ax.plot(d_of_logits, grad_ns, label=r"non-saturating: $\partial_\ell(-\log D)$")
ax.set_xscale("logit")
ax.set_xlim(1e-5, 1 - 1e-5)
ax.set_xticks([1e-4, 1e-2, 0.5, 1 - 1e-2, 1 - 1e-4],
              ["$10^{-4}$", "$10^{-2}$", "0.5", "0.99", "0.9999"])
ax.set_xticks([], minor=True)
ax.axvspan(1e-5, 0.05, color="grey", alpha=0.15, label="$D$ rejects the fakes")
ax.set(xlabel=r"$D(G(h)) = \mathrm{sigmoid}(\ell)$ (logit scale)",
       ylabel=r"$\partial \mathcal{L}_G / \partial \ell$",
       title="generator gradient through the logit")
ax.legend(fontsize="small")
plt.show()

for name, grad in (("saturating", grad_sat), ("non-saturating", grad_ns)):
    for d in (1e-4, 1e-2, 0.5, 0.99):
        i = int(torch.argmin((d_of_logits - d).abs()))
        print(f"{name:15s} dL/dl at D(G(h)) = {d_of_logits[i].item():.4f}: "
              f"{grad[i].item():+.4f}")

# %% [markdown]
# **Figure.** The derivative of each generator loss with respect to the
# discriminator's logit on a generated sample, against $D(G(h))$ on a logit
# axis. It is $-D$ for the saturating loss and $-(1 - D)$ for the
# non-saturating loss (derived in {ref}`an exercise <gans-ex-gan-1d-torch-logit-gradient>`; autograd agrees to rounding).
# Where the discriminator confidently rejects the fakes (shaded, $D \ll 1$),
# the saturating gradient vanishes, while the non-saturating one stays near
# $-1$.
#
# That is exactly the situation at the start of training: a discriminator that
# has learned to separate the two distributions assigns $D(G(h)) \approx 0$ to
# most fakes, and the saturating loss, being flat there, gives the generator
# almost no signal. With $D = \sigmoid(\ell)$, $\log(1 - D) = -\log(1 + e^{\ell})$
# tends to 0 as $\ell \to -\infty$: the loss *saturates*. The non-saturating
# loss has the same fixed point (both are decreasing functions of $D(G(h))$, and
# at $\pg = \pr$ both gradients vanish with $D^* = \tfrac12$), but it is steepest
# where the generator is worst. Here is the effect on the generator of
# Section 3 at its starting point, against the discriminator trained in
# Section 1:

# %%
# L_G^sat = E[log(1 - D(G(h)))] and L_G^ns = -E[log D(G(h))], from the logits
losses = {"saturating": genmod.gan.generator_loss_saturating,
          "non-saturating": genmod.gan.generator_loss_nonsaturating}
genmod.show_source(genmod.gan.generator_loss_saturating)
genmod.show_source(genmod.gan.generator_loss_nonsaturating)

# %%
generator_start = affine_generator()
h = noise(config.num_eval)
grad_norms = {}
for name, loss_fn in losses.items():
    generator_start.zero_grad()
    loss_fn(discriminator_start(generator_start(h))).backward()
    g = torch.cat([p.grad.flatten() for p in generator_start.parameters()])
    grad_norms[name] = g.norm().item()
    print(f"{name:15s} loss: |grad wrt (a, b)| = {grad_norms[name]:.4f}")
with torch.no_grad():
    d_start = torch.sigmoid(discriminator_start(generator_start(h)))
rejected = (d_start < 0.05).float().mean().item()
print(f"mean D(G(h)) = {d_start.mean().item():.3f}; share of fakes with "
      f"D(G(h)) < 0.05: {rejected:.2f}")
genmod.glue("share_rejected", rejected)
genmod.glue("gradient_ratio",
            grad_norms["non-saturating"] / grad_norms["saturating"])

# %% [markdown]
# Almost all fakes are confidently rejected (here a share of
# {glue:text}`share_rejected:.2f` has $D(G(h)) < 0.05$), and the saturating
# loss gives a gradient {glue:text}`gradient_ratio:.0f` times smaller than
# the non-saturating one. The gap grows as the discriminator becomes better at
# rejecting the fakes ({ref}`an exercise <gans-ex-gan-1d-torch-saturating>`).
#
# What does a smaller gradient do to training? We rerun the game of Section 3
# from the same start, once with each generator loss, and once with each of two
# optimisers for the generator: plain stochastic gradient descent, whose step
# is proportional to the gradient, and Adam, which divides each parameter's
# step by a running root-mean-square of its gradients.

# %%
def train_generator(generator_loss, make_optimizer, num_steps):
    """Alternating training from the Section 3 start.

    Returns the generator's mean b at every step.
    """
    disc = copy.deepcopy(discriminator_start)
    gen = affine_generator()
    opt_disc = torch.optim.Adam(disc.parameters(), lr=config.lr_d)
    opt_gen = make_optimizer(gen.parameters())
    path = [gen.bias.item()]
    for _ in range(num_steps):
        x_fake = gen(noise(config.batch_size)).detach()
        loss_d = discriminator_loss(disc, sample(p_r, config.batch_size),
                                    x_fake)
        opt_disc.zero_grad()
        loss_d.backward()
        opt_disc.step()
        # logits of the fakes -> loss
        loss_g = generator_loss(disc(gen(noise(config.batch_size))))
        opt_gen.zero_grad()
        loss_g.backward()
        opt_gen.step()
        path.append(gen.bias.item())
    return np.asarray(path)


optimizers = {
    "SGD": lambda params: torch.optim.SGD(params, lr=config.lr_g_sgd),
    "Adam": lambda params: torch.optim.Adam(params, lr=config.lr_g)}
paths = {}
for opt_name, make_optimizer in optimizers.items():
    for loss_name, generator_loss in losses.items():
        path = train_generator(generator_loss, make_optimizer,
                               config.num_steps_compare)
        paths[f"{loss_name}, {opt_name}"] = path
        reached = np.flatnonzero(np.abs(path - config.mu_r) < 0.1)
        first = reached[0] if reached.size else "never"
        print(f"{loss_name:15s} {opt_name:5s}: b after "
              f"{config.num_steps_compare} steps = {path[-1]:+.2f}; "
              f"first within 0.1 of mu_r at step {first}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.6))
for name, path in paths.items():
    ax.plot(path, label=name, ls="-" if "SGD" in name else "--")
ax.axhline(config.mu_r, color="k", ls=":", label=r"$\mu_r$")
ax.set(xlabel="training step", ylabel="generator mean $b$",
       title="saturating vs non-saturating loss")
ax.legend(fontsize="small")
plt.show()

# %% [markdown]
# **Figure.** The mean $b$ of the generator $\pg = \N(b, a^2)$ during training,
# for the two generator losses and two optimisers, all from the same start
# against the same discriminator. With SGD (solid) the step is proportional to
# the gradient, and the saturating loss moves the generator several times more
# slowly while the discriminator rejects its samples. With Adam (dashed) the
# difference disappears in this two-parameter problem: Adam's step has about
# the same size, close to its learning rate, whatever the scale of a
# consistent gradient, so both Adam runs move at about the same steady speed.
# That rescue is
# not guaranteed. It fails when the gradient is as small as Adam's `eps`
# ($10^{-8}$) or buried in minibatch noise, and the non-saturating loss avoids
# the question altogether, which is why it is the default.
#
# ## Summary
#
# - A discriminator trained by binary cross-entropy on samples learns the
#   optimal discriminator $D^* = \pr/(\pr + \pg)$
#   {eq}`gans-optimal-discriminator` where the samples are; its logit is the log
#   density ratio.
# - At $D^*$ the value of the game is $2\,\JS{\pr}{\pg} - 2\log 2$
#   {eq}`gans-loss-at-optimum`; two independent quadratures agree to
#   {glue:text}`identity_gap:.0e`, and a trained discriminator scores
#   slightly less ({glue:text}`value_gap:.4f` nats less in this run).
# - Alternating updates drive $\pg$ to $\pr$; the discriminator's output goes
#   to $\tfrac12$ (at the end of this run, {glue:text}`final_d_real:.2f` on
#   real and {glue:text}`final_d_fake:.2f` on generated samples) and the value
#   to $-2\log 2$, up to fluctuations that do not die out.
# - The saturating generator loss has logit gradient $-D$, which vanishes when
#   the discriminator rejects the fakes; the non-saturating loss has
#   $-(1 - D)$, which does not. With plain SGD the difference slows training
#   visibly; Adam's rescaled steps can hide it in a small problem.
#
# ## Exercises
#
# ```{exercise}
# :label: gans-ex-gan-1d-torch-mixture
#
# Change $\pr$ to a mixture of two Gaussians (write its `logpdf` with
# `scipy.special.logsumexp`, and sample it by drawing a component at random
# and then a point from that component). Does
# the trained discriminator still match $D^*$? Does the identity
# {eq}`gans-loss-at-optimum` still hold? Can the affine generator of Section 3
# reach $v = -2\log 2$?
# ```
#
# ```{solution} gans-ex-gan-1d-torch-mixture
# :class: dropdown
#
# The discriminator still approximates $D^*$ wherever there are samples; it
# needs enough hidden units to bend twice. The identity holds for any pair of
# densities, since its derivation never used the Gaussian form; the two
# quadratures of Section 2 agree again. The affine generator cannot: its $\pg$ is
# always a single Gaussian, so $\JS{\pr}{\pg} > 0$ at every step, and the value
# stays above $-2\log 2$. Where it ends up depends on the settings (a broad
# Gaussian over both modes, or a narrow one on one of them, possibly moving
# between them); the value at the trained discriminator tells you how far
# from the data it is.
# ```
#
# ```{exercise}
# :label: gans-ex-gan-1d-torch-saturating
#
# Move the generator's start further from the data, $\mu_g = -4$, rerun the
# notebook, and compare the two gradient norms and the four training runs of
# Section 4.
# ```
#
# ```{solution} gans-ex-gan-1d-torch-saturating
# :class: dropdown
#
# The better the discriminator separates the two distributions, the closer
# $D(G(h))$ is to 0 for most fakes and the smaller the saturating gradient
# ($\propto D$) becomes, while the non-saturating gradient ($\propto 1 - D$)
# stays of order one. With $\mu_g = -4$ and the discriminator of Section 1
# retrained against it, a reference run at `book` scale found the saturating
# gradient about $10^4$ times smaller than the non-saturating one. With SGD the saturating generator then
# did not move at all in 1,500 steps ($b$ went from $-4.00$ to $-3.99$),
# while the non-saturating one reached $\mu_r$ within 250 steps. With Adam
# both moved, because Adam rescales the step; but the saturating run was
# driven by a gradient of order $10^{-4}$ that a noisier problem would drown.
# ```
#
# ```{exercise}
# :label: gans-ex-gan-1d-torch-logit-gradient
#
# Derive $\partial_\ell \log(1 - \sigmoid(\ell)) = -\sigmoid(\ell)$ and
# $\partial_\ell(-\log\sigmoid(\ell)) = \sigmoid(\ell) - 1$, and check them against
# `grad_sat` and `grad_ns` of Section 4.
# ```
#
# ```{solution} gans-ex-gan-1d-torch-logit-gradient
# :class: dropdown
#
# With $\sigmoid'(\ell) = \sigmoid(\ell)(1 - \sigmoid(\ell))$:
# $\partial_\ell \log(1 - \sigmoid) = -\sigmoid'/(1 - \sigmoid) = -\sigmoid$ and
# $\partial_\ell(-\log\sigmoid) = -\sigmoid'/\sigmoid = -(1 - \sigmoid) = \sigmoid - 1$.
# The cell below compares them with autograd's `grad_sat` and `grad_ns`:
# they agree to rounding in double precision.
# ```

# %% tags=["hide-input"]
# d/dl log(1 - sigmoid(l)) = -sigmoid(l); d/dl (-log sigmoid(l)) = sigmoid - 1
print("max |grad_sat - (-D)|    =",
      f"{(grad_sat + d_of_logits).abs().max().item():.1e}")
print("max |grad_ns - (D - 1)|  =",
      f"{(grad_ns - (d_of_logits - 1)).abs().max().item():.1e}")

# %% [markdown]
# ## References
#
# The value function, the optimal discriminator, the identity with the
# Jensen–Shannon divergence and the non-saturating loss are from
# {cite}`goodfellow2014`; the tutorial {cite}`goodfellow2016nips` discusses the
# saturating and non-saturating games, and {cite}`arjovsky2017towards` analyses
# the vanishing gradients of the saturating loss.
