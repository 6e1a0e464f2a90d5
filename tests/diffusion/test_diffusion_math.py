"""The diffusion chapter's closed forms (book/diffusion/theory.md) checked against Monte Carlo and
direct computation."""

import math

import numpy as np
import pytest
import torch

from genmod.data.toy import Mixture
from genmod.diffusion import (NoiseSchedule, ancestral_sample, bits_per_dim, cosine_schedule,
                              ddim_sample, denoising_matching_kl,
                              discretized_gaussian_log_likelihood, elbo_terms, elbo_three_terms,
                              eps_from_score, eps_from_x0, forward_chain, linear_schedule,
                              mixture_eps_fn, mixture_optimal_eps, mixture_score, noised_mixture,
                              posterior_mean_var, prior_kl, probability_flow_sample, q_mean_var,
                              q_sample, reverse_mean, reverse_var, sampling_times, score_from_eps,
                              x0_from_eps)
from genmod.vae import gaussian_kl

SCHEDULES = {"linear": lambda: linear_schedule(1000), "cosine": lambda: cosine_schedule(1000)}


def small_schedule(num_steps=50):
    """A short linear schedule whose x_N is nearly standard normal (abar_N ~ 0.007), for
    chain-level checks."""
    return linear_schedule(num_steps, 1e-3, 0.2)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_iterating_the_encoder_gives_the_closed_form_marginal(name):
    """diffusion-q-xt-x0: N Gaussian steps of diffusion-encoder from x0 reach
    N(sqrt(abar_N) x0, (1 - abar_N) I)."""
    schedule = SCHEDULES[name]()
    gen = torch.Generator().manual_seed(0)
    n = 40_000
    x0 = torch.tensor([[1.5, -0.7]], dtype=torch.float64).expand(n, 2).contiguous()
    path = forward_chain(x0, schedule, generator=gen, keep=True)          # (N + 1, n, 2)
    for t in (1, 10, 100, 400, 1000):
        mean, var = q_mean_var(x0[:1], torch.tensor([t]), schedule)
        emp_mean, emp_cov = path[t].mean(0), torch.cov(path[t].T)
        v = float(var)
        assert torch.allclose(emp_mean, mean[0], atol=5 * math.sqrt(v / n)), (name, t)
        assert torch.allclose(torch.diagonal(emp_cov), torch.full((2,), v, dtype=torch.float64),
                              atol=5 * v * math.sqrt(2 / n)), (name, t)
        assert abs(float(emp_cov[0, 1])) < 5 * v / math.sqrt(n), (name, t)
    # and q_sample draws from the same law
    xt, eps = q_sample(x0, torch.full((n,), 400), schedule, generator=gen)
    assert torch.allclose(xt.mean(0), path[400].mean(0), atol=0.05)
    assert torch.allclose(xt.var(0), path[400].var(0), rtol=0.05)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("t", [2, 5, 100, 999, 1000])
