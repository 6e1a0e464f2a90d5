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
# # An RBM per temperature, judged by the exact thermodynamics (PyTorch)
#
# We repeat the experiment of Torlai and Melko {cite}`torlai2016`: at each temperature
# of a grid through $T_c$, a restricted Boltzmann machine (the book's binary RBM of
# {doc}`../ebm/theory`) learns the Wolff samples of the $8 \times 8$ Ising torus, and
# the energy, $|m|$, specific heat and susceptibility of its Gibbs samples are compared
# with Kaufman's exact values and with Monte Carlo, for two numbers of hidden units.
# Before any learning, an RBM that represents the Boltzmann distribution *exactly*
# (one hidden unit per bond) is sampled by the same Gibbs code, so that what goes
# wrong afterwards is the learning's fault, not the sampler's.
#
# ```{admonition} Learning goals
# :class: tip
#
# After this notebook you can
#
# - build the RBM whose marginal is exactly the Ising Boltzmann distribution
#   {eq}`physics-rbm-exact-ising`, check it by enumeration and sample it;
# - train many RBMs at once (one per temperature, as one batched tensor) with
#   persistent contrastive divergence {eq}`ebm-pcd`, using the symmetries of the model
#   exactly: a flip-symmetric parametrisation {eq}`physics-rbm-flip-symmetric` and
#   translations, rotations and reflections of the data;
# - draw Gibbs samples {eq}`ebm-gibbs` thinned by their measured integrated
#   autocorrelation time {eq}`physics-tau-int`, and judge them against the exact energy
#   and specific heat {eq}`physics-energy-from-z` in units of their standard error;
# - see where in temperature the number of hidden units matters.
# ```
#
# The model and the judges are in {doc}`ising`; the data, the physics part's one
# data set (`genmod.ising.book_dataset`), in {doc}`ising_data`.

# %% tags=["hide-input"]
# Setup: install the book's helper package when it is missing (Colab, Binder).
import importlib.util, subprocess, sys
REPO_URL = "https://github.com/genmod-book/genmod-book"
# this notebook's name: its artifacts and checkpoints are filed under it
NOTEBOOK = "ising_rbm_torch"
if importlib.util.find_spec("genmod") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    f"genmod @ git+{REPO_URL}.git#subdirectory=code"],
                   check=True)

import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

import genmod
from genmod import pick
from genmod import ising
from genmod.ising import T_C
from genmod.ising_rbm import (exact_ising_rbm, random_symmetry,
                              spins_to_visible, symmetric_biases,
                              visible_to_spins)
from genmod.plotting import thermodynamics_vs_exact
from genmod.rbm import bernoulli, free_energy, gibbs_step
from genmod.torchutils import get_device, load_or_train, seed_everything

print(f"scale: {genmod.get_scale()}")
device = get_device()
seed_everything(0)
data = ising.book_dataset()  # prints where the lattices come from

# %% [markdown]
# ## Configuration
#
# Units: $k_B = J = 1$. The data are the physics part's one data set
# (`genmod.ising.BOOK_DATASET`): Wolff lattices of the $8 \times 8$ torus on a grid of
# fourteen temperatures, the same at every scale, dense around the exact
# specific-heat peak, $T^* = 2.362$, so that the peak of a measured $C(T)$ can be
# located within $0.1$. The target of this part, the energy within 2 % of exact,
# applies "away from $T_c$": at the temperatures with $|T - T_c| >$ `away_from_tc`.
# Every temperature is reported anyway.
#
# The training settings are the same at every scale; only the number of live training
# steps and the sizes of the sampling runs change. The checkpointed models are trained
# by the same code for `checkpoint_steps` steps on `checkpoint_data` lattices per
# temperature, **on their own grid** of twelve temperatures
# (`checkpoint_temperatures`, all of them in the data set's grid; their data were
# sampled by `genmod.ising.ising_dataset` with `checkpoint_data_chains` chains and the
# seed `data_seed`). An RBM models one temperature, so the checkpoint has no RBM at
# the two temperatures of the grid that its own grid lacks, 2.6 and 2.8: there its
# rows below are empty.

# %%
config = genmod.Config(
    L=8,                      # side of the torus (d = L^2 = 64 visible units)
    J=1.0,                    # the coupling (units of energy)
    away_from_tc=0.15,        # "away from T_c": |T - T_c| > this (J/k_B)
    # the checkpoint's own grid (J/k_B), all in the data set's grid
    checkpoint_temperatures=(1.5, 1.8, 2.0, 2.1, 2.2, 2.3, 2.35, 2.4, 2.5,
                             2.7, 3.0, 3.5),
    checkpoint_data_chains=50,  # Wolff chains of the checkpoint's data
    data_seed=0,              # seed of the checkpoint's data (T_l: seed + l)
    hidden_sizes=(16, 64),    # d_h of the learned RBMs: the knob
    init_std=0.3,             # standard deviation of the initial weights
    lr=0.01,                  # Adam learning rate at the start
    lr_final_fraction=0.01,   # the rate decays linearly to this fraction
    batch_size=200,           # data lattices per temperature per step
    num_chains=200,           # persistent chains per temperature (PCD)
    pcd_k=5,                  # Gibbs steps of the chains per update
    seed=0,                   # seed of the training and sampling generators
    # live training steps (all temperatures at once)
    num_steps=pick(quick=100, book=800, full=12000),
    log_every=pick(quick=50, book=250, full=1000),  # steps between records
    checkpoint_steps=20000,   # training steps of the checkpointed RBMs
    checkpoint_data=4000,     # Wolff lattices per temperature they saw
    # Gibbs chains per temperature, from random starts
    sample_chains=pick(quick=40, book=200, full=1000),
    burn_in=pick(quick=100, book=400, full=2000),  # Gibbs steps discarded
    # Gibbs steps of the run that measures tau_int
    pilot_steps=pick(quick=100, book=400, full=2000),
    # kept states per chain, 2 tau_int apart
    samples_per_chain=pick(quick=5, book=10, full=20),
    num_blocks=20,            # jackknife blocks (whole chains) per T
    enumeration_L=3,          # side of the torus checked by enumeration
)
# %% [markdown]
# ## 1. The data
#
# The Wolff samples of the physics part's data set (loaded in the setup cell; cached by
# their settings), checked against the exact values as in {doc}`ising_data`. They are
# the training data and the Monte Carlo reference for $|m|$ and $\chi$, which have no
# closed form on a finite torus. Here $\chi$ is {eq}`physics-susceptibility`, computed
# with $|m|$ (the $\chi'$ of some texts): above $T_c$ it is not the thermodynamic
# susceptibility $L^2\langle m^2\rangle/T$ but smaller ({doc}`ising`); the models are
# compared with the data in the same $\chi$, like with like.

