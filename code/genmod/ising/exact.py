r"""Exact answers: enumeration, Kaufman's finite torus, Onsager's and Yang's infinite lattice
(numpy, scipy).

:func:`exact_enumeration` sums over all :math:`2^{L_1 L_2}` states of a small torus;
:func:`kaufman_log_z` and :func:`kaufman_thermodynamics` give the exact :math:`\ln Z`,
energy and specific heat of any finite torus; :func:`log_likelihood` is the exact
log-probability of a lattice under the Boltzmann distribution; :data:`T_C`,
:func:`onsager_free_energy`, :func:`onsager_energy` and :func:`yang_magnetisation`
are the infinite lattice's; :func:`exact_specific_heat_peak` locates the maximum of
Kaufman's :math:`C(T)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from genmod.ising.lattice import _check_J, _check_temperatures, check_spins, energy

__all__ = ["T_C", "ExactThermodynamics", "all_spin_states", "exact_enumeration", "kaufman_log_z",
           "kaufman_thermodynamics", "log_likelihood", "onsager_free_energy", "onsager_energy",
           "yang_magnetisation", "exact_specific_heat_peak"]

#: Onsager's critical temperature :math:`T_c = 2 / \ln(1 + \sqrt 2) \approx 2.269`
#: (units of :math:`J/k_B`),
#: eq. ``physics-onsager-tc``.
T_C = 2.0 / math.log(1.0 + math.sqrt(2.0))


# ---------------------------------------------------------------------------
# Exact answers: enumeration
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ExactThermodynamics:
    r"""Exact thermal averages on a finite torus at each temperature (all per spin).

    Attributes:
        temperatures: :math:`T`, shape ``(n_T,)`` (units of :math:`J/k_B`).
        log_z: :math:`\ln Z` of the whole lattice (nats).
        energy: :math:`\langle E \rangle / N` (units of :math:`J`).
        specific_heat: :math:`C = (\langle E^2 \rangle - \langle E \rangle^2) / (N T^2)`
            (units of :math:`k_B`), eq. ``physics-specific-heat``.
        abs_magnetisation: :math:`\langle |m| \rangle` (``None`` from Kaufman's formula,
            which does not give it).
        magnetisation_sq: :math:`\langle m^2 \rangle` (``None`` from Kaufman).
        susceptibility: :math:`\chi = N (\langle m^2 \rangle - \langle |m| \rangle^2) / T`
            (units of :math:`1/J`), eq. ``physics-susceptibility`` (``None`` from Kaufman).
        shape: ``(L1, L2)``; J: the coupling.
    """

    temperatures: np.ndarray
    log_z: np.ndarray
    energy: np.ndarray
    specific_heat: np.ndarray
    abs_magnetisation: np.ndarray | None
    magnetisation_sq: np.ndarray | None
    susceptibility: np.ndarray | None
    shape: tuple
    J: float


def all_spin_states(L1: int, L2: int | None = None) -> np.ndarray:
    r"""All :math:`2^{L_1 L_2}` configurations of an :math:`L_1 \times L_2` lattice, int8 of shape
    ``(2^n, L1, L2)``.

    Raises:
        ValueError: if :math:`L_1 L_2 > 20` (more than a million states) or a side is below 2.
    """
    L2 = L1 if L2 is None else L2
    n = L1 * L2
    if min(L1, L2) < 2 or n > 20:
        raise ValueError(
            f"enumeration needs sides >= 2 and at most 20 spins, got {L1} x {L2} = {n}"
        )
    idx = np.arange(2**n, dtype=np.int64)[:, None]
    bits = (idx >> np.arange(n, dtype=np.int64)) & 1                    # (2^n, n)
    return (2 * bits - 1).astype(np.int8).reshape(2**n, L1, L2)


def exact_enumeration(
    L: int, temperatures, J: float = 1.0, L2: int | None = None
) -> ExactThermodynamics:
    r"""Exact thermodynamics of the :math:`L \times L_2` torus by summing over all :math:`2^{L L_2}`
    states.

    .. math::
        Z = \sum_{\mathbf{s}} e^{-\beta E(\mathbf{s})}, \qquad
        \langle f \rangle = \frac{1}{Z} \sum_{\mathbf{s}} f(\mathbf{s})\, e^{-\beta E(\mathbf{s})}

    (eqs. ``physics-ising-boltzmann``), done as a sum over the distinct
    :math:`(E, |M|)` pairs weighted by their number of states.

    Args:
        L: the number of rows (>= 2).
        temperatures: :math:`T > 0`, a number or a 1-D array (units of :math:`J/k_B`).
        J: the coupling, > 0.
        L2: the number of columns (default ``L``); :math:`L L_2 \le 20`.

    Returns:
        An :class:`ExactThermodynamics` with every field filled.

    Raises:
        ValueError: on a bad size, temperature or coupling.
    """
    L2 = L if L2 is None else L2
    t = _check_temperatures(np.atleast_1d(temperatures))
    J = _check_J(J)
    states = all_spin_states(L, L2)
    n = L * L2
    e_all = energy(states, J)                                    # (2^n,)
    m_abs = np.abs(states.astype(np.int64).sum(axis=(-2, -1)))   # |M| total, integer
    # density of states over (E, |M|) pairs: exact integer counts
    keys, counts = np.unique(
        np.stack([e_all, m_abs.astype(np.float64)], 1), axis=0, return_counts=True
    )
    e, m = keys[:, 0], keys[:, 1] / n
    beta = 1.0 / t[:, None]
    log_w = np.log(counts)[None, :] - beta * (e[None, :] - e.min())      # (n_T, n_keys), shifted
    w_max = log_w.max(1, keepdims=True)
    w = np.exp(log_w - w_max)
    zs = w.sum(1)
    p = w / zs[:, None]
    log_z = np.log(zs) + w_max[:, 0] - beta[:, 0] * e.min()
    e_mean = p @ e
    var_e = np.einsum("tk,tk->t", p, (e[None, :] - e_mean[:, None]) ** 2)
    abs_m = p @ m
    m2 = p @ m**2
    return ExactThermodynamics(
        temperatures=t, log_z=log_z, energy=e_mean / n, specific_heat=var_e / (n * t**2),
        abs_magnetisation=abs_m, magnetisation_sq=m2, susceptibility=n * (m2 - abs_m**2) / t,
        shape=(L, L2), J=J,
    )


# ---------------------------------------------------------------------------
# Exact answers: Kaufman's partition function of the finite torus
# ---------------------------------------------------------------------------

def _log_abs_2cosh(x):
    ax = np.abs(x)
    return ax + np.log1p(np.exp(-2 * ax))


def _log_abs_2sinh(x):
    ax = np.abs(x)
    with np.errstate(divide="ignore"):
        return ax + np.log(-np.expm1(-2 * ax))                # -inf at x = 0


def _kaufman_log_z_of_K(K: np.ndarray, L1: int, L2: int) -> np.ndarray:
    # ln Z at couplings K = beta J (1-D array), for L1 rows (the exponent m) and L2 columns
    # (the product over r)
    K = np.asarray(K, dtype=np.float64)[:, None]                   # (n_K, 1)
    l = np.arange(2 * L2)[None, :]                                 # l = 0 .. 2 L2 - 1
    c = np.cosh(2 * K) / np.tanh(2 * K)                            # cosh 2K coth 2K
    # gamma_l >= 0, eq. physics-kaufman-gamma
    gamma = np.arccosh(np.maximum(c - np.cos(np.pi * l / L2), 1.0))
    # gamma_0 = 2K + ln tanh K = 2(K - K*) keeps its sign: > 0 below T_c, < 0 above
    gamma[:, 0] = 2 * K[:, 0] + np.log(np.tanh(K[:, 0]))
    # gamma_{2r+1}, gamma_{2r}, r = 0 .. L2 - 1
    odd, even = gamma[:, 1::2], gamma[:, 0::2]
    x_odd, x_even = L1 * odd / 2, L1 * even / 2
    # the four products of eq. physics-kaufman-z, as (log |Z_i|, sign Z_i)
    logs = np.stack([
        _log_abs_2cosh(x_odd).sum(1),
        _log_abs_2sinh(x_odd).sum(1),
        _log_abs_2cosh(x_even).sum(1),
        _log_abs_2sinh(x_even).sum(1),
    ], 1)                                                          # (n_K, 4)
    signs = np.ones_like(logs)
    # only 2 sinh(L1 gamma_0 / 2) can be negative: Z_4 < 0 above T_c
    signs[:, 3] = np.sign(x_even[:, 0])
    top = logs.max(1, keepdims=True)
    # sum of the four terms / e^top, > 0
    total = (signs * np.exp(logs - top)).sum(1)
    if np.any(total <= 0):
        raise FloatingPointError(
            "Kaufman's sum is not positive: a cancellation beyond float64 (report this)"
        )
    prefactor = -math.log(2) + 0.5 * L1 * L2 * np.log(2 * np.sinh(2 * K[:, 0]))
    return prefactor + top[:, 0] + np.log(total)


def kaufman_log_z(L: int, temperatures, J: float = 1.0, L2: int | None = None) -> np.ndarray:
    r"""Kaufman's (1949) exact :math:`\ln Z` of the :math:`L \times L_2` Ising torus (eq.
    ``physics-kaufman-z``).

    With :math:`K = \beta J`, :math:`L_1 = L` rows and :math:`L_2` columns,

    .. math::
        Z = \tfrac12 (2 \sinh 2K)^{L_1 L_2 / 2} \sum_{i=1}^{4} Z_i, \qquad
        Z_{1,2} = \prod_{r=0}^{L_2 - 1} 2
            \genfrac{}{}{0pt}{}{\cosh}{\sinh}\!\left(\tfrac{L_1}{2}\gamma_{2r+1}\right), \quad
        Z_{3,4} = \prod_{r=0}^{L_2 - 1} 2
            \genfrac{}{}{0pt}{}{\cosh}{\sinh}\!\left(\tfrac{L_1}{2}\gamma_{2r}\right),

    with :math:`\cosh \gamma_l = \cosh 2K \coth 2K - \cos(\pi l / L_2)`, :math:`\gamma_l > 0`
    for :math:`l \ge 1`, and :math:`\gamma_0 = 2K + \ln \tanh K = 2(K - K^*)`, with
    :math:`K^*` the dual coupling (:math:`\tanh K^* = e^{-2K}`), which is positive below
    :math:`T_c` and negative above it (eq. ``physics-kaufman-gamma``; Kaufman 1949, eq. 39;
    Beale 1996, eqs. 2-5). :math:`Z_4` is then negative at high temperature: the four
    terms are summed from their logarithms with their signs. Checked against enumeration for even
    and odd sides (3 x 3, 3 x 4, 4 x 3,
    4 x 4, 2 x 5: ``tests/package/test_ising_exact.py``).

    Args:
        L: rows, >= 2.
        temperatures: :math:`T > 0`, a number or 1-D array (units of :math:`J/k_B`).
        J: the coupling, > 0.
        L2: columns (default ``L``), >= 2.

    Returns:
        :math:`\ln Z`, float64 of shape ``(n_T,)`` (nats).

    Raises:
        ValueError: on a side below 2, or a bad temperature or coupling.

    References:
        B. Kaufman, Phys. Rev. 76, 1232 (1949); P. D. Beale, Phys. Rev. Lett. 76, 78 (1996).
    """
    L2 = L if L2 is None else L2
    if min(L, L2) < 2:
        raise ValueError(f"the sides must be >= 2, got {L} x {L2}")
    t = _check_temperatures(np.atleast_1d(temperatures))
    J = _check_J(J)
    return _kaufman_log_z_of_K(J / t, int(L), int(L2))


# central-difference weights of the first and second derivative, 8th order (offsets -4..4)
_D1 = np.array([1 / 280, -4 / 105, 1 / 5, -4 / 5, 0.0, 4 / 5, -1 / 5, 4 / 105, -1 / 280])
_D2 = np.array([-1 / 560, 8 / 315, -1 / 5, 8 / 5, -205 / 72, 8 / 5, -1 / 5, 8 / 315, -1 / 560])


def kaufman_thermodynamics(L: int, temperatures, J: float = 1.0, L2: int | None = None,
                           step: float = 2e-3) -> ExactThermodynamics:
    r"""The exact energy per spin and specific heat of the finite torus, from Kaufman's :math:`\ln
    Z`.

    .. math::
        \frac{\langle E \rangle}{N} = -\frac{J}{N} \frac{\partial \ln Z}{\partial K}, \qquad
        C = \frac{K^2}{N} \frac{\partial^2 \ln Z}{\partial K^2}, \qquad K = \beta J

    (eqs. ``physics-energy-from-z``), differentiated numerically by 8th-order central
    differences of the exact :math:`\ln Z` in :math:`K` with step ``step`` times
    :math:`K`: the truncation error is of order :math:`\text{step}^8`, the rounding error of
    order :math:`10^{-16} / \text{step}^2` per spin, both far below a Monte Carlo error bar
    (tests compare with enumeration to :math:`10^{-8}`).

    Args:
        L, temperatures, J, L2: as :func:`kaufman_log_z`.
        step: the relative step in :math:`K`, in (0, 0.05].

    Returns:
        An :class:`ExactThermodynamics` whose magnetisation fields are ``None``.
    """
    L2 = L if L2 is None else L2
    if not 0 < step <= 0.05:
        raise ValueError(f"step must be in (0, 0.05], got {step}")
    t = _check_temperatures(np.atleast_1d(temperatures))
    J = _check_J(J)
    log_z = kaufman_log_z(L, t, J, L2)
    K = J / t
    h = step * K
    offsets = np.arange(-4, 5)
    grid = K[:, None] + h[:, None] * offsets[None, :]                       # (n_T, 9)
    lz = _kaufman_log_z_of_K(grid.ravel(), int(L), int(L2)).reshape(grid.shape)
    d1 = lz @ _D1 / h                                                        # d ln Z / dK
    d2 = lz @ _D2 / h**2                                                     # d^2 ln Z / dK^2
    n = L * L2
    return ExactThermodynamics(
        temperatures=t, log_z=log_z, energy=-J * d1 / n, specific_heat=K**2 * d2 / n,
        abs_magnetisation=None, magnetisation_sq=None, susceptibility=None, shape=(L, L2), J=J,
    )


def log_likelihood(spins, temperatures, J: float = 1.0) -> np.ndarray:
    r"""The exact log-probability of each lattice at each temperature (eq.
    ``physics-ising-boltzmann``).

    .. math::
        \log p_T(\mathbf{s}) = -\frac{E(\mathbf{s})}{T} - \ln Z(T),

    with :math:`\ln Z` of the same :math:`L \times L` torus from Kaufman's formula
    (:func:`kaufman_log_z`, eq. ``physics-kaufman-z``).

    Args:
        spins: ±1 lattices, shape ``(n, L, L)``.
        temperatures: :math:`T > 0`, a number or 1-D array ``(n_T,)`` (units of :math:`J/k_B`).
        J: the coupling, > 0.

    Returns:
        float64 ``(n, n_T)``, nats per lattice.

    Raises:
        ValueError: if the lattices are not ``(n, L, L)`` of ±1, or on a bad temperature
            or coupling.
    """
    s = check_spins(spins)
    if s.ndim != 3 or s.shape[1] != s.shape[2]:
        raise ValueError(f"spins must have shape (n, L, L), got {s.shape}")
    t = _check_temperatures(np.atleast_1d(temperatures))
    log_z = kaufman_log_z(s.shape[-1], t, J=J)                           # (n_T,)
    return -energy(s, J)[:, None] / t[None, :] - log_z[None, :]


# ---------------------------------------------------------------------------
# Exact answers: the infinite lattice (Onsager 1944, Yang 1952)
# ---------------------------------------------------------------------------

def onsager_free_energy(temperatures, J: float = 1.0) -> np.ndarray:
    r"""Onsager's free energy per spin of the infinite lattice, :math:`-\beta f = \lim \ln Z / N`
    (eq. ``physics-onsager-f``).

    .. math::
        -\beta f = \ln(2 \cosh 2K) + \frac{1}{\pi} \int_0^{\pi/2}
                  \ln \frac{1 + \sqrt{1 - \kappa^2 \sin^2 \omega}}{2}\, d\omega,
        \qquad \kappa = \frac{2 \sinh 2K}{\cosh^2 2K},

    integrated with ``scipy.integrate.quad``.

    Args:
        temperatures: :math:`T > 0` (units of :math:`J/k_B`).
        J: the coupling, > 0.

    Returns:
        :math:`\ln Z / N` in the limit, float64 of shape ``(n_T,)`` (nats per spin).

    References:
        L. Onsager, Phys. Rev. 65, 117 (1944); K. Huang, *Statistical Mechanics*, 2nd ed.,
        eq. (15.136).
    """
    from scipy.integrate import quad

    t = _check_temperatures(np.atleast_1d(temperatures))
    J = _check_J(J)
    out = []
    for K in J / t:
        kappa = 2 * np.sinh(2 * K) / np.cosh(2 * K) ** 2

        def integrand(w):
            return np.log((1 + np.sqrt(max(0.0, 1 - kappa**2 * np.sin(w) ** 2))) / 2)

        val, _ = quad(integrand, 0, np.pi / 2, limit=200, points=[np.pi / 2])
        out.append(np.log(2 * np.cosh(2 * K)) + val / np.pi)
    return np.array(out)


def onsager_energy(temperatures, J: float = 1.0) -> np.ndarray:
    r"""Onsager's energy per spin of the infinite lattice (eq. ``physics-onsager-energy``).

    .. math::
        \frac{\langle E \rangle}{N} = -J \coth 2K \left[1 + \frac{2}{\pi} (2 \tanh^2 2K - 1)\,
            \mathsf{K}(\kappa)\right],

    with :math:`\mathsf{K}(\kappa) = \int_0^{\pi/2} (1 - \kappa^2 \sin^2\omega)^{-1/2} d\omega` the
    complete elliptic integral of the first kind (``scipy.special.ellipk`` takes
    :math:`\kappa^2`) and :math:`\kappa` as in :func:`onsager_free_energy`. At :math:`T_c` the
    bracket's second term vanishes (:math:`2\tanh^2 2K_c = 1`) while :math:`\mathsf{K}` diverges
    logarithmically; their product tends to 0, so :math:`E/N = -\sqrt 2 J` there.

    Returns:
        float64 of shape ``(n_T,)``, units of :math:`J`.
    """
    from scipy.special import ellipk

    t = _check_temperatures(np.atleast_1d(temperatures))
    J = _check_J(J)
    K = J / t
    kappa = 2 * np.sinh(2 * K) / np.cosh(2 * K) ** 2
    factor = 2 * np.tanh(2 * K) ** 2 - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        bracket = 1 + 2 / np.pi * factor * ellipk(np.minimum(kappa**2, 1.0))
    bracket = np.where(np.abs(factor) < 1e-15, 1.0, bracket)
    return -J * bracket / np.tanh(2 * K)


def yang_magnetisation(temperatures, J: float = 1.0) -> np.ndarray:
    r"""Yang's (1952) spontaneous magnetisation of the infinite lattice (eq. ``physics-yang``).

    .. math::
        m_0 = \left(1 - \sinh^{-4} 2K\right)^{1/8} \ (T < T_c), \qquad m_0 = 0 \ (T \ge T_c).

    Returns:
        float64 in [0, 1) of shape ``(n_T,)``.

    References:
        C. N. Yang, Phys. Rev. 85, 808 (1952).
    """
    t = _check_temperatures(np.atleast_1d(temperatures))
    J = _check_J(J)
    x = 1 - np.sinh(2 * J / t) ** -4.0
    return np.where(x > 0, np.abs(x) ** 0.125, 0.0)


def exact_specific_heat_peak(L: int, J: float = 1.0, bounds=(1.5, 4.0)) -> tuple[float, float]:
    r"""The temperature and height of the exact specific-heat maximum of the :math:`L \times L`
    torus.

    Maximises Kaufman's :math:`C(T)` (:func:`kaufman_thermodynamics`, eq. ``physics-energy-from-z``)
    with ``scipy.optimize.minimize_scalar`` (bounded, to :math:`10^{-7}` in :math:`T`). For
    :math:`L = 8` the peak lies at :math:`T^* \approx 2.362`, above :math:`T_c` (finite-size shift).

    Args:
        L: the side, >= 2.
        J: the coupling, > 0.
        bounds: the interval of :math:`T/J` searched; it must contain the peak.

    Returns:
        ``(T_peak, C_max)``: units of :math:`J/k_B` and :math:`k_B` per spin.

    Raises:
        ValueError: if the maximum found lies at an end of ``bounds`` (the interval misses
            the peak).
    """
    from scipy.optimize import minimize_scalar

    J = _check_J(J)
    lo, hi = (float(b) * J for b in bounds)
    res = minimize_scalar(lambda t: -kaufman_thermodynamics(L, [t], J=J).specific_heat[0],
                          bounds=(lo, hi), method="bounded", options={"xatol": 1e-7})
    if min(res.x - lo, hi - res.x) < 1e-4 * J:
        raise ValueError(
            f"the specific heat of the {L} x {L} torus has no maximum inside T in {bounds} (times "
            "J)"
        )
    return float(res.x), float(-res.fun)
