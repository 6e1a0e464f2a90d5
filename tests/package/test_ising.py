"""The Ising part's exact answers and samplers (genmod.ising), checked against enumeration and closed forms.

Equation labels refer to book/physics/ising.md.
"""

import itertools
import json

import numpy as np
import pytest
from scipy.integrate import dblquad

from genmod import ising as I

TEMPS = np.array([1.0, 1.8, 2.2, I.T_C, 2.4, 3.0, 5.0])


# ---------------------------------------------------------------------------
# exact answers
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3, 3), (3, 4), (4, 3), (4, 4), (2, 5), (2, 2)])
def test_kaufman_equals_enumeration(shape):
    """physics-kaufman-z, physics-kaufman-gamma: ln Z of the finite torus, even and odd sides, to rounding."""
    exact = I.exact_enumeration(shape[0], TEMPS, L2=shape[1])
    log_z = I.kaufman_log_z(shape[0], TEMPS, L2=shape[1])
    np.testing.assert_allclose(log_z, exact.log_z, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("shape", [(3, 3), (3, 4), (4, 4)])
def test_kaufman_energy_and_specific_heat_equal_enumeration(shape):
    """physics-energy-from-z: derivatives of Kaufman's ln Z give the exact <E>/N and C of the torus."""
    exact = I.exact_enumeration(shape[0], TEMPS, L2=shape[1])
    kt = I.kaufman_thermodynamics(shape[0], TEMPS, L2=shape[1])
    np.testing.assert_allclose(kt.energy, exact.energy, atol=1e-10)
    np.testing.assert_allclose(kt.specific_heat, exact.specific_heat, atol=1e-8)


def test_kaufman_with_another_coupling():
    """J enters as K = beta J: energies scale with J, C is a function of K only."""
    exact = I.exact_enumeration(3, TEMPS, J=0.5, L2=4)
    kt = I.kaufman_thermodynamics(3, TEMPS, J=0.5, L2=4)
    np.testing.assert_allclose(kt.log_z, exact.log_z, rtol=1e-13)
    np.testing.assert_allclose(kt.energy, exact.energy, atol=1e-10)
    np.testing.assert_allclose(kt.specific_heat, exact.specific_heat, atol=1e-8)
    np.testing.assert_allclose(kt.specific_heat, I.kaufman_thermodynamics(3, 2 * TEMPS, L2=4).specific_heat, atol=1e-8)


def test_enumeration_by_brute_force_on_2x3():
    """The (E, |M|) histogram sum equals the plain sum over all 64 states of a 2 x 3 torus."""
    T = 1.7
    states = np.array(list(itertools.product((-1, 1), repeat=6)), dtype=np.int8).reshape(-1, 2, 3)
    e = I.energy(states)
    w = np.exp(-e / T)
    m = np.abs(states.mean((1, 2)))
    ex = I.exact_enumeration(2, [T], L2=3)
    assert ex.log_z[0] == pytest.approx(np.log(w.sum()), rel=1e-14)
    assert ex.abs_magnetisation[0] == pytest.approx((w * m).sum() / w.sum(), rel=1e-13)
    assert ex.energy[0] == pytest.approx((w * e).sum() / w.sum() / 6, rel=1e-13)


def test_energy_counts_each_bond_once():
    """physics-ising-energy: the ground state has E = -2 J N, a checkerboard +2 J N."""
    up = np.ones((1, 4, 6), dtype=np.int8)
    board = np.where(np.indices((4, 6)).sum(0) % 2 == 0, 1, -1)[None]
    assert I.energy(up)[0] == -2 * 24 and I.energy(board, J=2.0)[0] == 2 * 2 * 24


def test_kaufman_approaches_onsager():
    """physics-onsager-f, physics-onsager-energy: the finite torus tends to the infinite lattice as L grows."""
    gaps_f, gaps_e = [], []
    for L in (8, 16, 32, 64):
        kt = I.kaufman_thermodynamics(L, TEMPS)
        gaps_f.append(np.abs(kt.log_z / L**2 - I.onsager_free_energy(TEMPS)).max())
        gaps_e.append(np.abs(kt.energy - I.onsager_energy(TEMPS))[TEMPS != I.T_C].max())
    assert all(b < a for a, b in zip(gaps_f, gaps_f[1:])) and gaps_f[-1] < 2e-4
    # below T_c the gap is the two-fold degeneracy of the ordered state, ln 2 / N
    kt = I.kaufman_thermodynamics(64, [1.0])
    assert kt.log_z[0] / 64**2 - I.onsager_free_energy([1.0])[0] == pytest.approx(np.log(2) / 64**2, rel=1e-3)
    assert gaps_e[-1] < 1e-3 and gaps_e[-1] < gaps_e[0] / 50
    # at T_c the energy converges as 1/L: the gap halves when L doubles
    at_tc = [I.kaufman_thermodynamics(L, [I.T_C]).energy[0] + np.sqrt(2) for L in (32, 64, 128)]
    assert at_tc[1] / at_tc[0] == pytest.approx(0.5, abs=0.02) and at_tc[2] / at_tc[1] == pytest.approx(0.5, abs=0.01)


def test_onsager_single_integral_equals_the_double_integral():
    """physics-onsager-f: -beta f = ln 2 + 1/(8 pi^2) int int ln(cosh^2 2K - sinh 2K (cos w1 + cos w2))."""
    for T in (1.5, 2.0, 3.0, 6.0):
        K = 1 / T
        val, _ = dblquad(lambda w1, w2: np.log(np.cosh(2 * K) ** 2 - np.sinh(2 * K) * (np.cos(w1) + np.cos(w2))),
                         0, 2 * np.pi, 0, 2 * np.pi, epsabs=1e-11)
        assert I.onsager_free_energy([T])[0] == pytest.approx(np.log(2) + val / (8 * np.pi**2), abs=1e-9)


def test_onsager_energy_is_the_derivative_of_the_free_energy():
    """physics-onsager-energy: <E>/N = -d(-beta f)/dK, away from T_c."""
    for T in (1.5, 2.0, 2.6, 4.0):
        K, h = 1 / T, 1e-5
        d = (I.onsager_free_energy([1 / (K + h)])[0] - I.onsager_free_energy([1 / (K - h)])[0]) / (2 * h)
        assert I.onsager_energy([T])[0] == pytest.approx(-d, abs=1e-7)
    assert I.onsager_energy([I.T_C])[0] == pytest.approx(-np.sqrt(2), abs=1e-12)


def test_critical_temperature_and_yang():
    """physics-onsager-tc, physics-yang: sinh 2K_c = 1; m_0 vanishes at T_c, tends to 1 at T -> 0."""
    assert np.sinh(2 / I.T_C) == pytest.approx(1.0, abs=1e-14)
    m0 = I.yang_magnetisation([0.5, 1.5, 2.2, I.T_C, 2.5])
    assert m0[0] == pytest.approx(1.0, abs=1e-6) and m0[3] == 0 and m0[4] == 0
    assert np.all(np.diff(m0[:3]) < 0)
    # near T_c, m_0 ~ (T_c - T)^(1/8): the log-log slope is 1/8
    eps = np.array([1e-4, 1e-5])
    m = I.yang_magnetisation(I.T_C - eps)
    assert np.log(m[0] / m[1]) / np.log(eps[0] / eps[1]) == pytest.approx(1 / 8, abs=1e-3)


def test_yang_against_a_large_lattice():
    """physics-yang: <|m|> of a 32 x 32 torus (Wolff) at T = 1.5 is Yang's m_0 (finite-size effects are tiny there)."""
    s = I.sample_ising(32, 1.5, 400, sampler="wolff", num_chains=20, seed=3)
    th = I.thermodynamics(s.spins, 1.5)
    m0 = I.yang_magnetisation([1.5])[0]
    assert abs(th.abs_magnetisation.value - m0) < 4 * th.abs_magnetisation.se + 1e-3


# ---------------------------------------------------------------------------
# samplers
# ---------------------------------------------------------------------------

def _transition_matrix_half_sweep(L1, L2, beta, parity):
    states = I.all_spin_states(L1, L2)
    n = len(states)
    P = np.zeros((n, n))
    flips = I.metropolis_flip_probabilities(states, beta, 1.0, parity)    # (n, L1, L2)
    index = {s.tobytes(): k for k, s in enumerate(states)}
    sites = list(zip(*np.nonzero(I._checkerboard(L1, L2, parity))))
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
    """physics-detailed-balance: pi_a P_ab = pi_b P_ba for one checkerboard half-sweep of a 2 x 2 torus."""
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
    keep = expected > 5                                            # bins with enough expected counts
    rest_obs, rest_exp = counts[~keep].sum(), expected[~keep].sum()
    stat = ((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    dof = keep.sum() - 1
    if rest_exp > 5:
        stat += (rest_obs - rest_exp) ** 2 / rest_exp
        dof += 1
    return stat < chi2.ppf(0.9999, dof)


def test_wolff_draws_the_boltzmann_distribution():
    """physics-ising-boltzmann: the states Wolff visits on a 3 x 3 torus (512 states) have e^{-beta E}/Z (chi-square)."""
    T, shape = 2.5, (3, 3)
    states = I.all_spin_states(*shape)
    pi = np.exp(-I.energy(states) / T)
    pi /= pi.sum()
    weights = 2 ** np.arange(9)
    codes = _state_histogram("wolff", shape, T, lambda c: (c.reshape(len(c), -1) > 0) @ weights,
                             np.random.default_rng(1))
    assert _chi2_ok(np.bincount(codes, minlength=len(states)), pi)


def test_metropolis_draws_the_exact_energy_distribution():
    """physics-ising-boltzmann: the energies checkerboard Metropolis visits on a 4 x 4 torus follow g(E) e^{-beta E}/Z."""
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
    """physics-ex-checkerboard: states whose every local field is zero flip deterministically and never leave.

    The transition matrix of a sweep of the 2 x 2 torus has eigenvalue 1 more than once (more
    than one closed class) and eigenvalue -1 (a cycle); Wolff's has 1 once.
    """
    beta = 1 / 2.5
    _, P0 = _transition_matrix_half_sweep(2, 2, beta, 0)
    _, P1 = _transition_matrix_half_sweep(2, 2, beta, 1)
    ev = np.linalg.eigvals(P0 @ P1)
    assert np.sum(np.abs(ev - 1) < 1e-10) >= 2 and np.any(np.abs(ev + 1) < 1e-10)


@pytest.mark.parametrize("sampler", ["metropolis", "wolff"])
@pytest.mark.parametrize("L", [4, 8])
def test_samplers_reproduce_the_exact_energy_and_specific_heat(sampler, L):
    """Both samplers: <E>/N and C of the 4 x 4 and 8 x 8 torus below, at and above T_c, within 4 standard errors."""
    temps = [1.8, I.T_C, 3.0]
    exact = I.kaufman_thermodynamics(L, temps)
    for k, T in enumerate(temps):
        s = I.sample_ising(L, T, 3000, sampler=sampler, num_chains=100, seed=10 + k)
        th = I.thermodynamics(s.spins, T)
        assert abs(th.energy.z(exact.energy[k])) < 4, (T, th.energy, exact.energy[k])
        assert abs(th.specific_heat.z(exact.specific_heat[k])) < 4, (T, th.specific_heat, exact.specific_heat[k])


def test_samplers_reproduce_the_exact_magnetisation_of_a_4x4_torus():
    """<|m|> and chi of the 4 x 4 torus against enumeration (eq. physics-susceptibility)."""
    temps = [1.8, I.T_C, 3.0]
    exact = I.exact_enumeration(4, temps)
    for sampler in ("metropolis", "wolff"):
        for k, T in enumerate(temps):
            th = I.thermodynamics(I.sample_ising(4, T, 3000, sampler=sampler, num_chains=100, seed=20 + k).spins, T)
            assert abs(th.abs_magnetisation.z(exact.abs_magnetisation[k])) < 4
            assert abs(th.susceptibility.z(exact.susceptibility[k])) < 4


def test_wolff_decorrelates_faster_than_metropolis_at_tc():
    """Critical slowing down: at T_c on a 16 x 16 torus, tau(|m|) in sweeps is several times shorter for Wolff."""
    met = I.sample_ising(16, I.T_C, 50, sampler="metropolis", num_chains=50, seed=0)
    wol = I.sample_ising(16, I.T_C, 50, sampler="wolff", num_chains=50, seed=0)
    assert met.tau_in_sweeps("abs_magnetisation") > 3 * wol.tau_in_sweeps("abs_magnetisation")


def test_correlation_function_against_enumeration():
    """physics-correlation: G(r) of samples of a 4 x 4 torus against the exact <s_0 s_r>."""
    T = 2.5
    states = I.all_spin_states(4)
    w = np.exp(-I.energy(states) / T)
    w /= w.sum()
    sf = states.astype(float)
    exact = [(w * sf[:, 0, 0] * sf[:, 0, r]).sum() for r in range(3)]
    s = I.sample_ising(4, T, 4000, sampler="wolff", num_chains=100, seed=5)
    r, G, se = I.correlation_function(s.spins)
    assert list(r) == [0, 1, 2] and G[0] == 1 and se[0] == 0
    assert np.all(np.abs(G[1:] - exact[1:]) < 4 * se[1:])


# ---------------------------------------------------------------------------
# autocorrelation and error bars
# ---------------------------------------------------------------------------

def test_integrated_autocorrelation_time_of_an_ar1_process():
    """physics-tau-int: for x_t = phi x_{t-1} + noise, rho(t) = phi^t and tau_int = (1 + phi) / (2 (1 - phi))."""
    rng = np.random.default_rng(0)
    for phi in (0.0, 0.5, 0.9):
        x = np.zeros((20, 20000))
        noise = rng.standard_normal(x.shape)
        for t in range(1, x.shape[1]):
            x[:, t] = phi * x[:, t - 1] + noise[:, t]
        tau, W = I.integrated_autocorrelation_time(x)
        assert tau == pytest.approx((1 + phi) / (2 * (1 - phi)), rel=0.05), phi
        assert W >= 5 * tau


def _correlated_runs(reps, L=8, T=I.T_C, chains=20, sweeps=100, burn_in=1000, seed=0):
    """Consecutive Metropolis sweeps (not thinned), in chain order: strongly correlated samples.

    All reps x chains chains run as one vectorised batch from the ordered state; rep r gets
    chains r*chains .. (r+1)*chains - 1, shape (reps, chains, sweeps, L, L). The slow |m| mode
    needs about 1,000 sweeps at T_c to forget the ordered start.
    """
    rng = np.random.default_rng(seed)
    spins = I.initial_spins(reps * chains, L, T, rng, "ordered")
    for _ in range(burn_in):
        I.metropolis_sweep(spins, 1 / T, rng)
    kept = np.empty((reps * chains, sweeps, L, L), dtype=np.int8)
    for k in range(sweeps):
        I.metropolis_sweep(spins, 1 / T, rng)
        kept[:, k] = spins
    return kept.reshape(reps, chains, sweeps, L, L)


def test_error_bars_cover_the_exact_value_at_the_stated_rate():
    """The jackknife errors of <E>/N and C, from correlated samples, cover the exact values at the stated rate.

    With 20 blocks the error is itself estimated from 20 numbers, so |z| < 1 and |z| < 2 have the
    probabilities of Student's t with 19 degrees of freedom (0.67 and 0.94), checked within the
    binomial 99.9% interval of 150 runs. Naive errors (each sample independent) fail this test.
    """
    from scipy.stats import binom, t as student_t

    exact = I.kaufman_thermodynamics(8, [I.T_C])
    reps = 150
    runs = _correlated_runs(reps)
    z_e, z_c = [], []
    for run in runs:
        th = I.thermodynamics(run, I.T_C, num_blocks=20)        # blocks = whole chains
        z_e.append(th.energy.z(exact.energy[0]))
        z_c.append(th.specific_heat.z(exact.specific_heat[0]))
    for z in (np.abs(z_e), np.abs(z_c)):
        for width in (1, 2):
            level = student_t.cdf(width, 19) - student_t.cdf(-width, 19)
            lo, hi = binom.ppf([0.0005, 0.9995], reps, level)
            assert lo <= (z < width).sum() <= hi, (level, (z < width).mean())


# ---------------------------------------------------------------------------
# settings, cache, artifacts
# ---------------------------------------------------------------------------

def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="> 0"):
        I.sample_ising(8, 0.0, 10)
    with pytest.raises(ValueError, match="> 0"):
        I.kaufman_log_z(4, [-1.0])
    with pytest.raises(ValueError, match="even"):
        I.sample_ising(7, 2.0, 10, sampler="metropolis")
    with pytest.raises(ValueError, match="sampler"):
        I.sample_ising(8, 2.0, 10, sampler="heatbath")
    with pytest.raises(ValueError, match="increasing"):
        I.ising_dataset(8, [2.0, 1.0], 10, cache=False)
    with pytest.raises(ValueError, match="exactly -1 or \\+1"):
        I.energy(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="int8"):
        I.metropolis_sweep(np.ones((2, 4, 4)), 1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="at most 20"):
        I.exact_enumeration(5, [2.0])
    with pytest.raises(ValueError, match="J must be > 0"):
        I.kaufman_log_z(4, [2.0], J=-1.0)


def test_dataset_is_cached_by_its_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("GENMOD_DATA", str(tmp_path))
    first = I.ising_dataset(4, [1.5, 3.0], 40, num_chains=10, seed=0, verbose=False)
    again = I.ising_dataset(4, [1.5, 3.0], 40, num_chains=10, seed=0, verbose=False)
    other = I.ising_dataset(4, [1.5, 3.0], 40, num_chains=10, seed=1, verbose=False)
    assert not first.cached and again.cached and not other.cached
    assert first.path == again.path != other.path
    np.testing.assert_array_equal(first.spins(), again.spins())
    assert first.spins().shape == (2, 40, 4, 4) and first.spins().dtype == np.int8
    assert again.samples[1].thinning == first.samples[1].thinning
    assert not np.array_equal(first.spins(), other.spins())


def test_save_artifacts_stores_ising_lattices_unchanged(tmp_path, monkeypatch):
    """The sampler's int8 lattices go through save_artifacts exactly, with the grid and J in metrics.json."""
    import genmod

    monkeypatch.setenv("GENMOD_ARTIFACTS", str(tmp_path))
    spins = I.sample_ising(8, 2.0, 100, num_chains=10, seed=0).flat()
    metrics = {"temperatures": [2.0], "coupling_j": 1.0, "energy_per_spin": [-1.74]}
    out = genmod.save_artifacts("ising_test", spins, metrics, kind="spins", config=genmod.Config(a=1), device="cpu")
    with np.load(out / "samples.npz") as f:
        stored = f["samples"]
    assert stored.dtype == np.int8
    np.testing.assert_array_equal(stored, spins)
    record = json.loads((out / "metrics.json").read_text())
    assert record["metrics"]["temperatures"] == [2.0] and record["units"]["coupling_j"] == "J"


def test_two_by_two_partition_function():
    """physics-ex-two-by-two: Z = 2 e^{8K} + 12 + 2 e^{-8K} on the 2 x 2 torus, from Kaufman and from enumeration."""
    T = np.array([0.7, 1.3, 2.7, 9.0])
    K = 1 / T
    closed = np.log(2 * np.exp(8 * K) + 12 + 2 * np.exp(-8 * K))
    np.testing.assert_allclose(I.kaufman_log_z(2, T), closed, rtol=1e-14)
    np.testing.assert_allclose(I.exact_enumeration(2, T).log_z, closed, rtol=1e-14)
    assert I.exact_enumeration(2, [0.05]).energy[0] == pytest.approx(-2.0, abs=1e-12)


# --- generated lattices judged against the exact answers ---------------------------------

def test_exact_specific_heat_peak_is_a_maximum_of_kaufmans_c():
    t_peak, c_max = I.exact_specific_heat_peak(8)
    around = I.kaufman_thermodynamics(8, [t_peak - 1e-3, t_peak, t_peak + 1e-3]).specific_heat
    assert around[1] == pytest.approx(c_max, abs=1e-8)        # the precision of the numerical derivative (docstring)
    assert around[1] > around[0] and around[1] > around[2]
    assert I.T_C < t_peak < I.T_C + 0.2                       # the finite-size shift is upwards on the 8 x 8 torus
    peaks = [I.exact_specific_heat_peak(L)[0] for L in (8, 16, 32)]
    assert peaks[0] > peaks[1] > peaks[2] > I.T_C            # and shrinks towards T_c as L grows
    with pytest.raises(ValueError, match="no maximum"):
        I.exact_specific_heat_peak(8, bounds=(2.5, 4.0))


@pytest.mark.parametrize("spacing", [0.05, 0.1])
def test_specific_heat_peak_on_a_grid_finds_the_exact_peak(spacing):
    t_peak, _ = I.exact_specific_heat_peak(8)
    for shift in (0.0, 0.3, 0.7):                          # grids placed differently around the peak
        grid = np.arange(1.9, 2.9, spacing) + shift * spacing
        c = I.kaufman_thermodynamics(8, grid).specific_heat
        assert abs(I.specific_heat_peak(grid, c) - t_peak) < 0.01
    parabola = np.array([1.0, 2.0, 2.5, 4.0])
    assert I.specific_heat_peak(parabola, -(parabola - 2.2) ** 2) == pytest.approx(2.2, abs=1e-12)
    with pytest.raises(ValueError, match="not bracketed"):
        I.specific_heat_peak([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="increase"):
        I.specific_heat_peak([1.0, 3.0, 2.0], [1.0, 2.0, 1.0])


def test_compare_with_exact_of_exact_samples_and_of_wrong_ones():
    # Exact samples of the 4 x 4 torus: drawn i.i.d. from the enumerated Boltzmann distribution.
    rng = np.random.default_rng(3)
    states = I.all_spin_states(4)
    temperatures = np.array([1.8, 2.4, 3.2])
    exact_sets, hot_sets = [], []
    for t in temperatures:
        logp = -I.energy(states) / t
        p = np.exp(logp - logp.max())
        exact_sets.append(states[rng.choice(len(states), 4000, p=p / p.sum())])
        logq = -I.energy(states) / (t + 0.4)                # the Boltzmann distribution of a hotter lattice
        q = np.exp(logq - logq.max())
        hot_sets.append(states[rng.choice(len(states), 4000, p=q / q.sum())])
    good = I.compare_with_exact(exact_sets, temperatures)
    enum = I.exact_enumeration(4, temperatures)
    np.testing.assert_allclose(good.exact.energy, enum.energy, atol=1e-8)
    assert good.max_abs_energy_z() < 4 and good.max_abs_specific_heat_z() < 4
    assert good.max_abs_energy_rel() < 0.03
    hot = I.compare_with_exact(hot_sets, temperatures)
    assert np.all(hot.energy_rel > 0.02) and hot.max_abs_energy_z() > 5   # too hot: energy too high, and seen
    metrics = good.metrics()
    assert metrics["energy_per_spin"] == [o.energy.value for o in good.observed]
    assert metrics["susceptibility_se"] == [o.susceptibility.se for o in good.observed]
    assert metrics["specific_heat_exact"] == pytest.approx(enum.specific_heat.tolist(), abs=1e-8)
    from genmod.artifacts import metric_unit
    assert all(metric_unit(name) for name in metrics)             # every name is a registered metric
    table = good.table()
    assert len(table.splitlines()) == 2 + len(temperatures) and "1.800" in table
    assert good.max_abs_energy_rel(away_from_tc=0.3) == pytest.approx(np.max(np.abs(good.energy_rel[[0, 2]])))
    with pytest.raises(ValueError, match="no temperature"):
        good.max_abs_energy_rel(away_from_tc=5.0)
    with pytest.raises(ValueError, match="3 temperatures"):
        I.compare_with_exact(exact_sets[:2], temperatures)
    with pytest.raises(ValueError, match="shape"):
        I.compare_with_exact([s.reshape(-1, 2, 8) for s in exact_sets], temperatures)


def test_thermodynamics_vs_exact_draws_every_point():
    import matplotlib

    matplotlib.use("Agg")
    from genmod.plotting import thermodynamics_vs_exact

    d = I.ising_dataset(4, [1.8, 3.0], 200, num_chains=10, cache=False, verbose=False)
    cmp = I.compare_with_exact([s.flat() for s in d.samples], d.temperatures)
    axes = thermodynamics_vs_exact({"Wolff": cmp})
    for ax in axes:
        assert len(ax.containers) == 1 and len(ax.containers[0].lines[0].get_xdata()) == 2
    with pytest.raises(ValueError, match="empty"):
        thermodynamics_vs_exact({})