# %%
# the physics part's grid (J/k_B)
temperatures = data.temperatures
L, d = config.L, config.L**2
assert (data.settings["L"], data.settings["J"]) == (L, config.J)
exact = ising.kaufman_thermodynamics(L, temperatures, J=config.J)
t_peak_exact, c_max_exact = ising.exact_specific_heat_peak(L, J=config.J)
print(
    f"exact specific-heat peak of the {L} x {L} torus: T* = "
    f"{t_peak_exact:.4f}, C_max = {c_max_exact:.4f}"
)
# (n_T, num_samples, L, L) int8, each T's chains in order
data_spins = data.spins()
cmp_data = ising.compare_with_exact(
    data_spins, temperatures, J=config.J, num_blocks=config.num_blocks
)
print(
    "Wolff data: largest |z| against Kaufman: energy "
    f"{np.abs(cmp_data.energy_z).max():.2f}, "
    f"specific heat {np.abs(cmp_data.specific_heat_z).max():.2f}"
)

# %% [markdown]
# ## 2. An RBM that is exactly the Ising model
#
# With visible units $x_i = (s_i + 1)/2$, one hidden unit per bond, joined to the bond's
# two ends with weight $w$ and bias $-w$, and visible biases $-2w$, the free energy of the
# RBM is the Ising energy times $\beta$ up to a constant, when $w = 2\operatorname{arccosh} e^{2K}$
# {eq}`physics-rbm-exact-ising` ($K = J/T$; the derivation is in {doc}`ising`). So this RBM,
# with $d_h = 2L^2 = 128$ hidden units for $L = 8$, *is* the Boltzmann distribution, and its
# block-Gibbs chain is a Markov chain that leaves it invariant. First the construction,
# then a check by enumeration of all $2^{9}$ states of the $3 \times 3$ torus:

# %%
genmod.show_source(exact_ising_rbm)

# %%
Le = config.enumeration_L
# (2^(Le^2), Le, Le), every configuration
states = ising.all_spin_states(Le)
for t in (1.5, T_C, 3.0):
    W_e, a_e, b_e, offset = exact_ising_rbm(Le, t, J=config.J)
    F = free_energy(
        spins_to_visible(states, dtype=torch.float64)[None],
        W_e[None],
        a_e[None],
        b_e[None],
    )[0]
    beta_E = (
        torch.as_tensor(ising.energy(states, J=config.J), dtype=torch.float64)
        / t
    )
    # eq. physics-rbm-exact-ising
    gap = (F - beta_E - offset).abs().max().item()
    print(
        f"{Le} x {Le} torus, T = {t:.3f}: w = {W_e.max().item():.4f}, "
        f"max over the {len(states)} states of |F(x) - E(s)/T - offset| = "
        f"{gap:.1e}"
    )

# %% [markdown]
# ### The Gibbs sampler, checked on the exact RBM
#
# Every RBM below is sampled by one function: `sample_rbms` runs `sample_chains` chains per
# temperature from random states, discards `burn_in` steps, measures the integrated
# autocorrelation time {eq}`physics-tau-int` of $E$ and $|m|$ on a pilot run of
# `pilot_steps` steps, and then keeps `samples_per_chain` states of each chain, spaced
# $\lceil 2\tau_{\mathrm{int}} \rceil$ steps apart (each temperature with its own $\tau_{\mathrm{int}}$).
# The kept lattices are returned chain by chain, so the jackknife blocks are whole chains.

# %%
def lattice_energy_and_m(v, L):
    """Energy per spin and |m| of visible states v (..., L*L) in {0, 1}; the
    spins are s = 2v - 1."""
    s = (2 * v - 1).reshape(*v.shape[:-1], L, L)
    # eq. physics-ising-energy, J = 1
    e = -(s * s.roll(1, -1) + s * s.roll(1, -2)).sum((-1, -2)) / L**2
    return e, s.mean((-1, -2)).abs()


# %%
def sample_rbms(W, a, b, *, num_chains, burn_in, pilot_steps,
                samples_per_chain, generator, J=1.0):
    """Gibbs samples of a batch of n_T RBMs, thinned by each one's tau_int.

    Returns (spins, tau, thinning): int8 lattices of ±1, shape
    (n_T, num_chains * samples_per_chain, L, L), chain after chain; tau
    (n_T, 2), the tau_int of E and |m| in Gibbs steps; thinning (n_T,).
    """
    n_T, d, _ = W.shape
    L = math.isqrt(d)
    step = lambda v: gibbs_step(v, W, a, b, generator=generator)[0]
    with torch.no_grad():
        v = bernoulli(torch.full((n_T, num_chains, d), 0.5, dtype=W.dtype,
                                 device=W.device), generator=generator)
        for _ in range(burn_in):
            v = step(v)
        trace_e, trace_m = [], []
        for _ in range(pilot_steps):
            v = step(v)
            e, m = lattice_energy_and_m(v, L)
            trace_e.append(e.cpu())
            trace_m.append(m.cpu())
        trace_e = torch.stack(trace_e, -1).double().numpy()
        trace_m = torch.stack(trace_m, -1).double().numpy()
        tau = np.array([[ising.integrated_autocorrelation_time(x[k])[0]
                         for x in (J * trace_e, trace_m)] for k in range(n_T)])
        thinning = np.ceil(2 * tau.max(1)).astype(int)
        kept = [[] for _ in range(n_T)]
        for t in range(1, int(thinning.max()) * samples_per_chain + 1):
            v = step(v)
            for k in range(n_T):
                if t % thinning[k] == 0 and len(kept[k]) < samples_per_chain:
                    kept[k].append(v[k].clone())
    spins = np.stack([visible_to_spins(torch.stack(kept[k], 1), L)
                      for k in range(n_T)])      # (n_T, chains, n, L, L)
    return spins.reshape(n_T, -1, L, L), tau, thinning


