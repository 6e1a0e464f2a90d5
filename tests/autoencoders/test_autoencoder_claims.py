r"""Claims of book/autoencoders/theory.md that tests/autoencoders/test_autoencoders.py does not
cover, checked numerically.

- PCA as a reconstruction problem (eq. autoencoders-pca-objective): for orthonormal U the mean
  squared error is tr S - tr(U^T S U), with weights w_j = |U^T u_j|^2 in [0, 1] adding up to k,
  minimal at the top-k eigenvectors;
- biases (exercise autoencoders-ex-bias): the best biases for fixed weights make the affine
  autoencoder's loss that of the bias-free one on centred data, with decoder offset (I - A) x_bar;
- the half and the full circle (section "Beyond the principal subspace" and exercise
  autoencoders-ex-circle): the covariances by quadrature, PCA's error 1/2 - 4/pi^2 and its share
  of the variance, the exact nonlinear one-unit code on the half circle, and the torn full
  circle whose error is at most 4 eps / (2 pi).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize

D, K, N = 6, 2, 400


@pytest.fixture(scope="module")
def data():
    """Non-centred data X (N, D) with a clear top-2 subspace.

    Returns X, its mean, covariance, eigenvalues and eigenvectors."""
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.normal(size=(D, D)))
    scales = np.sqrt([5.0, 3.0, 0.6, 0.4, 0.2, 0.1])
    x = rng.normal(size=(N, D)) * scales @ basis.T + rng.normal(size=D) * 3
    mean = x.mean(0)
    s = (x - mean).T @ (x - mean) / N
    lam, u = np.linalg.eigh(s)
    return x, mean, s, lam[::-1], u[:, ::-1]


def test_pca_objective_is_trace_minus_kept_variance(data):
    r"""Eq. autoencoders-pca-objective: (1/N) sum |x - U U^T x|^2 = tr S - tr(U^T S U).

    For every orthonormal U."""
    x, mean, s, lam, u = data
    xc = x - mean
    rng = np.random.default_rng(1)
    for _ in range(20):
        # a random orthonormal basis of a k-dim subspace
        q, _ = np.linalg.qr(rng.normal(size=(D, K)))
        err = ((xc - xc @ q @ q.T) ** 2).sum(1).mean()
        assert err == pytest.approx(np.trace(s) - np.trace(q.T @ s @ q), rel=1e-12)
        weights = ((q.T @ u) ** 2).sum(0)  # w_j = |U^T u_j|^2
        assert (weights >= -1e-12).all() and (weights <= 1 + 1e-12).all()
        assert weights.sum() == pytest.approx(K, rel=1e-12)
        assert np.trace(q.T @ s @ q) == pytest.approx(lam @ weights, rel=1e-12)
        assert err >= lam[K:].sum() - 1e-12  # no subspace beats the top-k one
    top = u[:, :K]
    assert ((xc - xc @ top @ top.T) ** 2).sum(1).mean() == pytest.approx(lam[K:].sum(), rel=1e-12)


def test_best_biases_reduce_the_affine_autoencoder_to_the_centred_problem(data):
    r"""Exercise autoencoders-ex-bias: for fixed A = W_dec W_enc the best offset
    c = W_dec b_enc + b_dec is (I - A) x_bar.

    The offset is found by minimising the affine loss numerically (BFGS), and the minimum equals
    the bias-free loss of A on the centred data, by the decomposition in the exercise.
    """
    x, mean, s, lam, u = data
    rng = np.random.default_rng(2)
    for _ in range(3):
        w_enc, w_dec = rng.normal(size=(K, D)), rng.normal(size=(D, K))
        a = w_dec @ w_enc

        def affine_loss(c):
            return (((x @ (np.eye(D) - a).T) - c) ** 2).sum(1).mean()  # (1/N) sum |x - (A x + c)|^2

        res = optimize.minimize(affine_loss, np.zeros(D), method="BFGS", options={"gtol": 1e-10})
        np.testing.assert_allclose(res.x, (np.eye(D) - a) @ mean, rtol=1e-6, atol=1e-6)
        xc = x - mean
        centred_loss = ((xc - xc @ a.T) ** 2).sum(1).mean()
        assert res.fun == pytest.approx(centred_loss, rel=1e-9)
        # the offset is reachable through b_dec alone: c = W_dec b_enc + b_dec for any b_enc
        b_enc = rng.normal(size=K)
        offset = w_dec @ b_enc + (res.x - w_dec @ b_enc)
        assert affine_loss(offset) == pytest.approx(res.fun, rel=1e-12)
    # so the best affine linear autoencoder makes PCA's error on the centred data
    top = u[:, :K]
    a = top @ top.T
    centred_loss = (((x - mean) - (x - mean) @ a.T) ** 2).sum(1).mean()
    assert centred_loss == pytest.approx(lam[K:].sum(), rel=1e-12)


def _circle_moments(t_max):
    """Mean and covariance of (cos t, sin t), t ~ U(0, t_max), by quadrature."""
    f = [np.cos, np.sin]
    mean = np.array([integrate.quad(g, 0, t_max)[0] / t_max for g in f])
    second = np.array([[integrate.quad(lambda t: f[i](t) * f[j](t), 0, t_max)[0] / t_max
                        for j in range(2)] for i in range(2)])
    return mean, second - np.outer(mean, mean)


def test_half_circle_pca_error_and_the_exact_nonlinear_code():
    r"""Points (cos t, sin t), t ~ U(0, pi): covariance diag(1/2, 1/2 - 4/pi^2).

    PCA (k = 1) error ~ 0.0947.

    The chapter prints lambda_2 = 1/2 - 4/pi^2 ~ 0.095 (0.0947 in the exercise), a total variance of
    1 - 4/pi^2 ~ 0.595 and a share of about 16 %. The encoder atan2(x_2, x_1) and the decoder
    (cos t, sin t) reconstruct every point exactly.
    """
    mean, cov = _circle_moments(np.pi)
    np.testing.assert_allclose(mean, [0.0, 2 / np.pi], atol=1e-14)
    np.testing.assert_allclose(cov, np.diag([0.5, 0.5 - 4 / np.pi**2]), atol=1e-14)
    lam = np.linalg.eigvalsh(cov)[::-1]
    assert lam[1] == pytest.approx(0.5 - 4 / np.pi**2, rel=1e-12)
    assert round(lam[1], 4) == 0.0947 and round(lam[1], 3) == 0.095
    assert round(lam.sum(), 3) == 0.595
    assert round(100 * lam[1] / lam.sum()) == 16
    t = np.random.default_rng(3).uniform(0, np.pi, 1000)
    x = np.stack([np.cos(t), np.sin(t)], axis=1)
    code = np.arctan2(x[:, 1], x[:, 0])
    np.testing.assert_allclose(np.stack([np.cos(code), np.sin(code)], axis=1), x, atol=1e-14)


def test_full_circle_is_isotropic_and_a_torn_code_is_almost_exact():
    r"""Exercise autoencoders-ex-circle (b, c): covariance I/2 (PCA error 1/2), and the torn
    circle's MSE <= 4 eps / (2 pi).

    The encoder follows the angle on [0, 2 pi - eps] and returns linearly to 0 on the last arc of
    length eps (continuous on the circle); the decoder is (cos s, sin s). Only points on that arc
    are wrong.
    """
    mean, cov = _circle_moments(2 * np.pi)
    np.testing.assert_allclose(mean, 0.0, atol=1e-14)
    np.testing.assert_allclose(cov, 0.5 * np.eye(2), atol=1e-14)
    for eps in (0.5, 0.1, 0.01):
        cut = 2 * np.pi - eps

        def code(t):  # continuous: code(0) = code(2 pi) = 0
            return t if t <= cut else cut * (2 * np.pi - t) / eps

        def sq_error(t):
            s = code(t)
            return (np.cos(t) - np.cos(s)) ** 2 + (np.sin(t) - np.sin(s)) ** 2

        # zero error before the cut
        mse = integrate.quad(sq_error, cut, 2 * np.pi, epsabs=1e-14)[0] / (2 * np.pi)
        assert 0 < mse <= 4 * eps / (2 * np.pi)
        assert integrate.quad(sq_error, 0, cut, limit=200)[0] == pytest.approx(0.0, abs=1e-20)
