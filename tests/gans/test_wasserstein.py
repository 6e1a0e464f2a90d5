r"""The Wasserstein distance of the GAN chapter (book/gans/theory.md, "Wasserstein GANs"), computed
exactly.

For distributions on finitely many points the Kantorovich problem {gans-wgan-kantorovich}
is a linear program over couplings, and the Kantorovich-Rubinstein dual {gans-wgan-dual}
is a linear program over the values of a 1-Lipschitz critic on the points; both are solved
exactly (HiGHS) and compared with each other and with scipy.stats.wasserstein_distance(_nd).

- point masses (exercise gans-ex-kr-point-masses): W1 = |a - b|, attained by the critic
  |x - b|, whose gradient has norm 1; JS = log 2 for every b != a;
- the parallel segments of Arjovsky et al. (Example 1): W1 = |theta|, continuous, while
  JS = log 2 for every theta != 0 and 0 at theta = 0;
- the duality itself on random weighted point clouds, the easy inequality for arbitrary
  1-Lipschitz critics, the K-Lipschitz critic's value K W1 (eq. gans-wgan-game), and the
  gradient-penalty property (eq. gans-wgan-gp; Gulrajani et al. 2017, Prop. 1): on the segment
  between two points that the optimal coupling pairs up, the optimal critic rises with slope 1.

No sampling: every number is the solution of a linear program or a closed form.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats
from scipy.spatial.distance import cdist, jensenshannon

LOG2 = np.log(2.0)


def w1_primal(x, p, y, q):
    r"""Eq. gans-wgan-kantorovich: min over couplings gamma >= 0 with marginals p, q of sum gamma_ij
    |x_i - y_j|."""
    cost = cdist(x, y)
    n, m = cost.shape
    a_eq = np.zeros((n + m, n * m))
    for i in range(n):
        a_eq[i, i * m : (i + 1) * m] = 1.0  # row sums: p
    for j in range(m):
        a_eq[n + j, j::m] = 1.0  # column sums: q
    res = optimize.linprog(
        cost.ravel(), A_eq=a_eq, b_eq=np.concatenate([p, q]), bounds=(0, None), method="highs"
    )
    assert res.status == 0, res.message
    return res.fun, res.x.reshape(n, m)


def w1_dual(x, p, y, q, lipschitz=1.0):
    r"""Eq. gans-wgan-dual: max over f with |f(u) - f(v)| <= K |u - v| on all support points of E_p
    f - E_q f.

    The critic is only constrained on the support points; McShane's extension
    f(z) = min_i [f_i + K |z - z_i|] is K-Lipschitz on all of R^d with the same values there,
    so this is the supremum over K-Lipschitz functions on R^d. Returns the value, the points z
    and the values f on them.
    """
    z = np.concatenate([x, y])
    c = -np.concatenate([p, -q])  # linprog minimises: -(sum p_i f(x_i) - sum q_j f(y_j))
    dist = cdist(z, z)
    rows, bounds = [], []
    for i in range(len(z)):
        for j in range(len(z)):
            if i != j:
                row = np.zeros(len(z))
                row[i], row[j] = 1.0, -1.0
                rows.append(row)
                bounds.append(lipschitz * dist[i, j])
    # f is defined up to a constant: pin one value
    free = [(None, None)] * (len(z) - 1) + [(0.0, 0.0)]
    res = optimize.linprog(
        c, A_ub=np.array(rows), b_ub=np.array(bounds), bounds=free, method="highs"
    )
    assert res.status == 0, res.message
    return -res.fun, z, res.x


def mcshane(z, f, lipschitz=1.0):
    """The K-Lipschitz extension x -> min_i f_i + K |x - z_i| of values f on points z."""
    return lambda pts: (f[None] + lipschitz * cdist(np.atleast_2d(pts), z)).min(1)


def _random_clouds(seed, n=6, m=5, d=2):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(m, d)) + np.array([1.0, -0.5])[:d]
    p, q = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(m))
    return x, p, y, q


# ---------------------------------------------------------------------------
# Point masses (exercise gans-ex-kr-point-masses)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dist", [3.0, 0.1, 1e-6])
def test_point_masses_w1_is_the_distance_and_js_stays_log_two(dist):
    rng = np.random.default_rng(0)
    a = rng.normal(size=3)
    direction = rng.normal(size=3)
    b = a + dist * direction / np.linalg.norm(direction)
    one = np.ones(1)
    # (a) the only coupling is delta_(a, b): W1 = |a - b|; scipy agrees, in 3D and on a line
    primal, gamma = w1_primal(a[None], one, b[None], one)
    assert primal == pytest.approx(dist, rel=1e-12)
    np.testing.assert_allclose(gamma, [[1.0]])
    assert stats.wasserstein_distance_nd(a[None], b[None]) == pytest.approx(dist, rel=1e-9)
    assert stats.wasserstein_distance([a[0]], [a[0] + dist]) == pytest.approx(dist, rel=1e-9)
    # (b) the dual: f*(x) = |x - b| attains it, and the linear program finds the same value
    f_star = lambda pts: np.linalg.norm(np.atleast_2d(pts) - b, axis=1)  # noqa: E731
    assert f_star(a)[0] - f_star(b)[0] == pytest.approx(dist, rel=1e-12)
    assert w1_dual(a[None], one, b[None], one)[0] == pytest.approx(dist, rel=1e-9)
    u, v = rng.normal(size=(2, 200, 3))
    # 1-Lipschitz
    assert (np.abs(f_star(u) - f_star(v)) <= np.linalg.norm(u - v, axis=1) + 1e-12).all()
    # its gradient (x - b)/|x - b| has norm 1 on the segment from b to a, by central differences
    # (taken in coordinates s = x - b, so that a tiny |a - b| loses no digits to rounding)
    for t in (0.2, 0.5, 0.9):
        s, h = t * (a - b), 1e-4 * t * dist
        grad = [
            (np.linalg.norm(s + h * e) - np.linalg.norm(s - h * e)) / (2 * h) for e in np.eye(3)
        ]
        assert np.linalg.norm(grad) == pytest.approx(1.0, rel=1e-7)
    # (c) JS between the two point masses, on their common support {a, b}: log 2 however close
    assert jensenshannon([1.0, 0.0], [0.0, 1.0]) ** 2 == pytest.approx(LOG2, rel=1e-12)
    assert jensenshannon([1.0], [1.0]) ** 2 == pytest.approx(0.0, abs=1e-15)  # b = a: one point


# ---------------------------------------------------------------------------
# Parallel segments (Arjovsky et al. 2017, Example 1)
# ---------------------------------------------------------------------------


def _segment(theta, n):
    """n equally weighted points of {theta} x [0, 1] (the uniform distribution on the segment,
    discretised)."""
    return np.stack([np.full(n, theta), (np.arange(n) + 0.5) / n], axis=1), np.full(n, 1.0 / n)


@pytest.mark.parametrize("theta", [-1.5, -0.3, 1e-4, 0.7, 2.0])
def test_parallel_segments_w1_is_abs_theta_while_js_is_a_step(theta):
    r"""W1(p_r, p_g) = |theta| for p_r on {0} x [0, 1] and p_g on {theta} x [0, 1]; JS = log 2
    (theta != 0).

    The horizontal transport costs |theta| and no coupling does better, since |x - y| >= |x_1 -
    y_1|;
    the linear critic f(x) = -sign(theta) x_1, 1-Lipschitz with gradient norm 1, attains it. Both
    hold exactly for the n-point discretisations, which the linear programs solve.
    """
    n = 12
    x, p = _segment(0.0, n)
    y, q = _segment(theta, n)
    primal, gamma = w1_primal(x, p, y, q)
    assert primal == pytest.approx(abs(theta), rel=1e-9)
    # the optimal plan moves straight across
    np.testing.assert_allclose(gamma, np.eye(n) / n, atol=1e-12)
    assert w1_dual(x, p, y, q)[0] == pytest.approx(abs(theta), rel=1e-9)
    assert stats.wasserstein_distance_nd(x, y) == pytest.approx(abs(theta), rel=1e-9)
    critic = lambda pts: -np.sign(theta) * pts[:, 0]  # noqa: E731
    assert critic(x) @ p - critic(y) @ q == pytest.approx(abs(theta), rel=1e-12)
    # JS on the union of the supports: the supports are disjoint, so JS = log 2 whatever |theta| > 0
    # is
    p_union, q_union = np.concatenate([p, np.zeros(n)]), np.concatenate([np.zeros(n), q])
    assert jensenshannon(p_union, q_union) ** 2 == pytest.approx(LOG2, rel=1e-12)
    # at theta = 0 the two coincide: JS = 0 and W1 = 0
    assert jensenshannon(p, p) ** 2 == pytest.approx(0.0, abs=1e-15)
    assert w1_primal(x, p, x, p)[0] == pytest.approx(0.0, abs=1e-12)


def test_w1_of_parallel_segments_is_continuous_with_slope_one():
    r"""W1(theta) = |theta| has derivative sign(theta) however far apart the segments are; JS has
    none."""
    n = 8
    x, p = _segment(0.0, n)
    thetas = np.array([-3.0, -1.0, -0.01, 0.01, 1.0, 3.0])
    h = 1e-4
    for theta in thetas:
        slope = (
            w1_primal(x, p, *_segment(theta + h, n))[0]
            - w1_primal(x, p, *_segment(theta - h, n))[0]
        ) / (2 * h)
        assert slope == pytest.approx(np.sign(theta), rel=1e-6)


# ---------------------------------------------------------------------------
# The Kantorovich-Rubinstein duality on weighted point clouds
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kantorovich_rubinstein_duality(seed):
    r"""Eq. gans-wgan-dual = eq. gans-wgan-kantorovich; both equal scipy's W1 for equal weights."""
    x, p, y, q = _random_clouds(seed)
    primal, gamma = w1_primal(x, p, y, q)
    dual, z, f = w1_dual(x, p, y, q)
    assert dual == pytest.approx(primal, rel=1e-9)
    np.testing.assert_allclose(gamma.sum(1), p, atol=1e-12)
    np.testing.assert_allclose(gamma.sum(0), q, atol=1e-12)
    # scipy's independent solver, with the weights
    assert stats.wasserstein_distance_nd(x, y, p, q) == pytest.approx(primal, rel=1e-8)
    # on a line, scipy's closed form through the distribution functions
    primal_1d = w1_primal(x[:, :1], p, y[:, :1], q)[0]
    assert stats.wasserstein_distance(x[:, 0], y[:, 0], p, q) == pytest.approx(primal_1d, rel=1e-9)
    # the optimal critic, extended to R^2, is 1-Lipschitz and attains the dual value
    critic = mcshane(z, f)
    assert critic(x) @ p - critic(y) @ q == pytest.approx(primal, rel=1e-9)
    rng = np.random.default_rng(seed)
    u, v = rng.normal(size=(2, 500, 2)) * 2
    assert (np.abs(critic(u) - critic(v)) <= np.linalg.norm(u - v, axis=1) + 1e-9).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_every_one_lipschitz_critic_stays_below_w1(seed):
    r"""The easy half of eq. gans-wgan-dual: E_p f - E_q f <= E_gamma |x - y| for any coupling and
    any 1-Lipschitz f.

    Random 1-Lipschitz critics (unit-norm linear maps and random McShane envelopes) stay below
    W1, and so does every coupling's cost stay above it (the product coupling p q^T is one).
    """
    x, p, y, q = _random_clouds(seed)
    w1 = w1_primal(x, p, y, q)[0]
    rng = np.random.default_rng(100 + seed)
    for _ in range(200):
        w = rng.normal(size=2)
        linear = lambda pts, w=w: pts @ (w / np.linalg.norm(w))  # noqa: E731
        envelope = mcshane(rng.normal(size=(7, 2)), rng.normal(size=7))
        for f in (linear, envelope):
            assert f(x) @ p - f(y) @ q <= w1 + 1e-12
    assert np.sum(np.outer(p, q) * cdist(x, y)) >= w1


