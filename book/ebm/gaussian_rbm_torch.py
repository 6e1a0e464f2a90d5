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
# # A Gaussian-binary RBM on a 2D mixture, where the answer is known
#
# A Gaussian-binary RBM with $d_h$ hidden units is a mixture of $2^{d_h}$
# Gaussians, so with two hidden units in two dimensions its likelihood, its
# partition function and its density are exact, and it can represent exactly
# the mixture of four Gaussians that we fit it to. We train it with the exact
# likelihood gradient, with CD-1, CD-10 and with persistent contrastive
# divergence, and see precisely what each gradient estimator gets right and
# what it gets wrong. Then we train the same model on real-valued data, the
# standardised grey levels of MNIST, where its log-likelihood is still exact.
#
# ```{admonition} Learning goals
# :class: tip
#
# After this notebook you can
#
# - write the Gaussian-binary RBM's energy, conditionals and free energy
#   {eq}`ebm-grbm-energy`, {eq}`ebm-grbm-conditionals`, and read its marginal as
#   a mixture of $2^{d_h}$ Gaussians with shared $\sigma$ {eq}`ebm-grbm-marginal`;
# - train it with the positive-minus-negative-phase gradient
#   {eq}`ebm-loglik-gradient`, {eq}`ebm-rbm-learning-rule`, taking the
#   negative phase exactly, from CD-$k$ chains {eq}`ebm-cd` or from persistent
#   chains {eq}`ebm-pcd`, with autograd of the free energy;
# - measure a trained RBM by its exact held-out log-likelihood and compare it
#   with the true density's;
# - explain why CD-1 learns the shape of each mode but not how much probability
#   each mode gets, and how that follows from how rarely a block-Gibbs chain
#   {eq}`ebm-gibbs` crosses between modes;
# - fit the model to standardised digits and read its exact marginal: the
#   heaviest of its $2^{d_h}$ components and its gain over independent pixels.
# ```

# %% tags=["hide-input"]
# Setup: install the book's helper package when it is missing (Colab, Binder).
import importlib.util, subprocess, sys
REPO_URL = "https://github.com/genmod-book/genmod-book"
# this notebook's name: its artifacts and checkpoints are filed under it
NOTEBOOK = "gaussian_rbm_torch"
if importlib.util.find_spec("genmod") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    f"genmod @ git+{REPO_URL}.git#subdirectory=code"],
                   check=True)

import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.stats import norm
import genmod
from genmod import pick
from genmod.data import Mixture
from genmod.gaussian_rbm import (grbm_free_energy, grbm_log_mixture_weights,
                                 grbm_log_z_exact, grbm_marginal,
                                 grbm_p_h_given_x, grbm_sample_x_given_h)
from genmod.metrics import mmd2_against_real
from genmod.plotting import image_grid, samples_2d
from genmod.torchutils import get_device, seed_everything

print(f"scale: {genmod.get_scale()}")
device = get_device()
seed_everything(0)
# double precision: the exact checks below agree to rounding
DTYPE = torch.float64
print("data: a mixture of four 2D Gaussians from genmod.data.Mixture "
      "(generated, no download); MNIST in section 7")

# %% [markdown]
# ## Configuration
#
# The data are the same at every scale: four Gaussians of standard deviation
# $\sigma = 0.3$ at the corners $(\pm 1, \pm 1)$ of a square, with unequal
# weights: a point lies on the right ($x_1 > 0$) with probability 0.8 and at
# the top ($x_2 > 0$) with probability 0.7, independently, so the four weights
# are $0.2 \cdot 0.3 = 0.06$ (bottom left), $0.24$ (bottom right), $0.14$
# (top left) and $0.56$ (top right). The modes are $2/\sigma \approx 6.7$ standard deviations apart. The
# model has $d_h = 2$ hidden units and its visible $\sigma$ is *fixed* to the
# data's $0.3$ (learning it is {ref}`an exercise <ebm-ex-gaussian-rbm-torch-learn-sigma>`).
# All four training runs use the same initial parameters, the same
# minibatches and the same optimiser, plain stochastic gradient ascent on the
# log-likelihood with a step size $\eta$ that decays linearly to zero; they
# differ only in how they estimate the negative phase. The number of
# steps, the data set sizes and the sampling budget change with the scale
# (`GENMOD_SCALE`: `quick` for tests, `book` by default, `full` for a longer run).

# %%
config = genmod.Config(
    half_side=1.0,  # the modes sit at (+-half_side, +-half_side) (data units)
    std=0.3,  # sigma of every mode (data units); the RBM's sigma is fixed to it
    # P(x_1 > 0) and P(x_2 > 0), independent: the weights are products
    p_right=0.8,
    p_top=0.7,
    latent_dim=2,  # d_h hidden units: 2^d_h = 4 Gaussian components
    num_train=pick(quick=2000, book=5000, full=20000),      # training points
    # held-out points (exact log-likelihoods)
    num_test=pick(quick=2000, book=5000, full=20000),
    init_std=0.5,  # W ~ N(0, init_std^2) at the start; a = data mean, b = 0
    lr=0.01,  # SGD step size eta at the start, decaying linearly to 0
    batch_size=128,  # B data points per step
    # parameter updates per training run
    num_steps=pick(quick=1500, book=20000, full=200000),
    # steps between exact evaluations
    eval_every=pick(quick=100, book=250, full=1000),
    num_chains_pcd=512,  # persistent chains of PCD
    cd_ks=(1, 10),  # k of the CD-k runs (Gibbs steps from the data)
    # long Gibbs chains drawn from the trained models
    num_sample_chains=pick(quick=1000, book=4000, full=10000),
    # steps of each long chain
    num_gibbs_steps=pick(quick=1000, book=10000, full=50000),
    # samples per set in the MMD^2
    mmd_num_samples=pick(quick=500, book=2000, full=5000),
    # seeds of the data, the initial parameters, minibatches and Gibbs noise
    seed=0,
    # d_h of the RBM on standardised MNIST (exact log Z: 2^d_h terms)
    mnist_hidden_dim=pick(quick=10, book=20, full=20),
    # passes over the 8,000 (offline) training digits
    mnist_epochs=pick(quick=1, book=15, full=100),
    mnist_lr=1e-3,  # its SGD step size at the start, decaying linearly to 0
    mnist_momentum=0.9,                                     # its SGD momentum
    mnist_batch_size=100,                                   # digits per step
    mnist_num_chains=100,  # its persistent chains (PCD)
    # Gibbs steps of its free-running chains
    mnist_gibbs_steps=pick(quick=100, book=1000, full=1000),
)

# %% [markdown]
# ## 1. The data, and an RBM that generates them exactly
#
# The data distribution is the mixture
# $\pr(\x) = \sum_{m=1}^{4} w_m\, \N(\x; \mu_m, \sigma^2 \I)$, written with
# `genmod.data.Mixture`, which gives its density, log-density and samples. We
# draw a training set and a held-out set from it; the mean of $\log \pr$ over
# the held-out points is the best held-out log-likelihood any model can expect
# (up to the sampling noise of the held-out set).

# %%
d, d_h, sigma = 2, config.latent_dim, config.std
half = config.half_side
# bottom left, bottom right, top left, top right
means_true = np.array([[-half, -half], [half, -half],
                       [-half, half], [half, half]])
weights_true = np.array([(1 - config.p_right) * (1 - config.p_top),
                         config.p_right * (1 - config.p_top),
                         (1 - config.p_right) * config.p_top,
                         config.p_right * config.p_top])
p_data = Mixture(means_true, sigma, weights_true)
rng = np.random.default_rng(config.seed)
x_train_np = p_data.sample(config.num_train, rng)
x_test_np = p_data.sample(config.num_test, rng)
x_train = torch.as_tensor(x_train_np, dtype=DTYPE, device=device)
x_test = torch.as_tensor(x_test_np, dtype=DTYPE, device=device)
true_ll = p_data.logpdf(x_test_np)  # log p_r at each held-out point, nats
print(f"{p_data}: weights {weights_true.round(3).tolist()}")
print(f"{len(x_train_np)} training and {len(x_test_np)} held-out points")
print(f"held-out log-likelihood of the true density: {true_ll.mean():.4f} +- "
      f"{true_ll.std() / np.sqrt(len(true_ll)):.4f} nats per point")

