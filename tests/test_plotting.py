"""genmod.plotting: the helpers that compute something (grids) and reject bad input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy.stats import norm  # noqa: E402

from genmod.plotting import gan_curves, latent_scatter, samples_and_classes, standard_normal_grid  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("n", [1, 4, 15])
def test_standard_normal_grid_cells_hold_equal_prior_mass(n):
    points, quantiles = standard_normal_grid(n)
    assert points.shape == (n * n, 2) and points.dtype == np.float32
    # Phi(q_j) = (j + 1/2) / n: the n cells per axis hold equal prior mass
    np.testing.assert_allclose(norm.cdf(quantiles), (np.arange(n) + 0.5) / n, atol=1e-6)
    rows = points.reshape(n, n, 2)
    # row-major image layout: h_1 grows to the right, h_2 falls from the top row down
    np.testing.assert_array_equal(rows[0, :, 0], quantiles)
    np.testing.assert_array_equal(rows[:, 0, 1], quantiles[::-1])
    assert (rows[:, :, 1] == rows[:, :1, 1]).all()  # h_2 constant along a row
    with pytest.raises(ValueError):
        standard_normal_grid(0)


def test_latent_scatter_rejects_wrong_shapes():
    ax = latent_scatter(np.zeros((5, 2)), np.arange(5))
    assert len(ax.collections) == 1
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        latent_scatter(np.zeros((5, 3)), np.arange(5))
    with pytest.raises(ValueError):
        latent_scatter(np.zeros((5, 2)), np.arange(4))


def test_gan_curves_draw_the_optimum_lines():
    axes = gan_curves([1.0, 0.8], [1.2, 1.3], [0.7, 0.6], [0.3, 0.4])
    levels = sorted(line.get_ydata()[0] for line in axes[0].lines if line.get_linestyle() == ":")
    np.testing.assert_allclose(levels, [np.log(2), np.log(4)])
    assert [line.get_ydata()[0] for line in axes[1].lines if line.get_linestyle() == ":"] == [0.5]


def test_samples_and_classes_needs_ten_fractions():
    samples = np.random.default_rng(0).random((20, 28, 28))
    axes = samples_and_classes(samples, np.full(10, 0.1), reference=np.arange(10))
    assert len(axes) == 2
    with pytest.raises(ValueError):
        samples_and_classes(samples, np.full(9, 1 / 9))
