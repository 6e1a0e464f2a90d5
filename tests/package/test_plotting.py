"""genmod.plotting: the pixels the helpers draw, and bad input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from genmod.plotting import (  # noqa: E402
    gan_curves,
    image_grid,
    latent_scatter,
    samples_and_classes,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


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


# ---------------------------------------------------------------------------
# image_grid: the pixels it draws are the images, in order, with a border
# ---------------------------------------------------------------------------


def _drawn(ax):
    """The array that image_grid handed to imshow, read back from the axes."""
    assert len(ax.images) == 1
    return np.asarray(ax.images[0].get_array())


def _tile(grid, i, nrow, h, w):
    """Tile i of a grid with nrow images per row: row-major, one border pixel around each image."""
    r, c = divmod(i, nrow)
    return grid[1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + c * (w + 1) : 1 + c * (w + 1) + w]


@pytest.mark.parametrize("n, nrow", [(7, 3), (6, 6), (5, 1), (4, 10)])
def test_image_grid_draws_each_image_in_its_tile(n, nrow):
    rng = np.random.default_rng(n)
    h, w = 4, 5  # not square, so that rows and columns cannot be confused
    # never equal to the border value 0
    images = rng.uniform(0.05, 0.95, size=(n, h, w)).astype(np.float32)
    ax = image_grid(images, nrow=nrow)
    grid = _drawn(ax)
    rows = -(-n // nrow)  # ceil(n / nrow): the number of rows of tiles
    assert grid.shape == (rows * (h + 1) + 1, nrow * (w + 1) + 1)
    covered = np.zeros(grid.shape, dtype=bool)
    for i in range(n):
        np.testing.assert_array_equal(_tile(grid, i, nrow, h, w), images[i])  # image i, row-major
        _tile(covered, i, nrow, h, w)[...] = True
    # everything else (the one-pixel borders and the empty slots after the last image) is the
    # lowest value
    assert (grid[~covered] == 0.0).all()
    assert grid[0].max() == 0 and grid[:, 0].max() == 0
    assert grid[-1].max() == 0 and grid[:, -1].max() == 0
    # shown with the value range fixed, not rescaled to the data, and without axes
    assert ax.images[0].get_clim() == (0.0, 1.0)
    assert not ax.axison


def test_image_grid_default_layout_and_value_range():
    images = np.linspace(-0.9, 0.9, 10 * 3 * 3).reshape(10, 3, 3)
    ax = image_grid(images, value_range=(-1.0, 1.0), title="tanh outputs")
    grid = _drawn(ax)
    nrow = 4  # ceil(sqrt(10))
    assert grid.shape == (3 * 4 + 1, nrow * 4 + 1)  # 3 rows of 4 tiles of 3 x 3 pixels
    for i in range(10):
        # float32 copies
        np.testing.assert_allclose(_tile(grid, i, nrow, 3, 3), images[i], rtol=1e-6)
    # the border takes the lower end of the range
    assert grid[0, 0] == -1.0 and grid[-1, -1] == -1.0
    assert ax.images[0].get_clim() == (-1.0, 1.0)
    assert ax.get_title() == "tanh outputs"


def test_image_grid_reads_every_documented_layout_alike():
    rng = np.random.default_rng(0)
    images = rng.random((5, 6, 6)).astype(np.float32)
    reference = _drawn(image_grid(images, nrow=2))
    torch = pytest.importorskip("torch")
    layouts = (images[:, None], images[..., None], images.reshape(5, 36), torch.from_numpy(images))
    for layout in layouts:
        np.testing.assert_array_equal(_drawn(image_grid(layout, nrow=2)), reference)
    fig, ax = plt.subplots()
    assert image_grid(images, ax=ax) is ax  # draws on the axes it is given


@pytest.mark.parametrize(
    "shape, message",
    [
        ((4, 10), "not square"),           # flat images of length 10
        ((0, 28, 28), "non-empty"),        # no images
        ((0, 784), "non-empty"),
        ((784,), r"\(N, H, W\)"),          # one flat image without the batch axis
        ((4, 3, 8, 8), r"\(N, H, W\)"),    # colour images
        ((2, 4, 1, 8, 8), r"\(N, H, W\)"),
    ],
)
def test_image_grid_rejects_what_it_cannot_read(shape, message):
    with pytest.raises(ValueError, match=message):
        image_grid(np.zeros(shape))


def test_image_grid_refuses_ambiguous_arrays_and_bad_layouts():
    # a square 2-D array: one 16 x 16 image, or 16 flat 4 x 4 images? Refused, not guessed.
    with pytest.raises(ValueError, match=r"could be one 16x16 image or 16 flat images"):
        image_grid(np.zeros((16, 16)))
    image_grid(np.zeros((16, 16))[None])          # one image, said so
    for nrow in (0, -2, 2.5):
        with pytest.raises(ValueError, match="nrow must be a positive integer"):
            image_grid(np.zeros((4, 8, 8)), nrow=nrow)
    with pytest.raises(ValueError, match="lo < hi"):
        image_grid(np.zeros((4, 8, 8)), value_range=(1, 0))
    plt.close("all")
