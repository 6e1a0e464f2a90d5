r"""The mathematics of the GAN chapter (book/gans/theory.md), checked numerically.

- the optimal discriminator D* = p_r / (p_r + p_g) (eq. gans-optimal-discriminator):
  a discriminator trained by binary cross-entropy on samples learns it, the
  pointwise maximiser of A log y + B log(1 - y) is A / (A + B), it beats the constant
  D = 1/2, which beats the swapped 1 - D*, and for two unit normals it is the logistic
  regression of exercise gans-ex-optimal-d;
- the value at the optimum v(G, D*) = 2 JS(p_r || p_g) - 2 log 2
  (eq. gans-loss-at-optimum), with v and JS computed by independent quadratures
  (the densities: scipy.stats and genmod.data.Mixture), and the notebook's own quadratures;
- the saturating and non-saturating generator losses (eqs. gans-saturating-loss,
  gans-nonsaturating-loss): their logit gradients -D and -(1 - D), their common
  stationary point, and the divergences their gradients descend at D*
  (Goodfellow et al. 2014, Sec. 3; Arjovsky & Bottou 2017, Theorem 2.5);
- the WGAN-GP gradient penalty genmod.gan.gradient_penalty (eq. gans-wgan-gp; Gulrajani
  et al. 2017, eq. 3), including one uniform interpolation weight per pair.

Everything runs on the CPU in double precision, offline, in a few seconds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import integrate, optimize, stats
from scipy.special import xlogy

from genmod.data import Mixture
from notebook_code import notebook_functions

LOG2 = np.log(2.0)
# Monte Carlo tolerance, in standard errors computed from the samples: a correct estimate
# misses by more with probability 2 (1 - Phi(5)) = 5.7e-7 per comparison (a normal estimate).
NUM_SE = 5.0


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


class OnTheLine:
    r"""A one-dimensional :class:`genmod.data.Mixture` seen as the quadratures below need it.

    The quadratures call ``pdf`` and ``logpdf`` at one point at a time (``scipy.integrate.quad``)
    and need tail quantiles to choose the integration limits, which a mixture has in no closed
    form: the most extreme quantile of a component bounds the mixture's, since the mixture's
    tail mass beyond the components' extreme ``q``-quantiles is at most ``q``. The density
    itself comes from genmod; only the bookkeeping for ``quad`` is here.
    """

    def __init__(self, mixture):
        assert mixture.dim == 1
        self.mixture = mixture
        self.components = [stats.norm(m, s) for m, s in zip(mixture.means[:, 0], mixture.stds)]

    def logpdf(self, x):
        return self.mixture.logpdf(np.atleast_1d(x)).reshape(np.shape(x))

    def pdf(self, x):
        return np.exp(self.logpdf(x))

    def ppf(self, q):
        return min(c.ppf(q) for c in self.components)

    def isf(self, q):
        return max(c.isf(q) for c in self.components)

    def mean(self):
        return float(self.mixture.mean()[0])

    def breakpoints(self):
        return list(self.mixture.means[:, 0])


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
    return sum(
        integrate.quad(integrand, a, b, limit=200, epsabs=1e-12, epsrel=1e-10)[0]
        for a, b in zip(edges[:-1], edges[1:])
    )


def value_at_optimal_discriminator(p_r, p_g):
    r"""v(G, D*) = \int [p_r log D* + p_g log(1 - D*)] dx with D* = p_r / (p_r + p_g).

    Written with xlogy so that 0 log 0 = 0 where one density vanishes (disjoint supports).
    """

    def integrand(x):
        a, b = p_r.pdf(x), p_g.pdf(x)
        d_star = a / (a + b) if a + b > 0 else 0.5  # D* may be anything where a = b = 0
        return xlogy(a, d_star) + xlogy(b, 1.0 - d_star)

    return _quad(integrand, p_r, p_g)


def optimal_discriminator(p_r, p_g, x):
    r"""D*(x) = p_r / (p_r + p_g) (eq. gans-optimal-discriminator); 1/2 where both vanish."""
    a, b = p_r.pdf(x), p_g.pdf(x)
    return a / (a + b) if a + b > 0 else 0.5


def value_of_discriminator(p_r, p_g, d):
    r"""v(G, D) = \int [p_r log D + p_g log(1 - D)] dx for a discriminator d(x) (eq.
    gans-value-function).

    It is -inf when D = 0 (or 1) on an interval where p_r (or p_g) has mass, as for D = 1 - D*
    on the parts of two supports that do not overlap; a grid over the bulk of both densities
    finds such intervals before the quadrature is tried.
    """

    def integrand(x):
        y = d(x)
        return xlogy(p_r.pdf(x), y) + xlogy(p_g.pdf(x), 1.0 - y)

    grid = np.linspace(
        min(p.ppf(1e-6) for p in (p_r, p_g)), max(p.isf(1e-6) for p in (p_r, p_g)), 2001
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        if np.isneginf(integrand(grid)).any():
            return -np.inf
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
        OnTheLine(Mixture([-2.0, 1.5], [0.5, 0.7], weights=[0.3, 0.7])),
        stats.norm(0.0, 1.5),
    ),
    "overlapping uniforms": (stats.uniform(0.0, 1.0), stats.uniform(0.5, 2.0)),
}


# ---------------------------------------------------------------------------
# (c) the pointwise maximiser A log y + B log(1 - y) -> A / (A + B)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b", [(1.0, 1.0), (0.3, 2.0), (5.0, 0.01), (1e-3, 1e-3), (0.25, 0.75), (3.0, 7.0)]
)
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
            lambda y: -xlogy(a, y) - xlogy(b, 1 - y),
            bounds=(0.0, 1.0),
            method="bounded",
            options={"xatol": 1e-12},
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
    v_half = -2 * LOG2  # D = 1/2: log(1/2) integrated against p_r and against p_g
    swapped = lambda x: p_g.pdf(x) / (p_r.pdf(x) + p_g.pdf(x))  # noqa: E731  1 - D*, the densities' roles swapped
    v_swapped = value_of_discriminator(p_r, p_g, swapped)
    assert v_star > v_half + 1e-6
    # 1 - D* is worse than guessing: it prefers the wrong density everywhere
    assert v_swapped < v_half - 1e-6
    assert js_divergence(p_g, p_r) == pytest.approx(jsd, abs=1e-10)  # JS is symmetric


@pytest.fixture(scope="module")
def gan_1d():
    """The quadratures that book/gans/gan_1d_torch.py prints as its check of eq.
    gans-loss-at-optimum."""
    return notebook_functions(
        "book/gans/gan_1d_torch.py",
        ["integration_limits", "value_at_optimum", "js_divergence"],
        {"np": np, "integrate": integrate},
    )


# the notebook's use logpdf: full supports
@pytest.mark.parametrize("name", [n for n in DENSITY_PAIRS if "uniform" not in n])
def test_notebook_quadratures_agree_with_the_independent_ones(gan_1d, name):
    p_r, p_g = DENSITY_PAIRS[name]
    assert gan_1d["value_at_optimum"](p_r, p_g) == pytest.approx(
        value_at_optimal_discriminator(p_r, p_g), abs=1e-8
    )
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
    # the perfect discriminator: D* = 1 on the support of p_r, 0 on that of p_g
    assert all(optimal_discriminator(p_r, p_g, x) == 1.0 for x in np.linspace(0.01, 0.99, 9))
    assert all(optimal_discriminator(p_r, p_g, x) == 0.0 for x in np.linspace(2.01, 2.99, 9))


def test_optimal_discriminator_with_an_atom_is_a_density_with_respect_to_the_sum():
    r"""Eq. gans-optimal-discriminator as d p_r / d nu with nu = p_r + p_g, where p_g has no
    Lebesgue density.

    p_r = (delta_0 + N(0, 1)) / 2 and p_g = delta_0 (a generator that collapsed onto one point).
    With
    respect to nu, p_r has density 1/3 at the atom and 1 on the rest, so D*(0) = 1/3 and D* = 1
    elsewhere. Maximising v over the value D(0) (the only free value where p_g has mass) finds 1/3;
    v(G, D*) = (1/2) log(1/3) + log(2/3) = 2 JS - 2 log 2, with JS computed on the partition
    {0}, R minus {0}, on whose cells the density ratio is constant.
    """
    from scipy.spatial.distance import jensenshannon

    # the masses p_r({0}) and p_g({0}); p_r's other 1/2 is N(0, 1), where D = 1 is best
    atom_r, atom_g = 0.5, 1.0
    res = optimize.minimize_scalar(
        lambda y: -(atom_r * np.log(y) + atom_g * np.log1p(-y)),
        bounds=(1e-12, 1 - 1e-12),
        method="bounded",
        options={"xatol": 1e-12},
    )
    # = d p_r / d nu at the atom = 1/3
    assert res.x == pytest.approx(atom_r / (atom_r + atom_g), abs=1e-8)
    v_star = atom_r * np.log(1 / 3) + atom_g * np.log(2 / 3) + 0.5 * np.log(1.0)
    js = jensenshannon([atom_r, 0.5], [atom_g, 0.0]) ** 2
    assert v_star == pytest.approx(2 * js - 2 * LOG2, abs=1e-12)
    assert -2 * LOG2 < v_star < 0.0  # neither the optimum of the game nor a perfect discriminator


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


@pytest.mark.parametrize("mu", [-2.0, 0.3, 1.0, 3.0])
def test_optimal_discriminator_of_two_unit_normals_is_a_logistic_regression(mu):
    r"""Exercise gans-ex-optimal-d (b): for p_r = N(0, 1), p_g = N(mu, 1), D*(x) = sigmoid(-mu x +
    mu^2 / 2).

    The left side is eq. gans-optimal-discriminator from the two densities, the right side the
    exercise's closed form; the decision boundary D* = 1/2 is the midpoint x = mu / 2.
    """
    p_r, p_g = stats.norm(0.0, 1.0), stats.norm(mu, 1.0)
    x = np.linspace(-6.0, 6.0, 241)
    d_star = p_r.pdf(x) / (p_r.pdf(x) + p_g.pdf(x))
    logistic = 1.0 / (1.0 + np.exp(-(-mu * x + mu**2 / 2)))
    np.testing.assert_allclose(d_star, logistic, rtol=1e-12, atol=1e-15)
    assert optimal_discriminator(p_r, p_g, mu / 2) == pytest.approx(0.5, abs=1e-14)


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
    x = torch.as_tensor(
        np.concatenate([p_r.rvs(n, random_state=rng), p_g.rvs(n, random_state=rng)])
    )
    y = torch.cat([torch.ones(n), torch.zeros(n)]).double()
    features = torch.stack([x, x**2], dim=1)  # (2n, 2)
    model = torch.nn.Linear(2, 1).double()
    opt = torch.optim.LBFGS(
        model.parameters(),
        lr=1.0,
        max_iter=200,
        tolerance_grad=1e-10,
        line_search_fn="strong_wolfe",
    )

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
    # the learned logit is the log density ratio log p_r - log p_g: compare the quadratic's
    # coefficients
    mu_r, s_r, mu_g, s_g = 1.0, 0.8, -0.5, 1.2
    w, c = model.weight.detach().numpy()[0], model.bias.item()
    assert w[0] == pytest.approx(mu_r / s_r**2 - mu_g / s_g**2, abs=0.1)  # coefficient of x
    # coefficient of x^2
    assert w[1] == pytest.approx(-1 / (2 * s_r**2) + 1 / (2 * s_g**2), abs=0.1)
    assert c == pytest.approx(
        -(mu_r**2) / (2 * s_r**2) + mu_g**2 / (2 * s_g**2) + np.log(s_g / s_r), abs=0.1
    )


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
        loss = F.binary_cross_entropy_with_logits(
            d_real, torch.ones_like(d_real)
        ) + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
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
    r"""log(1 - D), D = sigmoid(l), minimised by the generator (eq. gans-saturating-loss)."""
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


def test_genmod_gan_losses_are_the_chapter_equations():
    r"""genmod.gan's losses (used by the notebooks) against the equations written with D =
    sigmoid(l).

    L_D = -[mean log D(x) + mean log(1 - D(G(h)))] (eq. gans-value-function), the saturating
    mean log(1 - D) (eq. gans-saturating-loss), the non-saturating -mean log D (eq.
    gans-nonsaturating-loss) and the critic's E_pg f - E_pr f (eq. gans-wgan-dual); where D
    rounds to 0 or 1 in float64 (|l| = 40) they stay finite and equal the logit forms.
    """
    from genmod.gan import (
        critic_loss,
        discriminator_loss,
        generator_loss_nonsaturating,
        generator_loss_saturating,
    )

    gen = torch.Generator().manual_seed(4)
    l_real = 3 * torch.randn(257, 1, generator=gen, dtype=torch.float64)
    l_fake = 3 * torch.randn(257, 1, generator=gen, dtype=torch.float64)
    d_real, d_fake = torch.sigmoid(l_real), torch.sigmoid(l_fake)
    torch.testing.assert_close(
        discriminator_loss(l_real, l_fake),
        -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean()),
        rtol=1e-12,
        atol=0,
    )
    torch.testing.assert_close(
        generator_loss_saturating(l_fake), torch.log(1 - d_fake).mean(), rtol=1e-12, atol=0
    )
    torch.testing.assert_close(
        generator_loss_nonsaturating(l_fake), -torch.log(d_fake).mean(), rtol=1e-12, atol=0
    )
    torch.testing.assert_close(
        critic_loss(l_real, l_fake), l_fake.mean() - l_real.mean(), rtol=1e-12, atol=0
    )
    zero = torch.zeros(10, 1, dtype=torch.float64)  # D = 1/2: log 4, log(1/2), log 2
    assert discriminator_loss(zero, zero).item() == pytest.approx(2 * LOG2, rel=1e-14)
    assert generator_loss_saturating(zero).item() == pytest.approx(-LOG2, rel=1e-14)
    assert generator_loss_nonsaturating(zero).item() == pytest.approx(LOG2, rel=1e-14)
    extreme = torch.tensor([[-40.0], [40.0]], dtype=torch.float64)
    for loss in (
        discriminator_loss(extreme, extreme),
        generator_loss_saturating(extreme),
        generator_loss_nonsaturating(extreme),
    ):
        assert torch.isfinite(loss)
    assert generator_loss_nonsaturating(extreme).item() == pytest.approx(
        (40.0 + math.log1p(math.exp(-40.0))) / 2, rel=1e-12
    )


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
    p_r = torch.distributions.Normal(
        torch.tensor(mu_r, dtype=torch.float64), torch.tensor(sigma_r, dtype=torch.float64)
    )
    p_g = torch.distributions.Normal(
        torch.tensor(b, dtype=torch.float64), torch.tensor(abs(a), dtype=torch.float64)
    )
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
            assert (
                np.linalg.norm(_gaussian_generator_gradients(a, b, mu_r, sigma_r, loss_fn)) > 1e-2
            )


@pytest.mark.parametrize("a, b", [(1.0, -1.0), (0.5, 0.3), (1.3, 2.0)])
def test_saturating_gradient_at_optimal_discriminator_is_gradient_of_two_js(a, b):
    r"""With D = D* held fixed, grad_theta E[log(1 - D*(G(h)))] = grad_theta 2 JS(p_r || p_g).

    (Envelope theorem: dv/dD = 0 at D*, so only the explicit dependence on theta remains.)
    """
    mu_r, sigma_r = 1.0, 0.7
    p_r = stats.norm(mu_r, sigma_r)
    grad = _gaussian_generator_gradients(a, b, mu_r, sigma_r, saturating_loss)
    expected = _finite_difference(
        lambda t: 2 * js_divergence(p_r, stats.norm(t[1], abs(t[0]))), [a, b]
    )
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("a, b", [(1.0, -1.0), (0.5, 0.3), (1.3, 2.0)])
def test_nonsaturating_gradient_at_optimal_discriminator(a, b):
    r"""With D = D* held fixed, grad_theta E[-log D*(G(h))] = grad_theta [KL(p_g || p_r) - 2 JS(p_r
    || p_g)].

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
    expected = _finite_difference(
        lambda t: kl_g_r(t) - 2 * js_divergence(p_r, stats.norm(t[1], abs(t[0]))), [a, b]
    )
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-7)
    # the two losses really differ away from the equilibrium
    assert not np.allclose(
        grad, _gaussian_generator_gradients(a, b, mu_r, sigma_r, saturating_loss), rtol=1e-2
    )


