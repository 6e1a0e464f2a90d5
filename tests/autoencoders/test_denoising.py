r"""The denoising autoencoder's optimum (book/autoencoders/theory.md, "Undercomplete and
overcomplete codes").

The chapter states that with Gaussian noise of variance sigma^2 and an unlimited network the
optimal reconstruction is E[x | x_hat] = x_hat + sigma^2 grad log p_sigma(x_hat) (Tweedie's
formula), with p_sigma the density of the noisy data, so that a denoising autoencoder learns
the score. On a Gaussian mixture everything is known in closed form, through genmod.data.Mixture:

- the noisy data x_hat = x + sigma eps of a mixture are again a mixture, with the same means and
  weights and standard deviations sqrt(sigma_c^2 + sigma^2) (checked against quadrature of the
  convolution);
- Tweedie's formula with that mixture's score equals the posterior mean computed component by
  component, sum_c p(c | x_hat) (sigma^2 mu_c + sigma_c^2 x_hat) / (sigma_c^2 + sigma^2), and
  a self-normalised importance-sampling estimate of E[x | x_hat] that uses only samples of the
  clean data and the Gaussian noise density;
- it is the optimal reconstruction: its error is orthogonal to every function of x_hat, so any
  other denoiser has a larger mean squared error, by exactly the mean squared difference.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from genmod.data import Mixture

# Monte Carlo tolerance, in standard errors computed from the samples: a correct estimate misses
# by more with probability 2 (1 - Phi(5)) = 5.7e-7 per comparison (normal approximation).
NUM_SE = 5.0


def noised(mixture: Mixture, sigma: float) -> Mixture:
    """The distribution of x + sigma eps, eps ~ N(0, I), x from an isotropic Gaussian mixture."""
    return Mixture(mixture.means, np.sqrt(mixture.stds**2 + sigma**2), mixture.weights)


def tweedie(mixture: Mixture, sigma: float, x_hat) -> np.ndarray:
    r"""E[x | x_hat] = x_hat + sigma^2 grad log p_sigma(x_hat), shape (n, d)."""
    x_hat = np.asarray(x_hat, dtype=float).reshape(-1, mixture.dim)
    return x_hat + sigma**2 * noised(mixture, sigma).score(x_hat)


def posterior_mean_by_components(mixture: Mixture, sigma: float, x_hat) -> np.ndarray:
    r"""E[x | x_hat] = sum_c p(c | x_hat) E[x | x_hat, c].

    Each E[x | x_hat, c] is a Gaussian-Gaussian posterior mean."""
    x_hat = np.asarray(x_hat, dtype=float).reshape(-1, mixture.dim)
    var_c = mixture.stds**2
    resp = noised(mixture, sigma).responsibilities(x_hat)  # p(c | x_hat), (n, M)
    per_c = ((sigma**2 * mixture.means[None] + var_c[None, :, None] * x_hat[:, None, :])
             / (var_c + sigma**2)[None, :, None])
    return (resp[:, :, None] * per_c).sum(1)


MIXTURES = {
    "1D, three components": Mixture([-2.0, 0.5, 3.0], [0.3, 1.0, 0.6], weights=[0.2, 0.5, 0.3]),
    "2D ring of 8, std 0.2": Mixture.ring(8, radius=2.0, std=0.2),
    "2D, unequal": Mixture([[-1.0, 0.5], [1.5, -0.5], [0.0, 2.0]], [0.4, 0.7, 1.1],
                           weights=[0.5, 0.2, 0.3]),
}


def test_noisy_mixture_is_a_mixture_with_wider_components():
    r"""p_sigma(x_hat) = \int p(x) N(x_hat; x, sigma^2) dx.

    By adaptive quadrature in 1D and a product rule in 2D."""
    sigma = 0.7
    m1 = MIXTURES["1D, three components"]
    for x_hat in (-3.0, -0.4, 0.5, 2.2, 5.0):
        def integrand(x):
            return m1.pdf(np.array([x]))[0] * stats.norm.pdf(x_hat, x, sigma)

        conv = sum(integrate.quad(integrand, a, b, epsabs=1e-13, limit=200)[0]
                   for a, b in [(-np.inf, -2.0), (-2.0, 0.5), (0.5, 3.0), (3.0, np.inf)])
        assert conv == pytest.approx(noised(m1, sigma).pdf(np.array([x_hat]))[0], rel=1e-9)
    # 2D: E_eps[p(x_hat - sigma eps)] by tensor-product Gauss-Hermite quadrature (exact for
    # polynomials of degree < 2 * 80 in each coordinate; the integrand is a smooth Gaussian of
    # width >= sigma_c / sigma)
    m2 = MIXTURES["2D, unequal"]
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    weights = weights / weights.sum()
    e1, e2 = np.meshgrid(nodes, nodes, indexing="ij")
    eps, w = np.stack([e1.ravel(), e2.ravel()], axis=1), np.outer(weights, weights).ravel()
    for x_hat in np.array([[0.0, 0.0], [1.5, -0.5], [-2.0, 3.0]]):
        conv = w @ m2.pdf(x_hat - sigma * eps)
        assert conv == pytest.approx(noised(m2, sigma).pdf(x_hat[None])[0], rel=1e-8)


@pytest.mark.parametrize("name", list(MIXTURES))
@pytest.mark.parametrize("sigma", [0.1, 0.5, 2.0])
def test_tweedie_formula_is_the_posterior_mean(name, sigma):
    mixture = MIXTURES[name]
    rng = np.random.default_rng(0)
    x_hat = mixture.sample(50, rng) + sigma * rng.standard_normal((50, mixture.dim))
    np.testing.assert_allclose(tweedie(mixture, sigma, x_hat),
                               posterior_mean_by_components(mixture, sigma, x_hat),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", list(MIXTURES))
def test_tweedie_formula_matches_a_monte_carlo_posterior_mean(name):
    r"""E[x | x_hat] = E_p[x N(x_hat; x, sigma^2 I)] / E_p[N(x_hat; x, sigma^2 I)].

    Estimated from clean samples: the ratio estimator R = sum w_i x_i / sum w_i,
    w_i = N(x_hat; x_i, sigma^2 I), has the delta-method standard error
    sqrt(sum w_i^2 (x_i - R)^2) / sum w_i per coordinate.
    """
    mixture, sigma, n = MIXTURES[name], 0.5, 200_000
    rng = np.random.default_rng(1)
    x = mixture.sample(n, rng)
    probes = mixture.sample(4, rng) + sigma * rng.standard_normal((4, mixture.dim))
    exact = tweedie(mixture, sigma, probes)
    for x_hat, target in zip(probes, exact):
        log_w = -0.5 * ((x - x_hat) ** 2).sum(1) / sigma**2
        w = np.exp(log_w - log_w.max())  # the constant factor cancels in the ratio
        estimate = w @ x / w.sum()
        se = np.sqrt((w[:, None] ** 2 * (x - estimate) ** 2).sum(0)) / w.sum()
        z = np.abs(estimate - target) / se
        assert (z < NUM_SE).all(), f"{z} standard errors"
        assert (se < 0.05).all(), "enough effective samples for the comparison to mean something"


def test_tweedie_denoiser_has_the_least_squared_error():
    r"""The optimal reconstruction: E[(x - g*(x_hat)) . h(x_hat)] = 0 for every h.

    So MSE(g* + h) = MSE(g*) + E|h|^2.

    On common samples, the orthogonality products have mean zero within NUM_SE standard errors, and
    denoisers that differ from g* (the identity, a shrinkage, g* plus a bump) all do worse.
    """
    mixture, sigma, n = MIXTURES["2D ring of 8, std 0.2"], 0.5, 200_000
    rng = np.random.default_rng(2)
    x = mixture.sample(n, rng)
    x_hat = x + sigma * rng.standard_normal(x.shape)
    g_star = tweedie(mixture, sigma, x_hat)
    resid = x - g_star
    mse_star = (resid**2).sum(1).mean()
    bump = np.exp(-((x_hat - [1.0, 1.0]) ** 2).sum(1, keepdims=True)) * np.array([0.3, -0.2])
    for h in (x_hat - g_star, 0.8 * x_hat - g_star, bump, np.sin(x_hat), x_hat**2):
        products = (resid * h).sum(1)
        assert abs(products.mean()) < NUM_SE * products.std() / np.sqrt(n)
    for other in (x_hat, 0.8 * x_hat, g_star + bump):
        assert ((x - other) ** 2).sum(1).mean() > mse_star
    # the residual learned by the denoiser is the score:
    # (g*(x_hat) - x_hat) / sigma^2 = grad log p_sigma
    np.testing.assert_allclose((g_star - x_hat) / sigma**2, noised(mixture, sigma).score(x_hat),
                               rtol=1e-9, atol=1e-9)
