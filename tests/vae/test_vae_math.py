"""The mathematics of the VAE chapter (book/vae/theory.md), checked numerically.

- the closed-form Gaussian KL {vae-gaussian-kl, vae-gaussian-kl-standard} against
  Monte Carlo and against torch.distributions;
- the ELBO {vae-elbo} and its decomposition {vae-elbo-decomposition} on probabilistic
  PCA, where log p(x) and the exact posterior are known in closed form;
- the importance-weighted bound {vae-iwae}: L_1 = ELBO <= L_k <= L_{k+1} -> log p(x);
- the variances of the reparameterization and score-function gradient estimators;
- the ELBO as reconstruction minus prior matching {vae-elbo-terms};
- the beta-VAE objective E_q[log p(x|h)] - beta KL(q || p(h)) (section "The beta-VAE"): for
  beta >= 1 a looser lower bound than the ELBO, its optimum over Gaussian encoders a tempered
  posterior in closed form, and for beta < 1 no bound (it exceeds log p(x));
- posterior collapse: a decoder that ignores h has the prior as posterior (exercise
  vae-ex-collapse), and maximum likelihood switches off the PPCA directions whose variance is
  below the noise level (Lucas et al. 2019, as the chapter states it);
- the numbers printed in the chapter (two KL divergences, two estimator variances).

Everything runs on the CPU in float64 and takes a few seconds.
"""

import math

import numpy as np
import pytest
import scipy.special
import torch
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from genmod.stats import Estimate
from genmod.vae import (
    IWAEEstimate,
    bernoulli_log_likelihood,
    gaussian_kl,
    gaussian_kl_standard_normal,
    iwae_bound,
    iwae_log_weights,
    log_likelihood_iwae,
)

DTYPE = torch.float64
# Monte Carlo tolerance, in standard errors computed from the samples: a correct estimate misses
# by more with probability 2 (1 - Phi(5)) = 5.7e-7 per comparison (normal approximation).
NUM_SE = 5.0


def _random_diagonal_gaussians(gen, batch=16, d=4):
    mu_q = torch.randn(batch, d, generator=gen, dtype=DTYPE)
    mu_p = torch.randn(batch, d, generator=gen, dtype=DTYPE)
    logvar_q = 1.5 * torch.randn(batch, d, generator=gen, dtype=DTYPE)
    logvar_p = 1.5 * torch.randn(batch, d, generator=gen, dtype=DTYPE)
    return mu_q, logvar_q, mu_p, logvar_p


def _mc_kl(q: Normal, p: Normal, num_samples: int, gen):
    """E_q[log q - log p] by sampling, per batch element: (mean, standard error)."""
    eps = torch.randn((num_samples, *q.loc.shape), generator=gen, dtype=DTYPE)
    h = q.loc + q.scale * eps
    log_ratio = (q.log_prob(h) - p.log_prob(h)).sum(-1)  # (S, B)
    return log_ratio.mean(0), log_ratio.std(0) / math.sqrt(num_samples)


# ---------------------------------------------------------------------------
# Closed-form KL between Gaussians
# ---------------------------------------------------------------------------


def test_gaussian_kl_matches_torch_distributions():
    gen = torch.Generator().manual_seed(0)
    mu_q, logvar_q, mu_p, logvar_p = _random_diagonal_gaussians(gen)
    ours = gaussian_kl(mu_q, logvar_q, mu_p, logvar_p)
    q = Normal(mu_q, torch.exp(0.5 * logvar_q))
    p = Normal(mu_p, torch.exp(0.5 * logvar_p))
    # elementwise, nothing summed: one KL per component, like torch.distributions
    assert ours.shape == (16, 4) and ours.dtype == DTYPE
    torch.testing.assert_close(ours, kl_divergence(q, p), rtol=1e-10, atol=1e-10)
    assert (ours > 0).all()


def test_gaussian_kl_standard_normal_matches_general_formula_and_torch():
    gen = torch.Generator().manual_seed(1)
    mu = 2.0 * torch.randn(32, 5, generator=gen, dtype=DTYPE)
    logvar = torch.randn(32, 5, generator=gen, dtype=DTYPE)
    ours = gaussian_kl_standard_normal(mu, logvar)
    zeros = torch.zeros_like(mu)
    general = gaussian_kl(mu, logvar, zeros, zeros).sum(-1)
    torch.testing.assert_close(ours, general, rtol=1e-12, atol=1e-12)
    # the defaults mean_p = 0, logvar_p = 0 are the standard normal
    torch.testing.assert_close(ours, gaussian_kl(mu, logvar).sum(-1), rtol=1e-12, atol=1e-12)
    q, prior = Normal(mu, torch.exp(0.5 * logvar)), Normal(zeros, torch.ones_like(mu))
    reference = kl_divergence(q, prior).sum(-1)
    torch.testing.assert_close(ours, reference, rtol=1e-10, atol=1e-10)