# %% [markdown]
# The Gaussian-binary RBM has the energy {eq}`ebm-grbm-energy`
#
# $$
# E(\x, \h) = \frac{\lVert \x - \mathbf{a} \rVert^2}{2\sigma^2} - \mathbf{b}^\top \h - \frac{\x^\top W \h}{\sigma^2},
# \qquad \x \in \R^d,\ \h \in \{0, 1\}^{d_h},
# $$
#
# with $W \in \R^{d \times d_h}$, visible biases $\mathbf{a} \in \R^d$ (in data
# units) and hidden biases $\mathbf{b} \in \R^{d_h}$. Completing the square in
# $\x$ for each fixed $\h$ shows that its marginal is a mixture of $2^{d_h}$
# Gaussians {eq}`ebm-grbm-marginal`,
#
# $$
# p(\x) = \sum_{\h} \pi_\h\, \N(\x; \mathbf{a} + W\h, \sigma^2 \I), \qquad
# \pi_\h \propto \exp\!\Big(\mathbf{b}^\top \h + \frac{\lVert \mathbf{a} + W \h \rVert^2 - \lVert \mathbf{a} \rVert^2}{2\sigma^2}\Big).
# $$
#
# The component means are $\mathbf{a}$ plus sums of columns of $W$: with two
# hidden units they are the corners of a parallelogram, $\mathbf{a}$,
# $\mathbf{a} + \mathbf{w}_1$, $\mathbf{a} + \mathbf{w}_2$ and
# $\mathbf{a} + \mathbf{w}_1 + \mathbf{w}_2$. Our square is one. With
# $\mathbf{a}^* = (-1, -1)$ and $W^* = 2\I$ the squared-norm term is the same for
# all four $\h$, so $\pi_\h \propto e^{\mathbf{b}^\top \h}$: the hidden units are
# independent, unit $j$ on with probability $\sigmoid(b_j)$, and
# $\mathbf{b}^* = (\logit 0.8, \logit 0.7) = (\log 4, \log \tfrac73)$ gives our
# weights. So the data distribution *is* the marginal of this "teacher" RBM,
# which `genmod.gaussian_rbm.grbm_marginal` returns as a `Mixture`. We check it at the
# held-out points:

# %%
def logit(p):
    return float(np.log(p / (1 - p)))


W_true = torch.tensor([[2 * half, 0.0], [0.0, 2 * half]],
                      dtype=DTYPE, device=device)
a_true = torch.tensor([-half, -half], dtype=DTYPE, device=device)
b_true = torch.tensor([logit(config.p_right), logit(config.p_top)],
                      dtype=DTYPE, device=device)
teacher = grbm_marginal(W_true, a_true, b_true, sigma)  # eq. ebm-grbm-marginal
print("teacher's components:", teacher.means.tolist(), "weights",
      teacher.weights.round(4).tolist())
print("max |log p_teacher - log p_r| on the held-out points: "
      f"{np.abs(teacher.logpdf(x_test_np) - true_ll).max():.1e}")

# %% [markdown]
# The teacher is not the only RBM with this marginal. Relabelling the hidden
# units changes nothing, and neither does flipping one, $h_j \to 1 - h_j$, with
# $(\mathbf{a}, \mathbf{w}_j, b_j) \to (\mathbf{a} + \mathbf{w}_j, -\mathbf{w}_j, -b_j)$:
# the energy changes only by a constant. So we compare learned parameters with
# the teacher's after bringing them to its form: each unit flipped so that its
# weight vector points along a positive axis, and the units sorted by that
# axis.

# %%
def canonical(W, a, b):
    """The same RBM with each unit flipped (h_j -> 1 - h_j) so its largest
    weight is positive, units sorted by that axis."""
    W, a, b = W.detach().clone(), a.detach().clone(), b.detach().clone()
    for j in range(W.shape[1]):
        i = int(W[:, j].abs().argmax())
        if W[i, j] < 0:  # flip unit j: same marginal
            a, W[:, j], b[j] = a + W[:, j], -W[:, j], -b[j]
    order = torch.argsort(W.abs().argmax(0), stable=True)
    return W[:, order], a, b[order]


def quadrant_mass(mixture):
    """P(x_1 > 0, x_2 > 0), exactly: sum_h pi_h Phi(mu_1 / sigma)
    Phi(mu_2 / sigma) for isotropic components."""
    z = mixture.means / mixture.stds[:, None]
    cdf = norm.cdf(z)
    return float(np.sum(mixture.weights * cdf[:, 0] * cdf[:, 1]))


print(f"P(top right quadrant): data {quadrant_mass(p_data):.4f} (the top-right "
      f"weight {weights_true[-1]:.2f}, "
      f"give or take the tails that cross the axes)")

# %%
grid = np.linspace(-2.6, 2.6, 261)
g1, g2 = np.meshgrid(grid, grid)
grid_points = np.stack([g1.ravel(), g2.ravel()], axis=1)
# fractions of the tallest peak
peak = p_data.pdf(means_true[-1:])[0]
density_levels = np.array([0.01, 0.05, 0.2, 0.5, 1.0]) * peak


def draw_mixture(ax, mixture, title, color="C0", show_points=True):
    """Contours of a mixture's density on the grid, its component means (area ~
    weight) and the held-out points.
    """
    if show_points:
        ax.scatter(x_test_np[:1500, 0], x_test_np[:1500, 1], s=1, c="0.75",
                   zorder=0)
    ax.contour(g1, g2, mixture.pdf(grid_points).reshape(g1.shape),
               levels=density_levels, colors=color, linewidths=1)
    ax.scatter(mixture.means[:, 0], mixture.means[:, 1],
               s=600 * mixture.weights, facecolors="none",
               edgecolors="k", linewidths=1.2)
    for mu, w in zip(mixture.means, mixture.weights):
        if w > 0.005 and np.abs(mu).max() < 2.4:
            ax.annotate(f"{w:.2f}", mu, xytext=(6, 6),
                        textcoords="offset points", fontsize="small")
    ax.set(xlim=(-2.6, 2.6), ylim=(-2.6, 2.6), aspect="equal", xlabel="$x_1$",
           ylabel="$x_2$", title=title)
    return ax


fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
samples_2d({"training data": x_train_np[:2000]}, centers=means_true, ax=axes[0],
           lim=2.6, s=2,
           title=f"(a) {min(2000, len(x_train_np))} training points")
draw_mixture(axes[1], p_data, r"(b) the true density $p_r$", color="k")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** (a) Training points and the four mode centres. (b) Contours of
# the true density at 1 %, 5 %, 20 %, 50 % and 100 % of its tallest peak (the
# same levels in every density plot below), over held-out points in grey;
# the circles mark the component means, with area proportional to the weights
# printed beside them. The bottom-left mode holds 6 % of the data, the
# top-right one 56 %.

# %% [markdown]
# ## 2. Free energy, conditionals and an exact log-likelihood
#
# Summing $e^{-E}$ over $\h$ gives the free energy (the chapter derives it
# after {eq}`ebm-grbm-marginal`), $p(\x) = e^{-F(\x)}/Z$ with
#
# $$
# F(\x) = \frac{\lVert \x - \mathbf{a} \rVert^2}{2\sigma^2}
#       - \sum_{j=1}^{d_h} \operatorname{softplus}\!\Big(b_j + \frac{(\x^\top W)_j}{\sigma^2}\Big),
# $$
#
# and the conditionals {eq}`ebm-grbm-conditionals` are
# $p(h_j = 1 \mid \x) = \sigmoid\big(b_j + (\x^\top W)_j/\sigma^2\big)$ and
# $p(\x \mid \h) = \N(\mathbf{a} + W\h, \sigma^2 \I)$. The energy, the
# conditionals and $\log Z$ live in `genmod.gaussian_rbm`, where the tests check them
# against enumeration; here is the free energy:

# %%
genmod.show_source(grbm_free_energy)

# %% [markdown]
# Because $\h$ has only $2^{d_h} = 4$ states, $\log Z$ is a sum of four terms
# (`grbm_log_z_exact`), and the log-likelihood $\log p(\x) = -F(\x) - \log Z$ is
# exact. It must agree with the log-density of the mixture {eq}`ebm-grbm-marginal`,
# which is computed in another way (a log-sum over Gaussian densities):

# %%
# any parameters will do
g1_rand = torch.Generator().manual_seed(1)
W_rand = 0.8 * torch.randn(d, d_h, dtype=DTYPE, generator=g1_rand).to(device)
a_rand = torch.tensor([0.3, -0.2], dtype=DTYPE, device=device)
b_rand = torch.tensor([0.5, -1.0], dtype=DTYPE, device=device)
log_p_free = (-grbm_free_energy(x_test, W_rand, a_rand, b_rand, sigma)
              - grbm_log_z_exact(W_rand, a_rand, b_rand, sigma))
log_p_mix = grbm_marginal(W_rand, a_rand, b_rand, sigma).logpdf(x_test_np)
print("max |(-F - log Z) - log p_mixture| = "
      f"{np.abs(log_p_free.cpu().numpy() - log_p_mix).max():.1e} nats")