def test_posterior_equals_gaussian_conditioning(name, t):
    """diffusion-posterior: q(x_{t-1} | x_t, x0) from conditioning the joint Gaussian of
    (x_{t-1}, x_t) given x0."""
    schedule = SCHEDULES[name]()
    ab = schedule.alpha_bar.numpy()
    a = float(schedule.alpha[t])
    x0, xt = np.array([0.8, -1.2, 0.1]), np.array([0.3, 0.5, -2.0])
    # joint of (x_{t-1}, x_t) given x0, per coordinate:
    # x_{t-1} ~ N(sqrt(abar_{t-1}) x0, 1 - abar_{t-1}),
    # x_t = sqrt(alpha_t) x_{t-1} + sqrt(1 - alpha_t) z
    m1, v1 = math.sqrt(ab[t - 1]) * x0, 1 - ab[t - 1]
    m2 = math.sqrt(a) * m1
    c11, c12, c22 = v1, math.sqrt(a) * v1, a * v1 + 1 - a
    cond_mean = m1 + c12 / c22 * (xt - m2)
    cond_var = c11 - c12 ** 2 / c22
    mean, var = posterior_mean_var(torch.tensor(x0)[None], torch.tensor(xt)[None],
                                   torch.tensor([t]), schedule)
    np.testing.assert_allclose(mean[0].numpy(), cond_mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(float(var), cond_var, rtol=1e-9)
    np.testing.assert_allclose(float(schedule.posterior_var[t]), cond_var, rtol=1e-9)


def test_schedules_are_what_the_papers_say():
    lin = linear_schedule(1000)
    assert lin.num_steps == 1000
    np.testing.assert_allclose((1 - lin.alpha[1:]).numpy()[[0, -1]], [1e-4, 0.02])
    # Ho et al. (2020): abar_N ~ 4e-5 for their schedule; the prior term is negligible
    assert 3e-5 < float(lin.alpha_bar[-1]) < 5e-5
    cos = cosine_schedule(1000)
    t = np.arange(1001)
    f = np.cos((t / 1000 + 0.008) / 1.008 * np.pi / 2) ** 2
    np.testing.assert_allclose(cos.alpha_bar.numpy()[:990], (f / f[0])[:990], rtol=1e-9)
    for s in (lin, cos):
        assert (np.diff(s.alpha_bar.numpy()) < 0).all()
        np.testing.assert_allclose(s.snr.numpy()[1:], (s.alpha_bar / (1 - s.alpha_bar)).numpy()[1:])


def test_bad_input_is_refused():
    s = linear_schedule(10)
    x0 = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="1..10"):
        posterior_mean_var(x0, x0, torch.tensor([0, 1, 2]), s)
    with pytest.raises(ValueError, match="0..10"):
        q_sample(x0, torch.tensor([1, 2, 11]), s)
    with pytest.raises(ValueError, match="shape"):
        q_sample(x0, torch.tensor([1, 2]), s)
    with pytest.raises(ValueError, match="integer"):
        q_sample(x0, torch.tensor([1.0, 2.0, 3.0]), s)
    with pytest.raises(ValueError):
        NoiseSchedule(torch.tensor([1.0, 0.9, 1.2]))
    with pytest.raises(ValueError):
        linear_schedule(10, 0.5, 0.1)
    with pytest.raises(ValueError, match="grid"):
        discretized_gaussian_log_likelihood(torch.full((1, 3), 0.001), torch.zeros(1, 3), 0.1)
    with pytest.raises(ValueError, match="num_steps"):
        ddim_sample(lambda x, t: x, torch.zeros(2, 2), s, num_steps=11)


def test_parameterisations_are_consistent():
    """x0, noise and score parameterisations (diffusion-eps-mean, diffusion-tweedie-score) map
    into each other."""
    s = linear_schedule(1000)
    gen = torch.Generator().manual_seed(1)
    x0 = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    t = torch.tensor([1, 2, 10, 300, 700, 1000])
    xt, eps = q_sample(x0, t, s, generator=gen)
    torch.testing.assert_close(x0_from_eps(xt, eps, t, s), x0)
    torch.testing.assert_close(eps_from_x0(xt, x0, t, s), eps)
    torch.testing.assert_close(eps_from_score(score_from_eps(eps, t, s), t, s), eps)
    # the reverse mean with the true noise is the posterior mean (t >= 2)
    mean_q, _ = posterior_mean_var(x0[1:], xt[1:], t[1:], s)
    torch.testing.assert_close(reverse_mean(xt[1:], t[1:], eps[1:], s), mean_q)


