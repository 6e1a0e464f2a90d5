r"""Generated lattices judged against the exact answers of the same finite torus (numpy only).

:func:`compare_with_exact` measures each temperature's lattices with
:func:`genmod.ising.observables.thermodynamics` and compares the energy and specific heat
with Kaufman's (:func:`genmod.ising.exact.kaufman_thermodynamics`), in standard errors
and relative deviations; :class:`ExactComparison` holds the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genmod.ising.exact import T_C, ExactThermodynamics, kaufman_thermodynamics
from genmod.ising.lattice import _check_temperatures
from genmod.ising.observables import specific_heat_peak, thermodynamics

__all__ = ["ExactComparison", "compare_with_exact"]


@dataclass(frozen=True)
class ExactComparison:
    r"""Observables of generated lattices per temperature against the exact finite-torus values.

    Made by :func:`compare_with_exact`. ``rel`` is :math:`(\text{observed} - \text{exact}) /
    |\text{exact}|`,
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
            raise ValueError(
                f"no temperature of the grid lies further than {away_from_tc} from T_c"
            )
        return keep

    def max_abs_energy_rel(self, away_from_tc: float = 0.0) -> float:
        r"""The largest :math:`|E - E_{\mathrm{exact}}| / |E_{\mathrm{exact}}|` over temperatures
        with :math:`|T - T_c| >` ``away_from_tc``."""
        return float(np.max(np.abs(self.energy_rel[self._away(away_from_tc)])))

    def max_abs_energy_z(self, away_from_tc: float = 0.0) -> float:
        r"""The largest :math:`|z|` of the energy over temperatures with :math:`|T - T_c| >`
        ``away_from_tc``."""
        return float(np.max(np.abs(self.energy_z[self._away(away_from_tc)])))

    def max_abs_specific_heat_z(self) -> float:
        r"""The largest :math:`|z|` of the specific heat over the grid."""
        return float(np.max(np.abs(self.specific_heat_z)))

    def specific_heat_peak(self) -> float:
        r"""The peak temperature of the measured :math:`C(T)` by :func:`specific_heat_peak`."""
        return specific_heat_peak(self.temperatures, [o.specific_heat.value for o in self.observed])

    def metrics(self) -> dict:
        r"""The per-temperature observables as lists, under the names of
        ``genmod.artifacts.METRIC_UNITS``.

        Returns:
            A dict with ``energy_per_spin``, ``specific_heat``, ``abs_magnetisation``,
            ``susceptibility`` (each with its ``_se``) and ``energy_per_spin_exact``,
            ``specific_heat_exact`` (Kaufman), one value per temperature of the grid, for
            ``genmod.save_artifacts``.
        """
        out = {}
        for field, name in (
            ("energy", "energy_per_spin"),
            ("specific_heat", "specific_heat"),
            ("abs_magnetisation", "abs_magnetisation"),
            ("susceptibility", "susceptibility"),
        ):
            out[name] = [getattr(o, field).value for o in self.observed]
            out[f"{name}_se"] = [getattr(o, field).se for o in self.observed]
        out["energy_per_spin_exact"] = self.exact.energy.tolist()
        out["specific_heat_exact"] = self.exact.specific_heat.tolist()
        return out

    def table(self) -> str:
        r"""A text table, one row per temperature: :math:`E/N` and :math:`C` against exact, with z
        and the relative deviation, and :math:`\langle|m|\rangle`, :math:`\chi`."""
        head = (
            f"{'T':>6} {'E exact':>9} {'E samples':>17} {'z':>6} {'rel':>7} | {'C exact':>8} "
            f"{'C samples':>15} "
            f"{'z':>6} {'rel':>7} | {'<|m|>':>15} {'chi':>15}"
        )
        rows = [head, "-" * len(head)]
        for k, t in enumerate(self.temperatures):
            o = self.observed[k]
            rows.append(
                f"{t:6.3f} {self.exact.energy[k]:9.4f} {str(o.energy):>17} {self.energy_z[k]:6.1f} "
                f"{100 * self.energy_rel[k]:+6.1f}% | {self.exact.specific_heat[k]:8.4f} "
                f"{str(o.specific_heat):>15} {self.specific_heat_z[k]:6.1f} "
                f"{100 * self.specific_heat_rel[k]:+6.1f}% | "
                f"{str(o.abs_magnetisation):>15} {str(o.susceptibility):>15}"
            )
        return "\n".join(rows)


def compare_with_exact(
    samples, temperatures, *, J: float = 1.0, num_blocks: int = 20
) -> ExactComparison:
    r"""Energy, specific heat, :math:`\langle|m|\rangle` and :math:`\chi` of lattices per
    temperature, against Kaufman.

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
        raise ValueError(
            f"each temperature needs lattices of shape (n, L, L), all of one L; got shapes "
            f"{[np.shape(s) for s in sets]}"
        )
    L = int(next(iter(shapes))[0])
    observed = [thermodynamics(s, temp, J=J, num_blocks=num_blocks) for s, temp in zip(sets, t)]
    exact = kaufman_thermodynamics(L, t, J=J)
    e_obs = np.array([o.energy.value for o in observed])
    c_obs = np.array([o.specific_heat.value for o in observed])
    return ExactComparison(
        temperatures=t,
        observed=observed,
        exact=exact,
        energy_z=np.array([o.energy.z(e) for o, e in zip(observed, exact.energy)]),
        energy_rel=(e_obs - exact.energy) / np.abs(exact.energy),
        specific_heat_z=np.array(
            [o.specific_heat.z(c) for o, c in zip(observed, exact.specific_heat)]
        ),
        specific_heat_rel=(c_obs - exact.specific_heat) / np.abs(exact.specific_heat),
    )
