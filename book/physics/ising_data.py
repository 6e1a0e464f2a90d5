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
# # Ising configurations as data, checked against the exact solution
#
# This notebook makes the data of the physics part: equilibrium configurations
# of the two-dimensional Ising model on an $8 \times 8$ torus over a grid of
# temperatures through $T_c$, drawn with the Wolff algorithm
# (`genmod.ising.book_dataset`, the one data set that every later notebook of the
# part loads), and for comparison with the checkerboard Metropolis algorithm (and on
# a $16 \times 16$ torus at the `book` scale). Before
# any model learns from them, the data are checked: their energy and specific
# heat against Kaufman's exact values for the same finite lattice, their
# magnetisation and susceptibility against enumeration and long runs, and the
# autocorrelation times of the two samplers, which show critical slowing down.
# Only numpy is used; the code lives in `genmod.ising`.
#
# ```{admonition} Learning goals
# :class: tip
#
# After this notebook you can
#
# - draw equilibrium Ising configurations with checkerboard Metropolis
#   {eq}`physics-metropolis` and Wolff clusters {eq}`physics-wolff`, thinned by the
#   measured integrated autocorrelation time {eq}`physics-tau-int`;
# - compute the exact energy and specific heat of a finite torus from Kaufman's
#   partition function {eq}`physics-kaufman-z`, {eq}`physics-energy-from-z`, and
#   compare a set of samples with them in units of its standard error;
# - measure $\langle |m| \rangle$, $\chi$ {eq}`physics-susceptibility` and the
#   correlation function {eq}`physics-correlation`, and see how a finite lattice
#   differs from Onsager's and Yang's infinite one;
# - measure critical slowing down, and say why cluster moves avoid most of it.
# ```

# %% tags=["hide-input"]
# Setup: install the book's helper package when it is missing (Colab, Binder).
import importlib.util, subprocess, sys
REPO_URL = "https://github.com/genmod-book/genmod-book"
# this notebook's name: its artifacts and checkpoints are filed under it
NOTEBOOK = "ising_data"
if importlib.util.find_spec("genmod") is None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            f"genmod @ git+{REPO_URL}.git#subdirectory=code",
        ],
        check=True,
    )

import time

import matplotlib.pyplot as plt
import numpy as np
import genmod
from genmod import pick
from genmod import ising
from genmod.ising import T_C

print(f"scale: {genmod.get_scale()}")
# numpy only: no framework, no GPU
device = "cpu"
print("data: Ising configurations generated here by genmod.ising "
      "(Monte Carlo, cached by their settings; no download)")
print(f"Onsager's T_c = 2 / ln(1 + sqrt 2) = {T_C:.6f} J/k_B")

# %% [markdown]
# ## Configuration
#
# Units: $k_B = J = 1$, so temperatures are in units of $J/k_B$ and energies in
# units of $J$. The lattice, the temperature grid, the number of lattices and
# chains per temperature and the seed are those of the physics part's one data
# set, `genmod.ising.BOOK_DATASET` (printed below): the same fourteen
# temperatures at every scale, denser near $T_c \approx 2.269$, where the
# specific heat peaks. Every temperature has its own seed (`seed` plus its
# index), and the data are cached by a hash of these settings, so a second run,
# or a later notebook, reads them back. The Metropolis data use the same
# settings. The configuration below holds this notebook's own checks. At `quick`
# scale the runs are short: the numbers then only show that the code runs. The
# `full` scale adds $L = 32$ and ten times the samples.

# %%
config = genmod.Config(
    # further sides, sampled with Wolff only
    larger_sizes=pick(quick=(), book=(16,), full=(16, 32)),
    # lattices per temperature of the long Wolff reference run
    num_reference=pick(quick=400, book=6000, full=80000),
    # sides for the autocorrelation at T_c
    tau_sizes=pick(quick=(4, 8), book=(4, 8, 16), full=(8, 16, 32, 64)),
    tau_steps=pick(quick=400, book=2000, full=20000),  # steps of each run
    tau_chains=pick(quick=10, book=20, full=50),  # chains of each run
)
book_settings = ising.BOOK_DATASET[genmod.get_scale()]
print("the physics part's data set (genmod.ising.BOOK_DATASET):", book_settings)
L_data, J = book_settings["L"], book_settings["J"]
temperatures = np.array(book_settings["temperatures"])
num_samples, num_chains = (
    book_settings["num_samples"],
    book_settings["num_chains"],
)

# %% [markdown]
# ## 1. The exact finite-lattice answers
#
# Kaufman's formula {eq}`physics-kaufman-z` gives $\ln Z$ of the $L \times L$ torus
# at any temperature, and its derivatives {eq}`physics-energy-from-z` give the exact
# energy per spin and specific heat. The code sums the four terms from their
# logarithms with their signs ($Z_4 < 0$ above $T_c$, because
# $\gamma_0 = 2K + \ln\tanh K$ is negative there).
# For $L = 4$ it is checked against the enumeration of all $2^{16}$ states:

# %%
genmod.show_source(ising.kaufman_log_z)

# %%
t_check = np.array([1.5, T_C, 3.0])
enum4 = ising.exact_enumeration(4, t_check, J=J)
kauf4 = ising.kaufman_thermodynamics(4, t_check, J=J)
for k, t in enumerate(t_check):
    print(
        f"L = 4, T = {t:.3f}: ln Z  enumeration {enum4.log_z[k]:.12f}  Kaufman "
        f"{kauf4.log_z[k]:.12f};"
        f"  C  {enum4.specific_heat[k]:.10f} vs {kauf4.specific_heat[k]:.10f}"
    )

# %% [markdown]
# The exact curves of the finite lattices are smooth: the specific heat has a
# finite peak whose position moves towards $T_c$ and whose height grows (as
# $\ln L$) with the size, while the infinite lattice's energy
# {eq}`physics-onsager-energy` has a kink at $T_c$ and its $C$ diverges there.

# %%
t_fine = np.linspace(1.2, 4.0, 400)
sizes_shown = (4, 8, 16, 32, 64)
exact_curves = {
    L: ising.kaufman_thermodynamics(L, t_fine, J=J) for L in sizes_shown
}


def c_peak(L):
    """T and height of the exact C maximum of the L x L torus (Kaufman)."""
    return ising.exact_specific_heat_peak(L, J=J, bounds=(1.8, 3.5))


peaks = {L: c_peak(L) for L in sizes_shown}
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for L, th in exact_curves.items():
    axes[0].plot(t_fine, th.energy, lw=1, label=f"$L = {L}$")
    axes[1].plot(t_fine, th.specific_heat, lw=1, label=f"$L = {L}$")
axes[0].plot(
    t_fine,
    ising.onsager_energy(t_fine, J=J),
    "k--",
    lw=1,
    label=r"$L = \infty$ (Onsager)",
)
for ax, name in zip(
    axes, (r"$\langle E \rangle / L^2$ ($J$)", r"$C$ ($k_B$ per spin)")
):
    ax.axvline(T_C, color="gray", lw=0.5)
    ax.set_xlabel(r"$T$ ($J/k_B$)")
    ax.set_ylabel(name)
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()
for L, (t_peak, c_max) in peaks.items():
    print(
        f"L = {L:2d}: exact C peak at T = {t_peak:.4f} (T - T_c = "
        f"{t_peak - T_C:+.4f}), C_max = {c_max:.4f}"
    )

# %% [markdown]
# **Figure.** Exact energy per spin (left) and specific heat (right) of $L \times L$
# tori from Kaufman's partition function, with Onsager's infinite-lattice energy
# (dashed); the vertical line is $T_c$. The specific-heat peak of a finite torus
# lies above $T_c$ and approaches it as $L$ grows, while its height grows slowly.

# %% [markdown]
# ## 2. Sampling the grid
#
# For each temperature, `genmod.ising.ising_dataset` (here through
# `genmod.ising.book_dataset`) runs `num_chains` independent
# chains (ordered start below $T_c$, random above), equilibrates them until the run
# is at least twenty times the measured $\tau_{\mathrm{int}}$ of $E$ and $|m|$, and
# then keeps one lattice every $\lceil 2 \tau_{\mathrm{int}} \rceil$ steps. A
# Metropolis step is one checkerboard sweep; a Wolff step is one cluster flip. Here
# are the two moves:

# %%
genmod.show_source(ising.metropolis_sweep)
genmod.show_source(ising.wolff_step)

# %%
t0 = time.perf_counter()
print(f"wolff, L = {L_data} (the physics part's data set):")
data = {"wolff": ising.book_dataset()}
print(f"metropolis, L = {L_data}, the same settings:")
data["metropolis"] = ising.ising_dataset(
    **{**book_settings, "sampler": "metropolis"})
print(f"sampling (or reading) took {time.perf_counter() - t0:.1f} s")

# %% [markdown]
# A few configurations from the Wolff data: ordered with small islands below
# $T_c$, domains of every size near it, and short-range disorder above.