@pytest.mark.parametrize("t", [2, 50, 500, 1000])
def test_denoising_kl_is_a_weighted_squared_error_and_an_snr_difference(t):
    """diffusion-kl-eps and diffusion-snr-loss: with sigma_t^2 = posterior variance the KL is a
    weighted MSE,
    in noise units and, equivalently, (SNR(t-1) - SNR(t)) / 2 times the x0 error."""
    s = linear_schedule(1000)
    gen = torch.Generator().manual_seed(2)
    x0 = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    tt = torch.full((5,), t)
    xt, eps = q_sample(x0, tt, s, generator=gen)
    eps_pred = eps + 0.3 * torch.randn(5, 4, generator=gen, dtype=torch.float64)
    kl = denoising_matching_kl(x0, xt, tt, eps_pred, s)
    a, ab, var = float(s.alpha[t]), float(s.alpha_bar[t]), float(s.posterior_var[t])
    weighted = (1 - a) ** 2 / ((1 - ab) * a) / (2 * var) * ((eps - eps_pred) ** 2).sum(1)
    torch.testing.assert_close(kl, weighted)
    snr = s.snr
    x0_pred = x0_from_eps(xt, eps_pred, tt, s)
    torch.testing.assert_close(kl, 0.5 * float(snr[t - 1] - snr[t]) * ((x0 - x0_pred) ** 2).sum(1))
    # with the 'noise' variances sigma_t^2 = 1 - alpha_t the KL gains a term from the variances
    # alone
    sig2 = 1 - a
    variance_term = 0.5 * 4 * (math.log(sig2 / var) + var / sig2 - 1)
    torch.testing.assert_close(denoising_matching_kl(x0, xt, tt, eps_pred, s, var_kind="noise"),
                               variance_term + weighted * var / sig2)


def test_prior_term_is_the_kl_to_the_standard_normal():
    s = linear_schedule(1000)
    x0 = torch.tensor([[0.0, 0.0], [1.0, -1.0]], dtype=torch.float64)
    ab = float(s.alpha_bar[-1])
    expected = 0.5 * (-2 * math.log(1 - ab) + 2 * (1 - ab) + ab * (x0 ** 2).sum(1) - 2)
    torch.testing.assert_close(prior_kl(x0, s), expected)


@pytest.mark.parametrize("mean,std", [(0.0, 0.01), (0.37, 0.05), (-0.99, 0.2), (1.3, 0.5),
                                      (0.5, 1e-3)])
def test_discretized_decoder_is_a_distribution_over_the_levels(mean, std):
    """The decoder of diffusion-decoder puts probability 1 on the 256 levels of one pixel."""
    levels = torch.linspace(-1, 1, 256, dtype=torch.float64)[:, None]
    log_p = discretized_gaussian_log_likelihood(levels, torch.full_like(levels, mean), std)
    np.testing.assert_allclose(float(torch.logsumexp(log_p, 0)), 0.0, atol=1e-9)


# ---- the ELBO on 1D Gaussian data, where every term and the exact likelihood are known -----------

DATA_MEAN, DATA_STD = 0.5, 0.6


def gaussian_model(schedule):
    """The exact optimal noise prediction for N(DATA_MEAN, DATA_STD^2) data and the model's
    pieces."""
    data = Mixture([[DATA_MEAN]], DATA_STD)
    eps_fn = mixture_eps_fn(data, schedule)
    var = reverse_var(schedule, "posterior")

    def reverse_fn(xt, t):
        return reverse_mean(xt, t, eps_fn(xt, t), schedule), var[t].view(-1, 1)

    def log_decoder(x0, x1):
        t1 = torch.ones(len(x1), dtype=torch.long)
        mean = reverse_mean(x1, t1, eps_fn(x1, t1), schedule)
        return (-0.5 * (x0 - mean) ** 2 / var[1] - 0.5 * torch.log(2 * math.pi * var[1])).sum(1)

    return eps_fn, reverse_fn, log_decoder


def exact_log_likelihood(schedule, x0):
    """log p_theta(x0) of the linear-Gaussian reverse chain: propagate the Gaussian from
    x_N ~ N(0, 1) to x_0."""
    eps_fn, reverse_fn, _ = gaussian_model(schedule)
    m, v = 0.0, 1.0
    for t in range(schedule.num_steps, 0, -1):
        probe = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
        mean, var = reverse_fn(probe, torch.full((2,), t))
        # the reverse mean is affine: a x_t + c
        c, a = float(mean[0]), float(mean[1] - mean[0])
        m, v = a * m + c, a * a * v + float(var[0])
    return -0.5 * (x0 - m) ** 2 / v - 0.5 * math.log(2 * math.pi * v), (m, v)