def test_gaussian_kl_is_zero_only_for_equal_distributions_and_asymmetric():
    gen = torch.Generator().manual_seed(2)
    mu_q, logvar_q, mu_p, logvar_p = _random_diagonal_gaussians(gen)
    same = gaussian_kl(mu_q, logvar_q, mu_q, logvar_q)
    torch.testing.assert_close(same, torch.zeros_like(same), rtol=0, atol=1e-12)
    forward = gaussian_kl(mu_q, logvar_q, mu_p, logvar_p)
    reverse = gaussian_kl(mu_p, logvar_p, mu_q, logvar_q)
    assert (forward > 1e-6).all() and (reverse > 1e-6).all()
    assert ((forward - reverse).abs() > 1e-3).any(), "KL should not be symmetric"


@pytest.mark.parametrize("standard_prior", [False, True],
                         ids=["two-gaussians", "standard-normal-prior"])
def test_gaussian_kl_matches_monte_carlo(standard_prior):
    gen = torch.Generator().manual_seed(3)
    mu_q, logvar_q, mu_p, logvar_p = _random_diagonal_gaussians(gen, batch=8, d=3)
    if standard_prior:
        mu_p, logvar_p = torch.zeros_like(mu_p), torch.zeros_like(logvar_p)
        closed = gaussian_kl_standard_normal(mu_q, logvar_q)
    else:
        closed = gaussian_kl(mu_q, logvar_q, mu_p, logvar_p).sum(-1)
    q = Normal(mu_q, torch.exp(0.5 * logvar_q))
    p = Normal(mu_p, torch.exp(0.5 * logvar_p))
    mc, se = _mc_kl(q, p, 100_000, gen)
    assert (se > 0).all()
    z = (closed - mc).abs() / se
    assert (z < NUM_SE).all(), (
        f"closed form and Monte Carlo differ by {z.max():.1f} standard errors")


def test_gaussian_kl_general_form_elementwise_matches_monte_carlo():
    """The general form KL(N(m_q, e^lv_q) || N(m_p, e^lv_p)), one component at a time.

    Each of the 8 x 3 entries is checked against its own Monte Carlo estimate
    E_q[log q(h) - log p(h)] (nothing summed), with means and log-variances that
    broadcast (a scalar prior mean, a per-component prior log-variance).
    """
    gen = torch.Generator().manual_seed(5)
    mean_q = torch.randn(8, 3, generator=gen, dtype=DTYPE)
    logvar_q = 1.5 * torch.randn(8, 3, generator=gen, dtype=DTYPE)
    mean_p = torch.tensor(0.7, dtype=DTYPE)
    logvar_p = torch.tensor([-1.0, 0.0, 1.5], dtype=DTYPE)
    closed = gaussian_kl(mean_q, logvar_q, mean_p, logvar_p)
    assert closed.shape == (8, 3)
    num_samples = 100_000
    q = Normal(mean_q, torch.exp(0.5 * logvar_q))
    p = Normal(mean_p.expand(3), torch.exp(0.5 * logvar_p))
    h = q.loc + q.scale * torch.randn((num_samples, 8, 3), generator=gen, dtype=DTYPE)
    log_ratio = q.log_prob(h) - p.log_prob(h)  # (S, 8, 3), per component
    mc, se = log_ratio.mean(0), log_ratio.std(0) / math.sqrt(num_samples)
    z = (closed - mc).abs() / se
    assert (z < NUM_SE).all(), (
        f"closed form and Monte Carlo differ by {z.max():.1f} standard errors")


def test_gaussian_kl_standard_normal_special_case_elementwise():
    """With the prior N(0, 1) (the defaults) each entry is (mu^2 + s^2 - 1 - log s^2) / 2."""
    gen = torch.Generator().manual_seed(6)
    mu = torch.randn(10, 4, generator=gen, dtype=DTYPE)
    logvar = torch.randn(10, 4, generator=gen, dtype=DTYPE)
    expected = 0.5 * (mu**2 + logvar.exp() - 1 - logvar)
    torch.testing.assert_close(gaussian_kl(mu, logvar), expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gaussian_kl(mu, logvar, 0.0, 0.0), expected, rtol=1e-12, atol=1e-12)
    # zero exactly at the prior; python floats work and give a 0-d tensor
    assert float(gaussian_kl(0.0, 0.0)) == 0.0
    assert float(gaussian_kl(1.0, 0.0)) == pytest.approx(0.5)


def test_gaussian_kl_rejects_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match="broadcast"):
        gaussian_kl(torch.zeros(3), torch.zeros(4))


def _gaussian_kl_full(mu0, cov0, mu1, cov1):
    """Equation vae-gaussian-kl of the text, written out for full covariances."""
    k = mu0.shape[-1]
    cov1_inv = torch.linalg.inv(cov1)
    diff = mu1 - mu0
    return 0.5 * (
        torch.trace(cov1_inv @ cov0)
        + diff @ cov1_inv @ diff
        - k
        + torch.logdet(cov1)
        - torch.logdet(cov0)
    )


