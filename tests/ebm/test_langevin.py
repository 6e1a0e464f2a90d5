r"""genmod.langevin against closed forms (book/ebm/langevin.md).

On a Gaussian target :math:`\N(\mu, \Sigma)` the unadjusted Langevin chain
{eq}`ebm-ula` is a linear (autoregressive) chain whose stationary law is known
exactly: :math:`\N(\mu, C_\eta)` with :math:`C_\eta = (\Sigma^{-1} -
    \tfrac{\eta}{2}\Sigma^{-2})^{-1}`
({eq}`ebm-ula-gaussian-bias`), which tends to :math:`\Sigma` as :math:`\eta \to 0`.
With the noise :math:`\sqrt{\eta}` instead of :math:`\sqrt{2\eta}` it is
:math:`\N(\mu, \tfrac12 C_\eta)`, whose limit is the normalised :math:`p^2`
({eq}`ebm-sqrt-eta-slip`). MALA has :math:`p` exactly stationary at any step size.
SGLD on Bayesian linear regression is compared with the exact Gaussian posterior.

Tolerances are stated in Monte Carlo standard errors of independent chains
(each chain's last state is one draw), computed from the sample sizes.
"""

import math

import numpy as np
import pytest
import torch

from genmod.langevin import (langevin_chain, langevin_step, mala_chain, score_from_log_prob, sgld,
                             sgld_step_sizes)

MU = torch.tensor([1.0, -2.0], dtype=torch.float64)
SIGMA = torch.tensor([[1.0, 0.6], [0.6, 0.5]], dtype=torch.float64)
PREC = torch.linalg.inv(SIGMA)


def gaussian_score(x):
    return -(x - MU) @ PREC  # grad log N(x; mu, Sigma), PREC symmetric


def gaussian_log_prob(x):
    r = x - MU
    return -0.5 * ((r @ PREC) * r).sum(-1)


def ula_stationary_cov(eta, noise_factor=1.0):
    """Exact stationary covariance of x' = x + eta grad log p + sqrt(2 eta * noise_factor) eps on
    N(mu,
    Sigma).
    """
    return noise_factor * torch.linalg.inv(PREC - 0.5 * eta * PREC @ PREC)


def last_states(num_chains, num_steps, eta, *, seed, noise_scale=None):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(num_chains, 2, generator=gen, dtype=torch.float64)
    x0 = MU + z @ torch.linalg.cholesky(SIGMA).T
    return langevin_chain(x0, gaussian_score, eta, num_steps, generator=gen,
                          noise_scale=noise_scale)[-1]


def assert_gaussian_moments(x, mu, cov, num_se=4.0):
    """Sample mean and covariance of independent rows x against (mu, cov), within num_se
    standard errors."""
    n = len(x)
    mean_se = torch.sqrt(torch.diag(cov) / n)
    assert torch.all((x.mean(0) - mu).abs() < num_se * mean_se), (x.mean(0), mu, mean_se)
    emp = torch.cov(x.T)
    # Var of a sample covariance entry of a Gaussian: (S_ij^2 + S_ii S_jj) / n
    cov_se = torch.sqrt((cov**2 + torch.outer(torch.diag(cov), torch.diag(cov))) / n)
    assert torch.all((emp - cov).abs() < num_se * cov_se), (emp, cov, cov_se)


