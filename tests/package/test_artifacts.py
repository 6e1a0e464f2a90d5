"""genmod.artifacts: samples are saved as what they are said to be, never guessed; one metrics
schema."""

import json

import numpy as np
import pytest

import genmod
from genmod.artifacts import METRIC_UNITS, check_record, check_samples, metric_unit, save_artifacts


@pytest.fixture
def folder(monkeypatch, tmp_path):
    monkeypatch.setenv("GENMOD_ARTIFACTS", str(tmp_path))
    monkeypatch.setenv("GENMOD_SCALE", "quick")
    return tmp_path


CONFIG = genmod.Config(num_epochs=3, lr=1e-3, filters=(8, 16))


def test_ising_lattices_survive_exactly(folder):
    """A 28 x 28 lattice of +-1 spins is stored as spins, not mapped or clipped into [0, 1] as a
    digit."""
    spins = np.where(np.random.default_rng(0).random((5, 28, 28)) < 0.5, -1, 1)
    out = save_artifacts("ising_test", spins, {"train_time_s": 1.0}, kind="spins", config=CONFIG,
                         device="cpu")
    with np.load(out / "samples.npz") as f:
        stored = f["samples"]
    assert stored.dtype == np.int8
    np.testing.assert_array_equal(stored, spins)
    record = json.loads((out / "metrics.json").read_text())
    assert record["samples"]["kind"] == "spins" and record["samples"]["value_range"] is None
    assert check_record(record) == []


def test_spins_must_be_plus_or_minus_one():
    with pytest.raises(ValueError, match=r"-1 or \+1"):
        check_samples(np.zeros((2, 4, 4)), "spins")
    with pytest.raises(ValueError, match="square"):
        check_samples(np.ones((2, 4, 5)), "spins")


def test_flat_digits_are_refused_not_reshaped():
    with pytest.raises(ValueError, match=r"\(N, H, W\).*reshape"):
        check_samples(np.zeros((3, 784)), "images", value_range=(0, 1))


def test_images_need_their_range_and_are_never_clipped():
    x = np.random.default_rng(0).uniform(-1, 1, size=(4, 28, 28))
    with pytest.raises(ValueError, match="value_range"):
        check_samples(x, "images")
    with pytest.raises(ValueError, match=r"outside value_range"):
        check_samples(x, "images", value_range=(0, 1))  # tanh outputs declared as [0, 1]
    stored = check_samples(x, "images", value_range=(-1, 1))
    np.testing.assert_allclose(stored, (x + 1) / 2, atol=1e-6)   # mapped linearly, nothing clipped


def test_points_and_spectra_keep_their_values():
    pts = np.random.default_rng(1).normal(size=(10, 2)) * 100
    np.testing.assert_allclose(check_samples(pts, "points"), pts, rtol=1e-6)
    with pytest.raises(ValueError, match="value_range applies to images only"):
        check_samples(pts, "points", value_range=(0, 1))
    with pytest.raises(ValueError, match=r"shape \(N, n\)"):
        check_samples(np.zeros((3, 4, 5)), "spectra")
    with pytest.raises(ValueError, match="finite"):
        check_samples(np.array([[np.nan, 1.0]]), "points")
    with pytest.raises(ValueError, match="kind must be one of"):
        check_samples(pts, "digits")


def test_unknown_metrics_are_refused_and_model_tags_allowed():
    assert metric_unit("wgan_gp/modes_covered") == METRIC_UNITS["modes_covered"]
    with pytest.raises(ValueError, match="unknown metric 'fid'"):
        metric_unit("fid")
    with pytest.raises(ValueError, match="unknown metric"):
        metric_unit("WGAN GP/modes_covered")


def test_record_schema(folder):
    images = np.random.default_rng(2).random((6, 28, 28))
    with pytest.raises(TypeError, match="genmod.Config"):
        save_artifacts("nb", images, {}, kind="images", value_range=(0, 1), config={"lr": 1},
                       device="cpu")
    out = save_artifacts("nb", images, {"train_time_s": 2.0}, kind="images", value_range=(0, 1),
                         config=CONFIG, device="cpu")
    record = json.loads((out / "metrics.json").read_text())
    assert record["config"] == {"num_epochs": 3, "lr": 1e-3, "filters": [8, 16]}
    assert record["scale"] == "quick" and record["units"] == {"train_time_s": "s"}
    # MNIST-shaped samples without the judge's scores do not follow the schema
    assert any("judge" in p for p in check_record(record))
    broken = dict(record, units={"train_time_s": "min"})
    assert any("unit of 'train_time_s'" in p for p in check_record(broken))