def test_multivariate_gaussian_kl_formula_matches_monte_carlo():
    gen = torch.Generator().manual_seed(4)
    k = 3
    a0 = torch.randn(k, k, generator=gen, dtype=DTYPE)
    a1 = torch.randn(k, k, generator=gen, dtype=DTYPE)
    cov0 = a0 @ a0.T + 0.5 * torch.eye(k, dtype=DTYPE)
    cov1 = a1 @ a1.T + 0.5 * torch.eye(k, dtype=DTYPE)
    mu0 = torch.randn(k, generator=gen, dtype=DTYPE)
    mu1 = torch.randn(k, generator=gen, dtype=DTYPE)
    closed = _gaussian_kl_full(mu0, cov0, mu1, cov1)
    q, p = MultivariateNormal(mu0, cov0), MultivariateNormal(mu1, cov1)
    torch.testing.assert_close(closed, kl_divergence(q, p), rtol=1e-10, atol=1e-10)
    n = 200_000
    h = mu0 + torch.randn(n, k, generator=gen, dtype=DTYPE) @ torch.linalg.cholesky(cov0).T
    log_ratio = q.log_prob(h) - p.log_prob(h)
    se = log_ratio.std() / math.sqrt(n)
    assert abs(closed - log_ratio.mean()) < NUM_SE * se


# ---------------------------------------------------------------------------
# The ELBO on probabilistic PCA (Tipping & Bishop 1999)
#   p(h) = N(0, I_k), p(x|h) = N(W h + mu, s2 I)  =>  p(x) = N(mu, W W^T + s2 I),
#   p(h|x) = N(M^{-1} W^T (x - mu), s2 M^{-1}),  M = W^T W + s2 I.
# ---------------------------------------------------------------------------


class PPCA:
    def __init__(self, w, mu, s2):
        self.w, self.mu, self.s2 = w, mu, s2
        self.dim_x, self.dim_h = w.shape

    def log_marginal(self, x):
        cov = self.w @ self.w.T + self.s2 * torch.eye(self.dim_x, dtype=DTYPE)
        return MultivariateNormal(self.mu, cov).log_prob(x)

    def posterior(self, x):
        m = self.w.T @ self.w + self.s2 * torch.eye(self.dim_h, dtype=DTYPE)
        m_inv = torch.linalg.inv(m)
        mean = (x - self.mu) @ self.w @ m_inv  # (B, k): rows are M^{-1} W^T (x - mu)
        return mean, self.s2 * m_inv

    def elbo(self, x, mean, cov):
        """Analytic E_q[log p(x|h) + log p(h) - log q(h)] for q = N(mean, cov), one x."""
        d, k = self.dim_x, self.dim_h
        resid = x - self.mu - self.w @ mean
        rec = (-0.5 * d * math.log(2 * math.pi * self.s2)
               - 0.5 * (resid @ resid + torch.trace(self.w @ cov @ self.w.T)) / self.s2)
        prior = -0.5 * k * math.log(2 * math.pi) - 0.5 * (mean @ mean + torch.trace(cov))
        entropy = 0.5 * torch.logdet(2 * math.pi * math.e * cov)
        return rec + prior + entropy

    def gaussian_log_likelihood(self, x, h):
        """log p(x|h) for x (B, D) and h (K, B, k): shape (K, B)."""
        mean = h @ self.w.T + self.mu
        return Normal(mean, math.sqrt(self.s2)).log_prob(x).sum(-1)

    def sample(self, n, gen):
        h = torch.randn(n, self.dim_h, generator=gen, dtype=DTYPE)
        noise = torch.randn(n, self.dim_x, generator=gen, dtype=DTYPE)
        return h @ self.w.T + self.mu + math.sqrt(self.s2) * noise


def _ppca(gen, orthogonal=False, dim_x=6, dim_h=2, s2=0.3):
    w = torch.randn(dim_x, dim_h, generator=gen, dtype=DTYPE)
    if orthogonal:  # orthogonal columns: W^T W diagonal, so the exact posterior is diagonal
        qmat, _ = torch.linalg.qr(w)
        w = qmat * torch.tensor([2.0, 0.7], dtype=DTYPE)[:dim_h]
    mu = torch.randn(dim_x, generator=gen, dtype=DTYPE)
    return PPCA(w, mu, s2)


def _ppca_case(seed, n=4):
    """A probabilistic-PCA model, n data points from it, their exact log p(x) and exact
    posterior (mean, cov)."""
    gen = torch.Generator().manual_seed(seed)
    model = _ppca(gen)
    x = model.sample(n, gen)
    return gen, model, x, model.log_marginal(x), model.posterior(x)


