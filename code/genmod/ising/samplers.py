r"""Monte Carlo samplers of the Ising torus, vectorised over independent chains (numpy only).

The checkerboard Metropolis sweep (:func:`metropolis_sweep`) and the Wolff cluster
step (:func:`wolff_step`), both seeded by a ``numpy.random.Generator``;
:func:`run_chains` runs either and records the energy and magnetisation.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from genmod.ising.exact import T_C
from genmod.ising.lattice import (
    _check_J,
    _check_temperatures,
    _neighbour_sum,
    check_spins,
    energy_per_spin,
    magnetisation,
)

__all__ = [
    "SAMPLERS",
    "metropolis_flip_probabilities",
    "metropolis_sweep",
    "wolff_step",
    "ChainTrace",
    "initial_spins",
    "run_chains",
]

SAMPLERS = ("metropolis", "wolff")


# ---------------------------------------------------------------------------
# Samplers: checkerboard Metropolis and Wolff, vectorised over chains
# ---------------------------------------------------------------------------

def _check_lattice_batch(spins, name="spins") -> np.ndarray:
    if not isinstance(spins, np.ndarray) or spins.dtype != np.int8 or spins.ndim != 3:
        raise ValueError(
            f"{name} must be an int8 numpy array of shape (num_chains, L1, L2), got "
            f"{type(spins).__name__} {getattr(spins, 'dtype', '')} {getattr(spins, 'shape', '')}"
        )
    check_spins(spins)
    return spins


def _checkerboard(L1: int, L2: int, parity: int) -> np.ndarray:
    i, j = np.indices((L1, L2))
    return (i + j) % 2 == parity


def metropolis_flip_probabilities(
    spins, beta: float, J: float = 1.0, parity: int = 0
) -> np.ndarray:
    r"""The Metropolis probability of flipping each site of one sublattice, :math:`\min(1, e^{-\beta
    \Delta E_i})`.

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
        raise ValueError(
            "the checkerboard update needs even sides (an odd torus is not bipartite), got "
            f"{s.shape[-2:]}"
        )
    if parity not in (0, 1):
        raise ValueError(f"parity must be 0 or 1, got {parity}")
    # Delta E_i, eq. physics-metropolis
    delta_e = 2 * J * s.astype(np.int64) * _neighbour_sum(s)
    p = np.minimum(1.0, np.exp(-beta * delta_e))                        # min(1, e^{-beta Delta E})
    return np.where(_checkerboard(*s.shape[-2:], parity), p, 0.0)


def metropolis_sweep(
    spins: np.ndarray, beta: float, rng: np.random.Generator, J: float = 1.0
) -> np.ndarray:
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


def wolff_step(
    spins: np.ndarray, beta: float, rng: np.random.Generator, J: float = 1.0
) -> np.ndarray:
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
            # each bond from the frontier tested once
            bond = rng.random(spins.shape) < p_add
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


def initial_spins(
    num_chains: int,
    L: int,
    temperature: float,
    rng: np.random.Generator,
    start: str = "auto",
    L2: int | None = None,
) -> np.ndarray:
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
    r"""Run ``num_steps`` steps of ``sampler`` on every chain and record :math:`E/N` and :math:`m`
    after each.

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
