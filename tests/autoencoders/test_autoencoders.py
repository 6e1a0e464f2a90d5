r"""The linear autoencoder and PCA (book/autoencoders/theory.md), checked on synthetic data.

The data: N = 500 centred points in R^10 drawn from a Gaussian whose covariance
has three dominant eigenvalues (9, 6, 4) and seven small ones (0.5 ... 0.1)
along random orthonormal directions, so the top-3 principal subspace is well
separated (sample eigengap lambda_3 - lambda_4 of about 3.5). Every reference
value is computed from the sample covariance S = X^T X / N, never hard-coded.

Checked:

- Eckart-Young (eq. autoencoders-eckart-young): PCA's error is the sum of the discarded
  eigenvalues, and no rank-k linear map does better;
- the notebook's linear autoencoder (eq. autoencoders-linear), trained by the notebook's
  loop with full batches, reaches that error and its decoder spans the top-k
  principal subspace (principal angles), from the book's orthonormal start and
  from PyTorch's default start;
- the principal directions are recovered from the decoder (exercise autoencoders-ex-recover);
- Baldi and Hornik: projections onto other eigenvector sets are critical points
  and saddles (exercise autoencoders-ex-saddle);
- the angle bound (eq. autoencoders-angle-bound);
- negative controls: the bottom-k subspace, a wrong top set, and the untrained
  autoencoder all fail the checks that the trained one passes.
"""

import functools

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles

from notebook_code import notebook_functions

D, K, N = 10, 3, 500
POPULATION_EIGENVALUES = np.array([9.0, 6.0, 4.0, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1])

# Relative excess of the trained autoencoder's loss over the Eckart-Young optimum
# that we accept. Full-batch Adam in float64 with a cosine-decayed learning rate
# converges here to rounding error (a relative excess below 1e-12 from either
# start); missing one top direction costs at least (lambda_3 - lambda_4) / L*,
# about 180 % (exercise autoencoders-ex-saddle). Through eq. autoencoders-angle-bound this tolerance
# allows a largest principal angle of about 1.4 degrees (angle_tolerance_deg).
REL_TOL_LOSS = 1e-3


@pytest.fixture(scope="module")
def data():
    """Centred data X (N, D), its covariance S, eigenvalues (descending) and eigenvectors."""
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.standard_normal((D, D)))   # random principal directions
    x = (rng.standard_normal((N, D)) * np.sqrt(POPULATION_EIGENVALUES)) @ basis.T
    x -= x.mean(axis=0)                                     # centred: sum_i x_i = 0
    S = x.T @ x / N                                         # sample covariance
    lam, U = np.linalg.eigh(S)
    return x, S, lam[::-1].copy(), U[:, ::-1].copy()


def loss_of_map(S, A):
    r"""L = tr[(I - A) S (I - A)^T] = (1/N) sum_i ||x_i - A x_i||^2.

    Eq. autoencoders-reconstruction-loss."""
    R = np.eye(len(S)) - A
    return float(np.trace(R @ S @ R.T))


def projector(V):
    """Orthogonal projector onto the column space of V (D, m)."""
    Q, _ = np.linalg.qr(V)
    return Q @ Q.T


@functools.cache
def notebook():
    """The notebook's own model and training loop.

    Taken from book/autoencoders/autoencoder_pca_torch.py.

    Taken on first use (inside a test), so a broken notebook fails the tests that need it, not
    the module.
    """
    return notebook_functions("book/autoencoders/autoencoder_pca_torch.py",
                              ["LinearAutoencoder", "train_autoencoder"],
                              {"torch": torch, "nn": torch.nn, "F": torch.nn.functional})


def train_linear_autoencoder(x, k, *, init, steps=3000, lr=1e-2, seed=0):
    r"""The notebook's linear autoencoder, trained by its ``train_autoencoder`` with full batches.

    Full-batch Adam in float64 on the mean squared error, ``steps`` epochs of one step
    each, learning rate cosine-decayed to 0. ``init="orthogonal"`` keeps the notebook's
    start (orthonormal encoder rows, decoder = encoder transposed); ``init="default"``
    resets both layers to PyTorch's default initialisation.

    Returns ((W_enc (k, D), W_dec (D, k)) trained, the same pair at the start), numpy arrays.
    """
    torch.manual_seed(seed)
    xt = torch.as_tensor(x, dtype=torch.float64)
    model = notebook()["LinearAutoencoder"](x.shape[1], k).double()
    if init == "default":
        model.encoder.reset_parameters()
        model.decoder.reset_parameters()
    elif init != "orthogonal":
        raise ValueError(init)

    def weights():
        return (model.encoder.weight.detach().numpy().copy(),
                model.decoder.weight.detach().numpy().copy())

    initial = weights()
    # 3000 tiny steps: one thread is several times faster than more on a shared CPU
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        notebook()["train_autoencoder"](model, xt, num_epochs=steps, batch_size=len(xt), lr=lr,
                                        seed=seed)
    finally:
        torch.set_num_threads(threads)
    return weights(), initial


