r"""The 2D Ising model as data: exact answers, Monte Carlo samplers, observables (numpy only).

The equations are in ``book/physics/ising.md`` (labels in the docstrings). The model is
the Boltzmann distribution of the energy-based chapter (eq. ``ebm-boltzmann``) with the
energy

.. math::
    E(\mathbf{s}) = -J \sum_{\langle ij \rangle} s_i s_j, \qquad s_i \in \{-1, +1\},

on an :math:`L_1 \times L_2` torus (periodic boundaries; eq. ``physics-ising-energy``),
at zero field. Units (``book/notation.md``): :math:`k_B = 1`, temperatures :math:`T` in
units of :math:`J/k_B`, energies in units of :math:`J`, :math:`\beta = 1/T`. Lattices
are int8 arrays of exactly -1 and +1 with the lattice on the last two axes, e.g.
``(N, L, L)``.

What is here:

- exact answers: enumeration of all :math:`2^{L_1 L_2}` states (:func:`exact_enumeration`,
  :math:`L_1 L_2 \le 20`), Kaufman's (1949) partition function of the finite torus
  (:func:`kaufman_log_z`, :func:`kaufman_thermodynamics`), Onsager's :math:`T_c`
  (:data:`T_C`), free energy and energy of the infinite lattice, and Yang's spontaneous
  magnetisation;
- samplers: the checkerboard Metropolis sweep (:func:`metropolis_sweep`) and the Wolff
  cluster step (:func:`wolff_step`), both vectorised over independent chains and seeded
  by a ``numpy.random.Generator``; :func:`run_chains` runs either and records the
  energy and magnetisation;
- integrated autocorrelation times with Sokal's automatic window
  (:func:`integrated_autocorrelation_time`);
- data sets with equilibration and thinning by the measured autocorrelation time,
  cached by a hash of their settings (:func:`ising_dataset`);
- observables of any set of lattices with standard errors that account for correlated
  samples (:func:`thermodynamics`, :func:`correlation_function`);
- generated lattices judged against the exact answers of the same finite torus
  (:func:`compare_with_exact`), and the specific-heat peak, exact
  (:func:`exact_specific_heat_peak`) and measured on a grid (:func:`specific_heat_peak`).

Importing this module imports no deep-learning framework.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field

import numpy as np

from genmod.checkpoints import config_key
from genmod.stats import Estimate, autocorrelation, integrated_autocorrelation_time, jackknife

__all__ = [
    "T_C", "energy", "energy_per_spin", "magnetisation", "check_spins",
    "all_spin_states", "exact_enumeration", "ExactThermodynamics", "kaufman_log_z", "kaufman_thermodynamics",
    "onsager_free_energy", "onsager_energy", "yang_magnetisation",
    "metropolis_flip_probabilities", "metropolis_sweep", "wolff_step", "initial_spins", "run_chains",
    "ChainTrace", "autocorrelation", "integrated_autocorrelation_time", "IsingSamples", "sample_ising", "ising_dataset", "IsingDataset",
    "Estimate", "Thermodynamics", "thermodynamics", "correlation_function", "jackknife",
    "exact_specific_heat_peak", "specific_heat_peak", "ExactComparison", "compare_with_exact",
]

#: Onsager's critical temperature :math:`T_c = 2 / \ln(1 + \sqrt 2) \approx 2.269` (units of :math:`J/k_B`),
#: eq. ``physics-onsager-tc``.
T_C = 2.0 / math.log(1.0 + math.sqrt(2.0))

SAMPLERS = ("metropolis", "wolff")


# ---------------------------------------------------------------------------
# Checks, energy and magnetisation
# ---------------------------------------------------------------------------

def _check_temperatures(temperatures) -> np.ndarray:
    t = np.asarray(temperatures, dtype=np.float64)
    if t.ndim > 1 or t.size == 0:
        raise ValueError(f"temperatures must be a number or a 1-D array of them, got shape {t.shape}")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"temperatures must be finite and > 0 (units of J/k_B), got {t.tolist()}")
    return t


def _check_J(J) -> float:
    J = float(J)
    if not math.isfinite(J) or J <= 0:
        raise ValueError(f"J must be > 0 (the ferromagnetic coupling; energies are in units of J), got {J}")
    return J


def check_spins(spins, *, min_side: int = 2) -> np.ndarray:
    r"""Check that ``spins`` are lattices of exactly -1 and +1 and return them as int8.

    Args:
        spins: array-like, shape ``(..., L1, L2)``, integer or float values in {-1, +1}.
        min_side: the smallest side accepted.

    Returns:
        The same values as an int8 array (a view when they already are int8).

    Raises:
        ValueError: if fewer than two dimensions, a side below ``min_side``, or a value
            other than -1 and +1 (``{0, 1}`` spins must be mapped with ``2 s - 1`` first).
    """
    s = np.asarray(spins)
    if s.ndim < 2 or min(s.shape[-2:]) < min_side:
        raise ValueError(f"spins must have shape (..., L1, L2) with sides >= {min_side}, got {s.shape}")
    if s.dtype != np.int8:
        if not np.isin(s, (-1, 1)).all():
            bad = np.unique(s[~np.isin(s, (-1, 1))])[:5]
            raise ValueError(f"spins must be exactly -1 or +1; found {bad.tolist()} (map {{0, 1}} with 2 s - 1 first)")
        return s.astype(np.int8)
    if not np.isin(s, (-1, 1)).all():
        bad = np.unique(s[~np.isin(s, (-1, 1))])[:5]
        raise ValueError(f"spins must be exactly -1 or +1; found {bad.tolist()}")
    return s


def _neighbour_sum(s: np.ndarray) -> np.ndarray:
    # sum of the four nearest neighbours on the torus, same shape as s (int)
    s = s.astype(np.int64, copy=False)
    return np.roll(s, 1, -1) + np.roll(s, -1, -1) + np.roll(s, 1, -2) + np.roll(s, -1, -2)


def energy(spins, J: float = 1.0) -> np.ndarray:
    r"""The energy :math:`E(\mathbf{s}) = -J \sum_{\langle ij \rangle} s_i s_j` on the torus (eq. ``physics-ising-energy``).

    Each of the :math:`2 L_1 L_2` bonds (right and down neighbour of every site) counts once;
    on a side of 2 a pair of sites is joined by two bonds, and both count.

    Args:
        spins: shape ``(..., L1, L2)``, values in {-1, +1}.
        J: the coupling, > 0.

    Returns:
        Float64 energies of shape ``spins.shape[:-2]``, in units of :math:`J`.
    """
    s = check_spins(spins).astype(np.int64)
    J = _check_J(J)
    bonds = s * np.roll(s, -1, -1) + s * np.roll(s, -1, -2)
    return -J * bonds.sum(axis=(-2, -1)).astype(np.float64)


def energy_per_spin(spins, J: float = 1.0) -> np.ndarray:
    r""":math:`E(\mathbf{s}) / (L_1 L_2)`, float64 of shape ``spins.shape[:-2]``, in units of :math:`J`."""
    s = np.asarray(spins)
    return energy(s, J) / (s.shape[-1] * s.shape[-2])


def magnetisation(spins) -> np.ndarray:
    r"""The magnetisation per spin :math:`m = \frac{1}{L_1 L_2} \sum_i s_i`, float64 in [-1, 1], shape ``spins.shape[:-2]``."""
    s = check_spins(spins)
    return s.astype(np.float64).mean(axis=(-2, -1))


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
    r"""All :math:`2^{L_1 L_2}` configurations of an :math:`L_1 \times L_2` lattice, int8 of shape ``(2^n, L1, L2)``.

    Raises:
        ValueError: if :math:`L_1 L_2 > 20` (more than a million states) or a side is below 2.
    """
    L2 = L1 if L2 is None else L2
    n = L1 * L2
    if min(L1, L2) < 2 or n > 20:
        raise ValueError(f"enumeration needs sides >= 2 and at most 20 spins, got {L1} x {L2} = {n}")
    idx = np.arange(2**n, dtype=np.int64)[:, None]
    bits = (idx >> np.arange(n, dtype=np.int64)) & 1                    # (2^n, n)
    return (2 * bits - 1).astype(np.int8).reshape(2**n, L1, L2)


def exact_enumeration(L: int, temperatures, J: float = 1.0, L2: int | None = None) -> ExactThermodynamics:
    r"""Exact thermodynamics of the :math:`L \times L_2` torus by summing over all :math:`2^{L L_2}` states.

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
    keys, counts = np.unique(np.stack([e_all, m_abs.astype(np.float64)], 1), axis=0, return_counts=True)
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
    # ln Z at couplings K = beta J (1-D array), for L1 rows (the exponent m) and L2 columns (the product over r)
    K = np.asarray(K, dtype=np.float64)[:, None]                   # (n_K, 1)
    l = np.arange(2 * L2)[None, :]                                 # l = 0 .. 2 L2 - 1
    c = np.cosh(2 * K) / np.tanh(2 * K)                            # cosh 2K coth 2K
    gamma = np.arccosh(np.maximum(c - np.cos(np.pi * l / L2), 1.0))  # gamma_l >= 0, eq. physics-kaufman-gamma
    gamma[:, 0] = 2 * K[:, 0] + np.log(np.tanh(K[:, 0]))           # gamma_0 keeps its sign: < 0 below T_c
    odd, even = gamma[:, 1::2], gamma[:, 0::2]                     # gamma_{2r+1}, gamma_{2r}, r = 0 .. L2 - 1
    x_odd, x_even = L1 * odd / 2, L1 * even / 2
    # the four products of eq. physics-kaufman-z, as (log |Z_i|, sign Z_i)
    logs = np.stack([
        _log_abs_2cosh(x_odd).sum(1),
        _log_abs_2sinh(x_odd).sum(1),
        _log_abs_2cosh(x_even).sum(1),
        _log_abs_2sinh(x_even).sum(1),
    ], 1)                                                          # (n_K, 4)
    signs = np.ones_like(logs)
    signs[:, 3] = np.sign(x_even[:, 0])                      # only 2 sinh(L1 gamma_0 / 2) can be negative
    top = logs.max(1, keepdims=True)
    total = (signs * np.exp(logs - top)).sum(1)                   # sum of the four terms / e^top, > 0
    if np.any(total <= 0):
        raise FloatingPointError("Kaufman's sum is not positive: a cancellation beyond float64 (report this)")
    prefactor = -math.log(2) + 0.5 * L1 * L2 * np.log(2 * np.sinh(2 * K[:, 0]))
    return prefactor + top[:, 0] + np.log(total)