# %%
shown = [0, int(np.argmin(np.abs(temperatures - T_C))), len(temperatures) - 1]
fig, axes = plt.subplots(len(shown), 6, figsize=(9, 1.6 * len(shown)))
for row, k in enumerate(shown):
    lattices = data["wolff"].samples[k].flat()
    for col in range(6):
        ax = axes[row, col]
        ax.imshow(
            lattices[col * (len(lattices) // 6)], cmap="gray", vmin=-1, vmax=1
        )
        ax.set_xticks([])
        ax.set_yticks([])
    axes[row, 0].set_ylabel(f"T = {temperatures[k]:.2f}", fontsize=9)
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** Six $8 \times 8$ configurations (white $+1$, black $-1$) at the lowest
# temperature of the grid, at the one nearest $T_c$ and at the highest, from the Wolff
# data; consecutive panels are far apart in the chains.

# %% [markdown]
# ## 3. Energy and specific heat against the exact values
#
# For each temperature and sampler, `genmod.ising.thermodynamics` computes
# $\langle e \rangle$ and $C$ by the fluctuation formula {eq}`physics-specific-heat`,
# with blocked-jackknife standard errors. The table gives each against Kaufman's
# exact value and the deviation $z$ in standard errors.

# %%
exact = ising.kaufman_thermodynamics(L_data, temperatures, J=J)
obs = {s: [ising.thermodynamics(x.spins, t, J=J)
           for x, t in zip(data[s].samples, temperatures)] for s in data}
print(f"L = {L_data}, {num_samples} lattices per temperature and sampler")
print(f"{'T':>6} {'E exact':>9} {'Wolff':>17} {'z':>5} {'Metropolis':>17} "
      f"{'z':>5} | {'C exact':>8} {'Wolff':>15} {'z':>5} "
      f"{'Metropolis':>15} {'z':>5}")
for k, t in enumerate(temperatures):
    w, m = obs["wolff"][k], obs["metropolis"][k]
    e, c = exact.energy[k], exact.specific_heat[k]
    print(f"{t:6.3f} {e:9.4f} {str(w.energy):>17} {w.energy.z(e):5.1f} "
          f"{str(m.energy):>17} {m.energy.z(e):5.1f} | {c:8.4f} "
          f"{str(w.specific_heat):>15} {w.specific_heat.z(c):5.1f} "
          f"{str(m.specific_heat):>15} {m.specific_heat.z(c):5.1f}")

# %%
z_max = {}
for s in data:
    z_max[s] = (
        max(abs(o.energy.z(e)) for o, e in zip(obs[s], exact.energy)),
        max(abs(o.specific_heat.z(c))
            for o, c in zip(obs[s], exact.specific_heat)))
    print(f"{s}: largest |z| over the grid: energy {z_max[s][0]:.2f}, "
          f"specific heat {z_max[s][1]:.2f}")
    genmod.glue(f"{s}_max_z_energy", z_max[s][0])
    genmod.glue(f"{s}_max_z_specific_heat", z_max[s][1])
n_tests = 2 * len(temperatures)
print(f"(with {n_tests} comparisons per sampler, the largest |z| of exact "
      f"error bars exceeds 2.5 with probability "
      f"{1 - (1 - 0.0124) ** n_tests:.2f})")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for ax, field, name in ((axes[0], "energy", r"$\langle E \rangle / L^2$ ($J$)"),
                        (axes[1], "specific_heat", r"$C$ ($k_B$ per spin)")):
    ax.plot(
        t_fine,
        getattr(exact_curves[L_data], field),
        "k-",
        lw=1,
        label=f"exact, $L = {L_data}$ (Kaufman)",
    )
    for s, marker in (("wolff", "o"), ("metropolis", "s")):
        est = [getattr(o, field) for o in obs[s]]
        ax.errorbar(
            temperatures,
            [e.value for e in est],
            yerr=[e.se for e in est],
            fmt=marker,
            ms=4,
            mfc="none",
            capsize=2,
            label=s,
        )
    ax.axvline(T_C, color="gray", lw=0.5)
    ax.set_xlabel(r"$T$ ($J/k_B$)")
    ax.set_ylabel(name)
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** Energy per spin (left) and specific heat (right) of the $8 \times 8$
# samples from both samplers (error bars: one standard error), on Kaufman's exact
# curves for the same lattice.
#
# How close is close enough? With exact error bars, $|z|$ exceeds 2 about one time in
# twenty and 3 about one time in 400, and there are 28 comparisons per sampler. In
# this run the largest $|z|$ over the grid is
# {glue:text}`wolff_max_z_energy:.1f` (energy) and
# {glue:text}`wolff_max_z_specific_heat:.1f` (specific heat) for Wolff, and
# {glue:text}`metropolis_max_z_energy:.1f` and
# {glue:text}`metropolis_max_z_specific_heat:.1f` for Metropolis. In a reference run
# at `book` scale (on an earlier grid of twelve temperatures, when this page was
# written) most deviations were below 2; the largest were Wolff's $C$ and energy at
# $T = 1.5$ ($z \approx -4.0$ and $-3.1$, from the same samples) and Metropolis's
# $C$ at $T = 1.8$ ($z \approx -3.6$). That is more than chance alone would often
# give, so we checked: samplers of the same settings with twenty other seeds at
# those temperatures gave $z$ values with means within 0.3 of zero and standard
# deviations between 0.7 and 1.0, and long runs (400 chains of 2,000 steps) agree
# with the exact energies to $10^{-4}$ and specific heats to $10^{-3}$
# (`tests/package/test_ising_samplers.py` repeats such checks, and
# `tests/package/test_ising_observables.py` checks that the error bars cover the
# exact value at the stated rate). The outliers are draws from the
# tails of the sampling distribution of a variance estimated from 2,000 lattices,
# which is skewed at low temperature, where a few rare excitations carry the
# specific heat. They are a reminder that a single $4\sigma$ deviation among many
# comparisons is not yet evidence of a wrong model; a pattern across temperatures is.

# %% [markdown]
# ## 4. Magnetisation and susceptibility
#
# Here $\chi$ is {eq}`physics-susceptibility`, computed with $|m|$ (the $\chi'$ of
# some texts): below $T_c$ it is the susceptibility of one ordered phase, but above
# $T_c$ it is *not* the thermodynamic susceptibility $L^2\langle m^2\rangle/T$; it
# is smaller, by the factor $1 - 2/\pi \approx 0.36$ deep in the disordered phase
# ({doc}`ising`). The comparisons below are like with like, so they hold either way.
#
# Kaufman's formula gives no magnetisation. For $L = 4$ the enumeration does
# (`genmod.ising.exact_enumeration`), and we check both samplers there first; for
# $L = 8$ the reference is a long Wolff run, with an independent seed and
# `num_reference` lattices per temperature, which has errors several times smaller.

# %%
enum = ising.exact_enumeration(4, temperatures, J=J)
print(
    f"{'T':>6} {'<|m|> exact':>11} {'Wolff':>16} {'Metropolis':>16} | "
    f"{'chi exact':>9} {'Wolff':>16} {'Metropolis':>16}"
)
for k, t in enumerate(temperatures):
    row = []
    for s in ("wolff", "metropolis"):
        x = ising.sample_ising(
            4,
            t,
            num_samples,
            sampler=s,
            J=J,
            num_chains=num_chains,
            seed=1000 + k,
        )
        row.append(ising.thermodynamics(x.spins, t, J=J))
    print(
        f"{t:6.3f} {enum.abs_magnetisation[k]:11.4f} "
        f"{str(row[0].abs_magnetisation):>16} "
        f"{str(row[1].abs_magnetisation):>16} | {enum.susceptibility[k]:9.4f} "
        f"{str(row[0].susceptibility):>16} "
        f"{str(row[1].susceptibility):>16}"
    )

# %%
t0 = time.perf_counter()
print(f"long Wolff reference, L = {L_data}:")
reference = ising.ising_dataset(
    L_data,
    temperatures,
    config.num_reference,
    sampler="wolff",
    J=J,
    num_chains=num_chains,
    seed=book_settings["seed"] + 10_000,
)
ref_obs = [
    ising.thermodynamics(x.spins, t, J=J)
    for x, t in zip(reference.samples, temperatures)
]
print(f"({time.perf_counter() - t0:.1f} s)")
for s in data:
    z_m = max(
        abs(
            (o.abs_magnetisation.value - r.abs_magnetisation.value)
            / np.hypot(o.abs_magnetisation.se, r.abs_magnetisation.se)
        )
        for o, r in zip(obs[s], ref_obs)
    )
    z_chi = max(
        abs(
            (o.susceptibility.value - r.susceptibility.value)
            / np.hypot(o.susceptibility.se, r.susceptibility.se)
        )
        for o, r in zip(obs[s], ref_obs)
    )
    print(
        f"{s}: largest |z| against the reference over the grid: <|m|> "
        f"{z_m:.2f}, chi {z_chi:.2f}"
    )

# %% [markdown]
# Larger lattices, sampled with Wolff (the sampler that stays fast at $T_c$), show
# the finite-size effects: $\langle |m| \rangle$ approaches Yang's $m_0$
# {eq}`physics-yang` below $T_c$ and falls more steeply through it, and the peak of
# $\chi$ grows (as $L^{7/4}$ in the infinite-lattice theory).

# %%
larger = {}
for L in config.larger_sizes:
    print(f"wolff, L = {L}:")
    larger[L] = ising.ising_dataset(
        L, temperatures, num_samples, sampler="wolff", J=J,
        num_chains=num_chains, seed=book_settings["seed"])
mag_sets = {L_data: ref_obs}
for L, d in larger.items():
    mag_sets[L] = [ising.thermodynamics(x.spins, t, J=J)
                   for x, t in zip(d.samples, temperatures)]
    ex_L = ising.kaufman_thermodynamics(L, temperatures, J=J)
    z_e = max(abs(o.energy.z(e)) for o, e in zip(mag_sets[L], ex_L.energy))
    z_c = max(abs(o.specific_heat.z(c))
              for o, c in zip(mag_sets[L], ex_L.specific_heat))
    print(f"L = {L}: largest |z| against Kaufman over the grid: "
          f"energy {z_e:.2f}, specific heat {z_c:.2f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for L, th in mag_sets.items():
    for ax, field in zip(axes, ("abs_magnetisation", "susceptibility")):
        est = [getattr(o, field) for o in th]
        ax.errorbar(temperatures, [e.value for e in est],
                    yerr=[e.se for e in est], fmt="o-", ms=3, lw=0.8,
                    capsize=2, label=f"$L = {L}$")
axes[0].plot(t_fine, ising.yang_magnetisation(t_fine, J=J), "k--", lw=1,
             label=r"Yang, $L = \infty$")
axes[0].set_ylabel(r"$\langle |m| \rangle$")
axes[1].set_ylabel(r"$\chi$ ($1/J$ per spin)")
for ax in axes:
    ax.axvline(T_C, color="gray", lw=0.5)
    ax.set_xlabel(r"$T$ ($J/k_B$)")
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# **Figure.** $\langle |m| \rangle$ (left) and $\chi$ (right) from Wolff samples of
# $L \times L$ tori ($L = 8$: the long reference run), with Yang's spontaneous
# magnetisation of the infinite lattice (dashed). Error bars are one standard error.

# %% [markdown]
# ## 5. The correlation function
#
# $G(r)$ {eq}`physics-correlation` on the $8 \times 8$ torus, for $r$ up to $L/2$
# (the torus is symmetric about it): it stays near $\langle m^2 \rangle$ below $T_c$,
# decays slowly at $T_c$ and fast above.

# %%
fig, ax = plt.subplots(figsize=(5.5, 4))
for k in shown + [int(np.argmin(np.abs(temperatures - 2.6)))]:
    r, G, se = ising.correlation_function(data["wolff"].samples[k].spins)
    ax.errorbar(
        r,
        G,
        yerr=se,
        fmt="o-",
        ms=3,
        capsize=2,
        label=f"T = {temperatures[k]:.2f}",
    )
ax.set_xlabel("$r$ (lattice spacings)")
ax.set_ylabel(r"$G(r)$")
ax.set_ylim(0, 1.05)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# **Figure.** The two-point correlation function of the $8 \times 8$ Wolff samples at
# four temperatures, with standard errors.

# %% [markdown]
# ## 6. Autocorrelation times and critical slowing down
#
# The data sets recorded the integrated autocorrelation time {eq}`physics-tau-int` of
# $E$ and $|m|$ at each temperature, in steps of their sampler. To compare the two
# samplers we count in sweeps: a Wolff step flips
# $\langle n_{\mathrm{cluster}} \rangle$ spins, so it is
# $\langle n_{\mathrm{cluster}} \rangle / L^2$ of a sweep.

# %%
genmod.show_source(ising.integrated_autocorrelation_time)

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for s, marker in (("metropolis", "s"), ("wolff", "o")):
    for which, ls in (("energy", "-"), ("abs_magnetisation", "--")):
        ax.plot(
            temperatures,
            [x.tau_in_sweeps(which) for x in data[s].samples],
            marker=marker,
            ls=ls,
            ms=4,
            mfc="none",
            label=f"{s}, {'E' if which == 'energy' else '|m|'}",
        )
ax.axvline(T_C, color="gray", lw=0.5)
ax.set_yscale("log")
ax.set_xlabel(r"$T$ ($J/k_B$)")
ax.set_ylabel(r"$\tau_{\mathrm{int}}$ (sweeps)")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# **Figure.** Integrated autocorrelation times of $E$ (solid) and $|m|$ (dashed) on the
# $8 \times 8$ torus, in sweeps, for checkerboard Metropolis and Wolff, over the
# temperature grid (log scale). Far from $T_c$ both samplers decorrelate within about
# a sweep; towards $T_c$ the Metropolis times grow, while Wolff's stay near one sweep.
# (Below $T_c$ a Wolff cluster is nearly the whole lattice: one step costs about a
# sweep and turns the lattice over: the spins it leaves out become the new islands of
# the minority spin, so each step draws fresh islands.)
#
# At $T_c$ the growth of $\tau_{\mathrm{int}}$ with $L$ is the dynamic exponent $z$,
# $\tau_{\mathrm{int}} \propto L^{z}$. We measure it with `tau_steps` steps of
# `tau_chains` chains per size, after an equilibration of a fifth as many steps.

# %%
tau_rows = []
rng = np.random.default_rng(book_settings["seed"] + 20_000)
for L in config.tau_sizes:
    row = {"L": L}
    for s in ("metropolis", "wolff"):
        spins = ising.initial_spins(config.tau_chains, L, T_C, rng, "random")
        # equilibrate
        ising.run_chains(spins, T_C, config.tau_steps // 5, rng, sampler=s, J=J)
        trace = ising.run_chains(
            spins, T_C, config.tau_steps, rng, sampler=s, J=J
        )
        per_sweep = (
            1.0 if s == "metropolis" else trace.cluster_size.mean() / L**2
        )
        tau_m, _ = ising.integrated_autocorrelation_time(
            np.abs(trace.magnetisation.T)
        )
        tau_e, _ = ising.integrated_autocorrelation_time(trace.energy.T)
        row[s] = (tau_e * per_sweep, tau_m * per_sweep, trace.seconds)
    tau_rows.append(row)
    print(
        f"L = {L:3d}: Metropolis tau_E = {row['metropolis'][0]:7.2f}, tau_|m| "
        f"= {row['metropolis'][1]:7.2f} sweeps "
        f"({row['metropolis'][2]:.1f} s);  Wolff tau_E = "
        f"{row['wolff'][0]:6.2f}, tau_|m| = {row['wolff'][1]:6.2f} sweeps "
        f"({row['wolff'][2]:.1f} s)"
    )
sizes = np.array([row["L"] for row in tau_rows])
z_fit = {
    s: np.polyfit(np.log(sizes), np.log([row[s][1] for row in tau_rows]), 1)[0]
    for s in ("metropolis", "wolff")
}
print(
    "slope of log tau_|m| against log L: Metropolis "
    f"{z_fit['metropolis']:.2f}, Wolff {z_fit['wolff']:.2f}"
)

# %%
fig, ax = plt.subplots(figsize=(5.5, 4))
for s, marker in (("metropolis", "s"), ("wolff", "o")):
    ax.loglog(
        sizes,
        [row[s][1] for row in tau_rows],
        marker=marker,
        label=f"{s}, slope {z_fit[s]:.2f}",
    )
ax.set_xlabel("$L$")
ax.set_ylabel(r"$\tau_{\mathrm{int}}(|m|)$ at $T_c$ (sweeps)")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# **Figure.** Integrated autocorrelation time of $|m|$ at $T_c$ against the lattice side,
# in sweeps, log-log; the legend gives the fitted slopes, estimates of the dynamic
# exponent $z$ over this small range of sizes (the literature's values,
# $z \approx 2.17$ for Metropolis and about $0.25$ for Wolff, come from much larger
# lattices).

# %% [markdown]
# ## 7. Saving the data
#
# The Wolff lattices of the main size are saved as this notebook's artifacts, one block
# of `num_samples` lattices per temperature in the order of the grid, with the grid, $J$
# and the observables in `metrics.json`, so that the later notebooks' models can be
# compared with the same numbers.

# %%
# (n_T, num_samples, L, L), int8
lattices = data["wolff"].spins()
w = obs["wolff"]
metrics = {
    "temperatures": temperatures.tolist(),
    "coupling_j": J,
    "lattice_size": L_data,
    "samples_per_temperature": num_samples,
    "energy_per_spin": [o.energy.value for o in w],
    "energy_per_spin_se": [o.energy.se for o in w],
    "energy_per_spin_exact": exact.energy.tolist(),
    "specific_heat": [o.specific_heat.value for o in w],
    "specific_heat_se": [o.specific_heat.se for o in w],
    "specific_heat_exact": exact.specific_heat.tolist(),
    "abs_magnetisation": [o.abs_magnetisation.value for o in w],
    "abs_magnetisation_se": [o.abs_magnetisation.se for o in w],
    "susceptibility": [o.susceptibility.value for o in w],
    "susceptibility_se": [o.susceptibility.se for o in w],
    "max_abs_z_energy": z_max["wolff"][0],
    "max_abs_z_specific_heat": z_max["wolff"][1],
    "specific_heat_peak_temperature_exact": peaks[L_data][0],
    "tau_int_energy": [x.tau_energy for x in data["wolff"].samples],
    "tau_int_abs_magnetisation": [
        x.tau_abs_magnetisation for x in data["wolff"].samples
    ],
    "metropolis/max_abs_z_energy": z_max["metropolis"][0],
    "metropolis/max_abs_z_specific_heat": z_max["metropolis"][1],
}
folder = genmod.save_artifacts(
    NOTEBOOK,
    lattices.reshape(-1, L_data, L_data),
    metrics,
    kind="spins",
    config=config,
    device=device,
)
print(
    f"saved {lattices.shape[0] * lattices.shape[1]} lattices "
    f"({lattices.shape[0]} temperatures) to {folder}"
)

# %% [markdown]
# ## What differs from a reference run
#
# Simulations in the literature use lattices of $L = 64$ to $1024$ and $10^5$ to $10^7$
# sweeps per temperature; here $L = 8$ (and 16, 32 at the larger scales) and a few
# thousand lattices per temperature, which is what the generative models of the later
# notebooks can learn from on a CPU. The checks above are at the same scale as the
# data: every comparison is against the exact value for the same finite lattice, so a
# small lattice is no excuse for a deviation. At `quick` scale the data are too few
# for the comparisons to mean much.
#
# ## Summary
#
# - Kaufman's partition function {eq}`physics-kaufman-z` gives the exact energy and
#   specific heat of any finite torus {eq}`physics-energy-from-z`; it agrees with the
#   enumeration of the $4 \times 4$ torus to rounding error, and its curves show how
#   a finite lattice rounds off the transition.
# - Both samplers, thinned by their measured $\tau_{\mathrm{int}}$, reproduce the exact
#   energy and specific heat of the $8 \times 8$ torus across the grid, with
#   deviations of a few standard errors at most and no pattern in temperature;
#   $\langle |m| \rangle$ and $\chi$ agree with enumeration ($L = 4$) and with a long
#   independent run ($L = 8$).
# - Near $T_c$, Metropolis's autocorrelation time grows quickly with $L$ (critical
#   slowing down), Wolff's barely: for the larger lattices the cluster algorithm is
#   the one to use.
# - The Wolff lattices are the physics part's one data set
#   (`genmod.ising.book_dataset`): every following notebook loads the same
#   lattices on the same grid, and saves its per-temperature observables on it.
#
# ## Exercises
#
# ```{exercise}
# :label: physics-ex-ising-data-heat-bath
#
# Write a checkerboard *heat-bath* sweep, which sets each spin of one colour to $+1$
# with probability $1 / (1 + e^{-2\beta J \sum_{j \sim i} s_j})$ whatever its current
# value, and show that it satisfies detailed balance {eq}`physics-detailed-balance`.
# Measure its $\tau_{\mathrm{int}}$ of $|m|$ at $T_c$ for $L = 8$ and $16$ with
# `genmod.ising.integrated_autocorrelation_time`, and compare it with Metropolis.
# ```
#
# ````{solution} physics-ex-ising-data-heat-bath
# :class: dropdown
#
# The new value of $s_i$ depends only on its neighbours' field
# $H_i = J\sum_{j \sim i} s_j$:
# $p(s_i = \pm 1 \mid \text{rest}) = e^{\pm\beta H_i} / (2\cosh \beta H_i)$,
# which is the Boltzmann distribution's conditional, so the move is a Gibbs step and
# satisfies detailed balance. The code below (`heat_bath_sweep`) draws the spins of
# one colour from it at once, and measures $\tau_{\mathrm{int}}$ of $|m|$ at $T_c$
# beside Metropolis's, with the settings of Section 6.
#
# The heat-bath rule flips a spin with probability $e^{-\beta\Delta E}/(1 + e^{-\beta\Delta E})$,
# never more than Metropolis's $\min(1, e^{-\beta \Delta E})$ (for $\Delta E = 0$ it flips
# half the time, Metropolis always). By Peskun's ordering a rule that moves more
# often gives no larger asymptotic variance, so expect the heat-bath times to be
# longer than Metropolis's, with the same growth with $L$: it is a local move too.
# It has no zero-field trap ({ref}`physics-ex-checkerboard`), because no flip is certain.
# ````

# %% tags=["hide-input"]
def heat_bath_sweep(spins, beta, rng, J=1.0):
    """One checkerboard heat-bath sweep of spins (chains, L, L), in place."""
    colour = np.indices(spins.shape[-2:]).sum(0) % 2        # the checkerboard
    for parity in (0, 1):
        s = spins.astype(np.int64)
        # H_i = J sum_{j ~ i} s_j, the local field of spin i
        field = J * (np.roll(s, 1, -1) + np.roll(s, -1, -1)
                     + np.roll(s, 1, -2) + np.roll(s, -1, -2))
        p_up = 1 / (1 + np.exp(-2 * beta * field))        # p(s_i = +1 | rest)
        new = np.where(rng.random(spins.shape) < p_up, 1, -1).astype(np.int8)
        spins[:, colour == parity] = new[:, colour == parity]
    return spins


def tau_abs_m(sweep, L, rng):
    """tau_int of |m| at T_c in sweeps (tau_chains chains, tau_steps sweeps)."""
    spins = ising.initial_spins(config.tau_chains, L, T_C, rng, "random")
    for _ in range(config.tau_steps // 5):                  # equilibrate
        sweep(spins, 1 / T_C, rng)
    m = np.empty((config.tau_steps, config.tau_chains))
    for k in range(config.tau_steps):
        m[k] = np.abs(ising.magnetisation(sweep(spins, 1 / T_C, rng)))
    return ising.integrated_autocorrelation_time(m.T)[0]


rng_hb = np.random.default_rng(book_settings["seed"] + 30_000)
for L in (8, 16):
    print(f"L = {L}: tau_int(|m|) at T_c, heat bath "
          f"{tau_abs_m(heat_bath_sweep, L, rng_hb):.1f} sweeps, Metropolis "
          f"{tau_abs_m(ising.metropolis_sweep, L, rng_hb):.1f} sweeps")

# %% [markdown]
# ```{exercise}
# :label: physics-ex-ising-data-peak
#
# Use `c_peak` to find the exact specific-heat peak $T^*(L)$ for $L = 8, 16, \dots, 256$.
# Finite-size scaling predicts $T^*(L) - T_c \propto 1/L$ (the correlation-length
# exponent of the 2D Ising model is $\nu = 1$). Check it, and check that the height
# $C(T^*)$ grows as $\ln L$.
# ```
#
# ```{solution} physics-ex-ising-data-peak
# :class: dropdown
#
# With `c_peak` for $L = 8, \dots, 256$ (the code below), $L\,(T^*(L) - T_c)$ should
# tend to a constant, and $C(T^*(2L)) - C(T^*(L))$ to a constant times $\ln 2$: each
# doubling of $L$ roughly halves $T^* - T_c$ and adds about the same amount to
# $C_{\max}$. Ferdinand and Fisher {cite}`ferdinand1969` derived both from
# Kaufman's formula; the coefficient of $\ln L$ is $8 K_c^2/\pi \approx 0.49$ with
# $K_c = J/T_c$, so each doubling should add about $0.49 \ln 2 \approx 0.34$.
# ```

# %% tags=["hide-input"]
sizes_fss = (8, 16, 32, 64, 128, 256)
peaks_fss = {L: c_peak(L) for L in sizes_fss}
for L in sizes_fss:
    t_peak, c_max = peaks_fss[L]
    step = (
        ""
        if L == 8
        else f", C_max - C_max(L/2) = {c_max - peaks_fss[L // 2][1]:.3f}"
    )
    print(f"L = {L:3d}: L (T* - T_c) = {L * (t_peak - T_C):.4f}{step}")

# %% [markdown]
# ```{exercise}
# :label: physics-ex-ising-data-naive-errors
#
# Take the unthinned chain of Section 6 at $L = 16$ (Metropolis, `trace.energy`) and
# compute the standard error of $\langle e \rangle$ twice: as $\mathrm{sd}/\sqrt{n}$, as
# if the $n$ values were independent, and with `genmod.ising.jackknife` over blocks of
# whole chains. How large is the ratio, and how does it compare with
# $\sqrt{2\tau_{\mathrm{int}}}$ ({ref}`physics-ex-tau`)?
# ```
#
# ```{solution} physics-ex-ising-data-naive-errors
# :class: dropdown
#
# With `e = trace.energy` of shape (steps, chains), the naive error is
# `e.std() / np.sqrt(e.size)`, and the blocked one
# `genmod.stats.jackknife(np.mean, e.T.ravel(), num_blocks=config.tau_chains)` (one
# block per chain, since the chains are independent and each is much longer than
# $\tau_{\mathrm{int}}$). Their ratio should be close to
# $\sqrt{2\tau_{\mathrm{int}}}$ with the $\tau_{\mathrm{int}}$ of $E$, because
# $\Var(\bar f) \approx 2\tau_{\mathrm{int}}\sigma^2/n$. The code below runs the
# chains of Section 6 at $L = 16$ with Metropolis. Error bars that ignore the
# correlation are too small by that factor, and would make a model that matches
# the data look as if it did not.
# ```

# %% tags=["hide-input"]
rng_ne = np.random.default_rng(book_settings["seed"] + 40_000)
spins_ne = ising.initial_spins(config.tau_chains, 16, T_C, rng_ne, "random")
ising.run_chains(
    spins_ne, T_C, config.tau_steps // 5, rng_ne, sampler="metropolis"
)
e = ising.run_chains(spins_ne, T_C, config.tau_steps, rng_ne,
                     sampler="metropolis").energy        # (steps, chains)
naive = e.std() / np.sqrt(e.size)
blocked = genmod.stats.jackknife(np.mean, e.T.ravel(),
                                 num_blocks=config.tau_chains).se
tau_e, _ = ising.integrated_autocorrelation_time(e.T)
print(f"naive se {naive:.2e}, blocked se {blocked:.2e}: ratio "
      f"{blocked / naive:.2f}; sqrt(2 tau_int(E)) = {np.sqrt(2 * tau_e):.2f}")

# %% [markdown]
# ## References
#
# The exact results are Onsager's {cite}`onsager1944`, Kaufman's {cite}`kaufman1949`
# and Yang's {cite}`yang1952`, the finite-lattice specific heat is analysed by
# Ferdinand and Fisher {cite}`ferdinand1969`; the samplers are Metropolis et al.'s
# {cite}`metropolis1953` and Wolff's {cite}`wolff1989`, the autocorrelation analysis
# Sokal's {cite}`sokal1997`; Newman and Barkema {cite}`newman1999` cover all of it.