@pytest.mark.slow
def test_three_term_and_denoising_forms_of_the_elbo_agree_and_bound_the_likelihood():
    """diffusion-elbo-consistency = diffusion-elbo-denoising in expectation; both <= the exact
    log p_theta(x0)."""
    schedule = small_schedule()
    eps_fn, reverse_fn, log_decoder = gaussian_model(schedule)
    gen = torch.Generator().manual_seed(4)
    n = 60_000
    for x0_value in (-0.4, 0.5, 1.6):
        x0 = torch.full((n, 1), x0_value, dtype=torch.float64)
        three = elbo_three_terms(log_decoder, reverse_fn, x0, schedule, generator=gen)
        four = elbo_terms(eps_fn, x0, schedule, generator=gen, decoder="gaussian")
        se3 = float(three["elbo"].std()) / math.sqrt(n)
        se4 = float(four["elbo"].std()) / math.sqrt(n)
        diff = float(three["elbo"].mean() - four["elbo"].mean())
        assert abs(diff) < 5 * math.hypot(se3, se4), (x0_value, diff, se3, se4)
        exact, _ = exact_log_likelihood(schedule, x0_value)
        assert float(four["elbo"].mean()) < exact + 5 * se4
        # the same reconstruction term in both
        gap = float(three["reconstruction"].mean() - four["reconstruction"].mean())
        assert abs(gap) < 5 * math.hypot(float(three["reconstruction"].std()),
                                         float(four["reconstruction"].std())) / math.sqrt(n)


@pytest.mark.slow
def test_expected_kl_form_of_the_consistency_term_is_not_the_elbo():
    """The slip of writing the consistency term as
    E_{q(x_{t-1}, x_{t+1}|x0)} KL(q(x_t|x_{t-1}) || p(x_t|x_{t+1})): x_t given both neighbours is
    not q(x_t|x_{t-1}), and the sum of those KLs differs from the consistency term."""
    schedule = small_schedule()
    _, reverse_fn, log_decoder = gaussian_model(schedule)
    gen = torch.Generator().manual_seed(5)
    n = 60_000
    x0 = torch.full((n, 1), 0.5, dtype=torch.float64)
    path = forward_chain(x0, schedule, generator=gen, keep=True)
    alpha = schedule.alpha
    kl_sum = torch.zeros(n, dtype=torch.float64)
    for t in range(1, schedule.num_steps):
        mean_p, var_p = reverse_fn(path[t + 1], torch.full((n,), t + 1))
        # the book's one Gaussian KL (genmod.vae) takes log-variances
        kl_sum += gaussian_kl(alpha[t].sqrt() * path[t - 1], torch.log(1 - alpha[t]),
                              mean_p, torch.log(var_p)).sum(1)
    three = elbo_three_terms(log_decoder, reverse_fn, x0, schedule, generator=gen)
    se = math.hypot(float(kl_sum.std()), float(three["consistency"].std())) / math.sqrt(n)
    gap = float(kl_sum.mean() - three["consistency"].mean())
    assert abs(gap) > 20 * se, (gap, se)


@pytest.mark.slow
def test_reverse_chain_with_the_exact_score_reproduces_gaussian_data():
    """With the exact optimal noise prediction the model's marginal p_theta(x0) is close to the
    data law."""
    _, (m, v) = exact_log_likelihood(linear_schedule(1000), 0.0)
    assert abs(m - DATA_MEAN) < 0.01 and abs(math.sqrt(v) - DATA_STD) < 0.01


@pytest.mark.slow
def test_monte_carlo_over_time_steps_is_unbiased():
    """elbo_terms with num_t random steps estimates the full sum over t = 2..N (Ho et al.'s
    estimator)."""
    schedule = small_schedule()
    eps_fn, _, _ = gaussian_model(schedule)
    gen = torch.Generator().manual_seed(6)
    x0 = torch.full((20_000, 1), 1.1, dtype=torch.float64)
    full = elbo_terms(eps_fn, x0, schedule, generator=gen, decoder="gaussian")
    mc = elbo_terms(eps_fn, x0, schedule, num_t=2, generator=gen, decoder="gaussian")
    se = (math.hypot(float(full["denoising"].std()), float(mc["denoising"].std()))
          / math.sqrt(len(x0)))
    assert abs(float(full["denoising"].mean() - mc["denoising"].mean())) < 5 * se
    assert mc["denoising_terms"].shape == (20_000, 2)
    np.testing.assert_allclose(bits_per_dim(torch.tensor(-math.log(2) * 784), 784), 1.0)