def kaufman_log_z(L: int, temperatures, J: float = 1.0, L2: int | None = None) -> np.ndarray:
    r"""Kaufman's (1949) exact :math:`\ln Z` of the :math:`L \times L_2` Ising torus (eq. ``physics-kaufman-z``).

    With :math:`K = \beta J`, :math:`L_1 = L` rows and :math:`L_2` columns,

    .. math::
        Z = \tfrac12 (2 \sinh 2K)^{L_1 L_2 / 2} \sum_{i=1}^{4} Z_i, \qquad
        Z_{1,2} = \prod_{r=0}^{L_2 - 1} 2 \genfrac{}{}{0pt}{}{\cosh}{\sinh}\!\left(\tfrac{L_1}{2}\gamma_{2r+1}\right), \quad
        Z_{3,4} = \prod_{r=0}^{L_2 - 1} 2 \genfrac{}{}{0pt}{}{\cosh}{\sinh}\!\left(\tfrac{L_1}{2}\gamma_{2r}\right),

    with :math:`\cosh \gamma_l = \cosh 2K \coth 2K - \cos(\pi l / L_2)`, :math:`\gamma_l > 0`
    for :math:`l \ge 1`, and :math:`\gamma_0 = 2K + \ln \tanh K`, which is negative below
    :math:`T_c` (eq. ``physics-kaufman-gamma``; Kaufman 1949, eq. 39; Beale 1996, eqs. 2-5).
    :math:`Z_4` is then negative: the four terms are summed from their logarithms with
    their signs. Checked against enumeration for even and odd sides (3 x 3, 3 x 4, 4 x 3,
    4 x 4, 2 x 5: ``tests/test_ising.py``).

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
    r"""The exact energy per spin and specific heat of the finite torus, from Kaufman's :math:`\ln Z`.

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