@pytest.fixture(scope="module", params=["orthogonal", "default"])
def trained(request, data):
    x, *_ = data
    return request.param, *train_linear_autoencoder(x, K, init=request.param)


def max_angle_deg(V, W):
    return float(np.degrees(subspace_angles(V, W).max()))


def angle_tolerance_deg(lam):
    r"""Largest principal angle allowed by eq. autoencoders-angle-bound.

    For an excess loss of REL_TOL_LOSS * L*."""
    l_star = lam[K:].sum()
    return float(np.degrees(np.arcsin(np.sqrt(REL_TOL_LOSS * l_star / (lam[K - 1] - lam[K])))))


def test_eckart_young_is_the_pca_error_and_no_rank_k_map_beats_it(data):
    x, S, lam, U = data
    l_star = lam[K:].sum()                                  # sum of the discarded eigenvalues
    Uk = U[:, :K]
    assert loss_of_map(S, Uk @ Uk.T) == pytest.approx(l_star, rel=1e-10)
    # the truncated SVD of X is X U_k U_k^T, with error sum_{j>k} sigma_j^2 / N
    a, sigma, vt = np.linalg.svd(x, full_matrices=False)
    x_k = (a[:, :K] * sigma[:K]) @ vt[:K]
    assert np.allclose(x_k, x @ Uk @ Uk.T, atol=1e-10)
    assert np.sum((x - x_k) ** 2) / N == pytest.approx(l_star, rel=1e-10)
    assert np.allclose(sigma**2 / N, lam, rtol=1e-10)
    # random rank-k maps, and projections onto subspaces near the principal one, all do worse
    rng = np.random.default_rng(1)
    random_losses = [loss_of_map(S, rng.standard_normal((D, K)) @ rng.standard_normal((K, D)) / D)
                     for _ in range(200)]
    nearby_losses = [loss_of_map(S, projector(Uk + eps * rng.standard_normal((D, K))))
                     for eps in np.geomspace(1e-3, 1.0, 50)]
    assert min(random_losses) > l_star
    assert min(nearby_losses) > l_star


@pytest.mark.slow  # trains the linear autoencoder (the `trained` fixture)
def test_linear_autoencoder_reaches_the_eckart_young_error(data, trained):
    x, S, lam, U = data
    init, (W_enc, W_dec), _ = trained
    l_star = lam[K:].sum()
    loss = loss_of_map(S, W_dec @ W_enc)
    assert loss >= l_star * (1 - 1e-12), (
        "below the Eckart-Young minimum: the loss or the data are wrong")
    assert loss / l_star - 1 < REL_TOL_LOSS, (
        f"{init} start: relative excess {loss / l_star - 1:.2e}")


@pytest.mark.slow  # trains the linear autoencoder (the `trained` fixture)
def test_linear_autoencoder_spans_the_principal_subspace(data, trained):
    x, S, lam, U = data
    init, (W_enc, W_dec), _ = trained
    angle = max_angle_deg(W_dec, U[:, :K])
    tolerance = angle_tolerance_deg(lam)                    # about 1.4 degrees for this spectrum
    assert angle < tolerance, (
        f"{init} start: largest principal angle {angle:.3f} deg >= {tolerance:.3f} deg")
    # the product W_dec W_enc is unique at the global minimum (X has full column rank): U_k U_k^T
    assert np.linalg.norm(W_dec @ W_enc - U[:, :K] @ U[:, :K].T) < 0.02


@pytest.mark.slow  # trains the linear autoencoder (the `trained` fixture)
def test_principal_directions_are_recovered_from_the_decoder(data, trained):
    """Exercise autoencoders-ex-recover: QR of W_dec, then the k x k eigenproblem of Q^T S Q."""
    x, S, lam, U = data
    _, (W_enc, W_dec), _ = trained
    Q, _ = np.linalg.qr(W_dec)
    ritz_values, V = np.linalg.eigh(Q.T @ S @ Q)
    ritz_values, V = ritz_values[::-1], V[:, ::-1]
    recovered = Q @ V
    assert np.allclose(ritz_values, lam[:K], rtol=1e-3)
    cosines = np.abs(np.sum(recovered * U[:, :K], axis=0))  # |cos(u_j, recovered u_j)|, sign-free
    assert cosines.min() > 0.999


@pytest.mark.slow  # trains the linear autoencoder (the `trained` fixture)
def test_any_invertible_mixing_gives_the_same_loss(data, trained):
    """Step 4 of the argument: (W_dec C, C^{-1} W_enc) is as good as (W_dec, W_enc)."""
    x, S, lam, U = data
    _, (W_enc, W_dec), _ = trained
    C = np.random.default_rng(2).standard_normal((K, K)) + 3 * np.eye(K)
    mixed = (W_dec @ C) @ (np.linalg.inv(C) @ W_enc)
    assert loss_of_map(S, mixed) == pytest.approx(loss_of_map(S, W_dec @ W_enc), rel=1e-10)
    angle = max_angle_deg(W_dec, U[:, :K])
    assert max_angle_deg(W_dec @ C, U[:, :K]) == pytest.approx(angle, abs=1e-6)


