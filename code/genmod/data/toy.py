r"""Toy distributions known in closed form: the isotropic Gaussian mixture, and a grid of
standard-normal quantiles (the latent points on which a VAE's decoded manifold is drawn).

A :class:`Mixture` has a density, a log-density, a score and a sampler, so a
notebook or a test can compare a model with the exact answer: the 1D GAN's data
(one Gaussian, ``book/gans/gan_1d_torch``), the ring of Gaussians used to show mode
collapse (``book/gans/wgan_modes_torch``), and the quadratures of the GAN chapter's
tests (``tests/gans/test_gan_math.py``).

Arrays of points always have shape ``(n, d)``; for ``d = 1`` a flat array of ``n``
values is also accepted (it cannot mean anything else). Nothing else is reshaped.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp, softmax


class Mixture:
    r"""An isotropic Gaussian mixture in :math:`\R^d`.

    .. math::
        p(\x) = \sum_{j=1}^{M} w_j \, \N(\x; \mu_j, \sigma_j^2 \I),
        \qquad \sum_j w_j = 1.

    Args:
        means: component means :math:`\mu_j`, shape ``(M, d)`` (data units); a
            flat array of ``M`` values means ``d = 1``.
        stds: component standard deviations :math:`\sigma_j > 0`, a scalar (shared)
            or shape ``(M,)`` (data units).
        weights: mixture weights :math:`w_j`, shape ``(M,)``, non-negative and
            summing to 1 (within 1e-8); equal weights when ``None``.

    Raises:
        ValueError: on shapes that do not agree, a non-positive standard
            deviation, or weights that are negative or do not sum to 1.

    Example:
        ``Mixture([[2.0]], 0.5)`` is :math:`\N(2, 0.5^2)` in one dimension;
        ``Mixture.ring(8, radius=2.0, std=0.02)`` the ring of eight Gaussians.
    """

    def __init__(self, means, stds, weights=None):
        means = np.asarray(means, dtype=np.float64)
        if means.ndim == 1:
            means = means[:, None]
        if means.ndim != 2 or len(means) == 0:
            raise ValueError(f"means must have shape (M, d) with M >= 1, got {np.shape(means)}")
        num, _ = means.shape
        stds = np.asarray(stds, dtype=np.float64)
        if stds.ndim == 0:
            stds = np.broadcast_to(stds, (num,))
        if stds.shape != (num,):
            raise ValueError(f"stds must be a scalar or have shape ({num},), got {stds.shape}")
        if not (stds > 0).all():
            raise ValueError(f"stds must be > 0, got {stds}")
        if weights is None:
            weights = np.full(num, 1.0 / num)
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (num,):
            raise ValueError(f"weights must have shape ({num},), got {weights.shape}")
        if (weights < 0).any() or abs(weights.sum() - 1.0) > 1e-8:
            raise ValueError(f"weights must be non-negative and sum to 1, got {weights} "
                             f"(sum {weights.sum()})")
        self.means, self.stds, self.weights = means, np.array(stds), weights

    @classmethod
    def ring(cls, num_modes: int = 8, *, radius: float = 2.0, std: float = 0.02) -> "Mixture":
        r"""The ring of Gaussians: ``num_modes`` equal-weight components on a circle in
        :math:`\R^2`.

        :math:`\mu_j = r(\cos 2\pi j/M, \sin 2\pi j/M)` for :math:`j = 0, \dots, M - 1`,
        :math:`\sigma_j = \sigma`: the target used to show mode collapse (Metz et al. 2017,
        *Unrolled GANs*, Sec. 3.1).

        Args:
            num_modes: M >= 1.
            radius: r > 0, radius of the circle (data units).
            std: sigma > 0 of every component (data units).
        """
        if num_modes < 1 or not radius > 0:
            raise ValueError(f"need num_modes >= 1 and radius > 0, got {num_modes} and {radius}")
        angles = 2 * np.pi * np.arange(num_modes) / num_modes
        return cls(radius * np.stack([np.cos(angles), np.sin(angles)], axis=1), std)

    @property
    def dim(self) -> int:
        """d, the dimension of the data space."""
        return self.means.shape[1]

    @property
    def num_components(self) -> int:
        """M, the number of components."""
        return self.means.shape[0]

    def mean(self) -> np.ndarray:
        r"""The mixture's mean :math:`\sum_j w_j \mu_j`, shape ``(d,)``."""
        return self.weights @ self.means

    def _points(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1 and self.dim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(
                f"points must have shape (n, {self.dim})"
                + (" or (n,)" if self.dim == 1 else "")
                + f", got {np.shape(x)}"
            )
        return x

    def _component_log_densities(self, x: np.ndarray) -> np.ndarray:
        # log w_j + log N(x; mu_j, sigma_j^2 I), shape (n, M)
        sq = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)
        var = self.stds**2
        return np.log(self.weights) - 0.5 * sq / var - 0.5 * self.dim * np.log(2 * np.pi * var)

    def logpdf(self, x) -> np.ndarray:
        r""":math:`\log p(\x)` in nats, shape ``(n,)``, for points ``x`` of shape ``(n, d)``."""
        return logsumexp(self._component_log_densities(self._points(x)), axis=1)

    def pdf(self, x) -> np.ndarray:
        r""":math:`p(\x)`, shape ``(n,)`` (per unit volume of data space)."""
        return np.exp(self.logpdf(x))

    def responsibilities(self, x) -> np.ndarray:
        r"""Posterior component probabilities :math:`p(j \mid \x)`, shape ``(n, M)``, rows
        summing to 1."""
        return softmax(self._component_log_densities(self._points(x)), axis=1)

    def score(self, x) -> np.ndarray:
        r"""The score :math:`\nabla_\x \log p(\x) = \sum_j p(j \mid \x)\, (\mu_j - \x)/\sigma_j^2`,
        shape ``(n, d)``."""
        x = self._points(x)
        r = self.responsibilities(x)
        # (n, M, d): p(j | x) (mu_j - x) / sigma_j^2, summed over the components j
        pulls = (self.means[None] - x[:, None, :]) / self.stds[None, :, None] ** 2
        return (r[:, :, None] * pulls).sum(1)

    def sample(self, n: int, rng=None, *, return_components: bool = False):
        r"""Draw ``n`` points: a component :math:`j \sim w`, then
        :math:`\x \sim \N(\mu_j, \sigma_j^2 \I)`.

        Args:
            n: number of points, >= 0.
            rng: ``numpy.random.Generator`` or seed (``None``: fresh entropy).
            return_components: also return the component of each point.

        Returns:
            float64 array of shape ``(n, d)``; with ``return_components``, also an
            int array of shape ``(n,)`` with values in ``0..M-1``.
        """
        rng = np.random.default_rng(rng)
        comp = rng.choice(self.num_components, size=n, p=self.weights)
        x = self.means[comp] + self.stds[comp, None] * rng.standard_normal((n, self.dim))
        return (x, comp) if return_components else x

    def __repr__(self) -> str:
        stds = np.unique(self.stds).tolist()
        return f"Mixture(M={self.num_components}, d={self.dim}, stds={stds})"


def standard_normal_grid(n: int):
    r"""A square grid of 2D latent points with equal prior mass per cell, for a decoded manifold.

    The coordinates are the quantiles :math:`\Phi^{-1}(u_j)`, :math:`u_j = (j + \tfrac12)/n`,
    of the standard normal prior; row-major, :math:`h_2` falling from the top row to
    the bottom and :math:`h_1` growing to the right, so that decoding the points and
    passing them to :func:`genmod.plotting.generic.image_grid` with ``nrow=n`` draws the manifold
    the right way up (``book/vae/vae_mnist_torch``).

    Args:
        n: points per axis, >= 1.

    Returns:
        ``(points, quantiles)``: float32 arrays of shapes ``(n * n, 2)`` and ``(n,)``.

    Raises:
        ValueError: if ``n < 1``.
    """
    from scipy.stats import norm  # noqa: PLC0415  (scipy.stats is slow to import)

    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    quantiles = norm.ppf((np.arange(n) + 0.5) / n).astype(np.float32)
    h1, h2 = np.meshgrid(quantiles, quantiles[::-1])
    return np.stack([h1.ravel(), h2.ravel()], axis=1), quantiles