# ---------------------------------------------------------------------------
# Exact answers: the infinite lattice (Onsager 1944, Yang 1952)
# ---------------------------------------------------------------------------

def onsager_free_energy(temperatures, J: float = 1.0) -> np.ndarray:
    r"""Onsager's free energy per spin of the infinite lattice, :math:`-\beta f = \lim \ln Z / N` (eq. ``physics-onsager-f``).

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
        L. Onsager, Phys. Rev. 65, 117 (1944); K. Huang, *Statistical Mechanics*, 2nd ed., eq. (15.136).
    """
    from scipy.integrate import quad

    t = _check_temperatures(np.atleast_1d(temperatures))
    J = _check_J(J)
    out = []
    for K in J / t:
        kappa = 2 * np.sinh(2 * K) / np.cosh(2 * K) ** 2
        integrand = lambda w: np.log((1 + np.sqrt(max(0.0, 1 - kappa**2 * np.sin(w) ** 2))) / 2)  # noqa: E731
        val, _ = quad(integrand, 0, np.pi / 2, limit=200, points=[np.pi / 2])
        out.append(np.log(2 * np.cosh(2 * K)) + val / np.pi)
    return np.array(out)


def onsager_energy(temperatures, J: float = 1.0) -> np.ndarray:
    r"""Onsager's energy per spin of the infinite lattice (eq. ``physics-onsager-energy``).

    .. math::
        \frac{\langle E \rangle}{N} = -J \coth 2K \left[1 + \frac{2}{\pi} (2 \tanh^2 2K - 1)\, \mathsf{K}(\kappa)\right],

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


# ---------------------------------------------------------------------------
# Samplers: checkerboard Metropolis and Wolff, vectorised over chains
# ---------------------------------------------------------------------------

def _check_lattice_batch(spins, name="spins") -> np.ndarray:
    if not isinstance(spins, np.ndarray) or spins.dtype != np.int8 or spins.ndim != 3:
        raise ValueError(f"{name} must be an int8 numpy array of shape (num_chains, L1, L2), got "
                         f"{type(spins).__name__} {getattr(spins, 'dtype', '')} {getattr(spins, 'shape', '')}")
    check_spins(spins)
    return spins


def _checkerboard(L1: int, L2: int, parity: int) -> np.ndarray:
    i, j = np.indices((L1, L2))
    return (i + j) % 2 == parity


def metropolis_flip_probabilities(spins, beta: float, J: float = 1.0, parity: int = 0) -> np.ndarray:
    r"""The Metropolis probability of flipping each site of one sublattice, :math:`\min(1, e^{-\beta \Delta E_i})`.

    Flipping :math:`s_i` changes the energy by :math:`\Delta E_i = 2 J s_i \sum_{j \sim i} s_j`
    (eq. ``physics-metropolis``). The sites of colour ``parity`` of the checkerboard,
    :math:`(i + j) \bmod 2 = \text{parity}`, have all their neighbours in the other
    colour, so their flips are independent given the rest and may be made at once.

    Args:
        spins: shape ``(..., L1, L2)``, values in {-1, +1}; even sides.
        beta: :math:`\beta = 1/T > 0`.
        J: the coupling, > 0.
        parity: 0 or 1, the colour updated.

    Returns:
        float64 of the shape of ``spins``: the flip probability on the sites of colour
        ``parity`` and 0 elsewhere.
    """
    s = check_spins(spins)
    if s.shape[-1] % 2 or s.shape[-2] % 2:
        raise ValueError(f"the checkerboard update needs even sides (an odd torus is not bipartite), got {s.shape[-2:]}")
    if parity not in (0, 1):
        raise ValueError(f"parity must be 0 or 1, got {parity}")
    delta_e = 2 * J * s.astype(np.int64) * _neighbour_sum(s)           # Delta E_i, eq. physics-metropolis
    p = np.minimum(1.0, np.exp(-beta * delta_e))                        # min(1, e^{-beta Delta E})
    return np.where(_checkerboard(*s.shape[-2:], parity), p, 0.0)


def metropolis_sweep(spins: np.ndarray, beta: float, rng: np.random.Generator, J: float = 1.0) -> np.ndarray:
    r"""One checkerboard Metropolis sweep of every chain, in place: colour 0, then colour 1.

    Each half-sweep flips every site of one colour independently with probability
    :func:`metropolis_flip_probabilities`; each half-sweep satisfies detailed balance
    with respect to :math:`e^{-\beta E}/Z` (eq. ``physics-detailed-balance``), so the
    sweep leaves it invariant (the sweep itself is not reversible, but stationary).

    Args:
        spins: int8 array ``(num_chains, L1, L2)`` of ±1 with even sides; modified in place.
        beta: :math:`1/T > 0`.
        rng: a ``numpy.random.Generator``.
        J: the coupling, > 0.

    Returns:
        ``spins`` (the same array).
    """
    _check_lattice_batch(spins)
    for parity in (0, 1):
        p = metropolis_flip_probabilities(spins, beta, J, parity)
        flip = rng.random(spins.shape) < p
        spins[flip] *= -1
    return spins


def wolff_step(spins: np.ndarray, beta: float, rng: np.random.Generator, J: float = 1.0) -> np.ndarray:
    r"""One Wolff cluster flip in every chain, in place; returns the cluster sizes.

    A seed site is chosen uniformly; the cluster grows by adding each neighbour with
    the seed's spin across each bond, independently, with probability
    :math:`p_{\mathrm{add}} = 1 - e^{-2 \beta J}` (eq. ``physics-wolff``), and the whole
    cluster is flipped (accepted with probability one). The growth is a breadth-first
    search run on all chains at once: every bond from a newly added site is tested exactly
    once, which is the sequential algorithm's cluster distribution.

    Args:
        spins: int8 ``(num_chains, L1, L2)`` of ±1 (any sides >= 2); modified in place.
        beta: :math:`1/T > 0`.
        rng: a ``numpy.random.Generator``.
        J: the coupling, > 0.

    Returns:
        int64 cluster sizes, shape ``(num_chains,)``.

    References:
        U. Wolff, Phys. Rev. Lett. 62, 361 (1989).
    """
    _check_lattice_batch(spins)
    C, L1, L2 = spins.shape
    p_add = 1.0 - math.exp(-2.0 * beta * J)                  # eq. physics-wolff
    seed = rng.integers(0, L1 * L2, size=C)
    cluster = np.zeros(spins.shape, dtype=bool)
    cluster.reshape(C, -1)[np.arange(C), seed] = True
    seed_spin = spins.reshape(C, -1)[np.arange(C), seed][:, None, None]
    same = spins == seed_spin                                # sites that may join: the seed's spin
    frontier = cluster.copy()
    while frontier.any():
        new = np.zeros_like(frontier)
        for axis, shift in ((1, 1), (1, -1), (2, 1), (2, -1)):
            reached = np.roll(frontier, shift, axis)         # neighbours across one bond direction
            bond = rng.random(spins.shape) < p_add           # each bond from the frontier tested once
            new |= reached & bond
        new &= same & ~cluster
        cluster |= new
        frontier = new
    spins[cluster] *= -1
    return cluster.sum(axis=(1, 2))


@dataclass
class ChainTrace:
    r"""What :func:`run_chains` recorded.

    Attributes:
        spins: the chains' final states, int8 ``(num_chains, L1, L2)``.
        energy: energy per spin after each step, ``(num_steps, num_chains)`` (units of :math:`J`).
        magnetisation: :math:`m` after each step, ``(num_steps, num_chains)``.
        cluster_size: mean Wolff cluster size per step, ``(num_steps,)`` (``None`` for Metropolis).
        seconds: wall time.
    """

    spins: np.ndarray
    energy: np.ndarray
    magnetisation: np.ndarray
    cluster_size: np.ndarray | None
    seconds: float


def initial_spins(num_chains: int, L: int, temperature: float, rng: np.random.Generator, start: str = "auto",
                  L2: int | None = None) -> np.ndarray:
    r"""Starting lattices: ``"random"`` (infinite temperature), ``"ordered"`` (all +1 in half
    of the chains, all -1 in the other half), or ``"auto"`` (ordered below :data:`T_C`,
    random at and above it, which avoids the long-lived stripe states a quench into the
    ordered phase makes). int8 ``(num_chains, L, L2)``."""
    L2 = L if L2 is None else L2
    if start == "auto":
        start = "ordered" if temperature < T_C else "random"
    if start == "random":
        return (2 * rng.integers(0, 2, size=(num_chains, L, L2)) - 1).astype(np.int8)
    if start == "ordered":
        s = np.ones((num_chains, L, L2), dtype=np.int8)
        s[num_chains // 2:] = -1
        return s
    raise ValueError(f"start must be 'auto', 'random' or 'ordered', got {start!r}")


def run_chains(spins: np.ndarray, temperature: float, num_steps: int, rng: np.random.Generator, *,
               sampler: str = "wolff", J: float = 1.0) -> ChainTrace:
    r"""Run ``num_steps`` steps of ``sampler`` on every chain and record :math:`E/N` and :math:`m` after each.

    A step is one checkerboard sweep (``"metropolis"``, :func:`metropolis_sweep`) or one
    cluster flip (``"wolff"``, :func:`wolff_step`).

    Args:
        spins: int8 ``(num_chains, L1, L2)`` of ±1; modified in place.
        temperature: :math:`T > 0`.
        num_steps: >= 1.
        rng: a ``numpy.random.Generator``.
        sampler: ``"metropolis"`` or ``"wolff"``.
        J: the coupling.

    Returns:
        A :class:`ChainTrace`.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    if int(num_steps) < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    (temperature,) = _check_temperatures([temperature])
    J = _check_J(J)
    _check_lattice_batch(spins)
    beta = 1.0 / temperature
    e = np.empty((num_steps, len(spins)))
    m = np.empty((num_steps, len(spins)))
    sizes = np.empty(num_steps) if sampler == "wolff" else None
    start = time.perf_counter()
    for step in range(num_steps):
        if sampler == "metropolis":
            metropolis_sweep(spins, beta, rng, J)
        else:
            sizes[step] = wolff_step(spins, beta, rng, J).mean()
        e[step] = energy_per_spin(spins, J)
        m[step] = magnetisation(spins)
    return ChainTrace(spins, e, m, sizes, time.perf_counter() - start)


