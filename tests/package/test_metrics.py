"""Sample-quality metrics (genmod.metrics) against direct computations and closed forms."""

import numpy as np
from scipy.stats import t as student_t
import pytest
from scipy import linalg

from genmod.metrics import (
    frechet_distance,
    frechet_distance_features,
    median_bandwidth,
    mmd2_against_real,
    mmd2_unbiased,
    mode_coverage,
)


def mmd2_direct(x, y, sigma):
    """The unbiased estimator written as the explicit double sums (Gretton et al. 2012, eq. 3)."""
    k = lambda a, b: np.exp(-np.sum((a - b) ** 2) / (2 * sigma**2))  # noqa: E731
    m, n = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    syy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    sxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return sxx + syy - 2 * sxy


def test_mmd_equals_direct_double_sum():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 3)), rng.normal(0.5, 1.2, size=(25, 3))
    for sigma in (0.5, 1.0, 3.0):
        assert mmd2_unbiased(x, y, bandwidth=sigma) == pytest.approx(mmd2_direct(x, y, sigma),
                                                                     rel=1e-10, abs=1e-12)


def test_mmd_near_zero_for_one_distribution_and_grows_with_shift():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 2))
    same = [mmd2_unbiased(x, rng.normal(size=(500, 2)), bandwidth=1.0) for _ in range(5)]
    # the unbiased estimate has mean 0 under p = q; its spread at n = 500 is ~1e-3
    assert abs(np.mean(same)) < 2e-3
    shifts = [0.25, 0.5, 1.0, 2.0]
    values = [mmd2_unbiased(x, rng.normal(size=(500, 2)) + [s, 0.0], bandwidth=1.0) for s in shifts]
    assert values[0] > max(same)
    assert all(a < b for a, b in zip(values, values[1:]))



def test_mmd_against_real_scores_every_model_with_one_kernel():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(1200, 3))
    close, far = rng.normal(size=(400, 3)), rng.normal(size=(400, 3)) + [1.0, 0.0, 0.0]
    r_close = mmd2_against_real(close, real, num_samples=400, seed=5)
    r_far = mmd2_against_real(far, real, num_samples=400, seed=5)
    # the same real sets and the same kernel for every model scored with one seed
    assert r_close["mmd_bandwidth"] == r_far["mmd_bandwidth"]
    assert r_close["mmd2_real_vs_real"] == r_far["mmd2_real_vs_real"]
    assert r_close["mmd_num_samples"] == 400
    # the floor is the real-versus-real estimate: near 0, as is a sample of the same law
    assert abs(r_close["mmd2_real_vs_real"]) < 5e-3
    assert abs(r_close["mmd2_generated_vs_real"]) < 5e-3
    assert r_far["mmd2_generated_vs_real"] > 10 * max(abs(r_close["mmd2_generated_vs_real"]), 5e-3)
    # the kernel is the median heuristic on real samples only: the generated ones do not move it
    bandwidth = median_bandwidth(real[:400], real[400:800])
    assert r_close["mmd_bandwidth"] == pytest.approx(bandwidth, rel=0.05)


def test_mmd_against_real_rejects_too_few_samples():
    rng = np.random.default_rng(3)
    with pytest.raises(ValueError, match="2 \\* num_samples real"):
        mmd2_against_real(rng.normal(size=(100, 2)), rng.normal(size=(150, 2)), num_samples=100)
    with pytest.raises(ValueError, match="num_samples"):
        mmd2_against_real(rng.normal(size=(50, 2)), rng.normal(size=(300, 2)), num_samples=100)
    with pytest.raises(ValueError):
        mmd2_against_real(rng.normal(size=(100, 2)), rng.normal(size=(300, 3)), num_samples=100)


