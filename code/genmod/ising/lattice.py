r"""The lattice: checks of spin configurations, the energy and the magnetisation (numpy only).

Lattices are int8 arrays of exactly -1 and +1 with the lattice on the last two axes,
e.g. ``(N, L, L)``; the torus has periodic boundaries (eq. ``physics-ising-energy``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["check_spins", "energy", "energy_per_spin", "magnetisation"]


def _check_temperatures(temperatures) -> np.ndarray:
    t = np.asarray(temperatures, dtype=np.float64)
    if t.ndim > 1 or t.size == 0:
        raise ValueError(
            f"temperatures must be a number or a 1-D array of them, got shape {t.shape}"
        )
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"temperatures must be finite and > 0 (units of J/k_B), got {t.tolist()}")
    return t


def _check_J(J) -> float:
    J = float(J)
    if not math.isfinite(J) or J <= 0:
        raise ValueError(
            f"J must be > 0 (the ferromagnetic coupling; energies are in units of J), got {J}"
        )
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
        raise ValueError(
            f"spins must have shape (..., L1, L2) with sides >= {min_side}, got {s.shape}"
        )
    if s.dtype != np.int8:
        if not np.isin(s, (-1, 1)).all():
            bad = np.unique(s[~np.isin(s, (-1, 1))])[:5]
            raise ValueError(
                f"spins must be exactly -1 or +1; found {bad.tolist()} (map {{0, 1}} with 2 s - 1 "
                "first)"
            )
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
    r"""The energy :math:`E(\mathbf{s}) = -J \sum_{\langle ij \rangle} s_i s_j` on the torus (eq.
    ``physics-ising-energy``).

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
    r""":math:`E(\mathbf{s}) / (L_1 L_2)`, float64 of shape ``spins.shape[:-2]``, in units of
    :math:`J`."""
    s = np.asarray(spins)
    return energy(s, J) / (s.shape[-1] * s.shape[-2])


def magnetisation(spins) -> np.ndarray:
    r"""The magnetisation per spin :math:`m = \frac{1}{L_1 L_2} \sum_i s_i`, float64 in [-1, 1],
    shape ``spins.shape[:-2]``."""
    s = check_spins(spins)
    return s.astype(np.float64).mean(axis=(-2, -1))
