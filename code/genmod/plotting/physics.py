r"""Plots for the physics part: the thermodynamics of lattices against the exact curves.

Each helper takes ``axes=None`` (a new figure) and returns the axes; none changes
matplotlib's global settings.
"""

from __future__ import annotations

import numpy as np


def thermodynamics_vs_exact(comparisons: dict, *, J: float = 1.0, axes=None, num_exact: int = 300):
    r"""Energy per spin, :math:`\langle|m|\rangle` and specific heat against :math:`T`, beside
    Kaufman's exact curves.

    Args:
        comparisons: label -> :class:`genmod.ising.ExactComparison` (from
            :func:`genmod.ising.compare_with_exact`), all of one lattice size; each is drawn
            as points with their standard errors.
        J: the coupling of the exact curves.
        axes: three matplotlib axes, or ``None`` for a new figure.
        num_exact: points of the exact curves.

    Returns:
        The three axes, showing :math:`\langle E\rangle/N` (units of :math:`J`),
    :math:`\langle|m|\rangle`
        and :math:`C` (:math:`k_B` per spin). The vertical line marks Onsager's :math:`T_c`; the
        exact curves are those of the finite torus (eq. ``physics-energy-from-z``).

    Raises:
        ValueError: if ``comparisons`` is empty or mixes lattice sizes.
    """
    import matplotlib.pyplot as plt

    from genmod import ising

    if not comparisons:
        raise ValueError("comparisons is empty: pass label -> genmod.ising.ExactComparison")
    shapes = {c.exact.shape for c in comparisons.values()}
    if len(shapes) != 1:
        raise ValueError(
            f"the comparisons mix lattice sizes {sorted(shapes)}: draw one size per figure"
        )
    L = next(iter(shapes))[0]
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    t_all = np.concatenate([c.temperatures for c in comparisons.values()])
    t_fine = np.linspace(t_all.min() - 0.05, t_all.max() + 0.05, num_exact)
    exact = ising.kaufman_thermodynamics(L, t_fine, J=J)
    axes[0].plot(t_fine, exact.energy, "k-", lw=1, label=f"exact, $L = {L}$")
    axes[2].plot(t_fine, exact.specific_heat, "k-", lw=1, label=f"exact, $L = {L}$")
    for label, c in comparisons.items():
        for ax, field in zip(axes, ("energy", "abs_magnetisation", "specific_heat")):
            values = np.array([getattr(o, field).value for o in c.observed])
            errors = np.array([getattr(o, field).se for o in c.observed])
            ax.errorbar(c.temperatures, values, yerr=errors, fmt="o", ms=3, capsize=2, label=label)
    names = (r"$\langle E \rangle / L^2$ ($J$)", r"$\langle |m| \rangle$", r"$C$ ($k_B$ per spin)")
    for ax, name in zip(axes, names):
        ax.axvline(ising.T_C, color="gray", lw=0.5)
        ax.set_xlabel(r"$T$ ($J/k_B$)")
        ax.set_ylabel(name)
        ax.legend(fontsize=8)
    return axes
