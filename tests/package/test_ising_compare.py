"""Generated lattices against the exact answers (genmod.ising.compare).

Equation labels refer to book/physics/ising.md.
"""

import numpy as np
import pytest

from genmod import ising as I


def test_compare_with_exact_of_exact_samples_and_of_wrong_ones():
    # Exact samples of the 4 x 4 torus: drawn i.i.d. from the enumerated Boltzmann distribution.
    rng = np.random.default_rng(3)
    states = I.all_spin_states(4)
    temperatures = np.array([1.8, 2.4, 3.2])
    exact_sets, hot_sets = [], []
    for t in temperatures:
        logp = -I.energy(states) / t
        p = np.exp(logp - logp.max())
        exact_sets.append(states[rng.choice(len(states), 4000, p=p / p.sum())])
        # the Boltzmann distribution of a hotter lattice
        logq = -I.energy(states) / (t + 0.4)
        q = np.exp(logq - logq.max())
        hot_sets.append(states[rng.choice(len(states), 4000, p=q / q.sum())])
    good = I.compare_with_exact(exact_sets, temperatures)
    enum = I.exact_enumeration(4, temperatures)
    np.testing.assert_allclose(good.exact.energy, enum.energy, atol=1e-8)
    assert good.max_abs_energy_z() < 4 and good.max_abs_specific_heat_z() < 4
    assert good.max_abs_energy_rel() < 0.03
    hot = I.compare_with_exact(hot_sets, temperatures)
    # too hot: energy too high, and seen
    assert np.all(hot.energy_rel > 0.02) and hot.max_abs_energy_z() > 5
    metrics = good.metrics()
    assert metrics["energy_per_spin"] == [o.energy.value for o in good.observed]
    assert metrics["susceptibility_se"] == [o.susceptibility.se for o in good.observed]
    assert metrics["specific_heat_exact"] == pytest.approx(enum.specific_heat.tolist(), abs=1e-8)
    from genmod.artifacts import metric_unit
    # every name is a registered metric
    assert all(metric_unit(name) for name in metrics)
    table = good.table()
    assert len(table.splitlines()) == 2 + len(temperatures) and "1.800" in table
    assert good.max_abs_energy_rel(away_from_tc=0.3) == pytest.approx(
        np.max(np.abs(good.energy_rel[[0, 2]]))
    )
    with pytest.raises(ValueError, match="no temperature"):
        good.max_abs_energy_rel(away_from_tc=5.0)
    with pytest.raises(ValueError, match="3 temperatures"):
        I.compare_with_exact(exact_sets[:2], temperatures)
    with pytest.raises(ValueError, match="shape"):
        I.compare_with_exact([s.reshape(-1, 2, 8) for s in exact_sets], temperatures)


@pytest.mark.slow
def test_thermodynamics_vs_exact_draws_every_point():
    import matplotlib

    matplotlib.use("Agg")
    from genmod.plotting import thermodynamics_vs_exact

    d = I.ising_dataset(4, [1.8, 3.0], 200, num_chains=10, cache=False, verbose=False)
    cmp = I.compare_with_exact([s.flat() for s in d.samples], d.temperatures)
    axes = thermodynamics_vs_exact({"Wolff": cmp})
    for ax in axes:
        assert len(ax.containers) == 1 and len(ax.containers[0].lines[0].get_xdata()) == 2
    with pytest.raises(ValueError, match="empty"):
        thermodynamics_vs_exact({})