def test_ppca_elbo_decomposition_and_exact_posterior():
    gen, model, x, log_px, (post_mean, post_cov) = _ppca_case(5)
    for i in range(len(x)):
        exact = model.elbo(x[i], post_mean[i], post_cov)
        torch.testing.assert_close(exact, log_px[i], rtol=0, atol=1e-10)
        # a poor encoder: shifted mean, inflated diagonal covariance
        poor_mean = post_mean[i] + torch.tensor([0.8, -0.5], dtype=DTYPE)
        poor_cov = torch.diag(torch.diagonal(post_cov) * 3.0)
        poor = model.elbo(x[i], poor_mean, poor_cov)
        gap = kl_divergence(MultivariateNormal(poor_mean, poor_cov),
                            MultivariateNormal(post_mean[i], post_cov))
        assert poor < log_px[i] - 0.1, "the ELBO of a poor encoder must lie strictly below log p(x)"
        # vae-elbo-decomposition: log p(x) = ELBO + KL(q || p(h|x))
        torch.testing.assert_close(poor + gap, log_px[i], rtol=0, atol=1e-10)


def test_ppca_monte_carlo_elbo_and_exact_posterior_weights():
    gen = torch.Generator().manual_seed(6)
    model = _ppca(gen, orthogonal=True)
    x = model.sample(5, gen)
    log_px = model.log_marginal(x)
    post_mean, post_cov = model.posterior(x)
    post_var = torch.diagonal(post_cov)
    assert torch.allclose(post_cov, torch.diag(post_var), atol=1e-12)

    def exact_encoder(xb):
        mean, _ = model.posterior(xb)
        return Normal(mean, post_var.sqrt().expand_as(mean))

    # at the exact posterior every importance weight equals p(x): zero variance
    log_w = iwae_log_weights(x, exact_encoder, model.gaussian_log_likelihood, 50, generator=gen)
    assert log_w.shape == (50, 5)
    torch.testing.assert_close(log_w, log_px.expand_as(log_w), rtol=0, atol=1e-9)

    def poor_encoder(xb):
        mean, _ = model.posterior(xb)
        return Normal(mean + 0.6, (2.0 * post_var).sqrt().expand_as(mean))

    # the Monte Carlo ELBO (k = 1 weights) agrees with the analytic ELBO and lies below log p(x)
    log_w = iwae_log_weights(x, poor_encoder, model.gaussian_log_likelihood, 40_000, generator=gen)
    mc, se = log_w.mean(0), log_w.std(0) / math.sqrt(len(log_w))
    for i in range(len(x)):
        analytic = model.elbo(x[i], post_mean[i] + 0.6, torch.diag(2.0 * post_var))
        assert abs(mc[i] - analytic) < NUM_SE * se[i]
        assert mc[i] + NUM_SE * se[i] < log_px[i]


def test_iwae_bound_increases_with_k_towards_log_px():
    gen = torch.Generator().manual_seed(7)
    model = _ppca(gen, orthogonal=True)
    x = model.sample(1, gen)
    log_px = model.log_marginal(x)[0]
    post_mean, post_cov = model.posterior(x)
    post_var = torch.diagonal(post_cov)
    shift = torch.tensor([2.5, -2.5], dtype=DTYPE) * post_var.sqrt()
    repeats = 500  # independent estimates of each L_k, all for the same x

    def poor_encoder(xb):  # mean 2.5 posterior standard deviations off, variance twice too large
        return Normal((post_mean + shift).expand(len(xb), -1),
                      (2.0 * post_var).sqrt().expand(len(xb), -1))

    elbo = model.elbo(x[0], post_mean[0] + shift, torch.diag(2.0 * post_var))
    means, ses = {}, {}
    xb = x.expand(repeats, -1)
    for k in (1, 10, 100, 1000):
        # (k, repeats)
        log_w = iwae_log_weights(xb, poor_encoder, model.gaussian_log_likelihood, k, generator=gen)
        estimates = iwae_bound(log_w)
        means[k], ses[k] = estimates.mean(), estimates.std() / math.sqrt(repeats)
    gap = log_px - elbo
    assert gap > 3.0, "the test needs a poor encoder"
    assert abs(means[1] - elbo) < NUM_SE * ses[1], "L_1 is the ELBO"
    for k_small, k_large in ((1, 10), (10, 100), (100, 1000)):
        diff = means[k_large] - means[k_small]
        assert diff > 3 * math.sqrt(ses[k_small] ** 2 + ses[k_large] ** 2), (
            f"L_{k_large} should exceed L_{k_small}")
    assert means[1000] < log_px + NUM_SE * ses[1000], "L_k is a lower bound on log p(x)"
    assert log_px - means[1000] < 0.05 * gap, (
        "L_1000 should have closed most of the gap to log p(x)")