# ---------------------------------------------------------------------------
# (e) the WGAN-GP gradient penalty
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gradient_penalty():
    """The book's gradient_penalty, genmod.gan.gradient_penalty, which book/gans/wgan_modes_torch.py
    shows and uses (eq. gans-wgan-gp)."""
    from genmod.gan import gradient_penalty as penalty

    return penalty


def _linear_critic(weight, bias=0.3):
    critic = torch.nn.Linear(len(weight), 1).double()
    with torch.no_grad():
        critic.weight.copy_(torch.as_tensor(weight, dtype=torch.float64)[None])
        critic.bias.fill_(bias)
    return critic


def test_gradient_penalty_of_unit_norm_linear_critic_is_zero(gradient_penalty):
    gen = torch.Generator().manual_seed(0)
    x_real = torch.randn(256, 3, generator=gen, dtype=torch.float64)
    x_fake = 2 + torch.randn(256, 3, generator=gen, dtype=torch.float64)
    # ||w|| = 1: f(x) = w.x + c is 1-Lipschitz with |grad f| = 1
    w = np.array([1.0, -2.0, 2.0]) / 3.0
    gp = gradient_penalty(_linear_critic(w), x_real, x_fake)
    assert gp.item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("norm", [0.0, 0.5, 2.0, 3.0])