Wc, ac, bc = canonical(W_rand, a_rand, b_rand)
log_p_canonical = grbm_marginal(Wc, ac, bc, sigma).logpdf(x_test_np)
print("after flipping units to the canonical form: max change of log p = "
      f"{np.abs(log_p_canonical - log_p_mix).max():.1e} nats")

# %% [markdown]
# ## 3. The gradient: positive phase minus negative phase
#
# The gradient of the log-likelihood of one point {eq}`ebm-loglik-gradient` is
#
# $$
# \nabla_\Theta \log p(\x) = -\nabla_\Theta F(\x) + \E_{\tilde\x \sim p}\big[\nabla_\Theta F(\tilde\x)\big],
# $$
#
# the positive phase at the data minus the negative phase under the model.
# For the Gaussian-binary RBM, differentiating $F$ gives the analogue of the
# binary RBM's learning rule {eq}`ebm-rbm-learning-rule`, averaged over a
# minibatch of data and a set of model samples $\tilde\x$:
#
# $$
# \Delta W \propto \frac{\langle \x\, p(\h \mid \x)^\top \rangle_{\mathrm{data}}
#                     - \langle \tilde\x\, p(\h \mid \tilde\x)^\top \rangle_{\mathrm{model}}}{\sigma^2}, \quad
# \Delta \mathbf{a} \propto \frac{\langle \x \rangle_{\mathrm{data}} - \langle \tilde\x \rangle_{\mathrm{model}}}{\sigma^2}, \quad
# \Delta \mathbf{b} \propto \langle p(\h \mid \x) \rangle_{\mathrm{data}} - \langle p(\h \mid \tilde\x) \rangle_{\mathrm{model}} .
# $$
#
# We never write these out in the training loop. Autograd of the surrogate loss
# $\mathcal{L} = \frac1B \sum_{i=1}^{B} F(\x_i) - \frac1n \sum_{r=1}^{n} F(\tilde\x_r)$,
# with the data $\x_i$ and the $n$ model samples $\tilde\x_r$ held fixed, gives exactly minus the
# same vectors, and a gradient-descent step on $\mathcal{L}$ is an ascent step
# on the log-likelihood. We check that on a minibatch:

# %%
def positive_minus_negative(x, x_model, W, a, b):
    """The learning rule written out: <.>_data - <.>_model for W, a, b (an
    ascent direction)."""
    ph_data = grbm_p_h_given_x(x, W, b, sigma)
    ph_model = grbm_p_h_given_x(x_model, W, b, sigma)
    dW = (x.T @ ph_data / len(x)
          - x_model.T @ ph_model / len(x_model)) / sigma**2
    da = (x.mean(0) - x_model.mean(0)) / sigma**2
    db = ph_data.mean(0) - ph_model.mean(0)
    return dW, da, db


params = [p.clone().requires_grad_() for p in (W_rand, a_rand, b_rand)]
x_data, x_model = x_train[:128], x_test[:256]  # any two sets of points
loss = (grbm_free_energy(x_data, *params, sigma).mean()
        - grbm_free_energy(x_model, *params, sigma).mean())
grads = torch.autograd.grad(loss, params)
by_hand = positive_minus_negative(x_data, x_model, W_rand, a_rand, b_rand)
for name, g_auto, g_hand in zip(("W", "a", "b"), grads, by_hand):
    print(f"d/d{name}: max |autograd of -L - learning rule| = "
          f"{(-g_auto - g_hand).abs().max().item():.1e}")

# %% [markdown]
# The negative phase is an expectation under the model. With four hidden
# states we can take it exactly: $\E_{p}[\nabla_\Theta F(\tilde\x)] = -\nabla_\Theta \log Z$,
# and $\log Z$ is a differentiable function of the parameters, so autograd of
# $\frac1B \sum F(\x) + \log Z$ gives the *exact* gradient of the minibatch
# log-likelihood. Every other method has to estimate the negative phase from
# samples. Here the exact one is checked against a Monte Carlo average of
# $-\nabla F$ over exact samples of the mixture:

# %%
params = [p.clone().requires_grad_() for p in (W_rand, a_rand, b_rand)]
# = E_p[-grad F]
grad_log_z = torch.autograd.grad(grbm_log_z_exact(*params, sigma), params)
# exact samples of the model
model_rand = grbm_marginal(W_rand, a_rand, b_rand, sigma)
x_exact = torch.as_tensor(model_rand.sample(200_000, np.random.default_rng(1)),
                          dtype=DTYPE, device=device)
mean_f = grbm_free_energy(x_exact, *params, sigma).mean()
grad_mc = torch.autograd.grad(-mean_f, params)
for name, g_exact, g_mc in zip(("W", "a", "b"), grad_log_z, grad_mc):
    print(f"d log Z / d{name}: exact "
          f"{np.round(g_exact.flatten().cpu().numpy(), 3).tolist()}, "
          f"Monte Carlo {np.round(g_mc.flatten().cpu().numpy(), 3).tolist()}")

# %% [markdown]
# ## 4. Four ways to take the negative phase
#
# The training loop below is the same for all four runs; only the negative phase differs.
#
# - **Exact gradient** (maximum likelihood): the negative phase through $\log Z$,
#   as above. It is what the others approximate, and it is available only
#   because $d_h$ is tiny.
# - **CD-$k$** {eq}`ebm-cd` {cite}`hinton2002`: $\tilde\x$ is the end of $k$
#   block-Gibbs steps {eq}`ebm-gibbs` started at the minibatch itself,
#   $\x \to \h \sim p(\h \mid \x) \to \x' \sim p(\x \mid \h) \to \dots$;
#   here $k = 1$ and $k = 10$.
# - **PCD** {eq}`ebm-pcd` {cite}`tieleman2008`: $n_{\mathrm{p}} = 512$ chains that are
#   never restarted; each step advances them by one Gibbs step under the
#   current parameters, and their states are $\tilde\x$.
#
# All runs start from $W \sim \N(0, 0.5^2)$ entrywise, $\mathbf{a}$ the data mean and $\mathbf{b} = 0$.
# After every `eval_every` steps we record the exact held-out log-likelihood and
# the model's exact probability of the top-right quadrant.

# %%
def gibbs_step(x, W, a, b, generator):
    """One block-Gibbs step x -> h ~ p(h | x) -> x' ~ N(a + W h, sigma^2 I)
    (eqs. ebm-gibbs, ebm-grbm-conditionals)."""
    h = torch.bernoulli(grbm_p_h_given_x(x, W, b, sigma), generator=generator)
    return grbm_sample_x_given_h(h, W, a, sigma, generator=generator)


def surrogate_loss(method, k, x, W, a, b, chains, gibbs):
    """The loss whose gradient is minus the method's estimate of the
    log-likelihood gradient on the minibatch x, and PCD's new chains."""
    if method == "exact":                          # exact negative phase
        return (grbm_free_energy(x, W, a, b, sigma).mean()
                + grbm_log_z_exact(W, a, b, sigma)), chains
    # the samples are constants of the surrogate loss
    with torch.no_grad():
        # CD-k starts at the data, PCD continues its chains
        x_model = x if method == "cd" else chains
        for _ in range(k):
            x_model = gibbs_step(x_model, W, a, b, gibbs)
        if method == "pcd":
            chains = x_model
    return (grbm_free_energy(x, W, a, b, sigma).mean()
            - grbm_free_energy(x_model, W, a, b, sigma).mean()), chains


# %% [markdown]
# The training loop is the same for every method; only the surrogate loss
# differs.

# %%
def train(method, k=1):
    """Train a fresh Gaussian-binary RBM; method is 'exact', 'cd' (CD-k) or
    'pcd'. Returns (W, a, b), history, seconds."""
    # the same start and minibatches for every method, and the Gibbs noise
    init = torch.Generator(device=device).manual_seed(config.seed)
    batches = torch.Generator(device=device).manual_seed(config.seed + 1)
    gibbs = torch.Generator(device=device).manual_seed(config.seed + 2)
    W = (config.init_std * torch.randn(d, d_h, dtype=DTYPE, device=device,
                                       generator=init)).requires_grad_()
    a = x_train.mean(0).clone().requires_grad_()
    b = torch.zeros(d_h, dtype=DTYPE, device=device, requires_grad=True)
    # PCD's start
    chains = x_train[torch.randint(len(x_train), (config.num_chains_pcd,),
                                   device=device, generator=init)]
    # plain gradient steps on L: ascent on the log-likelihood
    opt = torch.optim.SGD([W, a, b], lr=config.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: 1 - t / config.num_steps)
    history, seconds = {"step": [], "test_ll": [], "quadrant": []}, 0.0
    for step in range(1, config.num_steps + 1):
        start = time.perf_counter()
        x = x_train[torch.randint(len(x_train), (config.batch_size,),
                                  device=device, generator=batches)]
        loss, chains = surrogate_loss(method, k, x, W, a, b, chains, gibbs)
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        seconds += time.perf_counter() - start
        if step % config.eval_every == 0 or step == config.num_steps:
            model = grbm_marginal(W, a, b, sigma)
            history["step"].append(step)
            history["test_ll"].append(model.logpdf(x_test_np).mean())
            history["quadrant"].append(quadrant_mass(model))
    return (W.detach(), a.detach(), b.detach()), history, seconds