def test_log_likelihood_iwae_is_exact_at_the_exact_posterior():
    gen = torch.Generator().manual_seed(8)
    model = _ppca(gen, orthogonal=True)
    x = model.sample(23, gen)
    log_px = model.log_marginal(x)
    _, post_cov = model.posterior(x)
    post_std = torch.diagonal(post_cov).sqrt()

    def exact_encoder(xb):
        mean, _ = model.posterior(xb)
        return Normal(mean, post_std.expand_as(mean))

    # small batches and chunks, k not a multiple of the chunk: exercises the bookkeeping
    est = log_likelihood_iwae(x, exact_encoder, model.gaussian_log_likelihood, 37, batch_size=7,
                              max_rows=50, generator=gen)
    assert isinstance(est, IWAEEstimate) and est.k == 37 and est.num_points == 23
    np.testing.assert_allclose(est.per_point, log_px.numpy(), atol=1e-9)
    assert isinstance(est, Estimate)
    assert est.value == pytest.approx(float(log_px.mean()), abs=1e-9)
    assert est.se == pytest.approx(float(log_px.std() / math.sqrt(23)), rel=1e-9)
    assert est.per_point.shape == (23,)
    assert est.z(float(log_px.mean())) == pytest.approx(0, abs=1e-5)


# ---------------------------------------------------------------------------
# The helpers' arithmetic
# ---------------------------------------------------------------------------


def test_iwae_bound_equals_direct_log_mean_exp():
    rng = np.random.default_rng(9)
    log_w = rng.normal(-3.0, 2.0, size=(50, 7))
    direct = np.log(np.mean(np.exp(log_w), axis=0))
    ours = iwae_bound(torch.from_numpy(log_w)).numpy()
    np.testing.assert_allclose(ours, direct, rtol=1e-12)
    # samples on another axis
    on_axis_1 = iwae_bound(torch.from_numpy(log_w.T), dim=1).numpy()
    np.testing.assert_allclose(on_axis_1, direct, rtol=1e-12)
    # k = 1 is the input itself (the one-sample ELBO)
    one_sample = iwae_bound(torch.from_numpy(log_w[:1])).numpy()
    np.testing.assert_allclose(one_sample, log_w[0], rtol=1e-12)


def test_iwae_bound_is_stable_for_tiny_weights():
    log_w = torch.tensor([[-1000.0], [-1001.0], [-1002.0]], dtype=DTYPE)  # exp() underflows to 0
    expected = scipy.special.logsumexp(log_w.numpy(), axis=0) - math.log(3)
    np.testing.assert_allclose(iwae_bound(log_w).numpy(), expected, rtol=1e-12)
    assert torch.isfinite(iwae_bound(log_w)).all()
    with pytest.raises(ValueError):
        iwae_bound(torch.zeros(0, 3))


def test_bernoulli_log_likelihood_matches_torch():
    gen = torch.Generator().manual_seed(10)
    logits = 3.0 * torch.randn(4, 6, 784, generator=gen, dtype=DTYPE)
    x = torch.bernoulli(torch.rand(6, 784, generator=gen, dtype=DTYPE), generator=gen)
    ours = bernoulli_log_likelihood(logits, x)
    reference = torch.distributions.Bernoulli(logits=logits).log_prob(x.expand_as(logits)).sum(-1)
    assert ours.shape == (4, 6)
    torch.testing.assert_close(ours, reference, rtol=1e-10, atol=1e-8)
    assert (ours <= 0).all()


# ---------------------------------------------------------------------------
# Gradient estimators: reparameterization vs score function (REINFORCE)
# f(h) = h^2, q = N(mu, sigma^2):  d/dmu E_q[f] = 2 mu
#   reparameterization: g = f'(mu + sigma eps) = 2 (mu + sigma eps),  Var = 4 sigma^2
#   score function:     g = f(h) (h - mu) / sigma^2,
#                                            Var = mu^4/sigma^2 + 14 mu^2 + 15 sigma^2
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mu,sigma", [(1.0, 0.5), (2.0, 1.0)])
def test_gradient_estimator_variances(mu, sigma):
    gen = torch.Generator().manual_seed(11)
    n = 1_000_000
    eps = torch.randn(n, generator=gen, dtype=DTYPE)
    mu_t = torch.tensor(mu, dtype=DTYPE, requires_grad=True)
    h = mu_t + sigma * eps  # vae-reparameterization
    (grad_mean,) = torch.autograd.grad((h**2).mean(), mu_t)
    reparam = 2.0 * (mu + sigma * eps)
    score = (mu + sigma * eps) ** 2 * eps / sigma  # f(h) * d/dmu log q(h) = f(h) (h - mu) / sigma^2
    assert float(grad_mean) == pytest.approx(float(reparam.mean()), rel=1e-12)
    var_score = mu**4 / sigma**2 + 14 * mu**2 + 15 * sigma**2
    for g, var_exact in ((reparam, 4 * sigma**2), (score, var_score)):
        assert abs(g.mean() - 2 * mu) < NUM_SE * g.std() / math.sqrt(n), (
            "both estimators are unbiased")
        sq = (g - g.mean()) ** 2
        assert abs(sq.mean() - var_exact) < NUM_SE * sq.std() / math.sqrt(n)
    assert score.var() > 10 * reparam.var()