@pytest.mark.slow  # trains the linear autoencoder (the `trained` fixture)
def test_negative_controls_fail_the_checks(data, trained):
    x, S, lam, U = data
    _, (W_enc, W_dec), (W_enc0, W_dec0) = trained
    tolerance = angle_tolerance_deg(lam)
    # the learned subspace is orthogonal to the bottom-k eigenvectors ...
    assert max_angle_deg(W_dec, U[:, -K:]) > 80.0
    # ... and far from a wrong set of top eigenvectors (u_1, u_2, u_4): u_3 is missing
    assert max_angle_deg(W_dec, U[:, [0, 1, 3]]) > 80.0
    # the untrained autoencoder fails both tests that the trained one passes
    l_star = lam[K:].sum()
    assert loss_of_map(S, W_dec0 @ W_enc0) / l_star - 1 > 100 * REL_TOL_LOSS
    assert max_angle_deg(W_dec0, U[:, :K]) > 10 * tolerance


def test_other_eigenvector_projections_are_saddles(data):
    """Baldi and Hornik (exercise autoencoders-ex-saddle): critical points, and a way down along a
    rotation."""
    x, S, lam, U = data
    St = torch.as_tensor(S)
    eye = torch.eye(D, dtype=torch.float64)

    def loss_and_grads(W_enc, W_dec):
        W_enc = torch.tensor(W_enc, requires_grad=True)
        W_dec = torch.tensor(W_dec, requires_grad=True)
        R = eye - W_dec @ W_enc
        loss = torch.trace(R @ St @ R.T)
        g_enc, g_dec = torch.autograd.grad(loss, (W_enc, W_dec))
        return loss.item(), g_enc.numpy(), g_dec.numpy()

    wrong = [0, 1, 3]                                       # u_1, u_2, u_4: misses u_3
    U_s = U[:, wrong]
    loss0, g_enc, g_dec = loss_and_grads(U_s.T, U_s)
    assert loss0 == pytest.approx(lam[[2, 4, 5, 6, 7, 8, 9]].sum(), rel=1e-10)
    assert np.abs(g_enc).max() < 1e-10 and np.abs(g_dec).max() < 1e-10, "not a critical point"
    # rotate u_4 towards u_3: L(theta) = L(0) - (lambda_3 - lambda_4) sin^2 theta
    for theta in np.linspace(0.05, np.pi / 2, 7):
        V = U_s.copy()
        V[:, 2] = np.cos(theta) * U[:, 3] + np.sin(theta) * U[:, 2]
        loss, _, _ = loss_and_grads(V.T, V)
        assert loss == pytest.approx(loss0 - (lam[2] - lam[3]) * np.sin(theta) ** 2, rel=1e-10)
        assert loss < loss0
    # ... and scaling the decoder away from the projection raises the loss: a saddle, not a maximum
    for scale in (0.9, 1.1):
        assert loss_and_grads(U_s.T, scale * U_s)[0] > loss0
    # the top set is a critical point too, and the same rotations only raise its loss
    U_top = U[:, :K]
    loss_top, g_enc, g_dec = loss_and_grads(U_top.T, U_top)
    assert np.abs(g_enc).max() < 1e-10 and np.abs(g_dec).max() < 1e-10
    for j in range(K):
        for i in range(K, D):
            V = U_top.copy()
            V[:, j] = np.cos(0.3) * U[:, j] + np.sin(0.3) * U[:, i]
            assert loss_and_grads(V.T, V)[0] > loss_top


def test_angle_bound(data):
    r"""Eq. autoencoders-angle-bound: L - L* >= (lambda_k - lambda_{k+1}) sum_i sin^2 theta_i.

    With its equality cases."""
    x, S, lam, U = data
    l_star = lam[K:].sum()
    gap = lam[K - 1] - lam[K]
    rng = np.random.default_rng(3)
    for eps in np.geomspace(1e-3, 3.0, 60):
        V = U[:, :K] + eps * rng.standard_normal((D, K))    # a decoder near the principal subspace
        P = projector(V)                                    # its best reconstruction, x -> P x
        theta = subspace_angles(V, U[:, :K])
        assert loss_of_map(S, P) - l_star >= gap * np.sum(np.sin(theta) ** 2) * (1 - 1e-9)
    # equality when u_k is rotated towards u_{k+1} alone
    theta = 0.4
    V = U[:, :K].copy()
    V[:, K - 1] = np.cos(theta) * U[:, K - 1] + np.sin(theta) * U[:, K]
    excess = loss_of_map(S, projector(V)) - l_star
    assert excess == pytest.approx(gap * np.sin(theta) ** 2, rel=1e-9)
