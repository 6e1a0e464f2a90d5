"""The samplers (genmod.ising.samplers): detailed balance, the Boltzmann distribution, the exact
thermodynamics.

Equation labels refer to book/physics/ising.md.
"""

import itertools

import numpy as np
import pytest

from genmod import ising as I
from genmod.ising.samplers import _checkerboard


def _transition_matrix_half_sweep(L1, L2, beta, parity):
    states = I.all_spin_states(L1, L2)
    n = len(states)
    P = np.zeros((n, n))
    flips = I.metropolis_flip_probabilities(states, beta, 1.0, parity)    # (n, L1, L2)
    index = {s.tobytes(): k for k, s in enumerate(states)}
    sites = list(zip(*np.nonzero(_checkerboard(L1, L2, parity))))
    for k, s in enumerate(states):
        for pattern in itertools.product((0, 1), repeat=len(sites)):
            new, prob = s.copy(), 1.0
            for (i, j), f in zip(sites, pattern):
                prob *= flips[k, i, j] if f else 1 - flips[k, i, j]
                if f:
                    new[i, j] *= -1
            P[k, index[new.tobytes()]] += prob
    return states, P


def test_metropolis_half_sweep_satisfies_detailed_balance():
    """physics-detailed-balance: pi_a P_ab = pi_b P_ba for one checkerboard half-sweep of a 2 x 2
    torus."""
    beta = 1 / 2.0
    for parity in (0, 1):
        states, P = _transition_matrix_half_sweep(2, 2, beta, parity)
        pi = np.exp(-beta * I.energy(states))
        pi /= pi.sum()
        np.testing.assert_allclose(P.sum(1), 1.0, atol=1e-14)
        flow = pi[:, None] * P
        np.testing.assert_allclose(flow, flow.T, atol=1e-15)
        assert np.abs(flow - flow.T).max() == 0 or np.abs(flow - flow.T).max() < 1e-15
    # the full sweep (0 then 1) is stationary but not reversible
    _, P0 = _transition_matrix_half_sweep(2, 2, beta, 0)
    _, P1 = _transition_matrix_half_sweep(2, 2, beta, 1)
    P = P0 @ P1
    np.testing.assert_allclose(pi @ P, pi, atol=1e-14)
    flow = pi[:, None] * P
    assert np.abs(flow - flow.T).max() > 1e-3


def test_metropolis_sweep_draws_the_transition_matrix():
    """metropolis_sweep's empirical transitions from a 2 x 2 state match the enumerated P0 P1."""
    beta = 1 / 2.0
    states, P0 = _transition_matrix_half_sweep(2, 2, beta, 0)
    _, P1 = _transition_matrix_half_sweep(2, 2, beta, 1)
    P = P0 @ P1
    rng = np.random.default_rng(0)
    index = {s.tobytes(): k for k, s in enumerate(states)}
    n = 20000
    for start in (0, 5, 15):
        chains = np.repeat(states[start][None], n, axis=0).copy()
        I.metropolis_sweep(chains, beta, rng)
        counts = np.bincount([index[c.tobytes()] for c in chains], minlength=len(states))
        se = np.sqrt(P[start] * (1 - P[start]) / n)
        assert np.all(np.abs(counts / n - P[start]) <= 5 * se + 1e-12)


def _state_histogram(sampler, shape, T, code, rng, num_chains=400, num_draws=60, start="random"):
    chains = I.initial_spins(num_chains, shape[0], T, rng, start, L2=shape[1])
    I.run_chains(chains, T, 50, rng, sampler=sampler)
    codes = []
    for _ in range(num_draws):
        I.run_chains(chains, T, 5, rng, sampler=sampler)          # 5 steps apart: about independent
        codes.append(code(chains))
    return np.concatenate(codes)