def test_mmd_closed_form_for_gaussians():
    """For N(mu1, s^2 I) vs N(mu2, s^2 I) in d dims with a Gaussian kernel of width l the
    population MMD^2 is 2 (l^2/(l^2+2s^2))^{d/2} (1 - exp(-|mu1-mu2|^2 / (2(l^2+2s^2))))."""
    rng = np.random.default_rng(2)
    d, s, l, delta = 2, 1.0, 1.5, 1.0
    c = (l**2 / (l**2 + 2 * s**2)) ** (d / 2)
    exact = 2 * c * (1 - np.exp(-(delta**2) / (2 * (l**2 + 2 * s**2))))
    estimates = [
        mmd2_unbiased(rng.normal(size=(400, d)), rng.normal(size=(400, d)) + [delta, 0.0],
                      bandwidth=l)
        for _ in range(20)
    ]
    se = np.std(estimates, ddof=1) / np.sqrt(len(estimates))
    # the estimator is unbiased, so its mean over replicates is a t-statistic away from the exact
    # value: allow a false alarm once in a million runs (Student t, len - 1 degrees of freedom)
    assert abs(np.mean(estimates) - exact) < student_t.isf(0.5e-6, len(estimates) - 1) * se


def test_mmd_errors():
    with pytest.raises(ValueError, match="same dimension"):
        mmd2_unbiased(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="at least 2"):
        mmd2_unbiased(np.zeros((1, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="bandwidth"):
        mmd2_unbiased(np.zeros((3, 2)), np.zeros((3, 2)), bandwidth=0.0)


def random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_frechet_zero_for_identical_statistics():
    rng = np.random.default_rng(3)
    mu, sigma = rng.normal(size=4), random_spd(rng, 4)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)


def test_frechet_closed_form_for_diagonal_gaussians():
    """Commuting covariances: FD = |mu1-mu2|^2 + sum_i (sigma1_i - sigma2_i)^2."""
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([2.0, 1.0, 0.5])
    exact = np.sum((mu1 - mu2) ** 2) + np.sum((s1 - s2) ** 2)
    fd = frechet_distance(mu1, np.diag(s1**2), mu2, np.diag(s2**2))
    assert fd == pytest.approx(exact, rel=1e-10)


def test_frechet_matches_symmetric_form_for_general_gaussians():
    """Tr (S1 S2)^{1/2} = Tr (S2^{1/2} S1 S2^{1/2})^{1/2}, computed here with
    eigendecompositions."""
    rng = np.random.default_rng(4)
    for d in (1, 2, 5):
        mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
        s1, s2 = random_spd(rng, d), random_spd(rng, d)
        w, v = linalg.eigh(s2)
        root2 = v @ np.diag(np.sqrt(w)) @ v.T
        inner = linalg.eigvalsh(root2 @ s1 @ root2)
        exact = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sum(np.sqrt(inner))
        assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(exact, rel=1e-8)


def test_frechet_from_features_converges_to_population_value():
    """FD of N(0, I) and N(1, 4 I) in 2D is 2 * 1^2 + 2 * (2 - 1)^2 = 4; from n samples each, the
    squared difference of the sample means adds (tr S1 + tr S2) / n = 10 / n in expectation, the
    rest is O(1/n^2)."""
    rng = np.random.default_rng(5)
    n, reps = 2000, 20
    exact = 2 * 1.0**2 + 2 * (2.0 - 1.0) ** 2
    expected = exact + (2 * 1.0 + 2 * 4.0) / n
    estimates = [frechet_distance_features(rng.normal(0.0, 1.0, size=(n, 2)),
                                           rng.normal(1.0, 2.0, size=(n, 2)))
                 for _ in range(reps)]
    se = np.std(estimates, ddof=1) / np.sqrt(reps)
    assert abs(np.mean(estimates) - expected) < student_t.isf(0.5e-6, reps - 1) * se
    assert se < 0.05 * exact, "the replicates must pin the value down for the test to mean anything"


def test_frechet_shape_errors():
    with pytest.raises(ValueError, match="shapes"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_mode_coverage_counts_modes_and_quality():
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    rng = np.random.default_rng(6)
    good = np.concatenate([centers[0] + 0.1 * rng.normal(size=(50, 2)),
                           centers[1] + 0.1 * rng.normal(size=(50, 2))])
    far = np.array([[5.0, 5.0]] * 25)  # between modes: low quality
    result = mode_coverage(np.concatenate([good, far]), centers, std=0.1)
    assert result["modes_covered"] == 2 and result["num_modes"] == 3
    assert result["high_quality_fraction"] == pytest.approx(100 / 125, abs=0.02)
    assert result["counts"][2] == 0