# ---- Tweedie and the Gaussian-mixture closed forms ----------------------------------------------

def mixture():
    return Mixture([[-2.0, 0.0], [1.0, 1.5], [1.5, -1.5]], [0.3, 0.5, 0.2], [0.5, 0.3, 0.2])


@pytest.mark.parametrize("ab", [0.999, 0.7, 0.2, 0.01])
def test_optimal_noise_prediction_is_tweedie(ab):
    """diffusion-tweedie-score: E[eps | x_t], computed component by component, is
    -sqrt(1 - abar) times the score."""
    mix = mixture()
    rng = np.random.default_rng(7)
    xt = rng.normal(size=(50, 2)) * 2
    # E[x0 | x_t] from each component's Gaussian conditioning, weighted by the responsibilities
    # of q(x_t)
    noised = noised_mixture(mix, ab)
    r = noised.responsibilities(xt)                                          # (n, M)
    gain = math.sqrt(ab) * mix.stds ** 2 / (ab * mix.stds ** 2 + 1 - ab)     # (M,)
    x0_post = mix.means[None] + gain[None, :, None] * (xt[:, None, :]
                                                       - math.sqrt(ab) * mix.means[None])
    eps_post = (xt - math.sqrt(ab) * (r[:, :, None] * x0_post).sum(1)) / math.sqrt(1 - ab)
    np.testing.assert_allclose(mixture_optimal_eps(mix, xt, ab), eps_post, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(-math.sqrt(1 - ab) * mixture_score(mix, xt, ab), eps_post,
                               rtol=1e-8, atol=1e-10)
    # the torch version used by the samplers agrees; and the score is the gradient of the log
    # density
    s = NoiseSchedule(torch.tensor([1.0, ab], dtype=torch.float64))
    eps_torch = mixture_eps_fn(mix, s)(torch.tensor(xt), torch.ones(50, dtype=torch.long))
    np.testing.assert_allclose(eps_torch.numpy(), eps_post, rtol=1e-8, atol=1e-10)
    h = 1e-5
    grad = np.stack([(noised.logpdf(xt + h * e) - noised.logpdf(xt - h * e)) / (2 * h)
                     for e in np.eye(2)], 1)
    np.testing.assert_allclose(mixture_score(mix, xt, ab), grad, rtol=1e-5, atol=1e-6)


def test_optimal_noise_prediction_matches_monte_carlo_regression():
    """E[eps | x_t] by averaging the true noise of Monte Carlo pairs that land near x_t (1D
    mixture)."""
    mix = Mixture([[-1.0], [1.5]], [0.2, 0.4], [0.4, 0.6])
    ab = 0.5
    rng = np.random.default_rng(8)
    x0 = mix.sample(2_000_000, rng)
    eps = rng.standard_normal(x0.shape)
    xt = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps
    for centre in (-1.0, -0.3, 0.4, 1.2):
        near = np.abs(xt[:, 0] - centre) < 0.01
        mc, se = eps[near, 0].mean(), eps[near, 0].std() / math.sqrt(near.sum())
        assert abs(mc - mixture_optimal_eps(mix, np.array([[centre]]), ab)[0, 0]) < 5 * se + 0.005


def test_noised_mixture_is_the_law_of_x_t():
    mix = mixture()
    rng = np.random.default_rng(9)
    x0 = mix.sample(200_000, rng)
    ab = 0.3
    xt = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * rng.standard_normal(x0.shape)
    noised = noised_mixture(mix, ab)
    np.testing.assert_allclose(xt.mean(0), noised.mean(), atol=0.01)
    grid = rng.normal(size=(5, 2))
    # the average log density of the samples equals minus the entropy estimated from the closed form
    np.testing.assert_allclose(noised.logpdf(xt).mean(),
                               noised.logpdf(noised.sample(200_000, rng)).mean(), atol=0.02)
    assert np.isfinite(noised.logpdf(grid)).all()


# ---- samplers -----------------------------------------------------------------------------------

def gaussian_flow_map(xN, schedule, mean, std):
    """The exact probability-flow map for N(mean, std^2 I) data: the monotone affine map from
    q(x_N) to q(x_0)."""
    ab = float(schedule.alpha_bar[-1])
    return mean + std * (xN - math.sqrt(ab) * mean) / math.sqrt(ab * std ** 2 + 1 - ab)


@pytest.mark.slow
def test_ddim_is_deterministic_and_follows_the_probability_flow():
    """diffusion-ddim with eta = 0: no randomness; with all N steps it matches Heun's probability
    flow and the exact map."""
    schedule = linear_schedule(1000)
    data = Mixture([[DATA_MEAN, -DATA_MEAN]], DATA_STD)
    eps_fn = mixture_eps_fn(data, schedule)
    xN = torch.randn(500, 2, generator=torch.Generator().manual_seed(10), dtype=torch.float64)
    a = ddim_sample(eps_fn, xN, schedule, num_steps=1000,
                    generator=torch.Generator().manual_seed(1))
    b = ddim_sample(eps_fn, xN, schedule, num_steps=1000,
                    generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b)
    exact = gaussian_flow_map(xN, schedule,
                              torch.tensor([DATA_MEAN, -DATA_MEAN], dtype=torch.float64), DATA_STD)
    flow = probability_flow_sample(eps_fn, xN, schedule, num_steps=200)
    assert float((flow - exact).abs().max()) < 2e-3
    assert float((a - flow).abs().max()) < 1e-2
    coarse = ddim_sample(eps_fn, xN, schedule, num_steps=20)
    assert float((coarse - exact).abs().max()) > float((a - exact).abs().max()), (
        "more steps should be closer")
    with pytest.raises(ValueError, match="eta"):
        ddim_sample(eps_fn, xN, schedule, num_steps=10, eta=-1.0)


@pytest.mark.slow
def test_ancestral_sampling_draws_the_gaussian_data_and_equals_ddim_with_eta_one():
    """diffusion-ancestral with the exact score draws N(mean, std^2) (moments within Monte Carlo
    error plus the discretisation bias of
    test_reverse_chain_with_the_exact_score_reproduces_gaussian_data); DDIM with eta = 1 on all N
    steps is the same sampler, draw for draw."""
    schedule = linear_schedule(1000)
    data = Mixture([[DATA_MEAN]], DATA_STD)
    eps_fn = mixture_eps_fn(data, schedule)
    xN = torch.randn(20_000, 1, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    x0 = ancestral_sample(eps_fn, xN, schedule, generator=torch.Generator().manual_seed(12))
    assert abs(float(x0.mean()) - DATA_MEAN) < 5 * DATA_STD / math.sqrt(len(x0)) + 0.01
    assert abs(float(x0.std()) - DATA_STD) < 5 * DATA_STD / math.sqrt(2 * len(x0)) + 0.01
    same = ddim_sample(eps_fn, xN, schedule, num_steps=1000, eta=1.0,
                       generator=torch.Generator().manual_seed(12))
    torch.testing.assert_close(same, x0, rtol=1e-9, atol=1e-9)
    x0, kept = ancestral_sample(eps_fn, xN[:5], schedule, generator=torch.Generator(),
                                keep_at=(1000, 500, 0))
    assert sorted(kept) == [0, 500, 1000]
    assert torch.equal(kept[1000], xN[:5]) and torch.equal(kept[0], x0)


def test_sampling_times():
    assert sampling_times(1000, 1000) == list(range(1000, 0, -1))
    times = sampling_times(1000, 50)
    assert len(times) == 50 and times[0] == 1000 and times[-1] == 1 and all(np.diff(times) < 0)
