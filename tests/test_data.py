"""The MNIST loader (genmod.data) on the offline file, a missing path and malformed files."""

import numpy as np
import pytest

from genmod.data import MnistUnavailableError, load_mnist, ring_of_gaussians


def test_offline_file_loads_in_keras_layout(monkeypatch, mnist_file, capsys):
    monkeypatch.setenv("GENMOD_MNIST", str(mnist_file))
    (x_train, y_train), (x_test, y_test) = load_mnist()
    assert x_train.shape == (8000, 28, 28) and x_test.shape == (2000, 28, 28)
    assert y_train.shape == (8000,) and y_test.shape == (2000,)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert x_train.max() > 200 and x_train.min() == 0
    assert set(np.unique(y_train)) == set(range(10))
    # every class is present in reasonable numbers (the subset is balanced)
    assert np.bincount(y_train, minlength=10).min() > 600
    out = capsys.readouterr().out
    assert "offline subset" in out and "10,000" in out and "8,000" in out


def test_missing_file_says_how_to_fix(monkeypatch, tmp_path):
    missing = tmp_path / "nope.npz"
    monkeypatch.setenv("GENMOD_MNIST", str(missing))
    with pytest.raises(MnistUnavailableError) as err:
        load_mnist(verbose=False)
    assert str(missing) in str(err.value) and "GENMOD_MNIST" in str(err.value)


def test_not_an_npz(monkeypatch, tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_text("this is not a zip archive")
    monkeypatch.setenv("GENMOD_MNIST", str(bad))
    with pytest.raises(MnistUnavailableError, match="could not read"):
        load_mnist(verbose=False)


def test_missing_keys(monkeypatch, tmp_path):
    bad = tmp_path / "keys.npz"
    np.savez(bad, x_train=np.zeros((3, 28, 28), np.uint8))
    monkeypatch.setenv("GENMOD_MNIST", str(bad))
    with pytest.raises(MnistUnavailableError, match="y_train"):
        load_mnist(verbose=False)


@pytest.mark.parametrize(
    "x_train, y_train, message",
    [
        (np.zeros((3, 32, 32), np.uint8), np.zeros(3, np.uint8), "shape"),
        (np.zeros((3, 28, 28), np.float32), np.zeros(3, np.uint8), "dtype"),
        (np.zeros((3, 28, 28), np.uint8), np.zeros(4, np.uint8), "y_train"),
        (np.zeros((3, 28, 28), np.uint8), np.array([0, 1, 12], np.uint8), "labels"),
    ],
)
def test_malformed_arrays(monkeypatch, tmp_path, x_train, y_train, message):
    bad = tmp_path / "malformed.npz"
    np.savez(bad, x_train=x_train, y_train=y_train, x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.zeros(2, np.uint8))
    monkeypatch.setenv("GENMOD_MNIST", str(bad))
    with pytest.raises(MnistUnavailableError, match=message):
        load_mnist(verbose=False)


def test_failed_download_says_what_was_tried(monkeypatch, tmp_path):
    """Without GENMOD_MNIST the loader tries torchvision; offline that fails with a clear error."""
    import genmod.data as data

    monkeypatch.delenv("GENMOD_MNIST", raising=False)
    monkeypatch.setenv("GENMOD_DATA", str(tmp_path))

    def fail(root):
        raise OSError("network unreachable")

    monkeypatch.setattr(data, "_fetch_with_torchvision", fail)
    with pytest.raises(MnistUnavailableError) as err:
        load_mnist(verbose=False)
    text = str(err.value)
    assert "torchvision" in text and str(tmp_path) in text and "GENMOD_MNIST" in text


def test_torchvision_cache_is_read(monkeypatch, tmp_path, mnist_file):
    """A previously downloaded copy (mnist.npz in GENMOD_DATA/mnist) is reused without a download."""
    import genmod.data as data

    monkeypatch.delenv("GENMOD_MNIST", raising=False)
    monkeypatch.setenv("GENMOD_DATA", str(tmp_path))
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "mnist.npz").write_bytes(mnist_file.read_bytes())
    monkeypatch.setattr(data, "_fetch_with_torchvision", lambda root: pytest.fail("should not download"))
    (x_train, _), _ = load_mnist(verbose=False)
    assert len(x_train) == 8000
    assert data.last_source().kind == "torchvision"


def test_ring_of_gaussians():
    x, centers = ring_of_gaussians(8000, num_modes=8, radius=2.0, std=0.02, rng=0)
    assert x.shape == (8000, 2) and centers.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 2.0, rtol=1e-6)
    nearest = np.linalg.norm(x[:, None] - centers[None], axis=2).argmin(1)
    # each sample lies within 5 std of its centre, and the modes are equally weighted
    assert np.linalg.norm(x - centers[nearest], axis=1).max() < 5 * 0.02 * 2
    counts = np.bincount(nearest, minlength=8)
    assert abs(counts / 8000 - 1 / 8).max() < 0.02
