r"""The sign of Kaufman's gamma_0 and of the fourth product Z_4 (book/physics/ising.md,
eqs. physics-kaufman-z and physics-kaufman-gamma).

gamma_0 = 2K + ln tanh K = 2(K - K*), with the dual coupling tanh K* = e^{-2K}: negative above
T_c, zero at T_c, positive below. Z_4 = prod_r 2 sinh(L1 gamma_{2r} / 2) has the sign of gamma_0
(only its r = 0 factor can be negative), so Z_4 < 0 above T_c. genmod does not expose the four
products, so they are computed here from the formula, in float64 (no overflow up to 4 x 4), and
their signed sum is checked against genmod.ising.kaufman_log_z and against exact enumeration.
"""

import math

import numpy as np
import pytest

from genmod import ising

HOT = (2.5, 3.0, 3.5, 5.0)  # above T_c = 2.269
COLD = (1.0, 1.5, 2.0, 2.2)  # below T_c


def kaufman_products(L1, L2, T, J=1.0):
    """gamma_0 and the four products Z_1..Z_4 of Kaufman's formula, and ln Z from their signed
    sum."""
    K = J / T
    l = np.arange(2 * L2)
    gamma = np.arccosh(np.maximum(np.cosh(2 * K) / np.tanh(2 * K) - np.cos(np.pi * l / L2), 1.0))
    gamma[0] = 2 * K + math.log(math.tanh(K))  # keeps its sign
    odd, even = gamma[1::2], gamma[0::2]  # gamma_{2r+1}, gamma_{2r}
    z = np.array(
        [
            np.prod(2 * np.cosh(L1 * odd / 2)),
            np.prod(2 * np.sinh(L1 * odd / 2)),
            np.prod(2 * np.cosh(L1 * even / 2)),
            np.prod(2 * np.sinh(L1 * even / 2)),
        ]
    )
    log_prefactor = -math.log(2) + 0.5 * L1 * L2 * math.log(2 * math.sinh(2 * K))
    return gamma[0], z, log_prefactor


def dual_coupling(K):
    """K* with tanh K* = e^{-2K}."""
    return math.atanh(math.exp(-2 * K))


def test_gamma0_is_twice_k_minus_the_dual_coupling():
    for T in HOT + COLD + (ising.T_C,):
        K = 1.0 / T
        g0, _, _ = kaufman_products(2, 2, T)
        assert g0 == pytest.approx(2 * (K - dual_coupling(K)), abs=1e-12)
        # the duality is symmetric and fixes T_c: sinh 2K sinh 2K* = 1
        assert math.sinh(2 * K) * math.sinh(2 * dual_coupling(K)) == pytest.approx(1.0, rel=1e-12)
    g0_c, _, _ = kaufman_products(2, 2, ising.T_C)
    assert abs(g0_c) < 1e-12  # K = K* at T_c


def test_gamma0_is_negative_above_tc_and_positive_below():
    for T in HOT:
        assert kaufman_products(4, 4, T)[0] < 0, T
    for T in COLD:
        assert kaufman_products(4, 4, T)[0] > 0, T
    # monotone in T: gamma_0 = 2(K - K*) falls as T rises
    g = [kaufman_products(2, 2, T)[0] for T in np.linspace(1.0, 5.0, 41)]
    assert np.all(np.diff(g) < 0)


@pytest.mark.parametrize("L", [2, 4])
def test_z4_is_negative_above_tc_and_positive_below(L):
    for T in HOT:
        _, z, _ = kaufman_products(L, L, T)
        assert z[3] < 0, (L, T, z)
        assert np.all(z[:3] > 0), (L, T, z)
    for T in COLD:
        _, z, _ = kaufman_products(L, L, T)
        assert np.all(z > 0), (L, T, z)


@pytest.mark.parametrize("L", [2, 4])
def test_signed_products_give_genmod_and_enumeration(L):
    temps = HOT + COLD + (ising.T_C,)
    exact = ising.exact_enumeration(L, temps).log_z
    genmod_log_z = ising.kaufman_log_z(L, temps)
    for T, lz_exact, lz_genmod in zip(temps, exact, genmod_log_z):
        _, z, log_pre = kaufman_products(L, L, T)
        lz = log_pre + math.log(z.sum())
        assert lz == pytest.approx(lz_exact, abs=1e-10), (L, T)
        assert lz == pytest.approx(lz_genmod, abs=1e-10), (L, T)
        if T in HOT:  # negative control: |Z_4| is wrong
            lz_unsigned = log_pre + math.log(np.abs(z).sum())
            assert abs(lz_unsigned - lz_exact) > 1e-3, (L, T)


def test_two_by_two_z4_at_t_3_5():
    """The numbers the chapter quotes: gamma_0 = -0.708, Z_1 = 20.5, Z_4 = -9.5 on the 2 x 2
    torus at T = 3.5."""
    g0, z, log_pre = kaufman_products(2, 2, 3.5)
    assert g0 == pytest.approx(-0.708, abs=5e-4)
    assert z[0] == pytest.approx(20.5, abs=0.05)
    assert z[3] == pytest.approx(-9.5, abs=0.05)
    K = 1 / 3.5
    assert log_pre + math.log(z.sum()) == pytest.approx(
        math.log(2 * math.exp(8 * K) + 12 + 2 * math.exp(-8 * K)), abs=1e-12
    )  # physics-ex-two-by-two