def test_langevin_step_matches_the_equation():
    x = torch.randn(5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    eta = 0.07
    got = langevin_step(x, gaussian_score, eta, generator=torch.Generator().manual_seed(11))
    eps = torch.randn(5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(11))
    expected = x + eta * (-(x - MU) @ PREC) + math.sqrt(2 * eta) * eps  # eq. ebm-ula, written out
    assert torch.allclose(got, expected, atol=1e-12)


def test_score_from_log_prob_needs_no_normaliser():
    x = torch.randn(7, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    s1 = score_from_log_prob(gaussian_log_prob)(x)
    s2 = score_from_log_prob(lambda y: gaussian_log_prob(y) - 123.4)(x)   # a log Z shifts nothing
    assert torch.allclose(s1, gaussian_score(x), atol=1e-12)
    assert torch.equal(s1, s2)


@pytest.mark.slow
@pytest.mark.parametrize("eta", [0.02, 0.05])
def test_ula_samples_its_exact_biased_gaussian(eta):
    """ULA's stationary law is N(mu, C_eta) (eq. ebm-ula-gaussian-bias): mean right, covariance
    inflated by O(eta).
    """
    x = last_states(20_000, 400, eta, seed=1)
    cov = ula_stationary_cov(eta)
    assert_gaussian_moments(x, MU, cov)
    if eta == 0.05:   # the bias is large enough here to be seen against Sigma itself
        lam, vec = torch.linalg.eigh(SIGMA)
        v = vec[:, 0]  # the direction of the smallest variance
        assert v @ torch.cov(x.T) @ v > 1.2 * lam[0], (
            "ULA should overestimate the smallest variance by ~30 %")


def test_ula_diverges_beyond_twice_the_smallest_variance():
    """The Gaussian chain is stable only for eta < 2 lambda_min(Sigma) (exercise
    ebm-ex-ula-gaussian).
    """
    lam_min = torch.linalg.eigvalsh(SIGMA).min().item()
    x = last_states(100, 200, 2.2 * lam_min, seed=9)
    assert not torch.isfinite(x).all() or x.abs().max() > 1e6
    x = last_states(100, 200, 1.8 * lam_min, seed=9)
    assert x.abs().max() < 100


@pytest.mark.slow
def test_ula_small_step_samples_the_target():
    """At eta = 0.002 the O(eta) bias is far below the Monte Carlo error: the samples are N(mu,
    Sigma).
    """
    x = last_states(20_000, 500, 0.002, seed=2)
    assert_gaussian_moments(x, MU, SIGMA)


@pytest.mark.slow
def test_sqrt_eta_noise_samples_p_squared():
    """The course notes' sqrt(eta) noise samples p^2 (normalised): covariance Sigma/2 as eta -> 0
    (eq.
    ebm-sqrt-eta-slip).
    """
    eta = 0.01
    x = last_states(20_000, 1500, eta, seed=4, noise_scale=math.sqrt(eta))
    assert_gaussian_moments(x, MU, ula_stationary_cov(eta, noise_factor=0.5))
    emp = torch.cov(x.T)
    assert torch.all(torch.diag(emp) < 0.6 * torch.diag(SIGMA)), (
        "sqrt(eta) noise should halve the variance")


def quartic_moment(power):
    """E[x^2] under the density proportional to exp(-power * x^4 / 4), by quadrature."""
    x = np.linspace(-6, 6, 200_001)
    w = np.exp(-power * x**4 / 4)
    return float((x**2 * w).sum() / w.sum())


@pytest.mark.slow
def test_sqrt_eta_on_a_non_gaussian_density():
    """On p(x) ~ exp(-x^4/4) the sqrt(eta) chain's E[x^2] is that of p^2 ~ exp(-x^4/2), not of p."""
    score = lambda x: -x**3
    gen = torch.Generator().manual_seed(5)
    x0 = torch.randn(20_000, 1, dtype=torch.float64, generator=gen)
    eta = 0.005
    right = langevin_chain(x0, score, eta, 2000, generator=gen)[-1, :, 0]
    wrong = langevin_chain(x0, score, eta, 2000, generator=gen,
                           noise_scale=math.sqrt(eta))[-1, :, 0]
    for x, target in ((right, quartic_moment(1.0)), (wrong, quartic_moment(2.0))):
        m2 = (x**2).mean().item()
        se = (x**2).std().item() / math.sqrt(len(x))
        # ULA's own O(eta) bias is ~ eta * E[x^2] / 2 at most, well under the tolerance below
        assert abs(m2 - target) < 4 * se + 0.01 * target, (m2, target, se)
    assert abs(quartic_moment(1.0) - quartic_moment(2.0)) > 20 * se


@pytest.mark.slow
def test_mala_removes_the_step_size_bias():
    """At eta = 0.3 ULA is visibly biased; MALA with the same proposal samples N(mu, Sigma) exactly.
    """
    eta = 0.3
    gen = torch.Generator().manual_seed(6)
    z = torch.randn(20_000, 2, generator=gen, dtype=torch.float64)
    x0 = MU + z @ torch.linalg.cholesky(SIGMA).T
    result = mala_chain(x0, gaussian_log_prob, eta, 300, generator=gen)
    assert 0.05 < result.acceptance_rate < 0.999
    assert_gaussian_moments(result.samples[-1], MU, SIGMA)
    # and the unadjusted chain with this step size is off by many standard errors
    ula = last_states(20_000, 300, eta, seed=7)
    var_se = math.sqrt(2 * SIGMA[1, 1].item() ** 2 / 20_000)
    assert torch.cov(ula.T)[1, 1] - SIGMA[1, 1] > 10 * var_se


@pytest.mark.slow
def test_mala_on_a_non_gaussian_density():
    gen = torch.Generator().manual_seed(8)
    # start inside the bulk: from |x| > 2 the step 0.5 overshoots so far that every proposal is
    # rejected
    x0 = 0.5 * torch.randn(20_000, 1, dtype=torch.float64, generator=gen)
    result = mala_chain(x0, lambda x: -(x[:, 0] ** 4) / 4, 0.5, 400, generator=gen)
    x = result.samples[-1, :, 0]
    m2, se = (x**2).mean().item(), (x**2).std().item() / math.sqrt(len(x))
    assert abs(m2 - quartic_moment(1.0)) < 4 * se


# Bayesian linear regression: y_i = w^T phi_i + noise, noise ~ N(0, s^2), prior w ~ N(0, I / a).
def regression_problem(n=200, seed=0):
    rng = np.random.default_rng(seed)
    phi = np.column_stack([np.ones(n), rng.uniform(-2, 2, n)])            # (n, 2) features
    w_true = np.array([0.5, -1.0])
    s, a = 0.5, 1.0
    y = phi @ w_true + s * rng.standard_normal(n)
    post_cov = np.linalg.inv(a * np.eye(2) + phi.T @ phi / s**2)  # exact posterior covariance
    post_mean = post_cov @ phi.T @ y / s**2                               # exact posterior mean
    data = torch.tensor(np.column_stack([phi, y]))                        # rows (phi_1, phi_2, y)
    return data, s, a, torch.tensor(post_mean), torch.tensor(post_cov)


def run_sgld(data, s, a, *, batch_size, eta, num_steps, num_chains=400, seed=0, thin=50,
             burn_in=2000):
    def grad_log_prior(w):                                    # (c, 2)
        return -a * w

    def grad_log_lik(w, batch):                               # sum over the batch, (c, 2)
        phi, y = batch[:, :2], batch[:, 2]
        resid = y[None, :] - w @ phi.T                        # (c, B)
        return resid @ phi / s**2

    gen = torch.Generator().manual_seed(seed)
    w0 = torch.zeros(num_chains, 2, dtype=torch.float64)
    return sgld(w0, grad_log_prior, grad_log_lik, data, batch_size=batch_size,
                step_sizes=[eta] * num_steps,
                generator=gen, burn_in=burn_in, thin=thin)


@pytest.mark.slow
def test_sgld_matches_the_exact_posterior():
    """SGLD with B = 20 of n = 200 and a step of 1 % of the smallest posterior variance: mean within
    a tenth of a
    posterior standard deviation, covariance within 8 % (Monte Carlo error about 2 %, minibatch
    inflation ~1 %)."""
    data, s, a, mean, cov = regression_problem()
    eta = 0.01 * torch.linalg.eigvalsh(cov).min().item()
    kept = run_sgld(data, s, a, batch_size=20, eta=eta, num_steps=12_000)
    w = kept.reshape(-1, 2)
    sd = torch.sqrt(torch.diag(cov))
    assert torch.all((w.mean(0) - mean).abs() < 0.1 * sd), (w.mean(0), mean, sd)
    rel = (torch.cov(w.T) - cov) / torch.outer(sd, sd)
    assert torch.all(rel.abs() < 0.08), (torch.cov(w.T), cov)


@pytest.mark.slow
def test_sgld_minibatch_noise_inflates_the_variance_as_predicted():
    r"""A 1-D Gaussian posterior whose minibatch-gradient noise has a known variance V:
    constant-step SGLD samples
    the variance s^2 (1 + eta V / 2) / (1 - eta / (2 s^2)) of eq. ebm-sgld-noise-ratio (exercise
    ebm-ex-sgld-noise),
    not s^2; here eta V / 2 = 0.5. Tolerance 5 % (the pooled variance of 200 chains over 20,000
    steps)."""
    rng = np.random.default_rng(1)
    n, batch_size, s1, a = 100, 5, 1.0, 1.0
    x = rng.standard_normal(n) + 2.0
    data = torch.tensor(x)[:, None]  # log p(x_i | theta) = -(theta - x_i)^2 / (2 s1^2)
    post_var = 1.0 / (a + n / s1**2)
    eta = 0.1 * post_var
    pop_var = x.var() / s1**4  # variance of one datum's gradient over the data
    # variance of (n/B) sum over a batch w/o replacement
    V = n**2 / batch_size * pop_var * (n - batch_size) / (n - 1)
    scale = math.sqrt(1.0 / (eta * V))  # rescale the data spread so that eta V / 2 = 0.5
    x = (x - x.mean()) * scale + x.mean()
    data = torch.tensor(x)[:, None]
    V = n**2 / batch_size * (x.var() / s1**4) * (n - batch_size) / (n - 1)
    assert abs(eta * V / 2 - 0.5) < 1e-9
    kept = sgld(torch.zeros(200, 1, dtype=torch.float64), lambda w: -a * w,
                lambda w, batch: (batch[:, 0][None, :] - w).sum(1, keepdim=True) / s1**2,
                data, batch_size=batch_size, step_sizes=[eta] * 20_000,
                generator=torch.Generator().manual_seed(2), burn_in=500, thin=5)
    predicted = post_var * (1 + eta * V / 2) / (1 - eta / (2 * post_var))
    sampled = kept.reshape(-1).var().item()
    assert abs(sampled / predicted - 1) < 0.05, (sampled, predicted, post_var)
    assert sampled > 1.3 * post_var


def test_sgld_step_sizes_follow_the_polynomial_schedule():
    eta = sgld_step_sizes(5, eta0=0.1, t0=2.0, decay=0.55)
    assert torch.allclose(eta, 0.1 * (1.0 + torch.arange(5.0, dtype=torch.float64) / 2.0) ** -0.55)
    with pytest.raises(ValueError, match="decay"):
        sgld_step_sizes(5, eta0=0.1, decay=0.4)


def test_bad_input_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match=r"shape \(n, d\)"):
        langevin_step(torch.zeros(3), gaussian_score, 0.1)
    with pytest.raises(ValueError, match="step_size"):
        langevin_step(torch.zeros(3, 2, dtype=torch.float64), gaussian_score, -0.1)
    with pytest.raises(ValueError, match="score must return"):
        langevin_step(torch.zeros(3, 2), lambda x: x[:, :1], 0.1)
    with pytest.raises(ValueError, match="keep no state"):
        langevin_chain(torch.zeros(3, 2), gaussian_score, 0.1, 5, burn_in=5)
    with pytest.raises(ValueError, match="log_prob must return"):
        mala_chain(torch.zeros(3, 2), lambda x: x, 0.1, 5)
    with pytest.raises(ValueError, match="batch_size"):
        sgld(torch.zeros(2, 2), gaussian_score, lambda w, b: w, torch.zeros(10, 3), batch_size=11,
             step_sizes=[0.1])
