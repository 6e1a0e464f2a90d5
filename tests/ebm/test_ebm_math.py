r"""The mathematics of the energy-based chapter (book/ebm/theory.md) against exact enumeration.

A tiny binary RBM (d = 6 visible, d_h = 4 hidden units) has 2^10 joint states, so its
partition function, marginal, conditionals, log-likelihood gradient and distribution
are computed exactly by brute force, and genmod.rbm's (and genmod.gaussian_rbm's) closed forms,
samplers and estimators are checked against them. Monte Carlo tolerances are a stated number of
standard errors (NUM_SE, false alarm about 6e-7 per comparison for a Gaussian) or, for
distributions, a total-variation bound from the run length. float64 throughout.
"""

import math

import numpy as np
import pytest
import torch

from genmod import gaussian_rbm, rbm
from genmod.stats import Estimate

DTYPE = torch.float64
NUM_SE = 5.0


def tiny_rbm(seed=0, d=6, d_h=4, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    W = scale * torch.randn(d, d_h, generator=gen, dtype=DTYPE)
    a = 0.5 * torch.randn(d, generator=gen, dtype=DTYPE)
    b = 0.5 * torch.randn(d_h, generator=gen, dtype=DTYPE)
    return W, a, b


def joint_table(W, a, b):
    """All (x, h) pairs, their energies and exact probabilities p(x, h) = exp(-E) / Z."""
    d, d_h = W.shape
    xs, hs = rbm.all_binary_states(d), rbm.all_binary_states(d_h)
    x = xs.repeat_interleave(len(hs), 0)
    h = hs.repeat(len(xs), 1)
    e = rbm.energy(x, h, W, a, b)
    log_z = torch.logsumexp(-e, 0)
    return xs, hs, e.reshape(len(xs), len(hs)), log_z


def test_energy_and_boltzmann_distribution_by_enumeration():
    """eqs. ebm-rbm-energy, ebm-boltzmann, ebm-partition-function: E against its definition, Z as
    the full sum.
    """
    W, a, b = tiny_rbm()
    xs, hs, e, log_z = joint_table(W, a, b)
    x, h = xs[5], hs[3]
    assert rbm.energy(x[None], h[None], W, a, b).item() == pytest.approx(
        -(a @ x + b @ h + x @ W @ h).item(), abs=1e-12)
    p = torch.exp(-e - log_z)
    assert p.sum().item() == pytest.approx(1.0, abs=1e-12)
    assert log_z.item() == pytest.approx(math.log(sum(math.exp(-v) for v in e.flatten().tolist())),
                                         abs=1e-10)


def test_conditionals_factorise_as_sigmoids():
    """eqs. ebm-rbm-hidden-conditional, ebm-rbm-visible-conditional: p(h_j=1|x), p(x_i=1|h) from the
    joint table.
    """
    W, a, b = tiny_rbm(1)
    xs, hs, e, log_z = joint_table(W, a, b)
    p = torch.exp(-e - log_z)                                  # (2^d, 2^d_h)
    p_h_given_x = p / p.sum(1, keepdim=True)                   # rows: x
    brute_h = p_h_given_x @ hs                                 # E[h_j | x] = p(h_j = 1 | x)
    torch.testing.assert_close(rbm.p_h_given_x(xs, W, b), brute_h, rtol=0, atol=1e-12)
    p_x_given_h = (p / p.sum(0, keepdim=True)).T               # rows: h
    torch.testing.assert_close(rbm.p_x_given_h(hs, W, a), p_x_given_h @ xs, rtol=0, atol=1e-12)
    # and the hidden units are independent given x: p(h | x) is the product of its marginals
    prod = torch.prod(torch.where(hs[None] == 1, brute_h[:, None], 1 - brute_h[:, None]), -1)
    torch.testing.assert_close(prod, p_h_given_x, rtol=0, atol=1e-12)


def test_free_energy_closed_form_equals_brute_force_sum():
    """eqs. ebm-free-energy, ebm-rbm-free-energy: F(x) = -log sum_h exp(-E(x, h)) in closed form."""
    W, a, b = tiny_rbm(2)
    xs, _, e, _ = joint_table(W, a, b)
    torch.testing.assert_close(rbm.free_energy(xs, W, a, b), -torch.logsumexp(-e, 1), rtol=0,
                               atol=1e-12)


def test_log_z_exact_sums_over_the_hidden_layer():
    """eq. ebm-log-z-exact: the sum over h alone equals the sum over both layers, whatever the
    chunk size."""
    W, a, b = tiny_rbm(3)
    _, _, _, log_z = joint_table(W, a, b)
    for chunk in (1, 3, 16):
        assert rbm.log_z_exact(W, a, b, chunk=chunk).item() == pytest.approx(log_z.item(),
                                                                             abs=1e-12)
    with pytest.raises(ValueError, match="too many"):
        rbm.log_z_exact(torch.zeros(2, 25, dtype=DTYPE), torch.zeros(2, dtype=DTYPE),
                        torch.zeros(25, dtype=DTYPE))


def _data_distribution(d, seed):
    gen = torch.Generator().manual_seed(seed)
    p = torch.rand(2**d, generator=gen, dtype=DTYPE) ** 3
    return p / p.sum()


def test_kl_equals_minus_entropy_plus_free_energy_plus_log_z():
    """eq. ebm-kl-identity: KL(p_data || p) = E_data[log p_data] + E_data[F] + log Z."""
    W, a, b = tiny_rbm(4)
    xs, _, e, log_z = joint_table(W, a, b)
    p_data = _data_distribution(W.shape[0], 4)
    log_p_model = -rbm.free_energy(xs, W, a, b) - log_z
    kl = (p_data * (torch.log(p_data) - log_p_model)).sum()
    identity = ((p_data * torch.log(p_data)).sum()
                + (p_data * rbm.free_energy(xs, W, a, b)).sum() + log_z)
    assert kl.item() == pytest.approx(identity.item(), abs=1e-12)
    assert kl.item() > 0


def _exact_gradient(W, a, b, p_data):
    """Autograd of the exact mean log-likelihood E_data[log p(x)] = -E_data[F] - log Z."""
    params = [t.clone().requires_grad_(True) for t in (W, a, b)]
    xs = rbm.all_binary_states(W.shape[0])
    ll = -(p_data * rbm.free_energy(xs, *params)).sum() - rbm.log_z_exact(*params)
    return torch.autograd.grad(ll, params)


def test_log_likelihood_gradient_is_positive_minus_negative_phase():
    """eqs. ebm-loglik-gradient, ebm-log-z-gradient, ebm-rbm-gradients, ebm-rbm-learning-rule.

    grad log Z = E_p[-grad E] and the rule <x h>_data - <x h>_model equal autograd of the exact
    log-likelihood.
    """
    W, a, b = tiny_rbm(5)
    xs, hs, e, log_z = joint_table(W, a, b)
    p_data = _data_distribution(W.shape[0], 5)
    p_model = torch.exp(-e - log_z)                                   # (2^d, 2^d_h)
    # model moments <x h^T>, <x>, <h> from the joint table
    xh_model = torch.einsum("xh,xi,hj->ij", p_model, xs, hs)
    x_model, h_model = p_model.sum(1) @ xs, p_model.sum(0) @ hs
    # data moments, with p(h|x) in place of h (exact)
    ph = rbm.p_h_given_x(xs, W, b)
    xh_data = torch.einsum("x,xi,xj->ij", p_data, xs, ph)
    rule = (xh_data - xh_model, p_data @ xs - x_model, p_data @ ph - h_model)
    for got, want in zip(rule, _exact_gradient(W, a, b, p_data)):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    # grad log Z alone is E_p[-grad E] = the model moments
    params = [t.clone().requires_grad_(True) for t in (W, a, b)]
    g = torch.autograd.grad(rbm.log_z_exact(*params), params)
    for got, want in zip(g, (xh_model, x_model, h_model)):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def _tv_of_chain(W, a, b, *, num_chains, num_steps, burn_in, seed):
    gen = torch.Generator().manual_seed(seed)
    d = W.shape[0]
    x = torch.bernoulli(torch.full((num_chains, d), 0.5, dtype=DTYPE), generator=gen)
    counts = torch.zeros(2**d, dtype=DTYPE)
    powers = 2 ** torch.arange(d - 1, -1, -1)
    for step in range(num_steps):
        x, _ = rbm.gibbs_step(x, W, a, b, generator=gen)
        if step >= burn_in:
            counts += torch.bincount((x.long() * powers).sum(1), minlength=2**d).to(DTYPE)
    xs = rbm.all_binary_states(d)
    p_exact = torch.exp(-rbm.free_energy(xs, W, a, b) - rbm.log_z_exact(W, a, b))
    return 0.5 * (counts / counts.sum() - p_exact).abs().sum().item(), counts.sum().item()


@pytest.mark.slow
def test_block_gibbs_reproduces_the_exact_distribution():
    """eq. ebm-gibbs: the empirical distribution of a long block-Gibbs run approaches p(x).

    With n effectively independent draws over 2^d = 64 states the expected total-variation
    distance of an empirical distribution is at most sqrt(64 / n) / 2; the chains are
    correlated, so the bound is taken with n / 10 (a generous integrated autocorrelation time
    for this well-mixing RBM), and the run must also beat a short run by a clear margin.
    """
    W, a, b = tiny_rbm(6, scale=0.7)
    tv_long, n = _tv_of_chain(W, a, b, num_chains=200, num_steps=1000, burn_in=50, seed=6)
    assert tv_long < 0.5 * math.sqrt(64 / (n / 10))
    tv_short, _ = _tv_of_chain(W, a, b, num_chains=20, num_steps=30, burn_in=5, seed=7)
    assert tv_long < tv_short / 3


def _expected_cd_k(W, a, b, p_data, k):
    """The exact expectation of the CD-k update: the chain started at p_data, moved by the exact
    transition matrix.
    """
    xs = rbm.all_binary_states(W.shape[0])
    hs = rbm.all_binary_states(W.shape[1])
    ph = rbm.p_h_given_x(xs, W, b)                                            # (2^d, d_h)
    # p(h | x), (2^d, 2^d_h)
    p_h = torch.prod(torch.where(hs[None] == 1, ph[:, None], 1 - ph[:, None]), -1)
    px = rbm.p_x_given_h(hs, W, a)                                            # (2^d_h, d)
    # p(x' | h), (2^d_h, 2^d)
    p_x = torch.prod(torch.where(xs[None] == 1, px[:, None], 1 - px[:, None]), -1)
    q = p_data @ torch.linalg.matrix_power(p_h @ p_x, k)  # the chain after k block-Gibbs steps
    pos = (torch.einsum("x,xi,xj->ij", p_data, xs, ph), p_data @ xs, p_data @ ph)
    neg = (torch.einsum("x,xi,xj->ij", q, xs, ph), q @ xs, q @ ph)
    return torch.cat([(u - v).flatten() for u, v in zip(pos, neg)])


@pytest.mark.slow
def test_cd_k_gradient_approaches_the_exact_gradient():
    """eq. ebm-cd: the expected CD-k update is biased, and its bias falls to 0 as k grows.

    The expectation is computed exactly (transition matrix over all 64 visible states) for an RBM
    with strong weights, which mixes slowly; genmod's Monte Carlo cd_gradient agrees with it
    within its standard error.
    """
    W, a, b = tiny_rbm(8, scale=2.5)
    d = W.shape[0]
    p_data = _data_distribution(d, 8)
    exact = torch.cat([g.flatten() for g in _exact_gradient(W, a, b, p_data)])
    bias = [(_expected_cd_k(W, a, b, p_data, k) - exact).norm().item() for k in (1, 2, 4, 8, 16)]
    assert all(u > v for u, v in zip(bias, bias[1:])), bias
    assert bias[0] > 0.05, "CD-1 must be visibly biased on this slowly mixing RBM"
    assert bias[-1] < 1e-3 * bias[0]
    # the chain has reached p
    assert (_expected_cd_k(W, a, b, p_data, 200) - exact).norm().item() < 1e-10
    # genmod's estimator has this expectation: every term of each phase lies in [0, 1], so its
    # per-sample variance is at most 1/4, and the difference of two phases at most 2 * 1/4 / n
    gen = torch.Generator().manual_seed(8)
    n = 100_000
    x = rbm.all_binary_states(d)[torch.multinomial(p_data, n, replacement=True, generator=gen)]
    dW, da, db, _ = rbm.cd_gradient(x, W, a, b, k=3, generator=gen)
    got = torch.cat([dW.flatten(), da, db])
    gap = (got - _expected_cd_k(W, a, b, p_data, 3)).abs()
    assert (gap < NUM_SE * math.sqrt(2 * 0.25 / n)).all()


@pytest.mark.slow
def test_pcd_chain_stays_in_the_model_distribution():
    """eq. ebm-pcd: with fixed parameters, the persistent chain's negative phase is the
    model's moments."""
    W, a, b = tiny_rbm(9, scale=0.7)
    xs, hs, e, log_z = joint_table(W, a, b)
    p_model = torch.exp(-e - log_z)
    gen = torch.Generator().manual_seed(9)
    chain = torch.bernoulli(torch.full((20_000, W.shape[0]), 0.5, dtype=DTYPE), generator=gen)
    x_data = xs[:1]
    for _ in range(30):  # burn in: the chain forgets its start
        _, _, _, chain = rbm.cd_gradient(x_data, W, a, b, k=1, chain=chain, generator=gen)
    _, da, _, chain = rbm.cd_gradient(x_data, W, a, b, k=1, chain=chain, generator=gen)
    x_model = p_model.sum(1) @ xs                                   # exact <x>_model
    neg_phase = x_data[0] - da  # = the chain's mean visible state
    se = torch.sqrt(x_model * (1 - x_model) / len(chain))
    # x3: the chain's states are correlated over one step
    assert ((neg_phase - x_model).abs() < NUM_SE * se * 3).all()


def _ais_check(W, a, b, *, betas, num_runs, seed):
    exact = rbm.log_z_exact(W, a, b).item()
    est = rbm.ais_log_z(W, a, b, betas=betas, num_runs=num_runs,
                        generator=torch.Generator().manual_seed(seed),
                        base_a=torch.zeros_like(a))
    return exact, est


@pytest.mark.slow
def test_ais_log_z_agrees_with_exact_small():
    """eqs. ebm-ais-intermediate, ebm-ais-weights, ebm-ais-estimate: AIS within three of its
    standard errors; the estimate is a genmod.stats.Estimate of log Z in nats."""
    W, a, b = tiny_rbm(10, scale=1.0)
    exact, est = _ais_check(W, a, b, betas=500, num_runs=400, seed=10)
    assert isinstance(est, Estimate) and (est.num_betas, est.num_runs) == (500, 400)
    assert est.log_weights.shape == (400,)
    assert abs(est.value - exact) < 3 * est.se + 1e-9
    assert abs(est.z(exact)) < 3
    assert est.se < 0.05, "the estimate must be precise for the comparison to mean something"
    # a schedule of two temperatures is plain importance sampling from the base: much less precise
    _, crude = _ais_check(W, a, b, betas=2, num_runs=400, seed=11)
    assert crude.se > 3 * est.se
    with pytest.raises(ValueError, match="increase"):
        rbm.ais_log_z(W, a, b, betas=torch.tensor([0.0, 0.7, 0.5, 1.0], dtype=DTYPE))


@pytest.mark.slow
def test_ais_log_z_agrees_with_exact_784_by_20():
    """eq. ebm-ais-estimate on an MNIST-sized RBM (784 x 20), whose log Z is exact by summing 2^20
    hidden states.
    """
    gen = torch.Generator().manual_seed(12)
    d, d_h = 784, 20
    W = 0.05 * torch.randn(d, d_h, generator=gen, dtype=DTYPE)
    a = -1.0 + 0.3 * torch.randn(d, generator=gen, dtype=DTYPE)
    b = 0.1 * torch.randn(d_h, generator=gen, dtype=DTYPE)
    exact = rbm.log_z_exact(W, a, b).item()
    est = rbm.ais_log_z(W, a, b, betas=300, num_runs=100, base_a=a.clone(), generator=gen)
    assert abs(est.value - exact) < 3 * est.se + 1e-9
    assert est.se < 0.5


def test_gaussian_rbm_conditionals():
    """eqs. ebm-grbm-energy, ebm-grbm-conditionals: p(h|x) and p(x|h) from the energy by brute
    force in 1D.
    """
    gen = torch.Generator().manual_seed(13)
    d, d_h, sigma = 1, 3, 0.7
    W = torch.randn(d, d_h, generator=gen, dtype=DTYPE)
    a = torch.randn(d, generator=gen, dtype=DTYPE)
    b = torch.randn(d_h, generator=gen, dtype=DTYPE)
    hs = rbm.all_binary_states(d_h)
    x = torch.tensor([[0.3]], dtype=DTYPE)

    def energy(x, h):  # E = |x - a|^2 / (2 s^2) - b.h - x W h / s^2
        return ((x - a) ** 2).sum(-1) / (2 * sigma**2) - h @ b - ((x @ W) * h).sum(-1) / sigma**2

    p_h = torch.softmax(-energy(x.expand(len(hs), 1), hs), 0)  # p(h | x) over the 2^d_h states
    torch.testing.assert_close(gaussian_rbm.grbm_p_h_given_x(x, W, b, sigma)[0], p_h @ hs, rtol=0,
                               atol=1e-12)
    # p(x | h) is N(a + W h, sigma^2): its log-density differs from -E(x, h) by a constant in x
    h = hs[5:6]
    grid = torch.linspace(-3, 3, 7, dtype=DTYPE)[:, None]
    log_normal = torch.distributions.Normal(h @ W.T + a, sigma).log_prob(grid).sum(-1)
    diff = log_normal + energy(grid, h.expand(len(grid), d_h))
    torch.testing.assert_close(diff, diff[0].expand_as(diff), rtol=0, atol=1e-12)
    # and grbm_sample_x_given_h draws from it
    draws = gaussian_rbm.grbm_sample_x_given_h(h.expand(200_000, d_h), W, a, sigma, generator=gen)
    mean = (h @ W.T + a)[0, 0].item()
    assert abs(draws.mean().item() - mean) < NUM_SE * sigma / math.sqrt(len(draws))


@pytest.mark.slow
def test_gaussian_rbm_marginal_is_a_mixture():
    """eq. ebm-grbm-marginal: exp(-F(x)) / Z integrates to 1 and equals the 2^d_h-component
    mixture, in 1D and 2D.
    """
    from scipy import integrate

    gen = torch.Generator().manual_seed(14)
    for d, d_h, sigma in ((1, 3, 0.6), (2, 2, 0.8)):
        W = torch.randn(d, d_h, generator=gen, dtype=DTYPE)
        a = torch.randn(d, generator=gen, dtype=DTYPE)
        b = torch.randn(d_h, generator=gen, dtype=DTYPE)
        log_z = gaussian_rbm.grbm_log_z_exact(W, a, b, sigma).item()
        mixture = gaussian_rbm.grbm_marginal(W, a, b, sigma)
        assert mixture.num_components == 2**d_h
        pts = torch.randn(50, d, generator=gen, dtype=DTYPE) * 2
        log_p = -gaussian_rbm.grbm_free_energy(pts, W, a, b, sigma) - log_z
        np.testing.assert_allclose(log_p.numpy(), mixture.logpdf(pts.numpy()), rtol=0, atol=1e-10)

        def density(*xy):
            x = torch.tensor([xy], dtype=DTYPE)
            return math.exp(-gaussian_rbm.grbm_free_energy(x, W, a, b, sigma).item() - log_z)

        lim = [(-12, 12)] * d
        total, err = integrate.nquad(density, lim, opts={"epsabs": 1e-9})
        assert total == pytest.approx(1.0, abs=1e-6)


def test_gaussian_rbm_log_z_is_differentiable_in_sigma():
    """eq. ebm-grbm-marginal: d log Z / d sigma by autograd equals a central finite difference
    (sigma
    learned).
    """
    gen = torch.Generator().manual_seed(15)
    W = torch.randn(2, 3, generator=gen, dtype=DTYPE)
    a = torch.randn(2, generator=gen, dtype=DTYPE)
    b = torch.randn(3, generator=gen, dtype=DTYPE)
    sigma = torch.tensor(0.4, dtype=DTYPE, requires_grad=True)
    (grad,) = torch.autograd.grad(gaussian_rbm.grbm_log_z_exact(W, a, b, sigma), sigma)
    eps = 1e-6
    fd = (gaussian_rbm.grbm_log_z_exact(W, a, b, 0.4 + eps)
          - gaussian_rbm.grbm_log_z_exact(W, a, b, 0.4 - eps)) / (2 * eps)
    assert grad.item() == pytest.approx(fd.item(), rel=1e-6)
