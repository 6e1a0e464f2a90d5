r"""Sample-quality metrics in numpy/scipy: they run anywhere, with any framework.

- :func:`mmd2_unbiased`: the unbiased estimate of the squared maximum mean
  discrepancy with a Gaussian kernel (Gretton et al. 2012, JMLR 13, Lemma 6, eq. 3).
- :func:`mmd2_against_real`: that estimate for generated samples against real
  ones, beside the real-versus-real value, all with one kernel.
- :func:`frechet_distance`: the Fréchet (2-Wasserstein) distance between two
  Gaussians (Dowson & Landau 1982; used on Inception features as the FID by
  Heusel et al. 2017, eq. 6).
- :func:`mode_coverage`: modes covered and high-quality fraction on a mixture
  with known centres (Srivastava et al. 2017, *VEEGAN*, Sec. 5.1).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg
from scipy.spatial.distance import cdist


def _as_2d(name: str, a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    elif a.ndim > 2:
        a = a.reshape(len(a), -1)
    if a.ndim != 2 or len(a) < 2:
        raise ValueError(f"{name} must hold at least 2 samples of shape (N, d); "
                         f"got shape {np.shape(a)}")
    return a


def median_bandwidth(x, y) -> float:
    r"""Median heuristic: the median pairwise distance in the pooled sample.

    Args:
        x: shape ``(m, d)``; y: shape ``(n, d)``. At most 1,000 rows of each are used.

    Returns:
        sigma > 0 in data units.
    """
    x, y = _as_2d("x", x), _as_2d("y", y)
    z = np.concatenate([x[:1000], y[:1000]])
    d = cdist(z, z, "euclidean")
    med = float(np.median(d[np.triu_indices_from(d, k=1)]))
    return med if med > 0 else 1.0


def mmd2_unbiased(x, y, bandwidth: float | None = None) -> float:
    r"""Unbiased estimate of the squared MMD with a Gaussian kernel.

    .. math::
        \widehat{\MMD}^2_u = \frac{1}{m(m-1)} \sum_{i \ne j} k(x_i, x_j)
        + \frac{1}{n(n-1)} \sum_{i \ne j} k(y_i, y_j)
        - \frac{2}{mn} \sum_{i, j} k(x_i, y_j),
        \qquad k(a, b) = \exp\!\left(-\frac{\lVert a - b \rVert^2}{2\sigma^2}\right)

    The estimate is unbiased, so it can be slightly negative when both samples come
    from the same distribution. Cost: O((m+n)^2 d) time and O((m+n)^2) memory.

    Args:
        x: samples of shape ``(m, d)`` (or ``(m, ...)``, flattened), m >= 2.
        y: samples of shape ``(n, d)``, n >= 2.
        bandwidth: kernel width sigma > 0 in data units; the median heuristic
            (:func:`median_bandwidth`) when ``None``.

    Returns:
        The estimate, a float (dimensionless).

    Raises:
        ValueError: on fewer than 2 samples, mismatched dimensions or sigma <= 0.

    References:
        Gretton et al. (2012), *A kernel two-sample test*, JMLR 13, Lemma 6 (eq. 3);
        the book's eq. ``gans-mmd`` (``book/gans/theory.md``).
    """
    x, y = _as_2d("x", x), _as_2d("y", y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension, got {x.shape[1]} and {y.shape[1]}")
    sigma = median_bandwidth(x, y) if bandwidth is None else float(bandwidth)
    if not sigma > 0:
        raise ValueError(f"bandwidth must be > 0, got {bandwidth}")
    gamma = 1.0 / (2.0 * sigma**2)
    m, n = len(x), len(y)
    k_xx = np.exp(-gamma * cdist(x, x, "sqeuclidean"))
    k_yy = np.exp(-gamma * cdist(y, y, "sqeuclidean"))
    k_xy = np.exp(-gamma * cdist(x, y, "sqeuclidean"))
    term_xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    term_yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(term_xx + term_yy - 2.0 * k_xy.mean())



def mmd2_against_real(generated, real, *, num_samples: int, seed: int = 0) -> dict:
    r"""Squared MMD of generated samples against real ones, beside its real-versus-real floor.

    Draws two disjoint sets A and B of ``num_samples`` real samples, fixes one
    Gaussian-kernel width by the median heuristic on A and B, and returns
    :func:`mmd2_unbiased` of the first ``num_samples`` generated samples against A,
    and of B against A with the same kernel. Two numbers computed with two kernels
    are not comparable; these are, and so are the values of several models scored
    against the same ``real`` with the same ``seed``.

    Args:
        generated: generated samples, shape ``(N, d)`` or ``(N, ...)`` (flattened),
            ``N >= num_samples``, in the same units as ``real`` (e.g. pixels in [0, 1]).
        real: real samples, shape ``(M, d)`` or ``(M, ...)``, ``M >= 2 * num_samples``.
        num_samples: samples per set, >= 2.
        seed: seed of the random choice of A and B.

    Returns:
        A dict with ``mmd2_generated_vs_real`` and ``mmd2_real_vs_real`` (floats,
        dimensionless), ``mmd_bandwidth`` (sigma, data units) and ``mmd_num_samples``.

    Raises:
        ValueError: if there are too few generated or real samples, or their
            dimensions differ.

    References:
        Gretton et al. (2012), *A kernel two-sample test*, JMLR 13, eq. 3; the median
        heuristic is their Sec. 8.
    """
    x, y = _as_2d("generated", generated), _as_2d("real", real)
    if num_samples < 2 or len(x) < num_samples or len(y) < 2 * num_samples:
        raise ValueError(
            "need num_samples >= 2, at least num_samples generated and 2 * num_samples real "
            f"samples; got num_samples={num_samples}, {len(x)} generated, {len(y)} real"
        )
    idx = np.random.default_rng(seed).permutation(len(y))
    real_a, real_b = y[idx[:num_samples]], y[idx[num_samples : 2 * num_samples]]  # disjoint
    sigma = median_bandwidth(real_a, real_b)
    return {
        "mmd2_generated_vs_real": mmd2_unbiased(x[:num_samples], real_a, bandwidth=sigma),
        "mmd2_real_vs_real": mmd2_unbiased(real_b, real_a, bandwidth=sigma),
        "mmd_bandwidth": sigma,
        "mmd_num_samples": int(num_samples),
    }


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    r"""Mean ``(d,)`` and covariance ``(d, d)`` of features of shape ``(N, d)``, N >= 2."""
    f = _as_2d("features", features)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    r"""Fréchet distance between :math:`\N(\mu_1, \Sigma_1)` and :math:`\N(\mu_2, \Sigma_2)`.

    .. math::
        \FD = \lVert \mu_1 - \mu_2 \rVert^2
        + \operatorname{Tr}\!\left(\Sigma_1 + \Sigma_2 - 2 (\Sigma_1 \Sigma_2)^{1/2}\right)

    This is the squared 2-Wasserstein distance between the two Gaussians.

    Args:
        mu1, mu2: means, shape ``(d,)``.
        sigma1, sigma2: covariance matrices, shape ``(d, d)``, symmetric positive
            semi-definite.

    Returns:
        The distance (>= 0, in squared feature units).

    Raises:
        ValueError: on mismatched shapes.

    References:
        Dowson & Landau (1982), J. Multivariate Anal. 12, 450; Heusel et al. (2017),
        *GANs trained by a two time-scale update rule...*, NeurIPS, eq. 6; the book's
        eq. ``gans-frechet`` (``book/gans/theory.md``).
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, float)), np.atleast_1d(np.asarray(mu2, float))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, float)), np.atleast_2d(np.asarray(sigma2, float))
    d = mu1.shape[0]
    if mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(
            f"shapes do not match: mu1 {mu1.shape}, mu2 {mu2.shape}, sigma1 {s1.shape}, "
            f"sigma2 {s2.shape}"
        )
    with warnings.catch_warnings():
        # Rank-deficient covariances (e.g. dead ReLU features) are common; sqrtm still
        # returns a usable root, and a non-finite one is retried with a small ridge.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():
            eps = 1e-6 * np.eye(d)
            covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))


