"""Scales and folders (genmod.config, genmod.artifacts)."""

import json
import subprocess
import sys

import numpy as np
import pytest

import genmod
from genmod.config import get_scale, pick


@pytest.mark.parametrize("value, expected", [("quick", "quick"), (" BOOK ", "book"), ("full", "full"), ("", "book")])
def test_scale_parsing(monkeypatch, value, expected):
    monkeypatch.setenv("GENMOD_SCALE", value)
    assert get_scale() == expected


def test_scale_default_when_unset(monkeypatch):
    monkeypatch.delenv("GENMOD_SCALE", raising=False)
    assert get_scale() == "book"


def test_bad_scale_lists_the_valid_ones(monkeypatch):
    monkeypatch.setenv("GENMOD_SCALE", "huge")
    with pytest.raises(ValueError) as err:
        get_scale()
    for name in ("'huge'", "quick", "book", "full"):
        assert name in str(err.value)


def test_pick_follows_the_scale(monkeypatch):
    for scale, expected in (("quick", 1), ("book", 30), ("full", 100)):
        monkeypatch.setenv("GENMOD_SCALE", scale)
        assert pick(quick=1, book=30, full=100) == expected


def test_import_genmod_imports_no_framework():
    code = (
        "import sys, genmod, genmod.metrics, genmod.plotting, genmod.data, genmod.judge; "
        "bad = [m for m in ('torch', 'tensorflow', 'torchvision', 'keras') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_save_artifacts_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("GENMOD_ARTIFACTS", str(tmp_path))
    monkeypatch.setenv("GENMOD_SCALE", "quick")
    tanh_images = np.linspace(-1, 1, 5 * 784, dtype=np.float32).reshape(5, 1, 28, 28)
    folder = genmod.save_artifacts("demo_nb", tanh_images, {"mmd2": np.float64(0.5), "bad": float("nan")}, image_range=(-1, 1))
    assert folder == tmp_path / "demo_nb"
    with np.load(folder / "samples.npz") as f:
        images = f["images"]
    assert images.shape == (5, 28, 28) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics == {"notebook": "demo_nb", "scale": "quick", "mmd2": 0.5, "bad": None}


def test_save_artifacts_rejects_bad_input(tmp_path, monkeypatch):
    monkeypatch.setenv("GENMOD_ARTIFACTS", str(tmp_path))
    with pytest.raises(ValueError, match="non-empty"):
        genmod.save_artifacts("x", np.zeros((0, 28, 28)), {})
    with pytest.raises(ValueError, match="notebook name"):
        genmod.save_artifacts("../escape", np.zeros((2, 28, 28)), {})
    with pytest.raises(ValueError, match="shape"):
        genmod.save_artifacts("x", np.zeros((2, 3, 4, 5)), {})
