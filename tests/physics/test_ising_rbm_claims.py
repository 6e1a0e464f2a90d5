r"""What book/physics/ising_rbm_torch says of its committed checkpoint, checked on the checkpoint.

The page gives the reference run's numbers as text: the sampling run recorded with the
checkpoint (``metrics`` of its provenance; the notebook's ``checkpoint_energies`` with the
settings ``CHECK``). The RBMs with :math:`d_h = 64` come close to the part's target but are
not "within 1 % of exact away from :math:`T_c`": they are within 2.6 %, off by 2.1 % to
2.6 % at :math:`T = 2.5, 2.7, 3.5`, about 2 standard errors each; the RBMs with
:math:`d_h = 16` are too high by 4.6 % at :math:`T = 2.2` and 21 % at :math:`T = 3.5`.
The first tests read the recorded numbers; the last samples the committed RBMs again with
the notebook's own code and checks that the page's statement holds for a fresh run too.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import genmod
from genmod import ising
from notebook_code import notebook_config

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_PY = "book/physics/ising_rbm_torch.py"
CHECKPOINT = ROOT / "book/physics/checkpoints/ising_rbm_torch-1f2bee2bcf45.json"
AWAY_FROM_TC = 0.15


def _record():
    return json.loads(CHECKPOINT.read_text())


def _deviations(energies, temperatures):
    """Relative deviations from Kaufman's exact energy of the 8 x 8 torus, per temperature."""
    exact = ising.kaufman_thermodynamics(8, temperatures).energy
    return (np.asarray(energies) - exact) / np.abs(exact)


def test_the_committed_checkpoint_is_the_notebooks_and_keeps_its_own_grid():
    """The page: the checkpoint was trained on its own grid of twelve temperatures, all in the data
    set's grid."""
    record = _record()
    config = notebook_config(NOTEBOOK_PY, scale="book")
    assert record["config"]["temperatures"] == list(config.checkpoint_temperatures)
    assert len(record["config"]["temperatures"]) == 12
    assert set(record["config"]["temperatures"]) <= set(ising.BOOK_TEMPERATURES)
    assert set(ising.BOOK_TEMPERATURES) - set(record["config"]["temperatures"]) == {2.6, 2.8}


def test_recorded_run_of_the_large_rbms_is_within_2_6_percent_away_from_tc_but_not_1_percent():
    """d_h = 64, reference run: within 2.6 % away from T_c; 2.1 to 2.6 % off at T = 2.5, 2.7, 3.5,
    |z| about 2."""
    record = _record()
    temps = np.array(record["config"]["temperatures"])
    rec = record["metrics"]["d_h_64"]
    rel = _deviations(rec["energy_per_spin"], temps)
    exact = ising.kaufman_thermodynamics(8, temps).energy
    z = (np.array(rec["energy_per_spin"]) - exact) / np.array(rec["energy_per_spin_se"])
    away = np.abs(temps - ising.T_C) > AWAY_FROM_TC
    # not within 1 %; within 2.6 %
    assert 0.01 < np.max(np.abs(rel[away])) < 0.026
    stated = np.isin(temps, (2.5, 2.7, 3.5))
    assert np.all((np.abs(rel[stated]) > 0.0205) & (np.abs(rel[stated]) < 0.026)), rel[stated]
    assert np.all((np.abs(z[stated]) > 1.5) & (np.abs(z[stated]) < 2.5)), z[stated]
    # every other temperature away from T_c is within 2.1 %; within 0.7 % at T <= 2.1 and T = 3.0
    assert np.all(np.abs(rel[away & ~stated]) < 0.0205)
    assert np.all(np.abs(rel[(temps <= 2.1) | (temps == 3.0)]) < 0.007)
    # at most 2.6 % and 2.7 standard errors anywhere on the grid, T_c included
    assert np.max(np.abs(rel)) < 0.026 and np.max(np.abs(z)) < 2.75


def test_recorded_run_of_the_small_rbms_is_too_high_from_tc_upwards():
    """d_h = 16, reference run: too high by about 4.6 % at T = 2.2 and 21 % at T = 3.5, most at the
    highest T."""
    record = _record()
    temps = np.array(record["config"]["temperatures"])
    rel = _deviations(record["metrics"]["d_h_16"]["energy_per_spin"], temps)
    assert rel[temps == 2.2][0] == pytest.approx(0.046, abs=0.005)
    assert rel[temps == 3.5][0] == pytest.approx(0.21, abs=0.01)
    assert np.argmax(rel) == len(temps) - 1 and np.all(rel[temps >= 2.2] > 0.04)
    assert np.all(np.diff(rel[temps >= 2.2]) > 0)                    # rising from T = 2.2 to 3.5


@pytest.mark.slow
def test_a_fresh_sampling_run_of_the_checkpoint_bears_out_the_page(ising_rbm_nb):
    """The notebook's checkpoint_energies on the committed RBMs: d_h = 64 within 3 % away from T_c
    but not within 1 %."""
    nb = ising_rbm_nb
    record = _record()
    ckpt_config = genmod.Config(**record["config"])
    rbms = nb["builder"](ckpt_config)
    state = torch.load(CHECKPOINT.with_suffix(".pt"), map_location="cpu", weights_only=True)
    rbms.load_state_dict(state, strict=True)
    got = nb["checkpoint_energies"](rbms, ckpt_config)
    temps = np.array(ckpt_config.temperatures)
    rel = _deviations(got["d_h_64"]["energy_per_spin"], temps)
    away = np.abs(temps - ising.T_C) > AWAY_FROM_TC
    assert 0.01 < np.max(np.abs(rel[away])) < 0.03, np.round(100 * rel, 2)