def test_gradient_penalty_of_linear_critic_is_lambda_times_norm_minus_one_squared(
    gradient_penalty, norm
):
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


def test_gradient_penalty_of_nonlinear_critic_is_positive(gradient_penalty):
    torch.manual_seed(2)
    critic = torch.nn.Sequential(
        torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)
    ).double()
    x_real = torch.randn(256, 2, dtype=torch.float64)
    x_fake = torch.randn(256, 2, dtype=torch.float64) + 3
    gp = gradient_penalty(critic, x_real, x_fake)
    # its gradient norm varies from point to point, so it cannot be 1 everywhere
    assert gp.item() > 1e-3


def test_gradient_penalty_draws_one_uniform_eps_per_pair(gradient_penalty):
    r"""Eq. gans-wgan-gp: x_hat = eps x + (1 - eps) x_tilde with eps ~ U[0, 1] drawn afresh for each
    pair.

    A linear critic has the same gradient everywhere and cannot see where x_hat lies. The critic
    f(x) = x^2 / 2 in one dimension has |f'(x_hat)| = |x_hat|; with every pair (x, x_tilde) = (2,
    0),
    x_hat = 2 eps and the penalty is lam E[(2 eps - 1)^2] = lam / 3 when eps ~ U[0, 1]. With
    u = 2 eps - 1 ~ U[-1, 1], Var[u^2] = E u^4 - (E u^2)^2 = 1/5 - 1/9 = 4/45, so the batch mean
    of n pairs has standard error sqrt(4/45/n). One eps shared by the whole batch would give a
    single random value of (2 eps - 1)^2 instead, and eps ~ N(0, 1) would give lam (4 + 1).
    """
    torch.manual_seed(3)
    n, lam = 200_000, 10.0
    x_real = torch.full((n, 1), 2.0, dtype=torch.float64)
    x_fake = torch.zeros(n, 1, dtype=torch.float64)
    critic = lambda x: 0.5 * x**2  # noqa: E731
    gp = gradient_penalty(critic, x_real, x_fake, lam=lam).item()
    se = lam * math.sqrt(4 / 45 / n)
    assert abs(gp - lam / 3) < NUM_SE * se, (
        f"{abs(gp - lam / 3) / se:.1f} standard errors from lam / 3"
    )
    # and the draws really differ from pair to pair: two calls on the same inputs give different
    # penalties
    assert gradient_penalty(critic, x_real[:100], x_fake[:100], lam=lam).item() != gradient_penalty(
        critic, x_real[:100], x_fake[:100], lam=lam
    ).item()