# %% [markdown]
# The exact RBMs of all temperatures, stacked into one batch, sampled by it:

# %%
gen = torch.Generator(device=device).manual_seed(config.seed)
exact_rbm = [
    exact_ising_rbm(L, t, J=config.J, dtype=torch.float32) for t in temperatures
]
W_x, a_x, b_x = (
    torch.stack([p[i] for p in exact_rbm]).to(device) for i in range(3)
)
start = time.perf_counter()
spins_x, tau_x, thin_x = sample_rbms(
    W_x,
    a_x,
    b_x,
    num_chains=config.sample_chains,
    burn_in=config.burn_in,
    pilot_steps=config.pilot_steps,
    samples_per_chain=config.samples_per_chain,
    generator=gen,
    J=config.J,
)
print(
    f"exact RBM (d_h = {W_x.shape[-1]}): {spins_x.shape[1]} lattices per "
    "temperature in "
    f"{time.perf_counter() - start:.1f} s; tau_int(E) from "
    f"{tau_x[:, 0].min():.1f} to {tau_x[:, 0].max():.1f} "
    f"Gibbs steps, thinning from {thin_x.min()} to {thin_x.max()}"
)
print(
    "thinning per temperature (Gibbs steps):",
    dict(zip(temperatures.tolist(), thin_x.tolist())),
)
cmp_x = ising.compare_with_exact(
    spins_x, temperatures, J=config.J, num_blocks=config.num_blocks
)
print(cmp_x.table())
print(f"largest |z| over the grid: energy {np.abs(cmp_x.energy_z).max():.2f}, "
      f"specific heat {np.abs(cmp_x.specific_heat_z).max():.2f}")

# %% [markdown]
# The exact RBM's samples agree with Kaufman's energy and specific heat within a few
# standard errors at every temperature: the Gibbs code, the thinning and the error bars
# are right. Its $\tau_{\mathrm{int}}$ peaks around $T_c$ (in a reference run at `book` scale
# the thinning was 40 Gibbs steps from $T = 2.1$ to $2.35$, against 7 at $T = 1.5$ and 14 at
# $T = 3.5$; this run's thinning is printed above): critical
# slowing down, because a block-Gibbs step of this RBM moves spins locally, much as a
# heat-bath sweep does.

# %% [markdown]
# ## 3. Learned RBMs, all temperatures at once
#
# A learned RBM has $d_h$ hidden units joined to all 64 spins. Two facts of the model
# are used exactly, not learned:
#
# - **The flip symmetry.** $p_T(\mathbf{s}) = p_T(-\mathbf{s})$. With the biases tied to the weights,
#   $\mathbf{a} = -\frac12 W \mathbf 1$, $\mathbf{b} = -\frac12 W^\top \mathbf 1$, every RBM satisfies
#   $F(\mathbf 1 - \x) = F(\x)$ {eq}`physics-rbm-flip-symmetric`; the exact RBM has this form.
#   Only $W$ is learned. (A persistent chain stuck in one magnetised state then still gives
#   an unbiased negative phase: the other state has the same free energy and the same gradient.)
# - **The lattice symmetries.** $p_T$ is invariant under the $L^2$ translations of the torus,
#   its 8 rotations and reflections, and the flip; each minibatch lattice is moved by one
#   of them, drawn at random (`genmod.ising_rbm.random_symmetry`): more samples of the same
#   distribution at no cost.
#
# The $n_T$ RBMs of one $d_h$ are one module whose weight tensor has shape
# $(n_T, d, d_h)$; every product is a batched `torch.bmm`, so one loop trains all
# temperatures. Each step draws a minibatch per temperature, advances the persistent
# chains by `pcd_k` Gibbs steps {eq}`ebm-pcd`, and descends
# $\frac1B\sum_b F(\x_b) - \frac1C\sum_c F(\tilde\x_c)$, whose gradient is the PCD estimate of the
# negative log-likelihood's gradient {eq}`ebm-rbm-learning-rule`, with Adam and a linearly
# decaying rate.

# %%
def builder(cfg):
    """The learned RBMs of a configuration: one IsingRBMs (n_T RBMs) per d_h in
    cfg.hidden_sizes, keyed 'd_h_<d_h>'."""

    class IsingRBMs(torch.nn.Module):
        """n_T flip-symmetric binary RBMs with d visible and d_h hidden units: W
        (n_T, d, d_h), biases tied to W."""

        def __init__(self, num_temperatures, d, d_h):
            super().__init__()
            self.W = torch.nn.Parameter(torch.zeros(num_temperatures, d, d_h))

        def parameters_wab(self):
            """(W, a, b): W and the biases a = -W 1 / 2, b = -W^T 1 / 2 (eq.
            physics-rbm-flip-symmetric)."""
            # = genmod.ising_rbm.symmetric_biases
            return self.W, -0.5 * self.W.sum(-1), -0.5 * self.W.sum(-2)

    n_T, d = len(cfg.temperatures), cfg.L**2
    return torch.nn.ModuleDict(
        {f"d_h_{d_h}": IsingRBMs(n_T, d, d_h) for d_h in cfg.hidden_sizes}
    )


