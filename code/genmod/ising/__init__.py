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

One module per job; every public name is also here (``from genmod import ising;
ising.energy(...)``):

- :mod:`genmod.ising.lattice`: checks of spin configurations, :func:`energy`,
  :func:`energy_per_spin`, :func:`magnetisation`;
- :mod:`genmod.ising.exact`: exact answers: enumeration of all :math:`2^{L_1 L_2}` states
  (:func:`exact_enumeration`, :math:`L_1 L_2 \le 20`), Kaufman's (1949) partition function
  of the finite torus (:func:`kaufman_log_z`, :func:`kaufman_thermodynamics`), the exact
  log-likelihood of a lattice (:func:`log_likelihood`), Onsager's :math:`T_c`
  (:data:`T_C`), free energy and energy of the infinite lattice, Yang's spontaneous
  magnetisation, and the exact specific-heat peak (:func:`exact_specific_heat_peak`);
- :mod:`genmod.ising.samplers`: the checkerboard Metropolis sweep
  (:func:`metropolis_sweep`) and the Wolff cluster step (:func:`wolff_step`), both
  vectorised over independent chains and seeded by a ``numpy.random.Generator``;
  :func:`run_chains` runs either and records the energy and magnetisation;
- :mod:`genmod.ising.datasets`: data sets with equilibration and thinning by the
  measured integrated autocorrelation time, cached by a hash of their settings
  (:func:`ising_dataset`), and the one data set of the book's physics notebooks
  (:data:`BOOK_DATASET`, :func:`book_dataset`);
- :mod:`genmod.ising.observables`: observables of any set of lattices with standard
  errors that account for correlated samples (:func:`thermodynamics`,
  :func:`correlation_function`), and the peak of a measured :math:`C(T)`
  (:func:`specific_heat_peak`);
- :mod:`genmod.ising.compare`: generated lattices judged against the exact answers of
  the same finite torus (:func:`compare_with_exact`, :class:`ExactComparison`).

The estimates are :class:`genmod.stats.Estimate` (value and standard error); the blocked
jackknife and Sokal's autocorrelation time live in :mod:`genmod.stats` and are
re-exported here.

Importing this package imports no deep-learning framework.
"""

from genmod.ising.compare import ExactComparison, compare_with_exact
from genmod.ising.datasets import (
    BOOK_DATASET,
    BOOK_TEMPERATURES,
    IsingDataset,
    IsingSamples,
    book_dataset,
    ising_dataset,
    sample_ising,
)
from genmod.ising.exact import (
    T_C,
    ExactThermodynamics,
    all_spin_states,
    exact_enumeration,
    exact_specific_heat_peak,
    kaufman_log_z,
    kaufman_thermodynamics,
    log_likelihood,
    onsager_energy,
    onsager_free_energy,
    yang_magnetisation,
)
from genmod.ising.lattice import check_spins, energy, energy_per_spin, magnetisation
from genmod.ising.observables import (
    Thermodynamics,
    correlation_function,
    specific_heat_peak,
    thermodynamics,
)
from genmod.ising.samplers import (
    SAMPLERS,
    ChainTrace,
    initial_spins,
    metropolis_flip_probabilities,
    metropolis_sweep,
    run_chains,
    wolff_step,
)
from genmod.stats import Estimate, autocorrelation, integrated_autocorrelation_time, jackknife

__all__ = [
    "T_C",
    "energy",
    "energy_per_spin",
    "magnetisation",
    "check_spins",
    "all_spin_states",
    "exact_enumeration",
    "ExactThermodynamics",
    "kaufman_log_z",
    "kaufman_thermodynamics",
    "log_likelihood",
    "onsager_free_energy",
    "onsager_energy",
    "yang_magnetisation",
    "metropolis_flip_probabilities",
    "metropolis_sweep",
    "wolff_step",
    "initial_spins",
    "run_chains",
    "ChainTrace",
    "SAMPLERS",
    "autocorrelation",
    "integrated_autocorrelation_time",
    "IsingSamples",
    "sample_ising",
    "ising_dataset",
    "IsingDataset",
    "BOOK_TEMPERATURES",
    "BOOK_DATASET",
    "book_dataset",
    "Estimate",
    "Thermodynamics",
    "thermodynamics",
    "correlation_function",
    "jackknife",
    "exact_specific_heat_peak",
    "specific_heat_peak",
    "ExactComparison",
    "compare_with_exact",
]