# ---------------------------------------------------------------------------
# Data sets
# ---------------------------------------------------------------------------

@dataclass
class IsingSamples:
    r"""Equilibrium lattices at one temperature, and how they were made.

    Attributes:
        spins: int8 ``(num_chains, samples_per_chain, L, L)`` of ±1, in chain order
            (consecutive samples of a chain are ``thinning`` steps apart).
        temperature: :math:`T` (units of :math:`J/k_B`).
        sampler: ``"metropolis"`` or ``"wolff"``.
        tau_energy, tau_abs_magnetisation: :math:`\tau_{\mathrm{int}}` of :math:`E` and
            :math:`|m|`, in sampler steps, measured on the equilibration run.
        thinning: steps between kept samples, :math:`\lceil 2 \max \tau_{\mathrm{int}} \rceil`.
        burn_in: steps discarded at the start.
        mean_cluster_size: Wolff only: mean cluster size (spins), else ``None``; a Wolff step
            flips that many spins, so :math:`\tau` in sweeps is :math:`\tau \cdot` size :math:`/N`.
        seconds: wall time.
    """

    spins: np.ndarray
    temperature: float
    sampler: str
    tau_energy: float
    tau_abs_magnetisation: float
    thinning: int
    burn_in: int
    mean_cluster_size: float | None
    seconds: float

    def flat(self) -> np.ndarray:
        r"""The lattices as one batch, int8 ``(num_chains * samples_per_chain, L, L)``."""
        return self.spins.reshape(-1, *self.spins.shape[-2:])

    def tau_in_sweeps(self, which: str = "energy") -> float:
        r""":math:`\tau_{\mathrm{int}}` in sweeps (:math:`N` attempted spin flips; a Wolff step counts its cluster size)."""
        tau = self.tau_energy if which == "energy" else self.tau_abs_magnetisation
        if self.mean_cluster_size is None:
            return tau
        return tau * self.mean_cluster_size / (self.spins.shape[-1] * self.spins.shape[-2])