# %%
def train_pcd(rbm, spins, cfg, *, num_steps, generator, log_every):
    """Train IsingRBMs with PCD-k and Adam on spins (n_T, n, L, L) of ±1;
    returns the history: the steps, and the chains' energy per temperature."""
    n_T, n, L, _ = spins.shape
    dev = spins.device
    with torch.no_grad():
        rbm.W.copy_(cfg.init_std * torch.randn(rbm.W.shape,
                                               generator=generator, device=dev))
    optimizer = torch.optim.Adam(rbm.parameters(), lr=cfg.lr)
    decay = lambda s: 1 - (1 - cfg.lr_final_fraction) * s / num_steps
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, decay)
    chains = bernoulli(torch.full((n_T, cfg.num_chains, L * L), 0.5,
                                  device=dev), generator=generator)
    history = {"step": [], "energy_chains": []}
    for step in range(1, num_steps + 1):
        idx = torch.randint(n, (n_T, cfg.batch_size), generator=generator,
                            device=dev)
        # (n_T, B, L, L): a minibatch per T, each moved by an exact symmetry
        x = torch.gather(spins, 1, idx[:, :, None, None].expand(-1, -1, L, L))
        x = random_symmetry(x, generator=generator)
        x_data = ((x + 1) / 2).reshape(n_T, cfg.batch_size, L * L)  # v
        W, a, b = rbm.parameters_wab()
        with torch.no_grad():
            for _ in range(cfg.pcd_k):         # the persistent chains, ebm-pcd
                chains, _ = gibbs_step(chains, W, a.detach(), b.detach(),
                                       generator=generator)
        # eq. ebm-rbm-learning-rule
        loss = (free_energy(x_data, W, a, b).mean(1)
                - free_energy(chains, W, a, b).mean(1)).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % log_every == 0 or step == num_steps:
            history["step"].append(step)
            e_chains = lattice_energy_and_m(chains, L)[0].mean(1)
            history["energy_chains"].append(e_chains.tolist())
    return history


# %%
def train_rbms(cfg, spins, *, num_steps, generator, log_every):
    """Build the RBMs of cfg (builder) and train each d_h's batch on spins;
    returns (rbms, histories, seconds)."""
    rbms = builder(cfg).to(spins.device)
    histories, seconds = {}, {}
    for name, rbm in rbms.items():
        t0 = time.perf_counter()
        histories[name] = train_pcd(rbm, spins, cfg, num_steps=num_steps,
                                    generator=generator, log_every=log_every)
        seconds[name] = time.perf_counter() - t0
        e_last = np.array(histories[name]["energy_chains"][-1])
        e_exact = ising.kaufman_thermodynamics(cfg.L, cfg.temperatures,
                                               J=cfg.J).energy
        print(f"{name}: {num_steps} steps in {seconds[name]:.0f} s; energy "
              f"of the persistent chains minus exact: "
              f"{np.abs(e_last - e_exact).max():.3f} at most")
    return rbms, histories, seconds


# %% [markdown]
# The tied biases make every RBM flip-symmetric, whatever its weights: on random weights
# and random states, $F(\mathbf 1 - \x) - F(\x)$ vanishes to rounding error
# ({eq}`physics-rbm-flip-symmetric`; the same biases as `genmod.ising_rbm.symmetric_biases`).

# %%
W_demo = torch.randn(
    2, d, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64
)
x_demo = (
    torch.rand(2, 5, d, generator=torch.Generator().manual_seed(1)) < 0.5
).double()
a_demo, b_demo = symmetric_biases(W_demo)
flip_gap = (
    (
        free_energy(1 - x_demo, W_demo, a_demo, b_demo)
        - free_energy(x_demo, W_demo, a_demo, b_demo)
    )
    .abs()
    .max()
)
print(
    "max |F(1 - x) - F(x)| over 10 random states of 2 random RBMs: "
    f"{flip_gap.item():.1e}"
)

# %% [markdown]
# ## 4. Training live
#
# At `book` scale each $d_h$ trains for `num_steps` steps, under half a minute on a
# CPU, one RBM per temperature of the data set's grid. `TRAIN_SETTINGS` are the
# settings that `train_pcd` reads; the grid is the data set's.

# %%
TRAIN_SETTINGS = ("L", "J", "hidden_sizes", "init_std", "lr",
                  "lr_final_fraction", "batch_size", "num_chains", "pcd_k",
                  "seed")
live_config = config.subset(*TRAIN_SETTINGS,
                            temperatures=temperatures.tolist())
# (n_T, num_samples, L, L), ±1
x_train = torch.as_tensor(data_spins, dtype=torch.float32, device=device)
gen_train = torch.Generator(device=device).manual_seed(config.seed)
rbms_live, hist_live, seconds_live = train_rbms(
    live_config, x_train, num_steps=config.num_steps, generator=gen_train,
    log_every=config.log_every)

# %%
shown = [int(np.argmin(np.abs(temperatures - t))) for t in (1.8, 2.35, 3.0)]
fig, axes = plt.subplots(
    1, len(config.hidden_sizes), figsize=(11, 3.6), sharey=True
)
for ax, (name, hist) in zip(np.atleast_1d(axes), hist_live.items()):
    e_chains = np.array(hist["energy_chains"])
    for k in shown:
        (line,) = ax.plot(
            hist["step"],
            e_chains[:, k],
            lw=1,
            label=f"chains, T = {temperatures[k]:.2f}",
        )
        ax.axhline(
            cmp_data.observed[k].energy.value,
            color=line.get_color(),
            ls="--",
            lw=0.8,
        )
    ax.set_title(name.replace("d_h_", "$d_h$ = "))
    ax.set_xlabel("training step")
    ax.legend(fontsize=8)
np.atleast_1d(axes)[0].set_ylabel(r"$\langle E \rangle / L^2$ ($J$)")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** Mean energy per spin of the persistent chains during live training, at three
# temperatures, for each $d_h$; the dashed lines are the energies of the Wolff data. The
# chains follow the model, so they show how far the model's energy is from the data's.

# %% [markdown]
# ## 5. The checkpointed RBMs
#
# Live training on a CPU stops short, so we also load RBMs trained by exactly this code
# (`train_rbms` with the settings above) for `checkpoint_steps` steps on
# `checkpoint_data` lattices per temperature of their own grid,
# `checkpoint_temperatures`, committed with their provenance in
# `book/physics/checkpoints/`. If the checkpoint is missing, this cell trains it and
# saves it (20,000 steps for each $d_h$: about 16 minutes on one thread of a shared
# 2-core CPU). `checkpoint_energies` is the fixed-seed sampling run whose energies
# the provenance records (`CHECK`); a test repeats it on the committed file.

# %%
CHECK = dict(num_chains=100, burn_in=300, pilot_steps=300,
             samples_per_chain=10)          # the recorded sampling run


