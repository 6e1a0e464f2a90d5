"""genmod.data: the MNIST loader on the offline file, a missing path and malformed files; the toy
distributions (Gaussian mixtures, the standard-normal quantile grid)."""

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import logsumexp

from genmod.data import Mixture, MnistUnavailableError, load_mnist, standard_normal_grid


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
    # the package is installed outside the book's repository too (Colab): the message says what
    # file to get, and names no path of the repository
    assert "Keras layout (x_train, y_train, x_test, y_test)" in str(err.value)
    assert "../shared" not in str(err.value)


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
    np.savez(bad, x_train=x_train, y_train=y_train, x_test=np.zeros((2, 28, 28), np.uint8),
             y_test=np.zeros(2, np.uint8))
    monkeypatch.setenv("GENMOD_MNIST", str(bad))
    with pytest.raises(MnistUnavailableError, match=message):
        load_mnist(verbose=False)


def test_failed_download_says_what_was_tried(monkeypatch, tmp_path):
    """Without GENMOD_MNIST the loader tries torchvision; offline that fails with a clear error."""
    import genmod.data.mnist as data

    monkeypatch.delenv("GENMOD_MNIST", raising=False)
    monkeypatch.setenv("GENMOD_DATA", str(tmp_path))

    def fail(root):
        raise OSError("network unreachable")

    monkeypatch.setattr(data, "_fetch_with_torchvision", fail)
    with pytest.raises(MnistUnavailableError) as err:
        load_mnist(verbose=False)
    text = str(err.value)
    assert "torchvision" in text and str(tmp_path) in text and "GENMOD_MNIST" in text
    assert "../shared" not in text


def test_torchvision_cache_is_read(monkeypatch, tmp_path, mnist_file):
    """A previously downloaded copy (mnist.npz in GENMOD_DATA/mnist) is reused, not downloaded."""
    import genmod.data.mnist as data

    monkeypatch.delenv("GENMOD_MNIST", raising=False)
    monkeypatch.setenv("GENMOD_DATA", str(tmp_path))
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "mnist.npz").write_bytes(mnist_file.read_bytes())
    monkeypatch.setattr(data, "_fetch_with_torchvision",
                        lambda root: pytest.fail("should not download"))
    (x_train, _), _ = load_mnist(verbose=False)
    assert len(x_train) == 8000
    assert data.last_source().kind == "torchvision"


# ---------------------------------------------------------------------------
# Toy data: genmod.data.Mixture, checked against the distribution it claims to be
# ---------------------------------------------------------------------------

# Monte Carlo tolerance, in standard errors computed from the distribution: a correct sampler
# misses by more with probability 2 (1 - Phi(5)) = 5.7e-7 per comparison (normal approximation).
NUM_SE = 5.0
# Probability that a correct sampler fails a test of an extreme (a maximum over all samples).
FALSE_ALARM = 1e-6


def test_ring_of_gaussians():
    r"""Mixture.ring(8, radius=2, std=0.02): centres on the circle, chi-distributed radii, equal
    weights.

    A point of component c is mu_c + sigma z with z ~ N(0, I_2), so |x - mu_c| / sigma follows the
    chi distribution with 2 degrees of freedom. The largest of n such radii exceeds the chi
    quantile q with P(max > q) = 1 - F(q)^n, so q = chi.isf(FALSE_ALARM / n) bounds all of them
    but for a false alarm of at most FALSE_ALARM. The component counts are binomial(n, 1/8).
    """
    num_modes, radius, std, n = 8, 2.0, 0.02, 8000
    ring = Mixture.ring(num_modes, radius=radius, std=std)
    x, comp = ring.sample(n, rng=0, return_components=True)
    centers = ring.means
    assert x.shape == (n, 2) and centers.shape == (num_modes, 2) and comp.shape == (n,)
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), radius, rtol=1e-12)
    angles = np.mod(np.arctan2(centers[:, 1], centers[:, 0]), 2 * np.pi)
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(num_modes) / num_modes, atol=1e-12)
    np.testing.assert_allclose(ring.stds, std)
    np.testing.assert_allclose(ring.weights, 1 / num_modes)

    r = np.linalg.norm(x - centers[comp], axis=1) / std  # chi with 2 degrees of freedom
    assert r.max() < stats.chi.isf(FALSE_ALARM / n, df=2)
    chi2 = stats.chi(df=2)
    assert abs(r.mean() - chi2.mean()) < NUM_SE * chi2.std() / np.sqrt(n)
    # the components are 2 r sin(pi / M) / sigma = 77 sigma apart: every point is nearest its own
    # centre
    nearest = np.linalg.norm(x[:, None] - centers[None], axis=2).argmin(1)
    np.testing.assert_array_equal(nearest, comp)
    p = 1 / num_modes
    counts = np.bincount(comp, minlength=num_modes)
    assert (np.abs(counts / n - p) < NUM_SE * np.sqrt(p * (1 - p) / n)).all()