# %%
runs = ({"exact gradient": ("exact", 1)}
        | {f"CD-{k}": ("cd", k) for k in config.cd_ks} | {"PCD": ("pcd", 1)})
results = {}
for name, (method, k) in runs.items():
    params, history, seconds = train(method, k)
    results[name] = {"params": params, "history": history, "seconds": seconds}
    print(f"{name:15s} {config.num_steps} steps in {seconds:5.1f} s: held-out "
          f"log-likelihood {history['test_ll'][-1]:.4f} nats per point")

# %%
colors = {name: f"C{i}" for i, name in enumerate(results)}
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for name, r in results.items():
    # the exact gradient's curve on top
    z = 3 if name == "exact gradient" else 2
    axes[0].plot(r["history"]["step"], r["history"]["test_ll"],
                 color=colors[name], label=name, zorder=z)
    axes[1].plot(r["history"]["step"], r["history"]["quadrant"],
                 color=colors[name], label=name, zorder=z)
axes[0].axhline(true_ll.mean(), color="k", ls=":", label="true density $p_r$")
axes[0].set(xlabel="training step",
            ylabel="held-out log-likelihood (nats per point)",
            ylim=(true_ll.mean() - 0.5, true_ll.mean() + 0.05),
            title="(a) exact held-out log-likelihood")
axes[1].axhline(quadrant_mass(p_data), color="k", ls=":",
                label="true density $p_r$")
axes[1].axhline(quadrant_mass(Mixture(means_true, sigma)),  # equal weights
                color="0.5", ls="--", lw=1, label="equal weights")
axes[1].set(xlabel="training step", ylabel="model probability", ylim=(0, 1),
            title="(b) $P(x_1 > 0, x_2 > 0)$ under the model")
axes[0].legend(fontsize="small", loc="lower right")
axes[1].legend(fontsize="small", loc="upper right")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** (a) The exact held-out log-likelihood during training, against
# that of the true density (dotted); the axis is cut $0.5$ nats below it, so
# the deepest dips of PCD fall off the bottom. (b) The model's exact
# probability of the top-right quadrant, where the heaviest mode sits: $0.56$
# for the data (dotted), $0.25$ for a model with equal weights (dashed). In
# the `book` reference run the exact gradient climbs to within a few hundredths of a nat
# of the truth by about 2,500 steps, and dips below it by up to $0.08$ nats,
# from the minibatch noise, until the step size has decayed. PCD ends almost as close,
# but on the way its quadrant probability swings between about $0.3$ and
# $0.8$ as it moves probability from mode to mode; it settles only in the last
# few thousand steps, when $\eta$ is small. CD-1 is steadier but never gets
# close: its quadrant probability stays near the equal-weights value for the
# whole run, and it ends about $0.23$ nats below the truth. CD-10 is in between.
#
# The numbers at the end of training follow, with the weight each model puts
# near each of the four modes (bottom left, bottom right, top left, top right).
# The mean over held-out points of $\log \pr(\x) - \log p(\x)$ estimates the
# Kullback–Leibler divergence $\KL{\pr}{p}$; it is computed on the same
# points for every model, so its standard error is small.

# %%
models = {name: grbm_marginal(*r["params"], sigma)
          for name, r in results.items()}


def weights_by_mode(mixture):
    """The weight a mixture puts near each true mode: its components' weights
    summed by the nearest true mean.
    """
    gaps = ((mixture.means[:, None, :] - means_true[None]) ** 2).sum(-1)
    nearest = np.argmin(gaps, axis=1)
    return np.bincount(nearest, weights=mixture.weights,
                       minlength=len(means_true))


print(f"{'':15s} {'log-lik':>8s} {'KL(p_r||p) +- se':>18s} {'log Z':>7s} "
      f"{'P(top right)':>13s}   weights (BL, BR, TL, TR)   time")
print(f"{'true density':15s} {true_ll.mean():8.4f} {'':18s} {'':7s} "
      f"{quadrant_mass(p_data):13.3f}   "
      f"{str(np.round(weights_true, 3).tolist()):26s}")
for name, r in results.items():
    ll = models[name].logpdf(x_test_np)
    gap = true_ll - ll
    r |= {"test_ll": ll.mean(), "test_ll_se": ll.std() / np.sqrt(len(ll)),
          "kl": gap.mean(),
          "log_z": grbm_log_z_exact(*r["params"], sigma).item(),
          "train_ll": models[name].logpdf(x_train_np).mean()}
    print(f"{name:15s} {r['test_ll']:8.4f} {gap.mean():9.4f} +- "
          f"{gap.std() / np.sqrt(len(gap)):.4f} {r['log_z']:7.3f} "
          f"{quadrant_mass(models[name]):13.3f}   "
          f"{str(np.round(weights_by_mode(models[name]), 3).tolist()):26s} "
          f"{r['seconds']:5.1f} s")
print("teacher's log Z: "
      f"{grbm_log_z_exact(W_true, a_true, b_true, sigma).item():.3f}")
for name, key in (("exact gradient", "kl_exact"), ("PCD", "kl_pcd"),
                  ("CD-1", "kl_cd1"), ("CD-10", "kl_cd10")):
    genmod.glue(key, results[name]["kl"])

# %% [markdown]
# The column $\log Z$ cannot be compared between rows on its own. Flipping a
# hidden unit leaves $p(\x)$ unchanged but shifts the energy by a constant,
# and $\log Z$ with it: the teacher and the exact-gradient model have almost
# the same density and quite different $\log Z$. Only $-F - \log Z$, with $F$
# and $\log Z$ from the same parameters, means something.

# %% [markdown]
# ## 5. What each model learned
#
# The exact marginal of each trained model, drawn like the true density in
# Section 1:

# %%
fig, axes = plt.subplots(1, len(models) + 1,
                         figsize=(3.3 * (len(models) + 1), 3.6))
draw_mixture(axes[0], p_data, "true density", color="k")
for ax, (name, model) in zip(axes[1:], models.items()):
    draw_mixture(ax, model, f"{name}: {results[name]['test_ll']:.3f} nats",
                 color=colors[name])
    ax.set_ylabel("")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** Density contours (the levels of Section 1) and components of the
# true density and of the four trained RBMs; each circle is one of the
# $2^{d_h} = 4$ components $\mathbf{a} + W\h$, with area proportional to its
# weight $\pi_\h$. The titles give the exact held-out log-likelihoods. Every
# model has put its four components on the four modes, with the right width:
# the shape of each mode is right. What differs is the weights. In the `book` reference run
# the exact gradient reproduces the true $0.06$, $0.24$, $0.14$ and $0.56$ to
# within $0.01$, and PCD to within $0.05$ (it gives the top-right mode $0.60$).
# CD-1's weights lie between $0.17$ and $0.29$, close to equal, and it gives the
# light top-left mode more weight than the heavy top-right one.
#
# In parameters: bringing each model to the teacher's canonical form (Section
# 1), we can read off $W$, $\mathbf{a}$ and $\mathbf{b}$ directly.

# %%
all_params = [("teacher", (W_true, a_true, b_true))] + [
    (n, r["params"]) for n, r in results.items()]
for name, params in all_params:
    Wc, ac, bc = (np.round(p.cpu().numpy(), 2).tolist()
                  for p in canonical(*params))
    print(f"{name:15s} W = {Wc},  a = {ac},  b = {bc}")