def checkpoint_energies(rbms, cfg):
    """Energies per spin (with errors) of a fixed-seed Gibbs run of each d_h."""
    out = {}
    for name, rbm in rbms.items():
        g = torch.Generator(device=rbm.W.device).manual_seed(1234)
        spins, _, _ = sample_rbms(*rbm.parameters_wab(), generator=g,
                                  J=cfg.J, **CHECK)
        cmp = ising.compare_with_exact(spins, cfg.temperatures, J=cfg.J,
                                       num_blocks=20)
        out[name] = {
            "energy_per_spin": [o.energy.value for o in cmp.observed],
            "energy_per_spin_se": [o.energy.se for o in cmp.observed]}
    return out

# %%
long_config = config.subset(
    *TRAIN_SETTINGS, "data_seed",
    temperatures=list(config.checkpoint_temperatures),
    num_steps=config.checkpoint_steps, num_data=config.checkpoint_data,
    data_chains=config.checkpoint_data_chains)


def train_long():
    long_data = ising.ising_dataset(
        long_config.L, long_config.temperatures, long_config.num_data,
        sampler="wolff", J=long_config.J,
        num_chains=long_config.data_chains, seed=long_config.data_seed)
    x_long = torch.as_tensor(long_data.spins(), dtype=torch.float32,
                             device=device)
    g = torch.Generator(device=device).manual_seed(long_config.seed)
    rbms, _, _ = train_rbms(long_config, x_long,
                            num_steps=long_config.num_steps, generator=g,
                            log_every=1000)
    return rbms, {"check_sampling": CHECK, "check_seed": 1234,
                  **checkpoint_energies(rbms, long_config)}


rbms_ckpt, checkpoint = load_or_train(NOTEBOOK, long_config, build=builder,
                                      train=train_long, device=device)
t_ckpt = np.array(long_config.temperatures)          # the checkpoint's grid

# %% [markdown]
# ## 6. Gibbs samples of every RBM, judged
#
# Each batch of RBMs is sampled by `sample_rbms`, as the exact RBM was, and compared with
# Kaufman's values (`genmod.ising.compare_with_exact`) at its own temperatures: the
# data set's grid for the exact and the live RBMs, the checkpoint's grid for the
# checkpointed ones; $|m|$ and $\chi$ are compared with the Wolff data of the same
# temperature, in units of the combined standard error.

# %%
EXACT = "exact RBM, $d_h$ = 128"
models = {EXACT: (W_x, a_x, b_x, temperatures)}
for tag, rbms, grid in (("checkpoint", rbms_ckpt, t_ckpt),
                        ("live", rbms_live, temperatures)):
    for name, rbm in rbms.items():
        label = f"{name.replace('d_h_', '$d_h$ = ')}, {tag}"
        models[label] = (*(p.detach() for p in rbm.parameters_wab()), grid)
results = {EXACT: (spins_x, tau_x, thin_x)}
for label, (W, a, b, _) in models.items():
    if label in results:
        continue
    start = time.perf_counter()
    results[label] = sample_rbms(
        W, a, b, num_chains=config.sample_chains, burn_in=config.burn_in,
        pilot_steps=config.pilot_steps,
        samples_per_chain=config.samples_per_chain, generator=gen, J=config.J)
    print(f"{label}: sampled in {time.perf_counter() - start:.1f} s, "
          f"thinning {results[label][2].tolist()} steps")
comparisons = {
    label: ising.compare_with_exact(r[0], models[label][3], J=config.J,
                                    num_blocks=config.num_blocks)
    for label, r in results.items()}

# %%
def on_grid(cmp, values):
    """Values per temperature of cmp, placed on the data set's grid (NaN where
    the model has no RBM)."""
    out = np.full(len(temperatures), np.nan)
    out[np.searchsorted(temperatures, cmp.temperatures)] = values
    return out


def z_against_data(cmp, field):
    """(observed - Wolff) / combined standard error at cmp's temperatures."""
    ref = [cmp_data.observed[k]
           for k in np.searchsorted(temperatures, cmp.temperatures)]
    return np.array([(getattr(o, field).value - getattr(r, field).value)
                     / math.hypot(getattr(o, field).se, getattr(r, field).se)
                     for o, r in zip(cmp.observed, ref)])


def summarise(cmp, versus_data=True):
    """The headline numbers of one model's comparison."""
    try:
        t_peak = cmp.specific_heat_peak()
    except ValueError:                   # the largest C at an end of the grid
        t_peak = float("nan")
    z = {f: float(np.abs(z_against_data(cmp, f)).max()) if versus_data
         else 0.0 for f in ("abs_magnetisation", "susceptibility")}
    return {"max_rel_energy_away": cmp.max_abs_energy_rel(config.away_from_tc),
            "max_rel_energy": cmp.max_abs_energy_rel(),
            "max_z_energy": float(np.abs(cmp.energy_z).max()),
            "max_z_specific_heat": cmp.max_abs_specific_heat_z(),
            "max_z_abs_m_vs_data": z["abs_magnetisation"],
            "max_z_chi_vs_data": z["susceptibility"], "t_peak": t_peak}


summary = {label: summarise(cmp) for label, cmp in comparisons.items()}
summary["Wolff data"] = summarise(cmp_data, versus_data=False)

# %%
print(f"{'model':28} {'max|dE|/|E|':>11} "
      f"{'(|T-Tc|>' + str(config.away_from_tc) + ')':>13} {'max|z| E':>9} "
      f"{'max|z| C':>9} {'|m| vs MC':>9} {'chi vs MC':>9} {'T* of C':>8}")
for label, sm in summary.items():
    print(f"{label.replace('$', ''):28} {100 * sm['max_rel_energy']:10.2f}% "
          f"{100 * sm['max_rel_energy_away']:12.2f}% "
          f"{sm['max_z_energy']:9.1f} {sm['max_z_specific_heat']:9.1f} "
          f"{sm['max_z_abs_m_vs_data']:9.1f} {sm['max_z_chi_vs_data']:9.1f} "
          f"{sm['t_peak']:8.3f}")
away = np.abs(temperatures - T_C) > config.away_from_tc
print(f"exact T* = {t_peak_exact:.4f}; T_c = {T_C:.4f}; 'away from T_c' is "
      f"|T - T_c| > {config.away_from_tc}: {temperatures[away].tolist()}")

