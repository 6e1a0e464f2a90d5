r"""The squared MMD of book/gans/theory.md ("Evaluating GANs", eq. gans-mmd), by exact enumeration.

For distributions on a few points everything is a finite sum:

- the population MMD^2 = E k(x, x') + E k(y, y') - 2 E k(x, y) is (p - q)^T K (p - q), and
  the MMD is the supremum of E_p f - E_q f over the unit ball of the kernel's Hilbert space,
  attained by the normalised witness sum_i (p_i - q_i) k(z_i, .) (the chapter's dual form);
- the expectation of genmod.metrics.mmd2_unbiased over every possible pair of samples
  (all m-tuples from p and n-tuples from q, with their probabilities) is exactly MMD^2: the
  estimator of eq. gans-mmd is unbiased, and keeping the diagonal terms would bias it.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from genmod.metrics import mmd2_unbiased

SIGMA = 0.8  # kernel bandwidth sigma_kappa, fixed (no median heuristic)
Z = np.array([[0.0, 0.0], [1.0, 0.5], [-0.5, 1.5]])  # the common support
P = np.array([0.5, 0.3, 0.2])
Q = np.array([0.1, 0.3, 0.6])


def kernel(a, b):
    return np.exp(-cdist(a, b, "sqeuclidean") / (2 * SIGMA**2))


def population_mmd2(p, q):
    k = kernel(Z, Z)
    # E k(x,x') + E k(y,y') - 2 E k(x,y), x, x' ~ p; y, y' ~ q
    return p @ k @ p + q @ k @ q - 2 * p @ k @ q


def test_mmd_is_the_supremum_over_the_unit_ball_attained_by_the_witness():
    r"""MMD(p, q) = sup_{|f|_H <= 1} E_p f - E_q f = |mu_p - mu_q|_H, attained by the witness."""
    k = kernel(Z, Z)
    a = P - Q
    mmd = np.sqrt(population_mmd2(P, Q))
    assert mmd == pytest.approx(np.sqrt(a @ k @ a), rel=1e-14)
    witness = k @ a / np.sqrt(a @ k @ a)  # f*(z_j) for f* = sum_i a_i k(z_i, .) / |.|_H, of norm 1
    assert witness @ P - witness @ Q == pytest.approx(mmd, rel=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(300):  # random unit-norm f = sum_j c_j k(w_j, .), anywhere in the plane
        w, c = rng.normal(size=(4, 2)) * 1.5, rng.normal(size=4)
        c = c / np.sqrt(c @ kernel(w, w) @ c)
        f = kernel(Z, w) @ c  # f on the support
        assert f @ P - f @ Q <= mmd + 1e-12


@pytest.mark.parametrize("m, n", [(2, 2), (2, 3), (3, 2)])
def test_unbiased_estimator_has_expectation_mmd2_by_enumeration(m, n):
    exact = population_mmd2(P, Q)
    expectation, biased = 0.0, 0.0
    for ix in itertools.product(range(3), repeat=m):
        for iy in itertools.product(range(3), repeat=n):
            prob = np.prod(P[list(ix)]) * np.prod(Q[list(iy)])
            x, y = Z[list(ix)], Z[list(iy)]
            expectation += prob * mmd2_unbiased(x, y, bandwidth=SIGMA)
            # with i = j
            biased += prob * (kernel(x, x).mean() + kernel(y, y).mean() - 2 * kernel(x, y).mean())
    assert expectation == pytest.approx(exact, rel=1e-12)
    assert abs(biased - exact) > 0.05 * exact, (
        "the V-statistic with the diagonal is biased: the test can tell"
    )


def test_unbiased_estimator_averages_to_zero_for_equal_distributions():
    r"""p = q: MMD^2 = 0, and the estimator's expectation is 0 although single estimates are
    negative."""
    values, probs = [], []
    for ix in itertools.product(range(3), repeat=2):
        for iy in itertools.product(range(3), repeat=2):
            probs.append(np.prod(P[list(ix)]) * np.prod(P[list(iy)]))
            values.append(mmd2_unbiased(Z[list(ix)], Z[list(iy)], bandwidth=SIGMA))
    values, probs = np.array(values), np.array(probs)
    assert population_mmd2(P, P) == pytest.approx(0.0, abs=1e-15)
    assert probs @ values == pytest.approx(0.0, abs=1e-13)
    assert values.min() < 0  # "it can be slightly negative when p = q"