def frechet_distance_features(f1, f2) -> float:
    r"""Fréchet distance between Gaussian fits of two feature sets ``(N1, d)``, ``(N2, d)``."""
    return frechet_distance(*gaussian_stats(f1), *gaussian_stats(f2))


def mode_coverage(samples, centers, *, std: float, num_std: float = 3.0,
                  min_fraction: float = 0.01) -> dict:
    r"""Modes covered and fraction of high-quality samples on a Gaussian mixture.

    A sample is *high quality* if it lies within ``num_std * std`` of its nearest
    centre; a mode is *covered* if at least ``min_fraction`` of all samples are
    high-quality samples assigned to it (VEEGAN, Sec. 5.1, uses 3 standard deviations;
    the book's mode-collapse section of ``book/gans/theory.md``).

    Args:
        samples: shape ``(N, d)``.
        centers: mode centres, shape ``(K, d)``.
        std: standard deviation of each mode (data units), > 0.
        num_std: radius of a mode in standard deviations.
        min_fraction: share of all samples a mode needs to count as covered.

    Returns:
        A dict with ``modes_covered`` (int), ``num_modes`` (K),
        ``high_quality_fraction`` (float in [0, 1]) and ``counts`` (K ints).

    Raises:
        ValueError: on mismatched dimensions or ``std <= 0``.
    """
    x, c = _as_2d("samples", samples), np.asarray(centers, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] != x.shape[1]:
        raise ValueError(f"centers must have shape (K, {x.shape[1]}), got {c.shape}")
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std}")
    dist = cdist(x, c)
    nearest = dist.argmin(axis=1)
    good = dist[np.arange(len(x)), nearest] <= num_std * std
    counts = np.bincount(nearest[good], minlength=len(c))
    return {
        "modes_covered": int((counts >= min_fraction * len(x)).sum()),
        "num_modes": int(len(c)),
        "high_quality_fraction": float(good.mean()),
        "counts": counts.tolist(),
    }