# %% [markdown]
# The relative deviation of the energy per spin from the exact value, in per cent, for every
# model and temperature of the data set's grid (the knob $d_h$ row by row; the
# checkpointed RBMs have no RBM at $T = 2.6$ and $2.8$):

# %%
print(f"{'T':>28}" + "".join(f"{t:6.2f}" for t in temperatures))
rows = {**comparisons, "Wolff data": cmp_data}
for label, cmp in rows.items():
    rel = on_grid(cmp, 100 * cmp.energy_rel)
    print(f"{label.replace('$', ''):>28}"
          + "".join("     -" if np.isnan(r) else f"{r:+6.1f}" for r in rel))

# %% [markdown]
# The whole table of the best learned model (the checkpointed RBMs with the most hidden
# units), one row per temperature of its grid:

# %%
best = f"$d_h$ = {max(config.hidden_sizes)}, checkpoint"
print(best.replace("$", ""))
print(comparisons[best].table())

# %%
shown_models = [EXACT] + [f"$d_h$ = {h}, checkpoint"
                          for h in config.hidden_sizes]
thermodynamics_vs_exact({"Wolff data": cmp_data,
                         **{k: comparisons[k] for k in shown_models}},
                        J=config.J)
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** Energy per spin, $\langle |m| \rangle$ and specific heat of the Gibbs samples of
# the exact RBM and of the checkpointed learned RBMs (both $d_h$), and of the Wolff data,
# against the temperature, with one standard error; the lines are Kaufman's exact values
# for the $8 \times 8$ torus and the vertical line Onsager's $T_c$.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for label, cmp in comparisons.items():
    style = "-" if "checkpoint" in label else ("--" if "live" in label else ":")
    errs_e = [o.energy.se / abs(e)
              for o, e in zip(cmp.observed, cmp.exact.energy)]
    axes[0].errorbar(cmp.temperatures, 100 * cmp.energy_rel,
                     yerr=100 * np.array(errs_e), fmt="o" + style, ms=3,
                     lw=1, capsize=2, label=label)
    axes[1].plot(cmp.temperatures, z_against_data(cmp, "susceptibility"),
                 "o" + style, ms=3, lw=1, label=label)
