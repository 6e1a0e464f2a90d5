"""The data sets (genmod.ising.datasets): the cache, the artifacts, and the book's one physics data
set.

Equation labels refer to book/physics/ising.md.
"""

import json

import numpy as np
import pytest

from genmod import ising as I


def test_dataset_is_cached_by_its_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("GENMOD_DATA", str(tmp_path))
    first = I.ising_dataset(4, [1.5, 3.0], 40, num_chains=10, seed=0, verbose=False)
    again = I.ising_dataset(4, [1.5, 3.0], 40, num_chains=10, seed=0, verbose=False)
    other = I.ising_dataset(4, [1.5, 3.0], 40, num_chains=10, seed=1, verbose=False)
    assert not first.cached and again.cached and not other.cached
    assert first.path == again.path != other.path
    np.testing.assert_array_equal(first.spins(), again.spins())
    assert first.spins().shape == (2, 40, 4, 4) and first.spins().dtype == np.int8
    assert again.samples[1].thinning == first.samples[1].thinning
    assert not np.array_equal(first.spins(), other.spins())


def test_save_artifacts_stores_ising_lattices_unchanged(tmp_path, monkeypatch):
    """The sampler's int8 lattices go through save_artifacts exactly, with the grid and J in
    metrics.json."""
    import genmod

    monkeypatch.setenv("GENMOD_ARTIFACTS", str(tmp_path))
    spins = I.sample_ising(8, 2.0, 100, num_chains=10, seed=0).flat()
    metrics = {"temperatures": [2.0], "coupling_j": 1.0, "energy_per_spin": [-1.74]}
    out = genmod.save_artifacts(
        "ising_test", spins, metrics, kind="spins", config=genmod.Config(a=1), device="cpu"
    )
    with np.load(out / "samples.npz") as f:
        stored = f["samples"]
    assert stored.dtype == np.int8
    np.testing.assert_array_equal(stored, spins)
    record = json.loads((out / "metrics.json").read_text())
    assert record["metrics"]["temperatures"] == [2.0] and record["units"]["coupling_j"] == "J"


def test_book_dataset_is_one_grid_at_every_scale_and_holds_the_checkpoints_grids():
    """The physics notebooks' one data set: the same grid at every scale, with the committed models'
    own grids in it."""
    import genmod

    assert set(I.BOOK_DATASET) == set(genmod.SCALES)
    for settings in I.BOOK_DATASET.values():
        assert settings["temperatures"] == I.BOOK_TEMPERATURES and settings["L"] == 8
        assert (
            settings["sampler"] == "wolff" and settings["num_samples"] % settings["num_chains"] == 0
        )
    assert list(I.BOOK_TEMPERATURES) == sorted(set(I.BOOK_TEMPERATURES))
    # ising_rbm_torch-1f2bee2bcf45
    rbm_grid = (1.5, 1.8, 2.0, 2.1, 2.2, 2.3, 2.35, 2.4, 2.5, 2.7, 3.0, 3.5)
    # cgan_ising_torch checkpoints
    cgan_grid = (1.5, 1.8, 2.0, 2.1, 2.2, 2.3, 2.35, 2.4, 2.5, 2.6, 2.8, 3.0, 3.5)
    assert set(rbm_grid) | set(cgan_grid) <= set(I.BOOK_TEMPERATURES)
    with pytest.raises(ValueError, match="scale"):
        I.book_dataset("huge")


def test_book_dataset_is_ising_dataset_of_its_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("GENMOD_DATA", str(tmp_path))
    monkeypatch.setitem(
        I.BOOK_DATASET,
        "quick",
        dict(I.BOOK_DATASET["quick"], temperatures=(1.8, 3.0), num_samples=40, num_chains=10),
    )
    d = I.book_dataset("quick", verbose=False)
    again = I.ising_dataset(**I.BOOK_DATASET["quick"], verbose=False)
    assert again.cached and again.path == d.path and d.spins().shape == (2, 40, 8, 8)
