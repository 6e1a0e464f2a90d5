r"""genmod.rbm: the batch axes of the one binary RBM, and log Z by brute force.

A batch of RBMs (``W`` ``(..., d, d_h)``, states ``(..., N, d)``) must give, for each RBM of the
batch, what the unbatched functions give for that RBM alone: the free energy (eq.
``ebm-rbm-free-energy``), the conditionals (eqs. ``ebm-rbm-hidden-conditional``,
``ebm-rbm-visible-conditional``), one Gibbs step (eq. ``ebm-gibbs``, the same uniforms in the
same order), the CD-k estimate (eq. ``ebm-cd``) and the exact log Z (eq. ``ebm-log-z-exact``),
which must also equal the log of the sum of :math:`e^{-E}` over all joint states of a tiny RBM.
float64 throughout.
"""

import itertools

import pytest
import torch

from genmod import rbm

DT = torch.float64
N_T, N, D, D_H = 3, 5, 6, 4


def batch(seed=0, n_t=N_T):
    """n_t RBMs (D x D_H) stacked on axis 0, visible states (n_t, N, D), hidden (n_t, N, D_H)."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(n_t, D, D_H, generator=g, dtype=DT)
    a = 0.5 * torch.randn(n_t, D, generator=g, dtype=DT)
    b = 0.5 * torch.randn(n_t, D_H, generator=g, dtype=DT)
    x = (torch.rand(n_t, N, D, generator=g, dtype=DT) < 0.5).to(DT)
    h = (torch.rand(n_t, N, D_H, generator=g, dtype=DT) < 0.5).to(DT)
    return W, a, b, x, h


def test_free_energy_energy_and_conditionals_equal_the_unbatched_ones():
    W, a, b, x, h = batch()
    F, E = rbm.free_energy(x, W, a, b), rbm.energy(x, h, W, a, b)
    ph, px = rbm.p_h_given_x(x, W, b), rbm.p_x_given_h(h, W, a)
    assert F.shape == E.shape == (N_T, N)
    assert ph.shape == (N_T, N, D_H) and px.shape == (N_T, N, D)
    for k in range(N_T):
        torch.testing.assert_close(F[k], rbm.free_energy(x[k], W[k], a[k], b[k]))
        torch.testing.assert_close(E[k], rbm.energy(x[k], h[k], W[k], a[k], b[k]))
        torch.testing.assert_close(ph[k], rbm.p_h_given_x(x[k], W[k], b[k]))
        torch.testing.assert_close(px[k], rbm.p_x_given_h(h[k], W[k], a[k]))


def test_leading_axes_broadcast():
    """One RBM applied to states with two batch axes, and two batch axes of RBMs."""
    W, a, b, x, _ = batch()
    x2 = x.expand(2, -1, -1, -1)                                        # (2, N_T, N, D)
    F = rbm.free_energy(x2, W[0], a[0], b[0])
    assert F.shape == (2, N_T, N)
    for k in range(N_T):
        torch.testing.assert_close(F[1, k], rbm.free_energy(x[k], W[0], a[0], b[0]))
    F = rbm.free_energy(x2, W.expand(2, -1, -1, -1), a, b[None])
    torch.testing.assert_close(F[0], rbm.free_energy(x, W, a, b))
    with pytest.raises(ValueError, match="broadcast"):
        rbm.free_energy(x, W, a[:2], b)
    with pytest.raises(ValueError, match="need x"):
        rbm.free_energy(x[..., :-1], W, a, b)


def test_gibbs_step_draws_what_the_unbatched_step_draws():
    """From the same generator state: a batch of one equals the unbatched step bit for bit; a
    batch of N_T equals, RBM by RBM, the unbatched step given the same uniforms (the hidden
    layer's for the whole batch first, then the visible layer's)."""
    W, a, b, x, _ = batch(1)
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    x1, h1 = rbm.gibbs_step(x[:1], W[:1], a[:1], b[:1], generator=g1)
    x0, h0 = rbm.gibbs_step(x[0], W[0], a[0], b[0], generator=g2)
    assert torch.equal(x1[0], x0) and torch.equal(h1[0], h0)

    g1, g2 = torch.Generator().manual_seed(8), torch.Generator().manual_seed(8)
    x_new, h = rbm.gibbs_step(x, W, a, b, generator=g1)
    u_h = torch.rand((N_T, N, D_H), generator=g2, dtype=DT)
    u_x = torch.rand((N_T, N, D), generator=g2, dtype=DT)
    for k in range(N_T):
        h_k = (u_h[k] < rbm.p_h_given_x(x[k], W[k], b[k])).to(DT)
        x_k = (u_x[k] < rbm.p_x_given_h(h_k, W[k], a[k])).to(DT)
        assert torch.equal(h[k], h_k) and torch.equal(x_new[k], x_k)


def test_cd_gradient_equals_the_unbatched_one():
    """k = 1 with a batch of one (same generator), and the shapes of a batch of N_T."""
    W, a, b, x, _ = batch(2)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    ours = rbm.cd_gradient(x[:1], W[:1], a[:1], b[:1], k=2, generator=g1)
    theirs = rbm.cd_gradient(x[0], W[0], a[0], b[0], k=2, generator=g2)
    for o, t in zip(ours, theirs):
        torch.testing.assert_close(o[0], t)
    dW, da, db, chain = rbm.cd_gradient(x, W, a, b, k=1, generator=g1)
    assert dW.shape == W.shape and da.shape == a.shape and db.shape == b.shape
    assert chain.shape == x.shape


def brute_force_log_z(W, a, b):
    """log sum over all (x, h) of exp(-E(x, h)), one joint state at a time."""
    terms = []
    for xs in itertools.product((0.0, 1.0), repeat=W.shape[0]):
        x = torch.tensor([xs], dtype=DT)
        for hs in itertools.product((0.0, 1.0), repeat=W.shape[1]):
            terms.append(-rbm.energy(x, torch.tensor([hs], dtype=DT), W, a, b)[0])
    return torch.logsumexp(torch.stack(terms), 0)


def test_log_z_exact_matches_brute_force_enumeration():
    """A 4 x 3 RBM (2^7 joint states), alone and in a batch of N_T."""
    g = torch.Generator().manual_seed(4)
    W = torch.randn(N_T, 4, 3, generator=g, dtype=DT)
    a = torch.randn(N_T, 4, generator=g, dtype=DT)
    b = torch.randn(N_T, 3, generator=g, dtype=DT)
    batched = rbm.log_z_exact(W, a, b)
    assert batched.shape == (N_T,)
    for k in range(N_T):
        exact = brute_force_log_z(W[k], a[k], b[k])
        torch.testing.assert_close(rbm.log_z_exact(W[k], a[k], b[k], chunk=3), exact)
        torch.testing.assert_close(batched[k], exact)
    x = (torch.rand(N_T, 2, 4, generator=g, dtype=DT) < 0.5).to(DT)
    ll = rbm.log_likelihood(x, W, a, b, batched)
    torch.testing.assert_close(ll[1], rbm.log_likelihood(x[1], W[1], a[1], b[1], batched[1]))
