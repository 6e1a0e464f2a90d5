r"""The dynamics of the GAN game (book/gans/theory.md, "Why training is hard"), checked exactly.

- the bilinear game v(theta, psi) = theta psi (eq. gans-bilinear-updates and exercise
  gans-ex-bilinear): simultaneous gradient steps, taken with autograd on v, are the
  matrix of the chapter, with eigenvalues 1 +- i eta, and their squared distance from the
  equilibrium grows by exactly (1 + eta^2) per step for every eta; alternating steps are the
  matrix [[1, -eta], [eta, 1 - eta^2]] with determinant 1 and trace 2 - eta^2, conserve the
  quadratic form theta^2 - eta theta psi + psi^2 (a closed ellipse) for 0 < eta < 2, and never
  converge; at eta >= 2 they diverge, so the exercise's condition is needed; the gradient
  flow conserves theta^2 + psi^2;
- the order of the players (eq. gans-minimax): against a fixed discriminator the best
  generator is a point mass at the discriminator's favourite point, while the minimax
  generator, which faces D* = p_r / (p_r + p_g), is p_g = p_r.

Everything is exact arithmetic in float64 (no sampling) and takes well under a second.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import integrate, optimize
from scipy.special import softmax, xlogy

ETAS = [0.01, 0.1, 0.5, 1.0, 1.9]


def _gradient_steps(eta: float, num_steps: int, alternating: bool, z0=(1.0, 0.5)) -> np.ndarray:
    r"""Iterates (theta_t, psi_t), t = 0..num_steps: descent on theta, ascent on psi, of v = theta
    psi.

    The gradients come from autograd on v itself, not from the update matrix under test.
    Alternating: theta moves first, then psi takes its gradient at the new theta.
    """
    def grad(theta, psi):  # (dv/dtheta, dv/dpsi) by autograd
        theta, psi = (
            torch.tensor(t, dtype=torch.float64, requires_grad=True) for t in (theta, psi)
        )
        return [g.item() for g in torch.autograd.grad(theta * psi, (theta, psi))]

    theta, psi = z0
    path = [(theta, psi)]
    for _ in range(num_steps):
        g_theta, g_psi = grad(theta, psi)
        theta_new = theta - eta * g_theta  # the generator descends v
        if alternating:
            g_psi = grad(theta_new, psi)[1]  # the discriminator sees the generator's new parameter
        psi = psi + eta * g_psi  # the discriminator ascends v
        theta = theta_new
        path.append((theta, psi))
    return np.array(path)


@pytest.mark.parametrize("eta", ETAS)
def test_simultaneous_steps_spiral_out_by_one_plus_eta_squared(eta):
    r"""Eq. gans-bilinear-updates: z_{t+1} = [[1, -eta], [eta, 1]] z_t and |z_{t+1}|^2 = (1 + eta^2)
    |z_t|^2."""
    num_steps = 200
    path = _gradient_steps(eta, num_steps, alternating=False)
    matrix = np.array([[1.0, -eta], [eta, 1.0]])
    np.testing.assert_allclose(path[1:], path[:-1] @ matrix.T, rtol=1e-13, atol=1e-15)
    sq = (path**2).sum(1)
    np.testing.assert_allclose(sq[1:] / sq[:-1], 1 + eta**2, rtol=1e-12)  # every single step
    np.testing.assert_allclose(sq, sq[0] * (1 + eta**2) ** np.arange(num_steps + 1), rtol=1e-11)
    # the eigenvalues 1 +- i eta, of modulus sqrt(1 + eta^2) > 1
    eig = np.linalg.eigvals(matrix)
    np.testing.assert_allclose(sorted(eig.imag), [-eta, eta], rtol=1e-12)
    np.testing.assert_allclose(eig.real, 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.abs(eig), np.sqrt(1 + eta**2), rtol=1e-12)
    # they rotate about the equilibrium by arctan(eta) per step (counter-clockwise)
    turn = np.diff(np.unwrap(np.arctan2(path[:, 1], path[:, 0])))
    np.testing.assert_allclose(turn, np.arctan(eta), rtol=1e-10)


def test_simultaneous_losses_oscillate_instead_of_settling():
    r"""The value v = theta_t psi_t changes sign four times per turn, i.e. 2 arctan(eta) / pi times
    per step."""
    eta, num_steps = 0.1, 2000
    path = _gradient_steps(eta, num_steps, alternating=False)
    value = path[:, 0] * path[:, 1]
    sign_changes = np.count_nonzero(np.diff(np.sign(value)))
    assert abs(sign_changes - 2 * num_steps * np.arctan(eta) / np.pi) <= 2


@pytest.mark.parametrize("eta", ETAS)
def test_alternating_steps_stay_on_a_closed_ellipse(eta):
    r"""Exercise gans-ex-bilinear: det 1, trace 2 - eta^2, eigenvalues of modulus 1 for 0 < eta < 2.

    The quadratic form E(theta, psi) = theta^2 - eta theta psi + psi^2 is conserved (A^T Q A = Q),
    and
    it is positive definite exactly when eta < 2, so the iterates stay on the ellipse E = E_0:
    bounded, E_0 / (1 + eta/2) <= |z_t|^2 <= E_0 / (1 - eta/2), and never converging to 0.
    """
    num_steps = 2000
    path = _gradient_steps(eta, num_steps, alternating=True)
    matrix = np.array([[1.0, -eta], [eta, 1.0 - eta**2]])
    np.testing.assert_allclose(path[1:], path[:-1] @ matrix.T, rtol=1e-12, atol=1e-14)
    assert np.linalg.det(matrix) == pytest.approx(1.0, rel=1e-14)
    assert np.trace(matrix) == pytest.approx(2 - eta**2, rel=1e-14)
    np.testing.assert_allclose(np.abs(np.linalg.eigvals(matrix)), 1.0, rtol=1e-12)
    q = np.array([[1.0, -eta / 2], [-eta / 2, 1.0]])
    np.testing.assert_allclose(matrix.T @ q @ matrix, q, atol=1e-14)
    energy = np.einsum("ti,ij,tj->t", path, q, path)
    np.testing.assert_allclose(energy, energy[0], rtol=1e-10)
    sq = (path**2).sum(1)
    assert sq.max() <= energy[0] / (1 - eta / 2) * (1 + 1e-10)
    assert sq.min() >= energy[0] / (1 + eta / 2) * (1 - 1e-10)
    # not a fixed point of the spiral either: after a long run it has gone round (no convergence)
    assert np.ptp(np.unwrap(np.arctan2(path[:, 1], path[:, 0]))) > 2 * np.pi


@pytest.mark.parametrize("eta", [2.0, 2.5])
def test_alternating_steps_diverge_when_eta_reaches_two(eta):
    r"""At eta >= 2 the trace 2 - eta^2 <= -2: a real eigenvalue of modulus >= 1 and unbounded
    iterates.

    At eta = 2 the eigenvalue -1 is double (a Jordan block) and |z_t| grows linearly; above 2 it
    grows
    geometrically like the larger |eigenvalue|. The chapter's "0 < eta < 2" is the exact condition.
    """
    num_steps = 60
    # (1, 0.5) itself would be a bad start: at eta = 2.5 it is the eigenvector of the eigenvalue
    # -1/4
    path = _gradient_steps(eta, num_steps, alternating=True, z0=(1.0, 0.3))
    matrix = np.array([[1.0, -eta], [eta, 1.0 - eta**2]])
    eig = np.linalg.eigvals(matrix)
    norms = np.linalg.norm(path, axis=1)
    if eta == 2.0:
        np.testing.assert_allclose(eig, [-1.0, -1.0], atol=1e-7)
        slope = np.diff(norms[-20:])
        assert (slope > 0).all() and np.ptp(slope) < 0.05 * slope.mean()  # linear growth
    else:
        rate = np.abs(eig).max()
        assert rate > 1.0
        np.testing.assert_allclose(norms[-1] / norms[-2], rate, rtol=1e-8)


def test_gradient_flow_conserves_the_distance_from_the_equilibrium():
    r"""eta -> 0: d theta / dt = -psi, d psi / dt = theta circles, theta^2 + psi^2 constant."""
    sol = integrate.solve_ivp(
        lambda t, z: [-z[1], z[0]],
        (0.0, 50.0),
        [1.0, 0.5],
        rtol=1e-12,
        atol=1e-12,
        dense_output=True,
    )
    z = sol.sol(np.linspace(0.0, 50.0, 501))
    np.testing.assert_allclose((z**2).sum(0), 1.25, rtol=1e-8)
    # and simultaneous steps of size eta over the same time grow by (1 + eta^2)^(T / eta) -> 1
    growth = [(1 + eta**2) ** (50.0 / eta) for eta in (0.1, 0.01, 0.001)]
    assert growth[0] > growth[1] > growth[2] > 1.0 and growth[2] < 1.06


# ---------------------------------------------------------------------------
# The order of the players: min_G max_D (p_g = p_r) vs max_D min_G (a point mass)
# ---------------------------------------------------------------------------

P_R = np.array([0.1, 0.25, 0.3, 0.2, 0.15])  # a data distribution on five points


def test_inner_generator_collapses_to_a_point_mass():
    r"""For a fixed D the generator's objective E_{p_g}[log(1 - D)] is linear in p_g: a vertex wins.

    Minimising it over the probability simplex (a linear program) puts all mass on argmax D,
    the point the discriminator finds most real; the non-saturating -E_{p_g}[log D] does the same.
    """
    d = np.array([0.3, 0.55, 0.8, 0.45, 0.6])
    for cost in (np.log(1 - d), -np.log(d)):
        res = optimize.linprog(
            cost, A_eq=np.ones((1, len(d))), b_eq=[1.0], bounds=[(0, None)] * len(d), method="highs"
        )
        assert res.status == 0
        np.testing.assert_allclose(res.x, np.eye(len(d))[d.argmax()], atol=1e-12)


def test_outer_generator_against_the_optimal_discriminator_is_the_data():
    r"""Eq. gans-minimax: min over p_g of max_D v = v(G, D*) = 2 JS - 2 log 2 is reached at p_g =
    p_r.

    v(G, D*) is computed from its definition (the value function with D* inserted), minimised
    over p_g = softmax(a) by BFGS from a point mass-like start; the learned optimum is the data
    distribution and the value is -2 log 2, not a point mass.
    """

    def v_star(a):
        p_g = softmax(a)
        d = P_R / (P_R + p_g)  # eq. gans-optimal-discriminator
        return float(np.sum(xlogy(P_R, d) + xlogy(p_g, 1 - d)))

    start = np.array([4.0, 0.0, 0.0, 0.0, 0.0])  # almost all mass on one point
    res = optimize.minimize(v_star, start, method="BFGS", options={"gtol": 1e-12})
    np.testing.assert_allclose(softmax(res.x), P_R, atol=1e-6)
    assert res.fun == pytest.approx(-2 * np.log(2), abs=1e-10)
    assert v_star(start) > res.fun + 0.1
