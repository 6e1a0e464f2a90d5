r"""The conditional GAN of book/gans/theory.md (eqs. gans-conditional-game and
gans-conditional-optimal-discriminator), by exact enumeration.

On a small discrete space (five values of x, three labels y) every expectation of the
conditional value function is a finite sum, so the optimal discriminator and the optimal
generator can be found by numerical optimisation and compared with the closed forms:

- with the fake labels drawn from the data's label marginal p(y), the discriminator that
  maximises the value function is D*(x, y) = p_r(x | y) / (p_r(x | y) + p_g(x | y)): the
  derivation of D* goes through for each y separately, and the label marginal cancels;
- drawn from another marginal q(y), the maximiser is p(y) p_r(x|y) / (p(y) p_r(x|y) + q(y) p_g(x|y))
  instead, which differs, and even a generator with every conditional right then loses
  (D* != 1/2, v(G, D*) > -2 log 2): the labels alone give the fakes away, and no generator
  brings the value below 2 JS(p(y) || q(y)) - 2 log 2;
- v(G, D*) = sum_y p(y) [2 JS(p_r(.|y) || p_g(.|y))] - 2 log 2, and minimising it over the
  generator's conditionals returns p_g(x | y) = p_r(x | y) for every y.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize
from scipy.spatial.distance import jensenshannon
from scipy.special import expit, softmax, xlogy

LOG2 = np.log(2.0)
RNG = np.random.default_rng(0)
P_Y = np.array([0.5, 0.3, 0.2])  # the data's label marginal p(y)
P_R = RNG.dirichlet(np.ones(5), size=3)  # p_r(x | y), one row per label: (3, 5)
P_G = RNG.dirichlet(np.ones(5), size=3)  # the generator's p_g(x | y)


def conditional_value(d, p_r_cond, p_g_cond, label_marginal_fake):
    r"""Eq. gans-conditional-game for a table d(x, y), shape (3, 5), as an exact sum.

    E_{(x, y) ~ p_r}[log D(x, y)] + E_{y ~ q, x ~ p_g(.|y)}[log(1 - D(x, y))], with the data's
    labels from P_Y and the fake labels from label_marginal_fake.
    """
    real = P_Y[:, None] * p_r_cond  # p_r(x, y)
    fake = label_marginal_fake[:, None] * p_g_cond  # the fakes' joint distribution of (x, y)
    return float(np.sum(xlogy(real, d) + xlogy(fake, 1.0 - d)))


def best_discriminator(p_r_cond, p_g_cond, label_marginal_fake):
    """Maximise the conditional value function over the table of logits l(x, y) of D = sigmoid(l),
    by BFGS.

    The gradient is that of the sum itself, d/dl [a log sigmoid(l) + b log(1 - sigmoid(l))] = a (1 -
    D) - b D
    with a, b the real and fake joint probabilities of the cell; it says nothing about where it
    vanishes.
    """
    real = (P_Y[:, None] * p_r_cond).ravel()
    fake = (label_marginal_fake[:, None] * p_g_cond).ravel()

    def objective(logits):
        d = expit(logits)
        return -conditional_value(d.reshape(3, 5), p_r_cond, p_g_cond, label_marginal_fake), -(
            real * (1 - d) - fake * d
        )

    res = optimize.minimize(
        objective, np.zeros(15), jac=True, method="BFGS", options={"gtol": 1e-13, "maxiter": 1000}
    )
    return expit(res.x.reshape(3, 5)), -res.fun


def test_optimal_conditional_discriminator_is_the_ratio_of_conditionals():
    r"""Fake labels from p(y): the learned maximiser is p_r(x|y) / (p_r(x|y) + p_g(x|y)),
    label-free."""
    d, value = best_discriminator(P_R, P_G, P_Y)
    d_star = P_R / (P_R + P_G)  # eq. gans-optimal-discriminator for each y separately
    np.testing.assert_allclose(d, d_star, atol=1e-6)
    assert value == pytest.approx(conditional_value(d_star, P_R, P_G, P_Y), abs=1e-12)
    # and the value at D* is the label-weighted JS of the conditionals (jensenshannon returns
    # sqrt(JS))
    js = np.array([jensenshannon(P_R[y], P_G[y]) ** 2 for y in range(3)])
    assert value == pytest.approx(2 * P_Y @ js - 2 * LOG2, abs=1e-12)


def test_fake_labels_from_another_marginal_change_the_optimal_discriminator():
    r"""Fake labels from q(y) != p(y): D* = p(y) p_r(x|y) / (p(y) p_r(x|y) + q(y) p_g(x|y)), not the
    ratio of conditionals."""
    q_y = np.array([0.2, 0.3, 0.5])
    d, _ = best_discriminator(P_R, P_G, q_y)
    expected = P_Y[:, None] * P_R / (P_Y[:, None] * P_R + q_y[:, None] * P_G)
    np.testing.assert_allclose(d, expected, atol=1e-6)
    conditional_ratio = P_R / (P_R + P_G)
    assert np.abs(d - conditional_ratio).max() > 0.1  # far beyond the optimiser's 1e-6
    # a generator with every conditional right still loses on the labels alone
    d_perfect, value = best_discriminator(P_R, P_R, q_y)
    np.testing.assert_allclose(
        d_perfect, np.broadcast_to((P_Y / (P_Y + q_y))[:, None], (3, 5)), atol=1e-6
    )
    assert value > -2 * LOG2 + 0.05
    # with the right marginal the same generator is perfect: D* = 1/2, v = -2 log 2
    d_half, value_half = best_discriminator(P_R, P_R, P_Y)
    np.testing.assert_allclose(d_half, 0.5, atol=1e-6)
    assert value_half == pytest.approx(-2 * LOG2, abs=1e-10)


def test_optimal_conditional_generator_reproduces_every_conditional():
    r"""Minimising v(G, D*) over p_g(x | y) = softmax(a_y) returns p_r(x | y) for each y, at v = -2
    log 2."""

    def v_at_optimal_discriminator(a):
        p_g = softmax(a.reshape(3, 5), axis=1)
        return conditional_value(P_R / (P_R + p_g), P_R, p_g, P_Y)

    start = np.log(P_G).ravel()
    res = optimize.minimize(
        v_at_optimal_discriminator, start, method="BFGS", options={"gtol": 1e-11, "maxiter": 2000}
    )
    np.testing.assert_allclose(softmax(res.x.reshape(3, 5), axis=1), P_R, atol=1e-5)
    assert res.fun == pytest.approx(-2 * LOG2, abs=1e-9)
    assert v_at_optimal_discriminator(start) > res.fun + 0.05


def test_other_label_marginal_keeps_the_value_above_the_labels_js():
    r"""With fake labels from q(y) != p(y), v(G, D*) = 2 JS(joint || joint) - 2 log 2 >= 2 JS(p(y)
    || q(y)) - 2 log 2.

    The JS divergence between the joint distributions can only shrink when x is forgotten; the
    bound is attained by the generator that reproduces every conditional, and no generator,
    here 200 random ones, goes below it.
    """
    q_y = np.array([0.2, 0.3, 0.5])
    floor = 2 * jensenshannon(P_Y, q_y) ** 2 - 2 * LOG2

    def value_at_d_star(p_g_cond):
        real, fake = P_Y[:, None] * P_R, q_y[:, None] * p_g_cond
        d_star = real / (real + fake)  # eq. gans-optimal-discriminator on the joint (x, y)
        value = conditional_value(d_star, P_R, p_g_cond, q_y)
        assert value == pytest.approx(
            2 * jensenshannon(real.ravel(), fake.ravel()) ** 2 - 2 * LOG2, abs=1e-12
        )
        return value

    # every conditional right: the floor
    assert value_at_d_star(P_R) == pytest.approx(floor, abs=1e-12)
    rng = np.random.default_rng(5)
    values = [value_at_d_star(rng.dirichlet(np.ones(5), size=3)) for _ in range(200)]
    assert min(values) > floor
    assert floor > -2 * LOG2 + 0.05  # and the floor is above the unconditional optimum -2 log 2
