r"""The mathematics of the GAN chapter (book/gans/theory.md), checked numerically.

- the optimal discriminator D* = p_r / (p_r + p_g) (eq. gans-optimal-discriminator):
  a discriminator trained by binary cross-entropy on samples learns it, and the
  pointwise maximiser of A log y + B log(1 - y) is A / (A + B);
- the value at the optimum v(G, D*) = 2 JS(p_r || p_g) - 2 log 2
  (eq. gans-loss-at-optimum), with v and JS computed by independent quadratures;
- the saturating and non-saturating generator losses (eqs. gans-saturating-loss,
  gans-nonsaturating-loss): their logit gradients -D and -(1 - D), their common
  stationary point, and the divergences their gradients descend at D*
  (Goodfellow et al. 2014, Sec. 3; Arjovsky & Bottou 2017, Theorem 2.5);
- the WGAN-GP gradient penalty (eq. gans-wgan-gp; Gulrajani et al. 2017, eq. 3).

Everything runs on the CPU in double precision, offline, in a few seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import integrate, optimize, stats
from scipy.special import logsumexp, xlogy

from notebook_code import notebook_functions

LOG2 = np.log(2.0)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny networks: one thread is faster, and much faster on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------------------
# Densities and quadratures
# ---------------------------------------------------------------------------


class Mixture:
    r"""A finite mixture of frozen scipy.stats distributions: pdf, logpdf and tail quantiles."""

    def __init__(self, weights, components):
        self.weights = np.asarray(weights, dtype=float) / np.sum(weights)
        self.components = list(components)

    def logpdf(self, x):
        logs = [np.log(w) + c.logpdf(x) for w, c in zip(self.weights, self.components)]
        return logsumexp(np.stack(logs), axis=0)

    def pdf(self, x):
        return sum(w * c.pdf(x) for w, c in zip(self.weights, self.components))

    def ppf(self, q):
        return min(c.ppf(q) for c in self.components)

    def isf(self, q):
        return max(c.isf(q) for c in self.components)

    def mean(self):
        return float(np.dot(self.weights, [c.mean() for c in self.components]))

    def breakpoints(self):
        return [c.mean() for c in self.components]


def _breakpoints(*dists):
    points = []
    for d in dists:
        if hasattr(d, "breakpoints"):
            points += d.breakpoints()
        else:
            points += [d.mean()]
            lo, hi = d.support()
            points += [p for p in (lo, hi) if np.isfinite(p)]  # edges of a bounded support
    return sorted(set(points))


def _quad(integrand, *dists, tail=1e-14):
    """Integrate over the union of the supports, splitting at the modes and support edges."""
    lo = min(d.ppf(tail) for d in dists)
    hi = max(d.isf(tail) for d in dists)
    edges = [lo] + [p for p in _breakpoints(*dists) if lo < p < hi] + [hi]
    return sum(integrate.quad(integrand, a, b, limit=200, epsabs=1e-12, epsrel=1e-10)[0] for a, b in zip(edges[:-1], edges[1:]))


def value_at_optimal_discriminator(p_r, p_g):
    r"""v(G, D*) = \int [p_r log D* + p_g log(1 - D*)] dx with D* = p_r / (p_r + p_g).

    Written with xlogy so that 0 log 0 = 0 where one density vanishes (disjoint supports).
    """

    def integrand(x):
        a, b = p_r.pdf(x), p_g.pdf(x)
        d_star = a / (a + b) if a + b > 0 else 0.5  # D* may be anything where a = b = 0
        return xlogy(a, d_star) + xlogy(b, 1.0 - d_star)

    return _quad(integrand, p_r, p_g)


def js_divergence(p, q):
    r"""JS(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q)/2, from the definition (no D*)."""

    def kl_to_mixture(a, b):
        def integrand(x):
            pa, pb = a.pdf(x), b.pdf(x)
            m = 0.5 * (pa + pb)
            return xlogy(pa, pa) - xlogy(pa, m)  # a log(a / m)

        return _quad(integrand, a, b)

    return 0.5 * kl_to_mixture(p, q) + 0.5 * kl_to_mixture(q, p)


DENSITY_PAIRS = {
    "two normals, equal widths": (stats.norm(0.0, 1.0), stats.norm(1.5, 1.0)),
    "two normals, different widths": (stats.norm(2.0, 0.5), stats.norm(-1.0, 1.0)),
    "normal vs Laplace": (stats.norm(0.0, 1.0), stats.laplace(0.5, 0.8)),
    "normal vs logistic": (stats.norm(0.3, 1.2), stats.logistic(-0.2, 0.7)),
    "mixture vs normal": (
        Mixture([0.3, 0.7], [stats.norm(-2.0, 0.5), stats.norm(1.5, 0.7)]),
        stats.norm(0.0, 1.5),
    ),
    "overlapping uniforms": (stats.uniform(0.0, 1.0), stats.uniform(0.5, 2.0)),
}


# ---------------------------------------------------------------------------
# (c) the pointwise maximiser A log y + B log(1 - y) -> A / (A + B)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("a, b", [(1.0, 1.0), (0.3, 2.0), (5.0, 0.01), (1e-3, 1e-3), (0.25, 0.75), (3.0, 7.0)])
def test_pointwise_maximiser_of_the_integrand_is_a_over_a_plus_b(a, b):
    res = optimize.minimize_scalar(
        lambda y: -(a * np.log(y) + b * np.log1p(-y)), bounds=(1e-12, 1 - 1e-12), method="bounded",
        options={"xatol": 1e-12},
    )
    assert res.success
    assert res.x == pytest.approx(a / (a + b), abs=1e-7)
    # a maximum, not a minimum: the value beats nearby points on both sides
    f = lambda y: a * np.log(y) + b * np.log1p(-y)  # noqa: E731
    assert f(res.x) >= max(f(res.x * 0.99), f(res.x + 0.01 * (1 - res.x)))


def test_pointwise_maximiser_on_random_pairs():
    rng = np.random.default_rng(0)
    for a, b in rng.uniform(0.01, 3.0, size=(20, 2)):
        res = optimize.minimize_scalar(
            lambda y: -xlogy(a, y) - xlogy(b, 1 - y), bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-12}
        )
        assert res.x == pytest.approx(a / (a + b), abs=1e-7)


# ---------------------------------------------------------------------------
# (b) v(G, D*) = 2 JS - 2 log 2
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(DENSITY_PAIRS))
def test_value_at_optimum_is_two_js_minus_two_log_two(name):
    p_r, p_g = DENSITY_PAIRS[name]
    v_star = value_at_optimal_discriminator(p_r, p_g)
    jsd = js_divergence(p_r, p_g)
    assert 0.0 < jsd < LOG2  # overlapping, different densities
    assert v_star == pytest.approx(2 * jsd - 2 * LOG2, abs=1e-8)
    # D* is the best discriminator: a constant D = 1/2 and a wrong D = 1 - D* do worse
    assert v_star > -2 * LOG2
    assert js_divergence(p_g, p_r) == pytest.approx(jsd, abs=1e-10)  # JS is symmetric


# The quadratures that book/gans/gan_1d_torch.py prints as its check of eq. gans-loss-at-optimum.
gan_1d = notebook_functions("book/gans/gan_1d_torch.py", ["integration_limits", "value_at_optimum", "js_divergence"],
                            {"np": np, "integrate": integrate})


@pytest.mark.parametrize("name", [n for n in DENSITY_PAIRS if "uniform" not in n])  # the notebook's use logpdf: full supports
def test_notebook_quadratures_agree_with_the_independent_ones(name):
    p_r, p_g = DENSITY_PAIRS[name]
    assert gan_1d["value_at_optimum"](p_r, p_g) == pytest.approx(value_at_optimal_discriminator(p_r, p_g), abs=1e-8)
    assert gan_1d["js_divergence"](p_r, p_g) == pytest.approx(js_divergence(p_r, p_g), abs=1e-8)

@pytest.mark.parametrize("name", list(DENSITY_PAIRS))
def test_value_at_optimum_is_minus_two_log_two_when_pg_equals_pr(name):
    p_r, _ = DENSITY_PAIRS[name]
    assert value_at_optimal_discriminator(p_r, p_r) == pytest.approx(-2 * LOG2, abs=1e-9)
    assert js_divergence(p_r, p_r) == pytest.approx(0.0, abs=1e-10)


def test_value_at_optimum_is_zero_for_disjoint_supports():
    # JS = log 2 for disjoint supports, so the discriminator is perfect and v(G, D*) = 0.
    p_r, p_g = stats.uniform(0.0, 1.0), stats.uniform(2.0, 1.0)
    assert js_divergence(p_r, p_g) == pytest.approx(LOG2, abs=1e-9)
    assert value_at_optimal_discriminator(p_r, p_g) == pytest.approx(0.0, abs=1e-9)


def test_optimal_discriminator_beats_other_discriminators():
    # v(G, D) for D = D* is larger than for perturbed or swapped discriminators.
    p_r, p_g = DENSITY_PAIRS["two normals, different widths"]

    def value(d):
        def integrand(x):
            return xlogy(p_r.pdf(x), d(x)) + xlogy(p_g.pdf(x), 1.0 - d(x))

        return _quad(integrand, p_r, p_g)

    d_star = lambda x: p_r.pdf(x) / (p_r.pdf(x) + p_g.pdf(x))  # noqa: E731
    v_star = value(d_star)
    assert v_star == pytest.approx(value_at_optimal_discriminator(p_r, p_g), abs=1e-9)
    for other in (lambda x: 0.5 + 0 * x, lambda x: 1 - d_star(x), lambda x: 0.9 * d_star(x) + 0.05):
        assert value(other) < v_star - 1e-3


# ---------------------------------------------------------------------------
# (a) a discriminator trained by binary cross-entropy learns D*
# ---------------------------------------------------------------------------


def test_trained_discriminator_matches_optimal_discriminator():
    r"""A logistic discriminator in (x, x^2), fitted by BCE, recovers D* = p_r / (p_r + p_g).

    For two Gaussians, logit D* = log p_r - log p_g is a quadratic in x, so the model
    D(x) = sigmoid(w0 + w1 x + w2 x^2) contains D*: the only error is statistical.
    Minimising the BCE on n samples of each density is maximum-likelihood logistic
    regression, whose coefficients have standard errors of order 1/sqrt(n) times the
    scale of the features; with n = 40,000 per class that is a few 1e-3, i.e. logit
    errors below ~0.05 where the data are, and since |dD/dlogit| = D(1-D) <= 1/4, errors
    in D below ~0.0125. A tolerance of 0.03 is about three times this, small against
    the values D* takes (from ~0 to ~1), and the test checks that the wrong target
    p_g / (p_r + p_g) misses by far more.
    """
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    p_r, p_g = stats.norm(1.0, 0.8), stats.norm(-0.5, 1.2)
    n = 40_000
    x = torch.as_tensor(np.concatenate([p_r.rvs(n, random_state=rng), p_g.rvs(n, random_state=rng)]))
    y = torch.cat([torch.ones(n), torch.zeros(n)]).double()
    features = torch.stack([x, x**2], dim=1)  # (2n, 2)
    model = torch.nn.Linear(2, 1).double()
    opt = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=200, tolerance_grad=1e-10, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(features)[:, 0], y)  # = -v(G, D) / 2
        loss.backward()
        return loss

    opt.step(closure)

    grid = np.linspace(-3.0, 3.5, 300)
    m = 0.5 * (p_r.pdf(grid) + p_g.pdf(grid))
    region = m > 0.02  # where the mixture carries mass, i.e. where there are samples
    g = torch.as_tensor(grid)
    with torch.no_grad():
        d = torch.sigmoid(model(torch.stack([g, g**2], dim=1))[:, 0]).numpy()
    d_star = p_r.pdf(grid) / (p_r.pdf(grid) + p_g.pdf(grid))  # eq. gans-optimal-discriminator
    wrong = p_g.pdf(grid) / (p_r.pdf(grid) + p_g.pdf(grid))
    tol = 0.03
    assert np.abs(d - d_star)[region].max() < tol
    assert np.abs(d - wrong)[region].max() > 10 * tol
    # the learned logit is the log density ratio log p_r - log p_g: compare the quadratic's coefficients
    mu_r, s_r, mu_g, s_g = 1.0, 0.8, -0.5, 1.2
    w, c = model.weight.detach().numpy()[0], model.bias.item()
    assert w[0] == pytest.approx(mu_r / s_r**2 - mu_g / s_g**2, abs=0.1)  # coefficient of x
    assert w[1] == pytest.approx(-1 / (2 * s_r**2) + 1 / (2 * s_g**2), abs=0.1)  # coefficient of x^2
    assert c == pytest.approx(-(mu_r**2) / (2 * s_r**2) + mu_g**2 / (2 * s_g**2) + np.log(s_g / s_r), abs=0.1)


def test_small_mlp_discriminator_matches_optimal_discriminator():
    r"""A small MLP trained by Adam on fresh minibatches also approaches D*.

    Unlike the logistic model it can represent D* only approximately and is trained by
    noisy steps, so the tolerance is looser: 0.06 on the region where the mixture density
    exceeds 0.05, which 400 steps of 1,024 samples each reach (errors are typically 0.01-0.03).
    """
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    p_r, p_g = stats.norm(1.5, 0.6), stats.norm(-1.0, 1.0)
    net = torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(400):
        x_real = torch.as_tensor(p_r.rvs((1024, 1), random_state=rng), dtype=torch.float32)
        x_fake = torch.as_tensor(p_g.rvs((1024, 1), random_state=rng), dtype=torch.float32)
        d_real, d_fake = net(x_real), net(x_fake)
        loss = F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real)) + F.binary_cross_entropy_with_logits(
            d_fake, torch.zeros_like(d_fake)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    grid = np.linspace(-3.0, 3.0, 200)
    region = 0.5 * (p_r.pdf(grid) + p_g.pdf(grid)) > 0.05
    with torch.no_grad():
        d = torch.sigmoid(net(torch.as_tensor(grid, dtype=torch.float32)[:, None]))[:, 0].numpy()
    d_star = p_r.pdf(grid) / (p_r.pdf(grid) + p_g.pdf(grid))
    assert np.abs(d - d_star)[region].max() < 0.06
    assert np.abs(d - (1 - d_star))[region].max() > 0.5


# ---------------------------------------------------------------------------
# (d) saturating vs non-saturating generator losses
# ---------------------------------------------------------------------------


def saturating_loss(logits):
    r"""log(1 - D) with D = sigmoid(l), to be minimised by the generator (eq. gans-saturating-loss)."""
    return F.logsigmoid(-logits)


def nonsaturating_loss(logits):
    r"""-log D with D = sigmoid(l) (eq. gans-nonsaturating-loss)."""
    return -F.logsigmoid(logits)


def test_logit_gradients_of_the_two_generator_losses():
    logits = torch.linspace(-30.0, 30.0, 6001, dtype=torch.float64, requires_grad=True)
    (g_sat,) = torch.autograd.grad(saturating_loss(logits).sum(), logits)
    (g_ns,) = torch.autograd.grad(nonsaturating_loss(logits).sum(), logits)
    d = torch.sigmoid(logits.detach())
    # closed forms: d/dl log(1 - sigmoid(l)) = -sigmoid(l); d/dl (-log sigmoid(l)) = sigmoid(l) - 1
    torch.testing.assert_close(g_sat, -d, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(g_ns, d - 1, rtol=1e-12, atol=1e-15)
    # both push D(G(h)) up (negative derivative), with ratio D / (1 - D)
    assert (g_sat < 0).all() and (g_ns < 0).all()
    middle = logits.detach().abs() <= 15  # where 1 - D is still accurate in float64
    torch.testing.assert_close((g_sat / g_ns)[middle], (d / (1 - d))[middle], rtol=1e-9, atol=0)
    # saturation: where D rejects the fakes the saturating gradient vanishes, the other does not
    rejected = d < 1e-3
    assert rejected.any()
    assert g_sat[rejected].abs().max() < 1e-3 and g_ns[rejected].abs().min() > 0.999
    # finite differences agree as well (a check on the closed forms independent of autograd)
    eps = 1e-6
    l0 = torch.tensor([-5.0, -1.0, 0.0, 2.0], dtype=torch.float64)
    fd_sat = (saturating_loss(l0 + eps) - saturating_loss(l0 - eps)) / (2 * eps)
    torch.testing.assert_close(fd_sat, -torch.sigmoid(l0), rtol=1e-7, atol=1e-9)


def _gaussian_generator_gradients(a, b, mu_r, sigma_r, loss_fn, num_nodes=120):
    r"""Gradient wrt (a, b) of E_h[loss(l*(G(h)))] for G(h) = a h + b, h ~ N(0, 1), D* held fixed.

    l*(x) = log p_r(x) - log p_g(x) is the logit of the optimal discriminator for the current
    generator p_g = N(b, a^2); it is held fixed (no gradient through p_g), as in an
    alternating update. The expectation over h uses Gauss-Hermite quadrature.
    """
    nodes, weights = np.polynomial.hermite_e.hermegauss(num_nodes)
    h = torch.as_tensor(nodes)
    w = torch.as_tensor(weights / weights.sum())
    theta = torch.tensor([a, b], dtype=torch.float64, requires_grad=True)
    x = theta[0] * h + theta[1]  # G(h)
    p_r = torch.distributions.Normal(torch.tensor(mu_r, dtype=torch.float64), torch.tensor(sigma_r, dtype=torch.float64))
    p_g = torch.distributions.Normal(torch.tensor(b, dtype=torch.float64), torch.tensor(abs(a), dtype=torch.float64))
    logit_star = p_r.log_prob(x) - p_g.log_prob(x)  # parameters of p_g are constants here
    (grad,) = torch.autograd.grad((w * loss_fn(logit_star)).sum(), theta)
    return grad.numpy()


def _finite_difference(f, theta, eps=1e-5):
    theta = np.asarray(theta, dtype=float)
    out = np.zeros_like(theta)
    for i in range(len(theta)):
        e = np.zeros_like(theta)
        e[i] = eps
        out[i] = (f(theta + e) - f(theta - e)) / (2 * eps)
    return out


def test_both_generator_losses_are_stationary_at_pg_equal_pr():
    mu_r, sigma_r = 1.0, 0.7
    for loss_fn in (saturating_loss, nonsaturating_loss):
        grad = _gaussian_generator_gradients(sigma_r, mu_r, mu_r, sigma_r, loss_fn)
        np.testing.assert_allclose(grad, 0.0, atol=1e-12)  # D* = 1/2 everywhere: l* = 0, flat
        # and not stationary away from it
        for a, b in ((sigma_r, mu_r + 0.5), (1.5 * sigma_r, mu_r), (0.6, -1.0)):
            assert np.linalg.norm(_gaussian_generator_gradients(a, b, mu_r, sigma_r, loss_fn)) > 1e-2


@pytest.mark.parametrize("a, b", [(1.0, -1.0), (0.5, 0.3), (1.3, 2.0)])
def test_saturating_gradient_at_optimal_discriminator_is_gradient_of_two_js(a, b):
    r"""With D = D* held fixed, grad_theta E[log(1 - D*(G(h)))] = grad_theta 2 JS(p_r || p_g).

    (Envelope theorem: dv/dD = 0 at D*, so only the explicit dependence on theta remains.)
    """
    mu_r, sigma_r = 1.0, 0.7
    p_r = stats.norm(mu_r, sigma_r)
    grad = _gaussian_generator_gradients(a, b, mu_r, sigma_r, saturating_loss)
    expected = _finite_difference(lambda t: 2 * js_divergence(p_r, stats.norm(t[1], abs(t[0]))), [a, b])
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("a, b", [(1.0, -1.0), (0.5, 0.3), (1.3, 2.0)])
def test_nonsaturating_gradient_at_optimal_discriminator(a, b):
    r"""With D = D* held fixed, grad_theta E[-log D*(G(h))] = grad_theta [KL(p_g || p_r) - 2 JS(p_r || p_g)].

    Arjovsky & Bottou (2017), Theorem 2.5: the non-saturating loss descends the reverse
    KL minus twice the JS divergence, so the two losses follow different paths but both
    stop at p_g = p_r (test above).
    """
    mu_r, sigma_r = 1.0, 0.7
    p_r = stats.norm(mu_r, sigma_r)

    def kl_g_r(t):  # closed-form KL(N(b, a^2) || N(mu_r, sigma_r^2))
        s, m = abs(t[0]), t[1]
        return np.log(sigma_r / s) + (s**2 + (m - mu_r) ** 2) / (2 * sigma_r**2) - 0.5

    grad = _gaussian_generator_gradients(a, b, mu_r, sigma_r, nonsaturating_loss)
    expected = _finite_difference(lambda t: kl_g_r(t) - 2 * js_divergence(p_r, stats.norm(t[1], abs(t[0]))), [a, b])
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-7)
    # the two losses really differ away from the equilibrium
    assert not np.allclose(grad, _gaussian_generator_gradients(a, b, mu_r, sigma_r, saturating_loss), rtol=1e-2)


# ---------------------------------------------------------------------------
# (e) the WGAN-GP gradient penalty
# ---------------------------------------------------------------------------


# The notebook's own gradient_penalty, taken from book/gans/wgan_modes_torch.py (eq. gans-wgan-gp).
gradient_penalty = notebook_functions("book/gans/wgan_modes_torch.py", ["gradient_penalty"], {"torch": torch})[
    "gradient_penalty"
]


def _linear_critic(weight, bias=0.3):
    critic = torch.nn.Linear(len(weight), 1).double()
    with torch.no_grad():
        critic.weight.copy_(torch.as_tensor(weight, dtype=torch.float64)[None])
        critic.bias.fill_(bias)
    return critic


def test_gradient_penalty_of_unit_norm_linear_critic_is_zero():
    gen = torch.Generator().manual_seed(0)
    x_real = torch.randn(256, 3, generator=gen, dtype=torch.float64)
    x_fake = 2 + torch.randn(256, 3, generator=gen, dtype=torch.float64)
    w = np.array([1.0, -2.0, 2.0]) / 3.0  # ||w|| = 1: f(x) = w.x + c is 1-Lipschitz with |grad f| = 1
    gp = gradient_penalty(_linear_critic(w), x_real, x_fake)
    assert gp.item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("norm", [0.0, 0.5, 2.0, 3.0])
def test_gradient_penalty_of_linear_critic_is_lambda_times_norm_minus_one_squared(norm):
    gen = torch.Generator().manual_seed(1)
    x_real = torch.randn(128, 2, generator=gen, dtype=torch.float64)
    x_fake = torch.randn(128, 2, generator=gen, dtype=torch.float64)
    w = norm * np.array([0.6, 0.8])
    critic = _linear_critic(w)
    gp = gradient_penalty(critic, x_real, x_fake, lam=10.0)
    assert gp.item() == pytest.approx(10.0 * (norm - 1.0) ** 2, rel=1e-12, abs=1e-12)
    assert gp.item() > 0
    # the penalty is differentiable in the critic's weights (create_graph=True):
    # d/dw lam (|w| - 1)^2 = 2 lam (|w| - 1) w / |w|
    if norm > 0:
        gp.backward()
        expected = 2 * 10.0 * (norm - 1.0) * w / norm
        np.testing.assert_allclose(critic.weight.grad.numpy()[0], expected, rtol=1e-10)


def test_gradient_penalty_of_nonlinear_critic_is_positive():
    torch.manual_seed(2)
    critic = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).double()
    x_real = torch.randn(256, 2, dtype=torch.float64)
    x_fake = torch.randn(256, 2, dtype=torch.float64) + 3
    gp = gradient_penalty(critic, x_real, x_fake)
    # its gradient norm varies from point to point, so it cannot be 1 everywhere
    assert gp.item() > 1e-3