axes[0].axhspan(-2, 2, color="gray", alpha=0.15, lw=0)
axes[0].set_ylabel(r"$(E - E_{\mathrm{exact}}) / |E_{\mathrm{exact}}|$ (%)")
axes[1].set_ylabel(r"$\chi$: $(\chi - \chi_{\mathrm{Wolff}})$ / combined s.e.")
for ax in axes:
    ax.axvspan(T_C - config.away_from_tc, T_C + config.away_from_tc,
               color="orange", alpha=0.15, lw=0)
    ax.axvline(T_C, color="gray", lw=0.5)
    ax.set_xlabel(r"$T$ ($J/k_B$)")
    ax.legend(fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** The number of hidden units as the knob. Left: relative deviation of the
# energy per spin from Kaufman's exact value for every model, with one standard error;
# the grey band is the target of $\pm 2$ %, the orange band the temperatures within
# `away_from_tc` of $T_c$. Right: the susceptibility's deviation from the Wolff data in
# units of the combined standard error. Solid lines: checkpointed RBMs; dashed: this run's
# live training; dotted: the exact RBM.

# %%
def rel_at(label, t):
    """The relative energy deviation of a model at temperature t."""
    cmp = comparisons[label]
    return float(cmp.energy_rel[np.isclose(cmp.temperatures, t)][0])


big, small = (f"$d_h$ = {h}, checkpoint" for h in
              (max(config.hidden_sizes), min(config.hidden_sizes)))
sb, cb = summary[best], comparisons[best]
worst = np.abs(cb.energy_rel) * (np.abs(cb.temperatures - T_C)
                                 > config.away_from_tc)
for key, value in {
        "exact_rel": summary[EXACT]["max_rel_energy"],
        "exact_z_e": summary[EXACT]["max_z_energy"],
        "exact_z_c": summary[EXACT]["max_z_specific_heat"],
        "big_rel_away": summary[big]["max_rel_energy_away"],
        "big_rel_worst_t": float(cb.temperatures[np.argmax(worst)]),
        "big_rel": summary[big]["max_rel_energy"],
        "big_z_e": summary[big]["max_z_energy"],
        "big_c_low": float(-cb.specific_heat_rel.min()),
        "big_peak_gap": abs(sb["t_peak"] - t_peak_exact),
        "big_z_m": summary[big]["max_z_abs_m_vs_data"],
        "big_z_chi": summary[big]["max_z_chi_vs_data"],
        "small_rel_22": rel_at(small, 2.2),
        "small_rel_35": rel_at(small, 3.5),
        **{f"live_{h}_rel": summary[f"$d_h$ = {h}, live"]["max_rel_energy"]
           for h in config.hidden_sizes}}.items():
    genmod.glue(key, value)

# %% [markdown]
# What the numbers say. This run's values are glued from the cells above (at `quick`
# scale they only show that the code runs); the **reference run** is the sampling run
# recorded with the committed checkpoint (`checkpoint.provenance["metrics"]`, 1,000
# lattices per temperature; `tests/physics/test_ising_rbm_claims.py` checks what is
# said of it):
#
# - The **exact RBM** is within {glue:text}`exact_rel:.1%` of Kaufman's energy at every
#   temperature, with the largest deviations {glue:text}`exact_z_e:.1f` standard errors
#   for $E$ and {glue:text}`exact_z_c:.1f` for $C$ over the grid: the sampler and the
#   error bars are right.
# - The **checkpointed RBMs with $d_h = 64$** come close to the target of this part but
#   do not reach "within 1 %": in this run their energy is within
#   {glue:text}`big_rel_away:.1%` of exact away from $T_c$ ($|T - T_c| > 0.15$; the
#   largest at $T =$ {glue:text}`big_rel_worst_t:.2f`), and within
#   {glue:text}`big_rel:.1%` at all temperatures of their grid, up to
#   {glue:text}`big_z_e:.1f` standard errors. In the reference run they are within
#   2.6 % away from $T_c$: off by 2.1 % to 2.6 % at $T = 2.5$, $2.7$ and $3.5$, about 2
#   standard errors each, so the deviation is seen, if barely. Their specific heat is
#   up to {glue:text}`big_c_low:.0%` low (the fluctuations are the hardest part); its
#   peak, from the parabola through the largest value and its neighbours, lies
#   {glue:text}`big_peak_gap:.3f` from the exact $T^* = 2.362$. $\langle|m|\rangle$ and
#   $\chi$ agree with the Wolff data within {glue:text}`big_z_m:.1f` and
#   {glue:text}`big_z_chi:.1f` combined standard errors.
# - With **$d_h = 16$** the energy is right in the ordered phase but too high from about
#   $T_c$ upwards, by {glue:text}`small_rel_22:.1%` at $T = 2.2$ and by
#   {glue:text}`small_rel_35:.1%` at $T = 3.5$ (reference run: 4.6 % and 21 %): the small
#   RBM lacks the short-range correlations of the disordered phase (the argument after
#   {eq}`physics-rbm-flip-symmetric` in {doc}`ising`). Torlai and Melko saw the number of
#   hidden units matter most near $T_c$; here, on the energy, the small RBM fails from $T_c$
#   on and most at the highest temperature, while near $T_c$ it is the specific heat that
#   both sizes miss.
# - The **live** RBMs (`num_steps` steps) are off by up to {glue:text}`live_64_rel:.0%`
#   ($d_h = 64$) and {glue:text}`live_16_rel:.0%` ($d_h = 16$): the same code, trained
#   much shorter.

# %% [markdown]
# ## 7. Saving the samples
#
# The lattices of the best learned model, one block per temperature of its own grid
# (`samples/temperatures`), are saved with $J$ and their observables on the physics
# part's grid (`temperatures`; empty where the checkpoint has no RBM), so that every
# physics notebook's models can be compared temperature by temperature.

# %%
spins_best = results[best][0]
cmp_best = comparisons[best]
per_temperature = {name: on_grid(cmp_best, values).tolist()
                   for name, values in cmp_best.metrics().items()}
metrics = {
    "temperatures": temperatures.tolist(),
    "samples/temperatures": cmp_best.temperatures.tolist(),
    "coupling_j": config.J,
    "lattice_size": L,
    "samples_per_temperature": int(spins_best.shape[1]),
    # E, C, |m| and chi per temperature, with errors and the exact E and C
    **per_temperature,
    "max_abs_z_energy": summary[best]["max_z_energy"],
    "max_abs_z_specific_heat": summary[best]["max_z_specific_heat"],
    "max_rel_error_energy": summary[best]["max_rel_energy"],
    "max_rel_error_energy_away_from_tc": summary[best]["max_rel_energy_away"],
    "away_from_tc": config.away_from_tc,
    "specific_heat_peak_temperature": summary[best]["t_peak"],
    "specific_heat_peak_temperature_exact": t_peak_exact,
    "tau_int_energy": on_grid(cmp_best, results[best][1][:, 0]).tolist(),
    "tau_int_abs_magnetisation":
        on_grid(cmp_best, results[best][1][:, 1]).tolist(),
}

# %%
for label, sm in summary.items():
    if label in (best, "Wolff data"):
        continue
    tag = (label.replace("$", "").replace(" = ", "").replace(", ", "_")
           .replace(" ", "_").lower())
    metrics[f"{tag}/max_rel_error_energy"] = sm["max_rel_energy"]
    metrics[f"{tag}/max_rel_error_energy_away_from_tc"] = \
        sm["max_rel_energy_away"]
    metrics[f"{tag}/max_abs_z_energy"] = sm["max_z_energy"]
    metrics[f"{tag}/specific_heat_peak_temperature"] = sm["t_peak"]
    metrics[f"{tag}/energy_per_spin"] = on_grid(
        comparisons[label], [o.energy.value for o in
                             comparisons[label].observed]).tolist()
folder = genmod.save_artifacts(NOTEBOOK, spins_best.reshape(-1, L, L),
                               metrics, kind="spins", config=config,
                               device=device)
print(f"saved {spins_best.shape[0] * spins_best.shape[1]} lattices "
      f"({spins_best.shape[0]} temperatures) to {folder}")

# %% [markdown]
# ## What differs from a reference run
#
# Torlai and Melko {cite}`torlai2016` trained on $10^5$ Monte Carlo configurations per
# temperature of the $8 \times 8$ torus (as here), with CD-$k$ and up to $d_h = 64$ hidden
# units, for much longer than a CPU allows here. This notebook trains all temperatures at
# once for `num_steps` steps live (the live curves and the rows marked "live") and loads
# RBMs trained by the same code for `checkpoint_steps` steps (the rows and curves marked
# "checkpoint", and the saved samples). Both use the flip-symmetric RBM
# {eq}`physics-rbm-flip-symmetric` and the symmetry moves of the torus, which they did not.
# At `quick` scale the data, the training and the sampling runs are too short for the
# comparisons to mean anything: the numbers only show that the code runs.
#
# ## Summary
#
# - An RBM with one hidden unit per bond *is* the Ising model {eq}`physics-rbm-exact-ising`:
#   its free energy equals $E/T$ up to a constant on every state, and its Gibbs samples
#   reproduce Kaufman's energy and specific heat within their standard errors. The sampler
#   and the error bars are right; what the learned RBMs miss, they miss by learning.
# - One loop trains the RBMs of all temperatures as one batched tensor; the flip symmetry
#   is built into the model, and the translations, rotations and reflections of the torus
#   multiply the data for free.
# - The tables above give, for every model and temperature, the energy per spin and the
#   specific heat against the exact values, in standard errors and in per cent, and the
#   specific-heat peak against $T^* = 2.362$. Where the learned RBMs miss, it is first the
#   short-range correlations (the energy) at high temperature and the fluctuations ($C$)
#   near $T_c$, which is where more hidden units help ({doc}`ising`, the argument after
#   {eq}`physics-rbm-flip-symmetric`).
# - The checkpointed RBMs with $d_h = 64$ (trained on their own grid of twelve
#   temperatures) are within {glue:text}`big_rel_away:.1%` of the exact energy away from
#   $T_c$ in this run, and within 2.6 % in the reference run: close to the target of 2 %,
#   but not within 1 %.
#
# ## Exercises
#
# ```{exercise}
# :label: physics-ex-ising-rbm-torch-antiferromagnet
#
# The exact RBM {eq}`physics-rbm-exact-ising` needs $J > 0$. For the antiferromagnet,
# $J < 0$, on a torus with even $L$, colour the sites as a checkerboard, $A$ and $B$.
# Show that the RBM obtained from the ferromagnet's with $|J|$ by replacing $x_j$ with
# $1 - x_j$ on the sites of $B$ represents the antiferromagnet exactly, and give its
# weights and biases. Check it by enumeration on the $4 \times 4$ torus.
# ```
#
# ````{solution} physics-ex-ising-rbm-torch-antiferromagnet
# :class: dropdown
#
# Every bond joins a site of $A$ to a site of $B$, so flipping the spins of $B$,
# $s_j \to -s_j$, changes the sign of every product $s_i s_j$: $E_J(\mathbf{s}) = E_{-J}(\mathbf{s}')$
# with $\mathbf{s}'$ the flipped configuration, and the flip is $x_j \to 1 - x_j$ on $B$. In the
# ferromagnet's RBM ($K = |J|/T$, $w = 2\operatorname{arccosh} e^{2K}$) the hidden unit of a bond
# $\langle ij \rangle$, $i \in A$, $j \in B$, then has the input
# $-w + w x_i + w(1 - x_j) = w x_i - w x_j$: weight $w$ to $x_i$, $-w$ to $x_j$, bias 0.
# The visible bias $-2w$ of a site of $B$ becomes $-2w(1 - x_j) = -2w + 2w x_j$: bias $+2w$,
# and a constant $-2w$ per site of $B$ in $-F$. With `W, a, b, offset = exact_ising_rbm(4, T, J=abs(J))`
# and `B` the mask of the sites with odd $r + c$ (row-major indices), the new
# parameters are `W2[B] = -W[B]`, `a2[B] = -a[B]` and `b2 = b + W[B].sum(0)` (the
# hidden bias gains $w$ for each end of its bond in $B$),
# and $F_2(\x) = E_J(\mathbf{s})/T + \text{offset} - 2w \cdot |B|$ on all $2^{16}$ states
# (`tests/physics/test_ising_rbm.py::test_antiferromagnet_by_a_sublattice_flip`); the
# code below checks it.
# ````

# %% tags=["hide-input"]
T_af, J_af = 2.5, -1.0
W, a, b, offset = exact_ising_rbm(4, T_af, J=abs(J_af), dtype=torch.float64)
rows, cols = np.divmod(np.arange(16), 4)
B = torch.as_tensor((rows + cols) % 2 == 1)        # the sites of sublattice B
W2, a2, b2 = W.clone(), a.clone(), b + W[B].sum(0)  # b_j + sum over B ends of w
W2[B] = -W[B]
a2[B] = -a[B]
states4 = ising.all_spin_states(4)
F2 = free_energy(spins_to_visible(states4, dtype=torch.float64)[None],
                 W2[None], a2[None], b2[None])[0]
# E_J(s) for J < 0 is -|J| times the ferromagnet's energy sum
E_af = -ising.energy(states4, J=abs(J_af))
gap = F2.numpy() - E_af / T_af - (offset - 2 * W.max().item() * int(B.sum()))
print(f"max over the 2^16 states of |F_2 - E_J/T - (offset - 2 w |B|)| = "
      f"{np.abs(gap).max():.1e}")

# %% [markdown]
# ```{exercise}
# :label: physics-ex-ising-rbm-torch-field
#
# Add a magnetic field, $E = -J\sum_{\langle ij \rangle} s_i s_j - H \sum_i s_i$. Which
# parameters of the exact RBM change, and how? Why can the flip-symmetric RBM
# {eq}`physics-rbm-flip-symmetric` no longer be exact, and what does the learned RBM of this
# notebook need to model $H \ne 0$?
# ```
#
# ```{solution} physics-ex-ising-rbm-torch-field
# :class: dropdown
#
# The field adds $\beta H \sum_i s_i = \beta H \sum_i (2x_i - 1)$ to $-\beta E$, a term linear
# in $\x$: the visible biases become $a_i = -2w + 2H/T$ and the constant changes by
# $L^2 H/T$; nothing else. The distribution is no longer flip-symmetric, while every RBM of
# the form {eq}`physics-rbm-flip-symmetric` is, so the learned RBM must have its visible
# biases untied from $W$ (learned, or set to $-\frac12 W\mathbf 1 + 2H/T$), and its data must
# not be augmented with the global flip, which is no longer a symmetry (the translations,
# rotations and reflections still are). Checked by enumeration on the $3 \times 3$ torus in
# `tests/physics/test_ising_rbm.py::test_magnetic_field_enters_the_visible_biases`, and
# by the code below: $F = E_H/T + \text{offset} - L^2 H/T$ on every state.
# ```

# %% tags=["hide-input"]
T_h, H = 2.2, 0.3
W, a, b, offset = exact_ising_rbm(3, T_h, dtype=torch.float64)
states3 = ising.all_spin_states(3)
# E_H = -J sum s_i s_j - H sum s_i
E_H = ising.energy(states3) - H * states3.reshape(len(states3), -1).sum(1)
F_H = free_energy(spins_to_visible(states3, dtype=torch.float64)[None],
                  W[None], (a + 2 * H / T_h)[None], b[None])[0].numpy()
gap = np.abs(F_H - E_H / T_h - (offset - 9 * H / T_h)).max()
print(f"max over the 2^9 states of |F - E_H/T - (offset - L^2 H/T)| = "
      f"{gap:.1e}")

# %% [markdown]
# ## References
#
# The experiment is Torlai and Melko's {cite}`torlai2016`; the RBM, contrastive divergence
# and PCD are in {doc}`../ebm/theory`; the exact answers, the samplers and the
# autocorrelation analysis in {doc}`ising`.