# ---------------------------------------------------------------------------
# The ELBO's two terms and the beta-VAE objective, on probabilistic PCA
#   L_beta(q) = E_q[log p(x|h)] - beta KL(q || p(h)); beta = 1 is the ELBO.
# ---------------------------------------------------------------------------


def _reconstruction(model, x, mean, cov):
    """Closed-form E_q[log p(x|h)] for q = N(mean, cov) and the PPCA decoder N(W h + mu, s2 I),
    one x."""
    resid = x - model.mu - model.w @ mean
    return (-0.5 * model.dim_x * math.log(2 * math.pi * model.s2)
            - 0.5 * (resid @ resid + torch.trace(model.w @ cov @ model.w.T)) / model.s2)


def _kl_to_prior(mean, cov):
    """KL(N(mean, cov) || N(0, I)), eq. vae-gaussian-kl with mu_1 = 0, Sigma_1 = I (torch's
    implementation)."""
    k = len(mean)
    prior = MultivariateNormal(torch.zeros(k, dtype=DTYPE), torch.eye(k, dtype=DTYPE))
    return kl_divergence(MultivariateNormal(mean, cov), prior)


def _beta_objective(model, x, mean, cov, beta):
    return _reconstruction(model, x, mean, cov) - beta * _kl_to_prior(mean, cov)


def _encoders(model, x, gen):
    """The exact posterior of x and three poorer Gaussian encoders: (mean, cov) pairs."""
    post_mean, post_cov = model.posterior(x[None])
    post_mean = post_mean[0]
    a = torch.randn(2, 2, generator=gen, dtype=DTYPE)
    return [
        (post_mean, post_cov),
        (post_mean + torch.tensor([0.8, -0.5], dtype=DTYPE), post_cov),
        (post_mean, torch.diag(torch.diagonal(post_cov) * 3.0)),
        (torch.randn(2, generator=gen, dtype=DTYPE), a @ a.T + 0.1 * torch.eye(2, dtype=DTYPE)),
    ]


def test_elbo_is_reconstruction_minus_prior_matching():
    r"""Eq. vae-elbo-terms: E_q[log p(x|h)] - KL(q || p(h)) = E_q[log p(x, h) - log q(h)]
    (eq. vae-elbo).

    The left side uses the closed-form reconstruction and torch's Gaussian KL; the right side is
    PPCA.elbo, which splits the same expectation differently (log p(x|h) + log p(h) + entropy).
    The closed-form reconstruction is checked against a Monte Carlo average as well.
    """
    gen = torch.Generator().manual_seed(12)
    model = _ppca(gen)
    x = model.sample(3, gen)
    for i in range(len(x)):
        for mean, cov in _encoders(model, x[i], gen):
            terms = _reconstruction(model, x[i], mean, cov) - _kl_to_prior(mean, cov)
            torch.testing.assert_close(terms, model.elbo(x[i], mean, cov), rtol=0, atol=1e-10)
    mean, cov = _encoders(model, x[0], gen)[3]
    n = 200_000
    # h ~ q, (n, 2)
    h = mean + torch.randn(n, 2, generator=gen, dtype=DTYPE) @ torch.linalg.cholesky(cov).T
    log_lik = model.gaussian_log_likelihood(x[:1], h[:, None, :])[:, 0]  # log p(x|h), (n,)
    se = log_lik.std() / math.sqrt(n)
    assert abs(log_lik.mean() - _reconstruction(model, x[0], mean, cov)) < NUM_SE * se


@pytest.mark.parametrize("beta", [1.0, 1.5, 4.0])
def test_beta_objective_is_a_looser_lower_bound_for_beta_at_least_one(beta):
    r"""Sec. "The beta-VAE": for beta >= 1,
    L_beta = ELBO - (beta - 1) KL(q || p(h)) <= ELBO <= log p(x).

    Equality L_beta = ELBO only at beta = 1 (KL(q || p(h)) > 0 for every encoder here), and
    ELBO = log p(x) only at the exact posterior, where L_beta still falls short by (beta - 1) KL.
    """
    gen = torch.Generator().manual_seed(13)
    model = _ppca(gen)
    x = model.sample(3, gen)
    log_px = model.log_marginal(x)
    for i in range(len(x)):
        for j, (mean, cov) in enumerate(_encoders(model, x[i], gen)):
            elbo = model.elbo(x[i], mean, cov)
            kl = _kl_to_prior(mean, cov)
            l_beta = _beta_objective(model, x[i], mean, cov, beta)
            assert kl > 1e-3
            torch.testing.assert_close(l_beta, elbo - (beta - 1) * kl, rtol=0, atol=1e-10)
            assert elbo <= log_px[i] + 1e-10
            if beta == 1.0:
                torch.testing.assert_close(l_beta, elbo, rtol=0, atol=1e-10)
            else:
                assert l_beta < elbo - 1e-3 * (beta - 1), "a strictly looser bound"
            if j == 0:  # the exact posterior
                torch.testing.assert_close(elbo, log_px[i], rtol=0, atol=1e-10)
            else:
                assert elbo < log_px[i] - 1e-3