def sample_ising(L: int, temperature: float, num_samples: int, *, sampler: str = "wolff", J: float = 1.0,
                 num_chains: int = 50, burn_in: int | None = None, min_burn_in: int = 200,
                 burn_in_taus: float = 20.0, max_thinning: int = 10_000, seed: int = 0,
                 start: str = "auto") -> IsingSamples:
    r"""Equilibrium samples of the :math:`L \times L` torus at one temperature.

    Procedure: ``num_chains`` independent chains start from :func:`initial_spins`; an
    equilibration run of ``burn_in`` steps (default: ``min_burn_in``, doubled until it
    lasts at least ``burn_in_taus`` times the :math:`\tau_{\mathrm{int}}` measured on its
    second half) is discarded; :math:`\tau_{\mathrm{int}}` of :math:`E` and :math:`|m|`
    (:func:`integrated_autocorrelation_time`, on that second half, all chains together)
    sets the thinning :math:`\lceil 2 \max(\tau_E, \tau_{|m|}) \rceil`, so kept samples are
    about independent; then :math:`\lceil n / \text{num\_chains} \rceil` samples are kept
    per chain.

    Args:
        L: the side, >= 2 (even for ``"metropolis"``).
        temperature: :math:`T > 0` (units of :math:`J/k_B`).
        num_samples: lattices wanted in total, >= 1 (rounded up to a multiple of ``num_chains``).
        sampler: ``"metropolis"`` or ``"wolff"``.
        J: the coupling, > 0.
        num_chains: independent chains, >= 1.
        burn_in: fixed equilibration steps (``None``: adaptive, as above).
        min_burn_in, burn_in_taus, max_thinning: the adaptive rule's settings.
        seed: seeds the ``numpy.random.Generator``.
        start: ``"auto"``, ``"random"`` or ``"ordered"`` (:func:`initial_spins`).

    Returns:
        An :class:`IsingSamples`.

    Raises:
        ValueError: on :math:`T \le 0`, an odd ``L`` for Metropolis, an unknown sampler, a
            non-positive count, or a needed thinning above ``max_thinning``.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    if int(L) != L or L < 2:
        raise ValueError(f"L must be an integer >= 2, got {L}")
    if sampler == "metropolis" and L % 2:
        raise ValueError(f"the checkerboard Metropolis sampler needs an even L (an odd torus is not bipartite), got {L}")
    for name, value in (("num_samples", num_samples), ("num_chains", num_chains), ("min_burn_in", min_burn_in)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value}")
    if burn_in is not None and (int(burn_in) != burn_in or burn_in < 4):
        raise ValueError(f"burn_in must be an integer >= 4 or None, got {burn_in}")
    (temperature,) = _check_temperatures([temperature])
    J = _check_J(J)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    spins = initial_spins(num_chains, L, temperature, rng, start)
    steps = int(burn_in) if burn_in is not None else int(min_burn_in)
    done = 0
    sizes = []
    while True:
        trace = run_chains(spins, temperature, steps - done, rng, sampler=sampler, J=J)
        if trace.cluster_size is not None:
            sizes.append(trace.cluster_size)
        half = trace.energy[len(trace.energy) // 2:].T                      # (chains, steps / 2)
        tau_e, _ = integrated_autocorrelation_time(half)
        tau_m, _ = integrated_autocorrelation_time(np.abs(trace.magnetisation[len(trace.energy) // 2:].T))
        done = steps
        if burn_in is not None or steps >= burn_in_taus * max(tau_e, tau_m) or steps >= 64 * max_thinning:
            break
        steps *= 2                                                            # run as long again, and measure again
    thinning = int(math.ceil(2 * max(tau_e, tau_m)))
    if thinning > max_thinning:
        raise ValueError(f"{sampler} at T = {temperature:g}, L = {L} needs thinning {thinning} > max_thinning "
                         f"{max_thinning} (critical slowing down?); use the Wolff sampler or raise max_thinning")
    per_chain = int(math.ceil(num_samples / num_chains))
    kept = np.empty((num_chains, per_chain, L, L), dtype=np.int8)
    for k in range(per_chain):
        trace = run_chains(spins, temperature, thinning, rng, sampler=sampler, J=J)
        if trace.cluster_size is not None:
            sizes.append(trace.cluster_size)
        kept[:, k] = spins
    mean_size = float(np.concatenate(sizes).mean()) if sizes else None
    return IsingSamples(kept, float(temperature), sampler, tau_e, tau_m, thinning, done, mean_size,
                        time.perf_counter() - t0)


@dataclass
class IsingDataset:
    r"""Samples over a temperature grid (:func:`ising_dataset`).

    Attributes:
        temperatures: the grid, float64 ``(n_T,)``.
        samples: one :class:`IsingSamples` per temperature.
        settings: the settings that made it (and key its cache file).
        cached: whether it was read from the cache.
    """

    temperatures: np.ndarray
    samples: list
    settings: dict
    cached: bool = False
    path: object = field(default=None, repr=False)

    def spins(self) -> np.ndarray:
        r"""All lattices, int8 ``(n_T, num_samples, L, L)`` (each temperature's chains flattened)."""
        return np.stack([s.flat() for s in self.samples])


def ising_dataset(L: int, temperatures, num_samples: int, *, sampler: str = "wolff", J: float = 1.0,
                  num_chains: int = 50, seed: int = 0, cache: bool = True, verbose: bool = True) -> IsingDataset:
    r"""Equilibrium Ising lattices over a temperature grid, cached by a hash of the settings.

    Each temperature is sampled by :func:`sample_ising` with the seed ``seed + index``. The
    result is cached in ``<GENMOD_DATA>/ising/ising-<key>.npz`` (:func:`genmod.config.data_dir`),
    where ``key`` is the SHA-256 of the settings (L, the temperatures, num_samples,
    sampler, J, num_chains, seed and this module's data version): the same settings read
    the same file, any change makes a new one.

    Args:
        L: the side (even for Metropolis).
        temperatures: a 1-D grid of :math:`T > 0`, strictly increasing.
        num_samples: lattices per temperature.
        sampler, J, num_chains, seed: as :func:`sample_ising`.
        cache: read and write the cache (``False``: always sample, write nothing).
        verbose: print one line per temperature (and where the data came from).

    Returns:
        An :class:`IsingDataset`.

    Raises:
        ValueError: on bad settings (see :func:`sample_ising`), or a grid that is not
            strictly increasing.
    """
    t = _check_temperatures(temperatures)
    if t.ndim != 1 or np.any(np.diff(t) <= 0):
        raise ValueError(f"temperatures must be a strictly increasing 1-D grid, got {t.tolist()}")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    if sampler == "metropolis" and L % 2:
        raise ValueError(f"the checkerboard Metropolis sampler needs an even L, got {L}")
    settings = dict(L=int(L), temperatures=[float(x) for x in t], num_samples=int(num_samples), sampler=sampler,
                    J=float(_check_J(J)), num_chains=int(num_chains), seed=int(seed), version=1)
    path = None
    if cache:
        from genmod.config import data_dir

        folder = data_dir() / "ising"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"ising-{config_key(settings)}.npz"
        if path.is_file():
            with np.load(path, allow_pickle=False) as f:
                meta = json.loads(str(f["meta"]))
                if meta["settings"] == settings:
                    samples = [IsingSamples(f[f"spins_{i}"], **info) for i, info in enumerate(meta["samples"])]
                    if verbose:
                        print(f"Ising data: read from the cache {path}")
                    return IsingDataset(t, samples, settings, True, path)
    samples = []
    for i, temp in enumerate(t):
        s = sample_ising(L, temp, num_samples, sampler=sampler, J=J, num_chains=num_chains, seed=seed + i)
        samples.append(s)
        if verbose:
            size = f", mean cluster {s.mean_cluster_size:.1f} spins" if s.mean_cluster_size is not None else ""
            print(f"  T = {temp:.3f}: tau_E = {s.tau_energy:.1f}, tau_|m| = {s.tau_abs_magnetisation:.1f} steps, "
                  f"thinning {s.thinning}, burn-in {s.burn_in}{size} ({s.seconds:.1f} s)")
    if path is not None:
        info = [{k: getattr(s, k) for k in ("temperature", "sampler", "tau_energy", "tau_abs_magnetisation",
                                            "thinning", "burn_in", "mean_cluster_size", "seconds")} for s in samples]
        arrays = {f"spins_{i}": s.spins for i, s in enumerate(samples)}
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez_compressed(tmp, meta=json.dumps({"settings": settings, "samples": info}), **arrays)
        tmp.replace(path)
        if verbose:
            print(f"Ising data: sampled with {sampler} and cached in {path}")
    return IsingDataset(t, samples, settings, False, path)


# ---------------------------------------------------------------------------
# Observables with standard errors
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Thermodynamics:
    r"""Observables of a set of lattices at one temperature, per spin, with standard errors.

    Attributes:
        energy: :math:`\langle E \rangle / N` (units of :math:`J`).
        abs_magnetisation: :math:`\langle |m| \rangle`.
        specific_heat: :math:`C = N (\langle e^2 \rangle - \langle e \rangle^2) / T^2`, :math:`e = E/N`
            (units of :math:`k_B`).
        susceptibility: :math:`\chi = N (\langle m^2 \rangle - \langle |m| \rangle^2) / T` (units of :math:`1/J`).
        num_samples: lattices used.
    """

    energy: Estimate
    abs_magnetisation: Estimate
    specific_heat: Estimate
    susceptibility: Estimate
    num_samples: int


def thermodynamics(spins, temperature: float, J: float = 1.0, num_blocks: int = 20) -> Thermodynamics:
    r"""Energy, :math:`|m|`, specific heat and susceptibility of a set of lattices, with errors.

    The fluctuation formulas (eqs. ``physics-specific-heat``, ``physics-susceptibility``)

    .. math::
        C = \frac{N}{T^2} \left(\langle e^2 \rangle - \langle e \rangle^2\right), \qquad
        \chi = \frac{N}{T} \left(\langle m^2 \rangle - \langle |m| \rangle^2\right),

    with :math:`e = E/N`, evaluated on the samples; every standard error is the blocked
    :func:`jackknife` over ``num_blocks`` contiguous blocks of the samples in the order
    given, so correlated samples (a chain's consecutive states) must be passed in chain
    order, and blocks must be longer than their autocorrelation time.

    Args:
        spins: ``(n, L1, L2)`` (samples in order) or ``(num_chains, n, L1, L2)`` (each
            chain in order; chains are concatenated, so blocks stay within chains when
            ``num_blocks`` is a multiple of ``num_chains``), values ±1.
        temperature: the :math:`T > 0` the lattices are meant to be at.
        J: the coupling.
        num_blocks: jackknife blocks.

    Returns:
        A :class:`Thermodynamics`.
    """
    s = check_spins(spins)
    if s.ndim == 4:
        s = s.reshape(-1, *s.shape[-2:])
    if s.ndim != 3:
        raise ValueError(f"spins must have shape (n, L1, L2) or (num_chains, n, L1, L2), got {np.shape(spins)}")
    (temperature,) = _check_temperatures([temperature])
    n_sites = s.shape[-1] * s.shape[-2]
    e = energy_per_spin(s, J)
    m = np.abs(magnetisation(s))
    T = temperature
    return Thermodynamics(
        energy=jackknife(np.mean, e, num_blocks=num_blocks),
        abs_magnetisation=jackknife(np.mean, m, num_blocks=num_blocks),
        specific_heat=jackknife(lambda x: n_sites * x.var() / T**2, e, num_blocks=num_blocks),
        susceptibility=jackknife(lambda x: n_sites * (np.mean(x**2) - np.mean(x) ** 2) / T, m,
                                 num_blocks=num_blocks),
        num_samples=len(s),
    )


def correlation_function(spins, num_blocks: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The two-point correlation :math:`G(r) = \langle s_i s_{i + r} \rangle` along the lattice axes (eq. ``physics-correlation``).

    Averaged over all sites, both axes and the samples, for :math:`r = 0, \dots, \lfloor L/2 \rfloor`
    (on the torus :math:`G(r) = G(L - r)`); :math:`G(0) = 1`. At zero field
    :math:`\langle s_i \rangle = 0` on a finite lattice, so :math:`G` is also the connected
    correlation; below :math:`T_c` it tends to :math:`\langle m^2 \rangle`, not to 0, at large :math:`r`.

    Args:
        spins: ``(n, L, L)``, values ±1, samples in order (errors by the blocked jackknife).
        num_blocks: jackknife blocks.

    Returns:
        ``(r, G, se)``: distances ``(L//2 + 1,)`` (lattice units) and :math:`G(r)` with its
        standard errors.
    """
    s = check_spins(spins)
    if s.ndim == 4:
        s = s.reshape(-1, *s.shape[-2:])
    if s.ndim != 3 or s.shape[1] != s.shape[2]:
        raise ValueError(f"spins must have shape (n, L, L), got {np.shape(spins)}")
    L = s.shape[-1]
    r = np.arange(L // 2 + 1)
    sf = s.astype(np.float64)
    per_sample = np.stack([0.5 * ((sf * np.roll(sf, -d, 1)).mean((1, 2)) + (sf * np.roll(sf, -d, 2)).mean((1, 2)))
                           for d in r], 1)                          # (n, L//2 + 1)
    est = [jackknife(np.mean, per_sample[:, k], num_blocks=num_blocks) for k in r]
    return r, np.array([e.value for e in est]), np.array([e.se for e in est])


# ---------------------------------------------------------------------------
# Generated lattices judged against the exact finite-lattice answers
# ---------------------------------------------------------------------------

def exact_specific_heat_peak(L: int, J: float = 1.0, bounds=(1.5, 4.0)) -> tuple[float, float]:
    r"""The temperature and height of the exact specific-heat maximum of the :math:`L \times L` torus.

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
        ValueError: if the maximum found lies at an end of ``bounds`` (the interval misses the peak).
    """
    from scipy.optimize import minimize_scalar

    J = _check_J(J)
    lo, hi = (float(b) * J for b in bounds)
    res = minimize_scalar(lambda t: -kaufman_thermodynamics(L, [t], J=J).specific_heat[0],
                          bounds=(lo, hi), method="bounded", options={"xatol": 1e-7})
    if min(res.x - lo, hi - res.x) < 1e-4 * J:
        raise ValueError(f"the specific heat of the {L} x {L} torus has no maximum inside T in {bounds} (times J)")
    return float(res.x), float(-res.fun)


def specific_heat_peak(temperatures, specific_heat) -> float:
    r"""The temperature of the maximum of :math:`C(T)` measured on a grid: the vertex of a parabola.

    The parabola passes through the grid's largest value and its two neighbours (the grid
    need not be even). Its error for a smooth :math:`C` is of the order of the grid spacing
    cubed times :math:`C'''/C''`; for Kaufman's :math:`C` of the :math:`8 \times 8` torus on a
    grid with spacing 0.05 to 0.1 around the peak it is below 0.01 (``tests/test_ising.py``).
    Noise in the measured :math:`C` moves the vertex further: compare with the error bars.

    Args:
        temperatures: strictly increasing 1-D grid, shape ``(n_T,)``.
        specific_heat: the values :math:`C(T)` on it, same shape.

    Returns:
        The vertex's temperature (units of :math:`J/k_B`), inside the two neighbours' interval.

    Raises:
        ValueError: on mismatched or non-increasing inputs, fewer than 3 points, or a largest
            value at an end of the grid (then the peak is not bracketed).
    """
    t = np.asarray(temperatures, dtype=np.float64)
    c = np.asarray(specific_heat, dtype=np.float64)
    if t.ndim != 1 or t.shape != c.shape or len(t) < 3:
        raise ValueError(f"need two 1-D arrays of the same length >= 3, got shapes {t.shape} and {c.shape}")
    if np.any(np.diff(t) <= 0) or not np.all(np.isfinite(c)):
        raise ValueError("temperatures must increase strictly and the specific heats must be finite")
    k = int(np.argmax(c))
    if k in (0, len(t) - 1):
        raise ValueError(f"the largest specific heat is at the end of the grid (T = {t[k]}): the peak is not bracketed")
    x, y = t[k - 1:k + 2], c[k - 1:k + 2]
    a, b, _ = np.polyfit(x, y, 2)
    return float(-b / (2 * a))


@dataclass(frozen=True)
class ExactComparison:
    r"""Observables of generated lattices per temperature against the exact finite-torus values.

    Made by :func:`compare_with_exact`. ``rel`` is :math:`(\text{observed} - \text{exact}) / |\text{exact}|`,
    ``z`` the deviation in standard errors (:meth:`Estimate.z`).

    Attributes:
        temperatures: the grid, float64 ``(n_T,)``.
        observed: one :class:`Thermodynamics` per temperature.
        exact: Kaufman's :class:`ExactThermodynamics` of the same lattice on the grid.
        energy_z, energy_rel, specific_heat_z, specific_heat_rel: float64 ``(n_T,)``.
    """

    temperatures: np.ndarray
    observed: list
    exact: ExactThermodynamics
    energy_z: np.ndarray
    energy_rel: np.ndarray
    specific_heat_z: np.ndarray
    specific_heat_rel: np.ndarray

    def _away(self, away_from_tc: float) -> np.ndarray:
        keep = np.abs(self.temperatures - T_C) > away_from_tc
        if not keep.any():
            raise ValueError(f"no temperature of the grid lies further than {away_from_tc} from T_c")
        return keep

    def max_abs_energy_rel(self, away_from_tc: float = 0.0) -> float:
        r"""The largest :math:`|E - E_{\mathrm{exact}}| / |E_{\mathrm{exact}}|` over temperatures with :math:`|T - T_c| >` ``away_from_tc``."""
        return float(np.max(np.abs(self.energy_rel[self._away(away_from_tc)])))

    def max_abs_energy_z(self, away_from_tc: float = 0.0) -> float:
        r"""The largest :math:`|z|` of the energy over temperatures with :math:`|T - T_c| >` ``away_from_tc``."""
        return float(np.max(np.abs(self.energy_z[self._away(away_from_tc)])))

    def max_abs_specific_heat_z(self) -> float:
        r"""The largest :math:`|z|` of the specific heat over the grid."""
        return float(np.max(np.abs(self.specific_heat_z)))

    def specific_heat_peak(self) -> float:
        r"""The peak temperature of the measured :math:`C(T)` by :func:`specific_heat_peak`."""
        return specific_heat_peak(self.temperatures, [o.specific_heat.value for o in self.observed])

    def metrics(self) -> dict:
        r"""The per-temperature observables as lists, under the names of ``genmod.artifacts.METRIC_UNITS``.

        Returns:
            A dict with ``energy_per_spin``, ``specific_heat``, ``abs_magnetisation``,
            ``susceptibility`` (each with its ``_se``) and ``energy_per_spin_exact``,
            ``specific_heat_exact`` (Kaufman), one value per temperature of the grid, for
            ``genmod.save_artifacts``.
        """
        out = {}
        for field, name in (("energy", "energy_per_spin"), ("specific_heat", "specific_heat"),
                            ("abs_magnetisation", "abs_magnetisation"), ("susceptibility", "susceptibility")):
            out[name] = [getattr(o, field).value for o in self.observed]
            out[f"{name}_se"] = [getattr(o, field).se for o in self.observed]
        out["energy_per_spin_exact"] = self.exact.energy.tolist()
        out["specific_heat_exact"] = self.exact.specific_heat.tolist()
        return out

    def table(self) -> str:
        r"""A text table, one row per temperature: :math:`E/N` and :math:`C` against exact, with z and the relative deviation, and :math:`\langle|m|\rangle`, :math:`\chi`."""
        head = (f"{'T':>6} {'E exact':>9} {'E samples':>17} {'z':>6} {'rel':>7} | {'C exact':>8} {'C samples':>15} "
                f"{'z':>6} {'rel':>7} | {'<|m|>':>15} {'chi':>15}")
        rows = [head, "-" * len(head)]
        for k, t in enumerate(self.temperatures):
            o = self.observed[k]
            rows.append(f"{t:6.3f} {self.exact.energy[k]:9.4f} {str(o.energy):>17} {self.energy_z[k]:6.1f} "
                        f"{100 * self.energy_rel[k]:+6.1f}% | {self.exact.specific_heat[k]:8.4f} "
                        f"{str(o.specific_heat):>15} {self.specific_heat_z[k]:6.1f} {100 * self.specific_heat_rel[k]:+6.1f}% | "
                        f"{str(o.abs_magnetisation):>15} {str(o.susceptibility):>15}")
        return "\n".join(rows)


def compare_with_exact(samples, temperatures, *, J: float = 1.0, num_blocks: int = 20) -> ExactComparison:
    r"""Energy, specific heat, :math:`\langle|m|\rangle` and :math:`\chi` of lattices per temperature, against Kaufman.

    Each temperature's lattices go through :func:`thermodynamics` (blocked-jackknife errors,
    so pass a chain's states in order); the energy per spin and specific heat are compared
    with :func:`kaufman_thermodynamics` of the same :math:`L \times L` torus
    (eqs. ``physics-energy-from-z``). This is how the book judges a generative model of
    Ising configurations: against the exact answer for the same finite lattice.

    Args:
        samples: a sequence over the temperatures of ±1 lattices ``(n, L, L)`` (``n`` may
            differ between temperatures), or one array ``(n_T, n, L, L)``.
        temperatures: the grid, ``(n_T,)``, :math:`T > 0`.
        J: the coupling.
        num_blocks: jackknife blocks per temperature.

    Returns:
        An :class:`ExactComparison`.

    Raises:
        ValueError: if the number of sample sets differs from the number of temperatures,
            the lattices are not square and all of one size, or on bad spins or temperatures.
    """
    t = _check_temperatures(np.atleast_1d(temperatures))
    if t.ndim != 1:
        raise ValueError(f"temperatures must be 1-D, got shape {t.shape}")
    sets = list(samples)
    if len(sets) != len(t):
        raise ValueError(f"got {len(sets)} sets of lattices for {len(t)} temperatures")
    shapes = {np.shape(s)[-2:] for s in sets}
    if any(np.ndim(s) != 3 for s in sets) or len(shapes) != 1 or len({*next(iter(shapes))}) != 1:
        raise ValueError(f"each temperature needs lattices of shape (n, L, L), all of one L; got shapes "
                         f"{[np.shape(s) for s in sets]}")
    L = int(next(iter(shapes))[0])
    observed = [thermodynamics(s, temp, J=J, num_blocks=num_blocks) for s, temp in zip(sets, t)]
    exact = kaufman_thermodynamics(L, t, J=J)
    e_obs = np.array([o.energy.value for o in observed])
    c_obs = np.array([o.specific_heat.value for o in observed])
    return ExactComparison(
        temperatures=t, observed=observed, exact=exact,
        energy_z=np.array([o.energy.z(e) for o, e in zip(observed, exact.energy)]),
        energy_rel=(e_obs - exact.energy) / np.abs(exact.energy),
        specific_heat_z=np.array([o.specific_heat.z(c) for o, c in zip(observed, exact.specific_heat)]),
        specific_heat_rel=(c_obs - exact.specific_heat) / np.abs(exact.specific_heat),
    )