def _mixture_2d():
    return Mixture([[-1.0, 0.5], [1.5, -0.5], [0.0, 2.0]], [0.4, 0.7, 1.1], weights=[0.5, 0.2, 0.3])


def test_mixture_pdf_integrates_to_one():
    # 1D: adaptive quadrature over the real line, with unequal widths and weights
    m1 = Mixture([-2.0, 0.5, 3.0], [0.3, 1.0, 0.6], weights=[0.2, 0.5, 0.3])
    total = sum(integrate.quad(lambda t: m1.pdf(np.array([t]))[0], a, b, limit=200, epsabs=1e-13)[0]
                for a, b in [(-np.inf, -2.0), (-2.0, 0.5), (0.5, 3.0), (3.0, np.inf)])
    assert total == pytest.approx(1.0, abs=1e-10)
    # 2D: the trapezoidal rule on a grid of spacing sigma_min / 8, which is exponentially accurate
    # for Gaussians (error ~ exp(-2 pi^2 sigma^2 / h^2)), over a box that holds all but ~1e-15 of
    # the mass
    m2 = _mixture_2d()
    t = np.linspace(-9.0, 10.0, 381)
    xx, yy = np.meshgrid(t, t, indexing="ij")
    points = np.stack([xx.ravel(), yy.ravel()], axis=1)
    dens = m2.pdf(points).reshape(xx.shape)
    def integral(f):
        return integrate.trapezoid(integrate.trapezoid(f, t, axis=1), t)

    assert integral(dens) == pytest.approx(1.0, abs=1e-10)
    # each component's share of the mass, through the responsibilities, is its weight
    resp = m2.responsibilities(points).reshape(*xx.shape, 3)
    shares = [integral(dens * resp[..., c]) for c in range(3)]
    np.testing.assert_allclose(shares, m2.weights, atol=1e-10)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_mixture_logpdf_matches_scipy(d):
    rng = np.random.default_rng(d)
    mean, std = rng.normal(size=d), 0.7
    x = rng.normal(size=(50, d)) * 2
    one = Mixture(mean[None], std)  # M = 1: a single isotropic Gaussian
    def normal(m, s):
        return stats.multivariate_normal(m, s**2 * np.eye(d))

    np.testing.assert_allclose(one.logpdf(x), normal(mean, std).logpdf(x), rtol=1e-12)
    # M = 3: the weighted sum of scipy's densities
    means, stds = rng.normal(size=(3, d)), np.array([0.5, 1.0, 2.0])
    weights = np.array([0.6, 0.3, 0.1])
    mix = Mixture(means, stds, weights)
    reference = sum(w * normal(m, s).pdf(x) for m, s, w in zip(means, stds, weights))
    np.testing.assert_allclose(mix.pdf(x), reference, rtol=1e-12)
    np.testing.assert_allclose(mix.logpdf(x), np.log(reference), rtol=1e-12)
    if d == 1:  # a flat array of points means d = 1
        np.testing.assert_array_equal(mix.logpdf(x[:, 0]), mix.logpdf(x))
    # far in the tails, where the density underflows to 0, the log-density is still right
    # (log-sum-exp)
    far = np.full((1, d), 300.0)
    log_terms = [np.log(w) + normal(m, s).logpdf(far) for m, s, w in zip(means, stds, weights)]
    assert mix.pdf(far)[0] == 0.0
    np.testing.assert_allclose(mix.logpdf(far), logsumexp(log_terms, axis=0), rtol=1e-12)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_mixture_score_is_the_gradient_of_logpdf(d):
    rng = np.random.default_rng(10 + d)
    mix = Mixture(rng.normal(size=(4, d)), rng.uniform(0.5, 1.5, size=4),
                  weights=[0.1, 0.2, 0.3, 0.4])
    x = rng.normal(size=(20, d)) * 1.5
    step = 1e-5
    fd = np.stack([(mix.logpdf(x + step * e) - mix.logpdf(x - step * e)) / (2 * step)
                   for e in np.eye(d)], axis=1)
    score = mix.score(x)
    assert score.shape == (20, d)
    # central differences err by ~ step^2 |third derivative| + eps |log p| / step, below 1e-9 here
    np.testing.assert_allclose(score, fd, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(mix.responsibilities(x).sum(1), 1.0, rtol=1e-12)


def test_mixture_sample_moments_match_the_distribution():
    r"""Mean, covariance and component frequencies of 200,000 samples, within NUM_SE standard
    errors.

    Cov = sum_c w_c (sigma_c^2 I + mu_c mu_c^T) - mu mu^T with mu = mean(); the standard error of
    each sample covariance entry is the sample standard deviation of the centred products over
    sqrt(n), that of each frequency the binomial sqrt(w (1 - w) / n).
    """
    mix, n = _mixture_2d(), 200_000
    x, comp = mix.sample(n, rng=np.random.default_rng(3), return_components=True)
    mu = mix.mean()
    np.testing.assert_allclose(mu, mix.weights @ mix.means, rtol=1e-12)
    second_moment = sum(w * (s**2 * np.eye(2) + np.outer(m, m))
                        for m, s, w in zip(mix.means, mix.stds, mix.weights))
    cov = second_moment - np.outer(mu, mu)
    se_mean = np.sqrt(np.diag(cov) / n)
    assert (np.abs(x.mean(0) - mu) < NUM_SE * se_mean).all()
    xc = x - x.mean(0)
    products = xc[:, :, None] * xc[:, None, :]  # (n, 2, 2)
    se_cov = products.std(0) / np.sqrt(n)
    assert (np.abs(products.mean(0) - cov) < NUM_SE * se_cov).all()
    freq = np.bincount(comp, minlength=3) / n
    se_freq = np.sqrt(mix.weights * (1 - mix.weights) / n)
    assert (np.abs(freq - mix.weights) < NUM_SE * se_freq).all()
    # seeded: the same seed gives the same points
    np.testing.assert_array_equal(mix.sample(5, rng=7), mix.sample(5, rng=7))


def test_one_dimensional_mixture_is_the_normal_it_says():
    m = Mixture([[2.0]], 0.5)  # N(2, 0.5^2), the docstring's example
    assert m.dim == 1 and m.num_components == 1
    x = np.linspace(-1.0, 5.0, 13)
    np.testing.assert_allclose(m.pdf(x), stats.norm(2.0, 0.5).pdf(x), rtol=1e-12)
    np.testing.assert_allclose(m.score(x)[:, 0], -(x - 2.0) / 0.25, rtol=1e-12)


@pytest.mark.parametrize(
    "args, message",
    [
        (([[[0.0]]], 1.0), r"means must have shape \(M, d\)"),
        (([], 1.0), r"means must have shape \(M, d\)"),
        (([[0.0], [1.0]], [1.0, 1.0, 1.0]), r"stds must be a scalar or have shape \(2,\)"),
        (([[0.0], [1.0]], [1.0, 0.0]), "stds must be > 0"),
        (([[0.0], [1.0]], -1.0), "stds must be > 0"),
        (([[0.0], [1.0]], 1.0, [1.0]), r"weights must have shape \(2,\)"),
        (([[0.0], [1.0]], 1.0, [0.7, 0.7]), "sum to 1"),
        (([[0.0], [1.0]], 1.0, [1.5, -0.5]), "non-negative"),
    ],
)
def test_mixture_rejects_bad_parameters(args, message):
    with pytest.raises(ValueError, match=message):
        Mixture(*args)


def test_mixture_rejects_points_of_the_wrong_shape():
    mix = _mixture_2d()
    for bad in (np.zeros(5), np.zeros((5, 3)), np.zeros((2, 5, 2))):
        for method in (mix.logpdf, mix.pdf, mix.score, mix.responsibilities):
            with pytest.raises(ValueError, match=r"points must have shape \(n, 2\), got"):
                method(bad)
    with pytest.raises(ValueError, match=r"points must have shape \(n, 1\) or \(n,\)"):
        Mixture([0.0, 1.0], 1.0).logpdf(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="num_modes >= 1 and radius > 0"):
        Mixture.ring(0)
    with pytest.raises(ValueError, match="num_modes >= 1 and radius > 0"):
        Mixture.ring(8, radius=-1.0)


@pytest.mark.parametrize("n", [1, 4, 15])
def test_standard_normal_grid_cells_hold_equal_prior_mass(n):
    points, quantiles = standard_normal_grid(n)
    assert points.shape == (n * n, 2) and points.dtype == np.float32
    # Phi(q_j) = (j + 1/2) / n: the n cells per axis hold equal prior mass
    np.testing.assert_allclose(stats.norm.cdf(quantiles), (np.arange(n) + 0.5) / n, atol=1e-6)
    rows = points.reshape(n, n, 2)
    # row-major image layout: h_1 grows to the right, h_2 falls from the top row down
    np.testing.assert_array_equal(rows[0, :, 0], quantiles)
    np.testing.assert_array_equal(rows[:, 0, 1], quantiles[::-1])
    assert (rows[:, :, 1] == rows[:, :1, 1]).all()  # h_2 constant along a row
    with pytest.raises(ValueError):
        standard_normal_grid(0)