# %% [markdown]
# In the `book` reference run all four models have $W$ and $\mathbf{a}$ within $0.03$ of
# the teacher's $W^* = 2\I$ and $\mathbf{a}^* = (-1, -1)$: every estimator has
# found the geometry. The hidden biases differ more, and they need care: by
# {eq}`ebm-grbm-marginal`, unit $j$ shifts the log-weights by
# $b_j + \mathbf{w}_j^\top(\mathbf{a} + \mathbf{w}_j/2)/\sigma^2$, where
# $\mathbf{a} + \mathbf{w}_j/2$ is about the centre of the square. With
# $\sigma^2 = 0.09$, moving the square by $0.025$ along $\mathbf{w}_j$ changes
# that by about $0.55$, so $\mathbf{b}$ on its own says little, and the
# exact-gradient and PCD models reach the teacher's weights with a $\mathbf{b}$
# noticeably smaller than $\mathbf{b}^*$. CD-1's $\mathbf{b}$, though, is still
# within $0.05$ of its initial $0$: it has hardly been trained.
#
# Why has CD-1 hardly moved them? Its update for $\mathbf{b}$ is
# $\langle p(\h \mid \x) \rangle_{\mathrm{data}} - \langle p(\h \mid \tilde\x) \rangle$,
# where $\tilde\x$ is one Gibbs step away from $\x$. If $\tilde\x$ stays in the
# mode of $\x$, then $p(\h \mid \tilde\x) \approx p(\h \mid \x)$ and the two terms
# cancel, *whatever* the model's weights are. The information about the weights
# sits entirely in the few chains that cross to another mode. We count them: the
# fraction of held-out points whose $k$-step chain ends in another quadrant,
# under each trained model and under the teacher.

# %%
def crossing_fraction(params, k, generator):
    """Fraction of held-out points whose k-step Gibbs chain (the CD-k negative
    sample) ends in another quadrant.
    """
    with torch.no_grad():
        x = x_test
        for _ in range(k):
            x = gibbs_step(x, *params, generator)
    return ((x > 0) != (x_test > 0)).any(1).double().mean().item()


crossing_rng = torch.Generator(device=device).manual_seed(config.seed + 3)
for name, params in all_params:
    print(f"{name:15s} after 1 Gibbs step: "
          f"{crossing_fraction(params, 1, crossing_rng):.4f}, "
          f"after 10: {crossing_fraction(params, 10, crossing_rng):.4f} of the "
          "chains are in another quadrant")

# %% [markdown]
# Under the teacher, about two chains in a thousand end a single Gibbs step
# in another quadrant, and one in a hundred after ten steps (the trained models
# are similar). A few of those have only strayed across an axis in the tails of
# their own mode; we counted separately that the teacher's hidden state, which
# says which component the next point is drawn from, changes in about one
# Gibbs step in a thousand. The mass that CD-1 can move between the modes at
# each step is therefore tiny, and in 20,000 steps with a decaying step size
# it does not add up to much. The truth is a fixed point of CD-$k$ here, since
# the model family contains it ({ref}`ebm-ex-cd-fixed-point`), but CD-1 is
# nearly stationary all along the way there: it is slow in exactly the
# directions that move probability between separated modes, because its chains
# do not travel between them ({ref}`an exercise <ebm-ex-gaussian-rbm-torch-cd-update>`
# measures how slow). CD-10's chains cross several times
# as often, and it gets correspondingly further. PCD's chains are not restarted
# at the data, so they are not tied to the data's proportions: where more
# chains sit in a mode than the data put there, the update lowers that mode's
# weight, and keeps lowering it until chains leave. That is also why PCD
# swings. Its chains cross no more easily than CD's, so with a large step size
# the weights overshoot before the chains have redistributed: the particles lag
# behind the model, as the chapter says after {eq}`ebm-pcd`. On natural-image
# patches {cite}`melchior2017` found the opposite ranking, CD ahead of methods
# with persistent chains: which estimator does better depends on the data and
# on how well the Gibbs chain mixes on them.

# %% [markdown]
# ## 6. Sampling from the trained RBM with long Gibbs chains
#
# An RBM is sampled by running the block-Gibbs chain {eq}`ebm-gibbs` long
# enough to forget where it started. To see how long that is, we start
# `num_sample_chains` chains at the centre of the *lightest* mode,
# $(-1, -1)$, and follow the fraction of them in the top-right quadrant, for
# the PCD model and for the CD-1 model. Here, unusually, we know what that
# fraction should converge to: the model's exact quadrant probability.

# %%
@torch.no_grad()
def long_chains(params, num_chains, num_steps, generator):
    """Gibbs chains from (-half, -half); returns the final states (num_chains,
    2) and the top-right fraction after each step."""
    x = torch.full((num_chains, d), -half, dtype=DTYPE, device=device)
    in_quadrant = torch.empty(num_steps, dtype=DTYPE)
    for t in range(num_steps):
        x = gibbs_step(x, *params, generator)
        in_quadrant[t] = (x > 0).all(1).double().mean()
    return x.cpu().numpy(), in_quadrant.numpy()


sample_rng = torch.Generator(device=device).manual_seed(config.seed + 4)
chains_out = {}
for name in ("PCD", "CD-1"):
    start = time.perf_counter()
    chains_out[name] = long_chains(results[name]["params"],
                                   config.num_sample_chains,
                                   config.num_gibbs_steps, sample_rng)
    print(f"{name}: {config.num_sample_chains} chains x "
          f"{config.num_gibbs_steps} Gibbs steps in "
          f"{time.perf_counter() - start:.1f} s; "
          f"top-right fraction at the end {chains_out[name][1][-1]:.3f} "
          f"(model, exactly: {quadrant_mass(models[name]):.3f})")
samples = chains_out["PCD"][0]

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
steps = np.arange(1, config.num_gibbs_steps + 1)
for name, (_, frac) in chains_out.items():
    axes[0].plot(steps, frac, color=colors[name],
                 label=f"chains of the {name} model")
    axes[0].axhline(quadrant_mass(models[name]), color=colors[name],
                    ls="--", lw=1)
axes[0].axhline(quadrant_mass(p_data), color="k", ls=":",
                label="true density $p_r$")
axes[0].set(xscale="log", xlabel="Gibbs steps from $(-1, -1)$",
            ylabel="fraction of chains in the top right",
            ylim=(0, 1), title="(a) forgetting the start")
axes[0].legend(fontsize="small", loc="upper left")
samples_2d({"held-out data": x_test_np[:len(samples)],
            "PCD model, Gibbs samples": samples},
           ax=axes[1], lim=2.6, s=2,
           title=f"(b) after {config.num_gibbs_steps} Gibbs steps")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** (a) The fraction of Gibbs chains in the top-right quadrant,
# all started at the centre of the lightest mode, against the number of steps
# (log scale); the dashed lines are the exact quadrant probabilities of the
# two models, the dotted line the data's. In the `book` reference run the first chains
# arrive after about a hundred steps, and the fraction settles after two to
# three thousand: a mixing time of thousands of steps, against the one step of
# CD-1. Each set of chains converges to its own model's exact value (the
# numbers printed above agree to within $0.01$), so the sampler is not the
# problem; CD-1's model is. (b) The final states of the PCD model's chains, over
# as many held-out points.
#
# The squared MMD {eq}`gans-mmd` between these samples and held-out data,
# beside its value for two sets of real data, measures the same agreement with
# a kernel (`genmod.metrics.mmd2_against_real`); here it adds little to the
# exact log-likelihood, but it is what the book's other models can be compared on.

# %%
mmd = {name: mmd2_against_real(chains_out[name][0], x_test_np,
                               num_samples=config.mmd_num_samples,
                               seed=config.seed)
       for name in chains_out}
for name, m in mmd.items():
    print(f"{name}: MMD^2 samples vs held-out "
          f"{m['mmd2_generated_vs_real']:.5f}, held-out vs held-out "
          f"{m['mmd2_real_vs_real']:.5f} "
          f"(bandwidth {m['mmd_bandwidth']:.3f}, {m['mmd_num_samples']} points "
          "per set)")

# %% [markdown]
# In the `book` reference run the PCD samples' $\MMD^2$ is as small as that between two
# sets of held-out points (both are a few $10^{-4}$ or less, within the noise of
# the estimate), while CD-1's is about $0.07$.

# %% [markdown]
# (ebm-gaussian-rbm-mnist)=
# ## 7. The same model on real-valued digits
#
# The Gaussian-binary RBM models real vectors, so it can take the grey levels
# of MNIST as they are, without binarizing them. We standardise them: subtract
# each pixel's mean over the training digits and divide by one common standard
# deviation (that of all centred training pixels), so that the pixels have mean
# 0 and unit variance on average and $\sigma = 1$ is the natural scale. (Pixels
# at the border never light up; they stay exactly 0, which a $\sigma = 1$
# model explains badly but equally badly for every model below.) With
# $d_h = $ `mnist_hidden_dim` hidden units the model's marginal is a mixture of
# $2^{d_h}$ Gaussians $\N(\mathbf{a} + W\h, \I)$ {eq}`ebm-grbm-marginal`, whose
# $\log Z$, and hence whose held-out log-likelihood, is still exact: the sum
# runs over the $2^{d_h}$ hidden states and never over the 784 pixels.
#
# The reference point is the same model with $W = 0$: independent unit
# Gaussians at the pixel means, $\log p(\x) = -\frac12 \lVert \x \rVert^2 - \frac{784}{2}\log 2\pi$
# for centred data. Every nat per digit the RBM gains over it is structure
# that its hidden units have found. We train by PCD with `mnist_num_chains`
# persistent chains, taking the gradient of
# $\langle F \rangle_{\mathrm{data}} - \langle F \rangle_{\mathrm{chains}}$ by
# autograd as in section 4, with SGD with momentum.

