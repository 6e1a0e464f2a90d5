"""The exact answers (genmod.ising.exact): Kaufman against enumeration, Onsager, Yang, the exact
log-likelihood.

Equation labels refer to book/physics/ising.md.
"""

import itertools

import numpy as np
import pytest
from scipy.integrate import dblquad

from genmod import ising as I


TEMPS = np.array([1.0, 1.8, 2.2, I.T_C, 2.4, 3.0, 5.0])


@pytest.mark.parametrize("shape", [(3, 3), (3, 4), (4, 3), (4, 4), (2, 5), (2, 2)])
def test_kaufman_equals_enumeration(shape):
    """physics-kaufman-z, physics-kaufman-gamma: ln Z of the finite torus, even and odd sides, to
    rounding."""
    exact = I.exact_enumeration(shape[0], TEMPS, L2=shape[1])
    log_z = I.kaufman_log_z(shape[0], TEMPS, L2=shape[1])
    np.testing.assert_allclose(log_z, exact.log_z, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("shape", [(3, 3), (3, 4), (4, 4)])
def test_kaufman_energy_and_specific_heat_equal_enumeration(shape):
    """physics-energy-from-z: derivatives of Kaufman's ln Z give the exact <E>/N and C of the
    torus."""
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
    np.testing.assert_allclose(
        kt.specific_heat, I.kaufman_thermodynamics(3, 2 * TEMPS, L2=4).specific_heat, atol=1e-8
    )


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


def test_kaufman_approaches_onsager():
    """physics-onsager-f, physics-onsager-energy: the finite torus tends to the infinite lattice as
    L grows."""
    gaps_f, gaps_e = [], []
    for L in (8, 16, 32, 64):
        kt = I.kaufman_thermodynamics(L, TEMPS)
        gaps_f.append(np.abs(kt.log_z / L**2 - I.onsager_free_energy(TEMPS)).max())
        gaps_e.append(np.abs(kt.energy - I.onsager_energy(TEMPS))[TEMPS != I.T_C].max())
    assert all(b < a for a, b in zip(gaps_f, gaps_f[1:])) and gaps_f[-1] < 2e-4
    # below T_c the gap is the two-fold degeneracy of the ordered state, ln 2 / N
    kt = I.kaufman_thermodynamics(64, [1.0])
    assert kt.log_z[0] / 64**2 - I.onsager_free_energy([1.0])[0] == pytest.approx(
        np.log(2) / 64**2, rel=1e-3
    )
    assert gaps_e[-1] < 1e-3 and gaps_e[-1] < gaps_e[0] / 50
    # at T_c the energy converges as 1/L: the gap halves when L doubles
    at_tc = [I.kaufman_thermodynamics(L, [I.T_C]).energy[0] + np.sqrt(2) for L in (32, 64, 128)]
    assert at_tc[1] / at_tc[0] == pytest.approx(0.5, abs=0.02) and at_tc[2] / at_tc[
        1
    ] == pytest.approx(0.5, abs=0.01)


def test_onsager_single_integral_equals_the_double_integral():
    """physics-onsager-f: -beta f = ln 2 + 1/(8 pi^2) int int ln(cosh^2 2K - sinh 2K (cos w1 + cos
    w2))."""
    for T in (1.5, 2.0, 3.0, 6.0):
        K = 1 / T
        val, _ = dblquad(
            lambda w1, w2: np.log(np.cosh(2 * K) ** 2 - np.sinh(2 * K) * (np.cos(w1) + np.cos(w2))),
            0,
            2 * np.pi,
            0,
            2 * np.pi,
            epsabs=1e-11,
        )
        assert I.onsager_free_energy([T])[0] == pytest.approx(
            np.log(2) + val / (8 * np.pi**2), abs=1e-9
        )


def test_onsager_energy_is_the_derivative_of_the_free_energy():
    """physics-onsager-energy: <E>/N = -d(-beta f)/dK, away from T_c."""
    for T in (1.5, 2.0, 2.6, 4.0):
        K, h = 1 / T, 1e-5
        d = (I.onsager_free_energy([1 / (K + h)])[0] - I.onsager_free_energy([1 / (K - h)])[0]) / (
            2 * h
        )
        assert I.onsager_energy([T])[0] == pytest.approx(-d, abs=1e-7)
    assert I.onsager_energy([I.T_C])[0] == pytest.approx(-np.sqrt(2), abs=1e-12)


def test_critical_temperature_and_yang():
    """physics-onsager-tc, physics-yang: sinh 2K_c = 1; m_0 vanishes at T_c, tends to 1 at T ->
    0."""
    assert np.sinh(2 / I.T_C) == pytest.approx(1.0, abs=1e-14)
    m0 = I.yang_magnetisation([0.5, 1.5, 2.2, I.T_C, 2.5])
    assert m0[0] == pytest.approx(1.0, abs=1e-6) and m0[3] == 0 and m0[4] == 0
    assert np.all(np.diff(m0[:3]) < 0)
    # near T_c, m_0 ~ (T_c - T)^(1/8): the log-log slope is 1/8
    eps = np.array([1e-4, 1e-5])
    m = I.yang_magnetisation(I.T_C - eps)
    assert np.log(m[0] / m[1]) / np.log(eps[0] / eps[1]) == pytest.approx(1 / 8, abs=1e-3)


@pytest.mark.slow
def test_yang_against_a_large_lattice():
    """physics-yang: <|m|> of a 32 x 32 torus (Wolff) at T = 1.5 is Yang's m_0 (finite-size effects
    are tiny there)."""
    s = I.sample_ising(32, 1.5, 400, sampler="wolff", num_chains=20, seed=3)
    th = I.thermodynamics(s.spins, 1.5)
    m0 = I.yang_magnetisation([1.5])[0]
    assert abs(th.abs_magnetisation.value - m0) < 4 * th.abs_magnetisation.se + 1e-3


def test_two_by_two_partition_function():
    """physics-ex-two-by-two: Z = 2 e^{8K} + 12 + 2 e^{-8K} on the 2 x 2 torus, from Kaufman and
    from enumeration."""
    T = np.array([0.7, 1.3, 2.7, 9.0])
    K = 1 / T
    closed = np.log(2 * np.exp(8 * K) + 12 + 2 * np.exp(-8 * K))
    np.testing.assert_allclose(I.kaufman_log_z(2, T), closed, rtol=1e-14)
    np.testing.assert_allclose(I.exact_enumeration(2, T).log_z, closed, rtol=1e-14)
    assert I.exact_enumeration(2, [0.05]).energy[0] == pytest.approx(-2.0, abs=1e-12)


def test_exact_specific_heat_peak_is_a_maximum_of_kaufmans_c():
    t_peak, c_max = I.exact_specific_heat_peak(8)
    around = I.kaufman_thermodynamics(8, [t_peak - 1e-3, t_peak, t_peak + 1e-3]).specific_heat
    # the precision of the numerical derivative (docstring)
    assert around[1] == pytest.approx(c_max, abs=1e-8)
    assert around[1] > around[0] and around[1] > around[2]
    # the finite-size shift is upwards on the 8 x 8 torus
    assert I.T_C < t_peak < I.T_C + 0.2
    peaks = [I.exact_specific_heat_peak(L)[0] for L in (8, 16, 32)]
    assert peaks[0] > peaks[1] > peaks[2] > I.T_C            # and shrinks towards T_c as L grows
    with pytest.raises(ValueError, match="no maximum"):
        I.exact_specific_heat_peak(8, bounds=(2.5, 4.0))


def test_log_likelihood_normalises_over_all_states():
    """physics-ising-boltzmann: exp(-E/T - ln Z) sums to one over the 2^16 states of the 4 x 4
    torus."""
    states = I.all_spin_states(4)
    temps = [1.5, I.T_C, 3.0]
    log_p = I.log_likelihood(states, temps)
    assert log_p.shape == (len(states), 3)
    np.testing.assert_allclose(np.exp(log_p).sum(0), 1.0, rtol=1e-12)
    # the ground states are the most likely, and the mean of -log p is the entropy S = <E>/T + ln Z
    assert np.argmax(log_p[:, 0]) in (0, len(states) - 1)
    exact = I.exact_enumeration(4, temps)
    entropy = -(np.exp(log_p) * log_p).sum(0)
    np.testing.assert_allclose(
        entropy, 16 * exact.energy / np.array(temps) + exact.log_z, rtol=1e-10
    )
    with pytest.raises(ValueError, match="shape"):
        I.log_likelihood(states[0], temps)


def test_kaufman_gamma_0_changes_sign_at_tc():
    """physics-kaufman-gamma: gamma_0 = 2K + ln tanh K = 2 (K - K*) is > 0 below T_c and < 0 above
    it."""
    for T in (1.5, 2.0, 2.25, 2.3, 3.0, 5.0):
        K = 1 / T
        gamma_0 = 2 * K + np.log(np.tanh(K))
        k_dual = -0.5 * np.log(np.tanh(K))                       # tanh K* = e^{-2K}
        assert gamma_0 == pytest.approx(2 * (K - k_dual), abs=1e-14)
        assert np.sign(gamma_0) == np.sign(I.T_C - T)
