"""The lattice (genmod.ising.lattice): the energy on the torus, and the checks of spins and
settings.

Equation labels refer to book/physics/ising.md.
"""

import numpy as np
import pytest

from genmod import ising as I


def test_energy_counts_each_bond_once():
    """physics-ising-energy: the ground state has E = -2 J N, a checkerboard +2 J N."""
    up = np.ones((1, 4, 6), dtype=np.int8)
    board = np.where(np.indices((4, 6)).sum(0) % 2 == 0, 1, -1)[None]
    assert I.energy(up)[0] == -2 * 24 and I.energy(board, J=2.0)[0] == 2 * 2 * 24


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="> 0"):
        I.sample_ising(8, 0.0, 10)
    with pytest.raises(ValueError, match="> 0"):
        I.kaufman_log_z(4, [-1.0])
    with pytest.raises(ValueError, match="even"):
        I.sample_ising(7, 2.0, 10, sampler="metropolis")
    with pytest.raises(ValueError, match="sampler"):
        I.sample_ising(8, 2.0, 10, sampler="heatbath")
    with pytest.raises(ValueError, match="increasing"):
        I.ising_dataset(8, [2.0, 1.0], 10, cache=False)
    with pytest.raises(ValueError, match="exactly -1 or \\+1"):
        I.energy(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="int8"):
        I.metropolis_sweep(np.ones((2, 4, 4)), 1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="at most 20"):
        I.exact_enumeration(5, [2.0])
    with pytest.raises(ValueError, match="J must be > 0"):
        I.kaufman_log_z(4, [2.0], J=-1.0)