# %%
# prints its source
(mnist_train, mnist_train_labels), (mnist_test, _) = genmod.load_mnist()
# (8000, 784) in [0, 1]
grey_train = mnist_train.reshape(len(mnist_train), -1) / 255.0
grey_test = mnist_test.reshape(len(mnist_test), -1) / 255.0
pixel_mean = grey_train.mean(0)                                    # (784,)
# one number: the std of all centred pixels
pixel_scale = (grey_train - pixel_mean).std()
xm_train = torch.as_tensor((grey_train - pixel_mean) / pixel_scale,
                           dtype=DTYPE, device=device)
xm_test = torch.as_tensor((grey_test - pixel_mean) / pixel_scale,
                          dtype=DTYPE, device=device)
dm, dm_h, sigma_m = xm_train.shape[1], config.mnist_hidden_dim, 1.0
print(f"standardised digits: train {tuple(xm_train.shape)}, test "
      f"{tuple(xm_test.shape)}; one scale "
      f"{pixel_scale:.4f} grey levels; mean pixel variance "
      f"{xm_train.var(0).mean():.3f}")


# %% [markdown]
# With $d_h = $ `mnist_hidden_dim` the exact $\log Z$ sums over $2^{d_h}$
# hidden states, so the test log-likelihood is exact after every epoch.

# %%
def grbm_test_ll(W, a, b, x):
    """Exact mean log p(x) = -F(x) - log Z over the rows of x, and its
    standard error (nats per digit)."""
    ll = (-grbm_free_energy(x, W, a, b, sigma_m)
          - grbm_log_z_exact(W, a, b, sigma_m))
    return ll.mean().item(), (ll.std() / np.sqrt(len(ll))).item()


# %% [markdown]
# Training is PCD-1 with SGD and momentum, the surrogate loss of section 4.

# %%
def train_grbm_mnist():
    """PCD-1 on the standardised digits; the exact test log-likelihood after
    every epoch."""
    init = torch.Generator(device=device).manual_seed(config.seed + 10)
    W = (0.01 * torch.randn(dm, dm_h, dtype=DTYPE, device=device,
                            generator=init)).requires_grad_()
    a = xm_train.mean(0).clone().requires_grad_()  # the data mean (0 here)
    b = torch.zeros(dm_h, dtype=DTYPE, device=device, requires_grad=True)
    chains = xm_train[torch.randint(len(xm_train), (config.mnist_num_chains,),
                                    device=device, generator=init)]
    steps_per_epoch = len(xm_train) // config.mnist_batch_size
    num_steps = config.mnist_epochs * steps_per_epoch
    opt = torch.optim.SGD([W, a, b], lr=config.mnist_lr,
                          momentum=config.mnist_momentum)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt,
                                                 lambda t: 1 - t / num_steps)
    test_ll = [grbm_test_ll(W.detach(), a.detach(), b.detach(), xm_test)[0]]
    for epoch in range(config.mnist_epochs):
        perm = torch.randperm(len(xm_train), device=device, generator=init)
        perm = perm[: steps_per_epoch * config.mnist_batch_size]
        for idx in perm.split(config.mnist_batch_size):
            with torch.no_grad():  # one Gibbs step of the persistent chains
                h = torch.bernoulli(grbm_p_h_given_x(chains, W, b, sigma_m),
                                    generator=init)
                chains = grbm_sample_x_given_h(h, W, a, sigma_m, generator=init)
            # <F>_data - <F>_chains: its gradient is minus the PCD estimate
            # of the log-likelihood gradient
            loss = (grbm_free_energy(xm_train[idx], W, a, b, sigma_m).mean()
                    - grbm_free_energy(chains, W, a, b, sigma_m).mean())
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
        test_ll.append(
            grbm_test_ll(W.detach(), a.detach(), b.detach(), xm_test)[0])
    return W.detach(), a.detach(), b.detach(), test_ll


# %%
start = time.perf_counter()
Wm, am, bm, mnist_curve = train_grbm_mnist()
mnist_seconds = time.perf_counter() - start
mnist_ll, mnist_ll_se = grbm_test_ll(Wm, am, bm, xm_test)
# W = 0, b = 0
baseline = (-0.5 * (xm_test - xm_train.mean(0)) ** 2
            - 0.5 * np.log(2 * np.pi)).sum(-1)
baseline_ll = baseline.mean().item()
baseline_se = (baseline.std() / np.sqrt(len(baseline))).item()
print(f"PCD-1, d_h = {dm_h}, {config.mnist_epochs} epochs in "
      f"{mnist_seconds:.0f} s")
print(f"exact test log-likelihood {mnist_ll:.2f} +- {mnist_ll_se:.2f} nats per "
      "digit (standardised units); "
      f"W = 0 baseline {baseline_ll:.2f} +- {baseline_se:.2f}; gain "
      f"{mnist_ll - baseline_ll:.2f} nats")
genmod.glue("mnist_gain", mnist_ll - baseline_ll)

# %% [markdown]
# The log-likelihoods are densities of the *standardised* digits: in grey
# levels in $[0, 1]$ each is $784 \log(1/s)$ nats higher, with $s$ the common
# scale printed above, and neither is comparable with the binary RBM's
# log-likelihoods of bits in {doc}`rbm_mnist_torch`.
#
# Because the marginal is an explicit mixture, we can look at it directly: the
# means $\mathbf{a} + W\h$ of its most probable components, and their weights
# $\pi_\h$ {eq}`ebm-grbm-marginal`, next to the digits that free-running Gibbs
# chains reach from noise.

# %%
with torch.no_grad():
    # (2^d_h, d_h), (2^d_h,)
    states, log_pi = grbm_log_mixture_weights(Wm, am, bm, sigma_m)
    pi = torch.softmax(log_pi, 0)  # mixture weights, eq. ebm-grbm-marginal
    top = torch.argsort(pi, descending=True)[:24]
    component_means = states[top] @ Wm.T + am  # (24, 784), standardised
    gibbs = torch.Generator(device=device).manual_seed(config.seed + 11)
    # noise
    x_chain = torch.randn(64, dm, dtype=DTYPE, device=device, generator=gibbs)
    for _ in range(config.mnist_gibbs_steps):
        h_chain = torch.bernoulli(grbm_p_h_given_x(x_chain, Wm, bm, sigma_m),
                                  generator=gibbs)
        x_chain = grbm_sample_x_given_h(h_chain, Wm, am, sigma_m,
                                        generator=gibbs)
    chain_means = h_chain @ Wm.T + am  # E[x | h] of the last step


def to_grey(x):
    """Standardised vectors (N, 784) back to 28 x 28 grey levels, clipped
    to [0, 1] for display only."""
    grey = np.clip(x.cpu().numpy() * pixel_scale + pixel_mean, 0, 1)
    return grey.reshape(-1, 28, 28)


fig, axes = plt.subplots(1, 3, figsize=(14, 4.4))
filters = Wm.T.reshape(-1, 28, 28).cpu()
limit = float(filters.abs().max())
image_grid(filters, nrow=5, ax=axes[0], value_range=(-limit, limit),
           cmap="RdBu_r",
           title=f"the {dm_h} columns of $W$ ($\\pm${limit:.2f})")
image_grid(to_grey(component_means), nrow=6, ax=axes[1],
           title=f"the 24 heaviest of $2^{{{dm_h}}}$ components\n(together "
                 f"{pi[top].sum():.1%} of the mass)")
image_grid(to_grey(chain_means), nrow=8, ax=axes[2],
           title=f"$E[\\mathbf{{x}}|\\mathbf{{h}}]$ after "
                 f"{config.mnist_gibbs_steps} Gibbs steps")
fig.tight_layout()
plt.show()
print("weights of the six heaviest components:",
      np.round(pi[top[:6]].cpu().numpy(), 4).tolist())

