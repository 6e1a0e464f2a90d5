"""The observables (genmod.ising.observables): G(r), the autocorrelation time, error bars at their
stated rate.

Equation labels refer to book/physics/ising.md.
"""

import numpy as np
import pytest

from genmod import ising as I


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


def test_integrated_autocorrelation_time_of_an_ar1_process():
    """physics-tau-int: for x_t = phi x_{t-1} + noise, rho(t) = phi^t and tau_int = (1 + phi) / (2
    (1 - phi))."""
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


@pytest.mark.slow
def test_error_bars_cover_the_exact_value_within_the_binomial_interval_of_the_stated_rate():
    """The jackknife errors of <E>/N and C, from correlated samples, cover the exact values within
    the binomial 99.9% interval of the stated rate (measured 58 % and 61 % for |z| < 1 against
    0.67: the test rules out gross failures, not error bars 4-21 % too narrow; ising.md says so).

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


@pytest.mark.parametrize("spacing", [0.05, 0.1])
def test_specific_heat_peak_on_a_grid_finds_the_exact_peak(spacing):
    t_peak, _ = I.exact_specific_heat_peak(8)
    # grids placed differently around the peak
    for shift in (0.0, 0.3, 0.7):
        grid = np.arange(1.9, 2.9, spacing) + shift * spacing
        c = I.kaufman_thermodynamics(8, grid).specific_heat
        assert abs(I.specific_heat_peak(grid, c) - t_peak) < 0.01
    parabola = np.array([1.0, 2.0, 2.5, 4.0])
    assert I.specific_heat_peak(parabola, -(parabola - 2.2) ** 2) == pytest.approx(2.2, abs=1e-12)
    with pytest.raises(ValueError, match="not bracketed"):
        I.specific_heat_peak([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="increase"):
        I.specific_heat_peak([1.0, 3.0, 2.0], [1.0, 2.0, 1.0])