def _maximise_beta_objective(model, x, beta):
    """Maximise L_beta over Gaussian q = N(m, L L^T) by L-BFGS (L lower triangular,
    log-diagonal)."""
    params = torch.zeros(5, dtype=DTYPE, requires_grad=True)

    def unpack(p):
        chol = torch.zeros(2, 2, dtype=DTYPE)
        rows, cols = torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1])
        chol = chol.index_put((rows, cols), torch.stack([p[2].exp(), p[3], p[4].exp()]))
        return p[:2], chol @ chol.T

    opt = torch.optim.LBFGS([params], lr=1.0, max_iter=500, tolerance_grad=1e-13,
                            tolerance_change=1e-15, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = -_beta_objective(model, x, *unpack(params), beta)
        loss.backward()
        return loss

    opt.step(closure)
    mean, cov = unpack(params.detach())
    return mean, cov, _beta_objective(model, x, mean, cov, beta)


@pytest.mark.parametrize("beta", [0.25, 0.5, 1.0, 2.0, 4.0])
def test_beta_objective_optimum_is_a_tempered_posterior(beta):
    r"""The best Gaussian encoder for L_beta, found by optimisation, against the closed form.

    L_beta(q) = beta [log Z_beta - KL(q || p_beta(h|x))] with p_beta(h|x) proportional to
    p(x|h)^(1/beta) p(h): for PPCA the posterior of the same model with s2 replaced by beta s2,
    N(M_b^-1 W^T (x - mu), beta s2 M_b^-1), M_b = W^T W + beta s2 I, and
    beta log Z_beta = -(D/2) log(2 pi s2) + (beta D / 2) log(2 pi beta s2)
                      + beta log N(x; mu, W W^T + beta s2 I).
    Its maximum lies below log p(x) for beta > 1 and above it for beta < 1 (the power-mean
    inequality): for beta < 1 the objective is no bound on log p(x).
    """
    gen = torch.Generator().manual_seed(14)
    model = _ppca(gen)
    x = model.sample(1, gen)[0]
    log_px = model.log_marginal(x[None])[0]
    mean, cov, best = _maximise_beta_objective(model, x, beta)
    tempered = PPCA(model.w, model.mu, beta * model.s2)
    t_mean, t_cov = tempered.posterior(x[None])
    d = model.dim_x
    closed = (-0.5 * d * math.log(2 * math.pi * model.s2)
              + 0.5 * beta * d * math.log(2 * math.pi * beta * model.s2)
              + beta * tempered.log_marginal(x[None])[0])
    torch.testing.assert_close(mean, t_mean[0], rtol=0, atol=1e-6)
    torch.testing.assert_close(cov, t_cov, rtol=0, atol=1e-6)
    torch.testing.assert_close(best, closed, rtol=0, atol=1e-9)
    if beta == 1.0:
        torch.testing.assert_close(best, log_px, rtol=0, atol=1e-9)
    elif beta > 1.0:
        assert best < log_px - 1e-2
    else:
        assert best > log_px + 1e-2, (
            "for beta < 1 the objective exceeds log p(x): it is no lower bound")


@pytest.mark.parametrize("beta", [0.1, 0.5, 0.9])
def test_beta_below_one_exceeds_log_px_at_the_exact_posterior(beta):
    r"""The counterexample in closed form: at q = p(h|x),
    L_beta = log p(x) + (1 - beta) KL(p(h|x) || p(h)) > log p(x)."""
    gen, model, x, log_px, (post_mean, post_cov) = _ppca_case(15)
    for i in range(len(x)):
        kl = _kl_to_prior(post_mean[i], post_cov)
        l_beta = _beta_objective(model, x[i], post_mean[i], post_cov, beta)
        torch.testing.assert_close(l_beta, log_px[i] + (1 - beta) * kl, rtol=0, atol=1e-10)
        assert l_beta > log_px[i] + 0.1 * (1 - beta)


# ---------------------------------------------------------------------------
# Posterior collapse (exercise vae-ex-collapse; Lucas et al. 2019 on the linear VAE)
# ---------------------------------------------------------------------------


def test_decoder_that_ignores_h_has_the_prior_as_posterior():
    r"""Exercise vae-ex-collapse with W = 0: p(h|x) = p(h), and the collapsed encoder q = p(h) is
    the ELBO's optimum."""
    gen = torch.Generator().manual_seed(16)
    model = _ppca(gen)
    model = PPCA(torch.zeros_like(model.w), model.mu, model.s2)
    x = model.sample(3, gen)
    post_mean, post_cov = model.posterior(x)
    torch.testing.assert_close(post_mean, torch.zeros_like(post_mean), rtol=0, atol=1e-14)
    torch.testing.assert_close(post_cov, torch.eye(2, dtype=DTYPE), rtol=0, atol=1e-14)
    # log r(x), the decoder on its own
    r_x = Normal(model.mu, math.sqrt(model.s2)).log_prob(x).sum(-1)
    torch.testing.assert_close(model.log_marginal(x), r_x, rtol=0, atol=1e-10)
    zero, eye = torch.zeros(2, dtype=DTYPE), torch.eye(2, dtype=DTYPE)
    for i in range(len(x)):
        torch.testing.assert_close(model.elbo(x[i], zero, eye), r_x[i], rtol=0, atol=1e-10)
        # any encoder that carries information about x
        for mean, cov in _encoders(_ppca(gen), x[i], gen)[1:]:
            gap = r_x[i] - model.elbo(x[i], mean, cov)
            # costs exactly its KL
            torch.testing.assert_close(gap, _kl_to_prior(mean, cov), rtol=0, atol=1e-10)
            assert gap > 0


def test_maximum_likelihood_switches_off_directions_below_the_noise_level():
    r"""Lucas et al. (2019), as the chapter states it: with observation noise s2 above the data
    variance along a principal direction, the maximum-likelihood PPCA weights switch that latent
    direction off.

    The ML solution for fixed s2 (Tipping & Bishop 1999) has W^T W with eigenvalues
    max(lambda_j - s2, 0) for the top-k eigenvalues lambda_j of the sample covariance. W is found
    here by L-BFGS on the exact log-likelihood, -N/2 [log det C + tr(C^-1 S)] + const with
    C = W W^T + s2 I, from a random start.
    """
    gen = torch.Generator().manual_seed(17)
    d, k, n = 5, 2, 4000
    basis, _ = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=DTYPE))
    population = torch.tensor([4.0, 1.0, 0.5, 0.3, 0.2], dtype=DTYPE)
    x = torch.randn(n, d, generator=gen, dtype=DTYPE) * population.sqrt() @ basis.T
    xc = x - x.mean(0)
    s = xc.T @ xc / n
    lam = torch.linalg.eigvalsh(s).flip(0)
    for s2, expected_active in ((0.4, 2), (1.5, 1)):
        # the sample eigenvalues fall on the intended sides
        assert (lam[:k] > s2).sum() == expected_active
        w = (0.1 * torch.randn(d, k, generator=gen, dtype=DTYPE)).requires_grad_()
        opt = torch.optim.LBFGS([w], lr=1.0, max_iter=2000, tolerance_grad=1e-12,
                                tolerance_change=1e-15, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            c = w @ w.T + s2 * torch.eye(d, dtype=DTYPE)
            # -log-likelihood / N
            loss = 0.5 * (torch.logdet(c) + torch.trace(torch.linalg.solve(c, s)))
            loss.backward()
            return loss

        opt.step(closure)
        learned = torch.linalg.eigvalsh(w.detach().T @ w.detach()).flip(0)
        expected = torch.clamp(lam[:k] - s2, min=0.0)
        torch.testing.assert_close(learned, expected, rtol=0, atol=1e-6)
        assert (learned > 1e-3).sum() == expected_active


# ---------------------------------------------------------------------------
# The chapter's numbers
# ---------------------------------------------------------------------------


def test_the_chapters_kl_and_variance_numbers():
    r"""Numbers printed in book/vae/theory.md, recomputed.

    KL(N(0,1) || N(0,4)) = log 2 - 3/8 ~ 0.318 and KL(N(0,4) || N(0,1)) = 3/2 - log 2 ~ 0.807 nats
    (exercise vae-ex-gaussian-kl); for mu = 1, sigma = 0.1 the two gradient estimators have
    variances 0.04 and "about 114", a ratio of "some 3,000" (exercise vae-ex-score-variance).
    """
    zero = torch.tensor(0.0, dtype=DTYPE)
    n01, n04 = Normal(zero, 1.0), Normal(zero, 2.0)
    assert float(kl_divergence(n01, n04)) == pytest.approx(math.log(2) - 3 / 8, rel=1e-12)
    assert float(kl_divergence(n04, n01)) == pytest.approx(1.5 - math.log(2), rel=1e-12)
    assert round(math.log(2) - 3 / 8, 3) == 0.318 and round(1.5 - math.log(2), 3) == 0.807
    mu, sigma = 1.0, 0.1
    var_rep, var_sf = 4 * sigma**2, mu**4 / sigma**2 + 14 * mu**2 + 15 * sigma**2
    assert var_rep == pytest.approx(0.04) and round(var_sf) == 114
    assert 2500 < var_sf / var_rep < 3500  # 2,854