# %% [markdown]
# **Figure.** The Gaussian-binary RBM on standardised MNIST. Left: its
# `mnist_hidden_dim` filters, the columns of $W$ (red positive, blue negative).
# Middle: the means $\mathbf{a} + W\h$ of the 24 mixture components with the
# largest weights $\pi_\h$, mapped back to grey levels (values outside $[0, 1]$
# clipped for display). Right: the means $\mathbf{a} + W\h$ reached by 64 Gibbs
# chains after `mnist_gibbs_steps` steps from Gaussian noise (the samples
# themselves add unit Gaussian noise to every pixel, which would hide them).
#
# With 20 hidden units the model is a mixture of about a million Gaussians
# whose means are sums of a few of 20 prototypes: each component mean is the
# pixel mean plus the columns of $W$ whose unit is on. In the `book` reference run (15
# epochs, about half a minute on one CPU core) its exact held-out log-likelihood was
# $-1008.3 \pm 1.9$ nats per standardised digit against $-1141.1 \pm 2.5$ for
# the independent-pixel baseline, a gain of 133 nats; yet the mass is
# concentrated: the 24 heaviest of its $2^{20}$ components carried 92 % of it
# and the heaviest alone 48 %. Those components and the chains show blurred
# 3s, 5s, 0s and 8s, and few other classes; with so few
# hidden units and one shared $\sigma$ the model cannot be sharp, and
# {cite}`hinton2012practical` discusses why Gaussian-binary RBMs are hard to
# train (the step size must be far smaller than for binary units, and a learned
# $\sigma$ tends to collapse).

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.plot(range(len(mnist_curve)), mnist_curve, marker="o",
        label="Gaussian-binary RBM (PCD-1)")
ax.axhline(baseline_ll, color="C3", ls="--",
           label="$W = 0$: independent unit Gaussians")
ax.set_xlabel("epoch")
ax.set_ylabel("exact test log-likelihood\n(nats per standardised digit)")
ax.legend()
plt.show()

# %% [markdown]
# **Figure.** The exact held-out log-likelihood of the standardised test
# digits after each epoch of PCD training (epoch 0: the initial model, nearly
# the baseline), against the independent-Gaussian baseline (dashed).

# %% [markdown]
# Finally we save the 2D PCD model's Gibbs samples, the metrics of all four 2D runs and of the MNIST model,
# for the book's comparison of models, and the PCD model's parameters beside them.

# %%
tags = {"exact gradient": "exact", "CD-1": "cd1", "CD-10": "cd10", "PCD": "pcd"}
pcd = results["PCD"]
metrics = {"test_log_likelihood": pcd["test_ll"],
           "test_log_likelihood_se": pcd["test_ll_se"],
           "train_log_likelihood": pcd["train_ll"],
           "true_test_log_likelihood": true_ll.mean(),
           "log_z_exact": pcd["log_z"], "train_time_s": pcd["seconds"],
           "mmd2": mmd["PCD"]["mmd2_generated_vs_real"],
           "mmd2_real_vs_real": mmd["PCD"]["mmd2_real_vs_real"],
           "mmd_bandwidth": mmd["PCD"]["mmd_bandwidth"],
           "mmd_num_samples": mmd["PCD"]["mmd_num_samples"],
           "num_samples": len(samples)}
metrics |= {"mnist/test_log_likelihood": mnist_ll,
            "mnist/test_log_likelihood_se": mnist_ll_se,
            "mnist/baseline_test_log_likelihood": baseline_ll,
            "mnist/log_z_exact": grbm_log_z_exact(Wm, am, bm, sigma_m).item(),
            "mnist/train_time_s": mnist_seconds}
for name, tag in tags.items():
    r = results[name]
    metrics |= {f"{tag}/test_log_likelihood": r["test_ll"],
                f"{tag}/log_z_exact": r["log_z"],
                f"{tag}/train_time_s": r["seconds"]}
folder = genmod.save_artifacts(NOTEBOOK, samples, metrics, kind="points",
                               config=config, device=str(device))
W_pcd, a_pcd, b_pcd = (p.cpu().numpy() for p in pcd["params"])
np.savez(genmod.artifacts.artifacts_dir(NOTEBOOK) / "params.npz", W=W_pcd,
         a=a_pcd, b=b_pcd, sigma=sigma)
np.savez(genmod.artifacts.artifacts_dir(NOTEBOOK) / "params_mnist.npz",
         W=Wm.cpu().numpy(), a=am.cpu().numpy(),
         b=bm.cpu().numpy(), sigma=sigma_m, pixel_mean=pixel_mean,
         pixel_scale=pixel_scale)
print(f"saved {len(samples)} samples, {len(metrics)} metrics, the PCD model's "
      "W, a, b, sigma (params.npz) "
      "and the MNIST model's with its standardisation (params_mnist.npz) to "
      f"{folder}")
print(f"PCD: held-out log-likelihood {pcd['test_ll']:.4f} nats per point, true "
      f"density {true_ll.mean():.4f}, "
      f"gap {true_ll.mean() - pcd['test_ll']:.4f}; log Z = {pcd['log_z']:.3f}")

# %% [markdown]
# ## What differs from the reference run
#
# There is no published reference run for this toy problem; the `full` scale
# is the longer run of the same experiment. It keeps the data distribution,
# the model, the initialisation, the optimiser and the initial step size, and
# changes the budget: 200,000 steps instead of 20,000 per run, 20,000 training
# and held-out points instead of 5,000, and 10,000 long chains of 50,000 Gibbs
# steps instead of 4,000 of 10,000. Our `full` run took about 8 minutes on one
# CPU core. With ten times as many steps the exact gradient ended within
# $0.001$ nats of the truth, PCD within $0.004$ and CD-10 within $0.003$: CD-10's
# ten-step chains had time to move the weights. CD-1 was still $0.17$ nats short,
# with weights between $0.21$ and $0.32$ and canonical hidden biases of about
# $(0.3, 0.2)$: moving, but slowly. The `quick` scale (1,500 steps) only checks
# that the notebook runs; its numbers are not meant to be read. Results on a
# GPU may differ from CPU results in the last digits.
#
# The MNIST section (section 7) has no reference run either: it uses the
# offline 8,000 training and 2,000 test digits, $d_h = 20$ (the largest for which
# the exact $\log Z$ stays cheap), $\sigma = 1$ fixed, and 15 epochs of PCD-1 at
# `book` scale (100 at `full`).
#
# ## Summary
#
# - A Gaussian-binary RBM with a shared visible $\sigma$ is a mixture of
#   $2^{d_h}$ Gaussians whose means are $\mathbf{a}$ plus sums of columns of
#   $W$ and whose weights are set by $\mathbf{b}$ and by the geometry of the
#   means {eq}`ebm-grbm-marginal`. With small $d_h$ its $\log Z$, its
#   log-likelihood and its density are exact.
# - The log-likelihood gradient is a positive phase at the data minus a
#   negative phase under the model {eq}`ebm-loglik-gradient`; autograd of
#   $\langle F \rangle_{\mathrm{data}} - \langle F \rangle_{\mathrm{samples}}$
#   gives the learning rule {eq}`ebm-rbm-learning-rule` without writing it out.
# - On four well-separated modes of unequal weight, every estimator learns the
#   position and width of the modes. The exact gradient and PCD also learn
#   the weights and come close to the true density's held-out log-likelihood
#   (in this run {glue:text}`kl_exact:.3f` and {glue:text}`kl_pcd:.3f` nats
#   short); CD-1 leaves the weights near where they started and stays
#   {glue:text}`kl_cd1:.2f` nats short, CD-10 {glue:text}`kl_cd10:.2f` (in the
#   `book` reference run: within 0.01, 0.23 and 0.12).
# - The reason is mixing: a block-Gibbs chain changes mode in about one step
#   in a thousand when the modes are $6.7\sigma$ apart, and needs thousands of
#   steps to forget its start; CD-1's negative samples, one step from the data,
#   carry almost no information about how much probability each mode should get.
# - On standardised MNIST the same model, with 20 hidden units, is a mixture of
#   about a million Gaussians whose exact held-out log-likelihood beats
#   independent pixels by {glue:text}`mnist_gain:.0f` nats per digit in this
#   run (133 in the `book` reference run), while its mass sits on a few dozen
#   blurred prototypes.
#
# ## Exercises
#
# ```{exercise}
# :label: ebm-ex-gaussian-rbm-torch-cd-update
#
# Take the parameters that CD-1 ended with, `results["CD-1"]["params"]`, and
# compute at them (a) the exact gradient of the expected log-likelihood,
# autograd of $\E_{\pr}[-F(\x)] - \log Z$ with the expectation a mean over
# $10^6$ points drawn from `p_data`, and (b) the expected CD-1 update
# {eq}`ebm-cd`, the mean over the same points and their one-step chains of
# $-\nabla F(\x) + \nabla F(\tilde\x)$. Compare the two for $\mathbf{b}$, for
# $\mathbf{a}$ and for $W$. Roughly how many steps at $\eta = 0.01$ would CD-1
# need to move the weights to the truth?
# ```
#
# ```{solution} ebm-ex-gaussian-rbm-torch-cd-update
# :class: dropdown
#
# The cell below computes both with $2 \times 10^5$ points. In our book-scale
# reference run (two million points) the exact gradient for
# $\mathbf{b}$ had components of about $0.14$ and $0.26$, and the expected CD-1
# update was about 600 times smaller, $2$–$4 \times 10^{-4}$, though pointing the
# same way (its standard error was about $2 \times 10^{-5}$). For $\mathbf{a}$
# and $W$ the exact gradient was larger still, with components between $1$ and
# $6$: with $\sigma^2 = 0.09$ a small shift of the square moves a lot of weight
# between the modes (Section 5), so the likelihood pulls hard on $\mathbf{a}$ and
# $W$. CD-1's expected update for them was below $0.1$ and did not point the same
# way: the data and their one-step chains already agree in their averages of
# $\nabla F$, except for the rare chains that cross. So CD-1 is almost
# stationary on a whole family of models with the right modes and wrong
# weights. At $\eta = 0.01$ and $3 \times 10^{-4}$ per step, moving $\mathbf{b}$ by
# one unit takes some $3 \times 10^{5}$ steps, and the update shrinks as the model
# improves: of order $10^5$ to $10^6$ steps, not $2 \times 10^4$. The `full` run,
# with 200,000 steps, moved CD-1's canonical $\mathbf{b}$ to only about
# $(0.3, 0.2)$.
# ```