def _chi2_ok(counts, pi):
    from scipy.stats import chi2

    expected = pi * counts.sum()
    # bins with enough expected counts
    keep = expected > 5
    rest_obs, rest_exp = counts[~keep].sum(), expected[~keep].sum()
    stat = ((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    dof = keep.sum() - 1
    if rest_exp > 5:
        stat += (rest_obs - rest_exp) ** 2 / rest_exp
        dof += 1
    return stat < chi2.ppf(0.9999, dof)


def test_wolff_draws_the_boltzmann_distribution():
    """physics-ising-boltzmann: the states Wolff visits on a 3 x 3 torus (512 states) have e^{-beta
    E}/Z (chi-square)."""
    T, shape = 2.5, (3, 3)
    states = I.all_spin_states(*shape)
    pi = np.exp(-I.energy(states) / T)
    pi /= pi.sum()
    weights = 2 ** np.arange(9)
    codes = _state_histogram("wolff", shape, T, lambda c: (c.reshape(len(c), -1) > 0) @ weights,
                             np.random.default_rng(1))
    assert _chi2_ok(np.bincount(codes, minlength=len(states)), pi)


def test_metropolis_draws_the_exact_energy_distribution():
    """physics-ising-boltzmann: the energies checkerboard Metropolis visits on a 4 x 4 torus follow
    g(E) e^{-beta E}/Z."""
    T = 2.5
    states = I.all_spin_states(4)
    levels, index = np.unique(I.energy(states), return_inverse=True)
    pi = np.bincount(index, weights=np.exp(-I.energy(states) / T))
    pi /= pi.sum()
    code = lambda c: np.searchsorted(levels, I.energy(c))          # noqa: E731
    counts = np.bincount(_state_histogram("metropolis", (4, 4), T, code, np.random.default_rng(1)),
                         minlength=len(levels))
    assert _chi2_ok(counts, pi)


def test_checkerboard_metropolis_is_not_irreducible_on_a_2x2_torus():
    """physics-ex-checkerboard: states whose every local field is zero flip deterministically and
    never leave.

    The transition matrix of a sweep of the 2 x 2 torus has eigenvalue 1 more than once (more
    than one closed class) and eigenvalue -1 (a cycle); Wolff's has 1 once.
    """
    beta = 1 / 2.5
    _, P0 = _transition_matrix_half_sweep(2, 2, beta, 0)
    _, P1 = _transition_matrix_half_sweep(2, 2, beta, 1)
    ev = np.linalg.eigvals(P0 @ P1)
    assert np.sum(np.abs(ev - 1) < 1e-10) >= 2 and np.any(np.abs(ev + 1) < 1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["metropolis", "wolff"])
@pytest.mark.parametrize("L", [4, 8])
def test_samplers_reproduce_the_exact_energy_and_specific_heat(sampler, L):
    """Both samplers: <E>/N and C of the 4 x 4 and 8 x 8 torus below, at and above T_c, within 4
    standard errors."""
    temps = [1.8, I.T_C, 3.0]
    exact = I.kaufman_thermodynamics(L, temps)
    for k, T in enumerate(temps):
        s = I.sample_ising(L, T, 3000, sampler=sampler, num_chains=100, seed=10 + k)
        th = I.thermodynamics(s.spins, T)
        assert abs(th.energy.z(exact.energy[k])) < 4, (T, th.energy, exact.energy[k])
        assert abs(th.specific_heat.z(exact.specific_heat[k])) < 4, (
            T,
            th.specific_heat,
            exact.specific_heat[k],
        )


@pytest.mark.slow
def test_samplers_reproduce_the_exact_magnetisation_of_a_4x4_torus():
    """<|m|> and chi of the 4 x 4 torus against enumeration (eq. physics-susceptibility)."""
    temps = [1.8, I.T_C, 3.0]
    exact = I.exact_enumeration(4, temps)
    for sampler in ("metropolis", "wolff"):
        for k, T in enumerate(temps):
            th = I.thermodynamics(
                I.sample_ising(4, T, 3000, sampler=sampler, num_chains=100, seed=20 + k).spins, T
            )
            assert abs(th.abs_magnetisation.z(exact.abs_magnetisation[k])) < 4
            assert abs(th.susceptibility.z(exact.susceptibility[k])) < 4


@pytest.mark.slow
def test_wolff_decorrelates_faster_than_metropolis_at_tc():
    """Critical slowing down: at T_c on a 16 x 16 torus, tau(|m|) in sweeps is several times shorter
    for Wolff."""
    met = I.sample_ising(16, I.T_C, 50, sampler="metropolis", num_chains=50, seed=0)
    wol = I.sample_ising(16, I.T_C, 50, sampler="wolff", num_chains=50, seed=0)
    assert met.tau_in_sweeps("abs_magnetisation") > 3 * wol.tau_in_sweeps("abs_magnetisation")