def test_k_lipschitz_critic_gives_k_times_w1():
    r"""Eq. gans-wgan-game: if every f_w is K-Lipschitz and the family is rich enough, the inner max
    is K W1."""
    x, p, y, q = _random_clouds(3)
    w1 = w1_primal(x, p, y, q)[0]
    for k in (0.5, 2.0, 10.0):
        assert w1_dual(x, p, y, q, lipschitz=k)[0] == pytest.approx(k * w1, rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_optimal_critic_has_slope_one_between_coupled_points(seed):
    r"""Gulrajani et al. (2017), Prop. 1, behind eq. gans-wgan-gp: |grad f*| = 1 on segments of the
    optimal plan.

    Complementary slackness: wherever the optimal coupling moves mass, gamma_ij > 0, the optimal
    critic rises by exactly the distance, f*(x_i) - f*(y_j) = |x_i - y_j|. A 1-Lipschitz function
    that does so is linear with slope 1 along the whole segment from y_j to x_i, so its
    directional derivative there is 1 and, where it is differentiable, its gradient has norm 1.
    Pairs that are not coupled need not be tight.
    """
    x, p, y, q = _random_clouds(seed)
    _, gamma = w1_primal(x, p, y, q)
    _, z, f = w1_dual(x, p, y, q)
    critic = mcshane(z, f)
    dist = cdist(x, y)
    rise = critic(x)[:, None] - critic(y)[None, :]
    coupled = gamma > 1e-9
    assert coupled.sum() >= max(len(x), len(y))
    np.testing.assert_allclose(rise[coupled], dist[coupled], rtol=1e-8, atol=1e-10)
    assert (rise[~coupled] < dist[~coupled] - 1e-6).any(), "the test needs pairs that are not tight"
    for i, j in zip(*np.nonzero(coupled)):
        unit = (x[i] - y[j]) / dist[i, j]
        for t in (0.25, 0.5, 0.75):
            point, h = y[j] + t * (x[i] - y[j]), 1e-6
            slope = (critic(point + h * unit)[0] - critic(point - h * unit)[0]) / (2 * h)
            assert slope == pytest.approx(1.0, abs=1e-6)