# %% tags=["hide-input"]
theta_cd1 = [p.clone().requires_grad_() for p in results["CD-1"]["params"]]
x_p = torch.as_tensor(p_data.sample(200_000, np.random.default_rng(5)),
                      dtype=DTYPE, device=device)
mean_f = grbm_free_energy(x_p, *theta_cd1, sigma).mean()
exact_grad = torch.autograd.grad(
    -mean_f - grbm_log_z_exact(*theta_cd1, sigma), theta_cd1)
with torch.no_grad():                     # one Gibbs step from every point
    x_tilde = gibbs_step(x_p, *[p.detach() for p in theta_cd1],
                         torch.Generator(device=device).manual_seed(6))
mean_f = grbm_free_energy(x_p, *theta_cd1, sigma).mean()
cd1_update = torch.autograd.grad(
    -mean_f + grbm_free_energy(x_tilde, *theta_cd1, sigma).mean(), theta_cd1)
for name, g_exact, g_cd in zip(("W", "a", "b"), exact_grad, cd1_update):
    print(f"{name}: exact gradient "
          f"{np.round(g_exact.flatten().cpu().numpy(), 4).tolist()}, "
          f"expected CD-1 update "
          f"{np.round(g_cd.flatten().cpu().numpy(), 5).tolist()}")

# %% [markdown]
#
# ```{exercise}
# :label: ebm-ex-gaussian-rbm-torch-learn-sigma
#
# Learn $\sigma$ too. Make it a parameter, $\sigma = e^{s}$ with $s$ a tensor
# that requires a gradient (give it its own step size, $0.001$), pass $\sigma$ to
# `grbm_free_energy`, `grbm_p_h_given_x` and `grbm_sample_x_given_h` (they
# accept a tensor), and start it at $\sigma = 0.6$. Train with CD-1 and PCD.
# Where does $\sigma$ go? Why does CD-1 learn it even though it does not learn
# the weights?
# ```
#
# ```{solution} ebm-ex-gaussian-rbm-torch-learn-sigma
# :class: dropdown
#
# In our runs both brought $\sigma$ to $0.300$ within the first 4,000 steps and
# kept it there; PCD also learned the weights, CD-1 again did not (its held-out
# log-likelihood stayed more than $0.15$ nats short). The width of a mode is a
# property *within* the mode: a single Gibbs step from a data point already
# samples the model's local shape around it, so CD-1's positive and negative
# phases differ whenever the width is wrong, and the gradient for $s$ is not
# small. What CD-1 cannot see is the relative mass of modes that its chains do
# not travel between. A $\sigma$ that shrinks makes the chains mix more slowly
# still, which is one reason why learning $\sigma$ is delicate in image models
# ({cite}`hinton2012practical`, {cite}`cho2011`, {cite}`melchior2017`). For the exact gradient you
# needs $\log Z$ as a differentiable function of $\sigma$: `grbm_log_z_exact` is
# one when $\sigma$ is a tensor with `requires_grad=True`, and then the exact
# gradient brings $\sigma$ to $0.30$ too.
# ```
#
# ```{exercise}
# :label: ebm-ex-gaussian-rbm-torch-triangle
#
# Can a Gaussian-binary RBM with $d_h = 2$ represent three equal Gaussians at
# the corners of an equilateral triangle of side 2, with $\sigma = 0.3$?
# Derive the identity
# $\log \dfrac{\pi_{11}\, \pi_{00}}{\pi_{10}\, \pi_{01}} = \dfrac{\mathbf{w}_1^\top \mathbf{w}_2}{\sigma^2}$
# from {eq}`ebm-grbm-marginal` and use it. Then train on such data with the exact
# gradient, $d_h = 2$ and $d_h = 3$, and compare the held-out log-likelihoods with
# the true density's.
# ```
#
# ```{solution} ebm-ex-gaussian-rbm-torch-triangle
# :class: dropdown
#
# With $\log \pi_\h = \mathbf{b}^\top\h + (2\mathbf{a}^\top W\h + \h^\top W^\top W \h)/(2\sigma^2) + \text{const}$,
# the terms linear in $\h$ cancel in the ratio, and the quadratic one leaves
# $\mathbf{w}_1^\top \mathbf{w}_2/\sigma^2$. To put three equal components on the
# corners, three of the four means $\mathbf{a}$, $\mathbf{a} + \mathbf{w}_1$,
# $\mathbf{a} + \mathbf{w}_2$, $\mathbf{a} + \mathbf{w}_1 + \mathbf{w}_2$ must be
# the corners, and the fourth, the missing corner of the parallelogram, must
# have a negligible weight. Solve the identity for the missing weight, with
# the other three equal to $\pi$: whichever corner is missing, the result is
# $\pi\, e^{c}$ with $c = \lVert\mathbf{u}\rVert \lVert\mathbf{v}\rVert \cos\omega / \sigma^2$,
# where $\mathbf{u}$, $\mathbf{v}$ are the two sides of the parallelogram at the
# corner opposite the missing one and $\omega$ is the angle between them. For
# the equilateral triangle $\omega = 60°$ and $c = 2/0.09 \approx 22$, so the
# missing component would be $e^{22} \approx 4.5 \times 10^{9}$ times heavier than
# each of the three. It cannot be switched off, and $d_h = 2$ cannot represent
# the triangle. In our runs (5,000 training points, the other settings of this
# notebook) the exact-gradient fit with $d_h = 2$ compromised on a rhombus of
# four components, three of them near the corners and a fourth below the
# triangle with weight $0.08$, and stayed $0.63$ nats below the true density's
# held-out log-likelihood. With $d_h = 3$ there are eight components: three sat
# on the corners with weight $0.32$ each, three lighter ones ($0.014$ each) at
# the corners of the same triangle turned upside down, and the fit came within
# $0.03$ nats of the truth;
# $d_h = 4$ did no better. Mixtures that a Gaussian RBM represents well are those
# whose means are (close to) the corners of a zonotope, sums of subsets of the
# columns of $W$ {cite}`melchior2017`.
# ```
#
# ```{exercise}
# :label: ebm-ex-gaussian-rbm-torch-mixing
#
# Repeat Section 4 with $\sigma = 0.45$ for both the data and the model (the modes are
# then $4.4\sigma$ apart). Predict, before you run it, how the crossing fractions
# of Section 5 and CD-1's gap to the truth change, and check your prediction.
# ```
#
# ```{solution} ebm-ex-gaussian-rbm-torch-mixing
# :class: dropdown
#
# Overlapping modes make the Gibbs chain cross more often. In our run with
# $\sigma = 0.45$ (the other settings unchanged), about $5\,\%$ of the one-step
# chains from held-out points ended in another quadrant, some twenty times as
# many as with $\sigma = 0.3$. CD-1's gradient for the weights grows with the
# crossings, and its gap to the truth fell from $0.23$ to about $0.05$ nats;
# CD-10, PCD and the exact gradient all ended within $0.003$ nats. The
# log-likelihoods themselves are lower (about $-2.27$ nats per point for the
# true density), since each mode is wider.
# ```
#
# ## References
#
# Contrastive divergence is from {cite}`hinton2002` and persistent contrastive
# divergence from {cite}`tieleman2008`; {cite}`carreiraperpinan2005` studied the
# fixed points of CD. The practical guide {cite}`hinton2012practical` and
# {cite}`cho2011` discuss training Gaussian-binary RBMs and learning their
# visible variances, and {cite}`melchior2017` analyse the Gaussian-binary RBM as
# a constrained mixture of Gaussians, with two-dimensional examples like this one.
