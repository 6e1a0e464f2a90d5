r"""RBMs of Ising configurations in PyTorch: the exact Ising RBM and batches of RBMs, one per
temperature.

The book's binary RBM (:mod:`genmod.ebm`, eqs. ``ebm-rbm-energy``, ``ebm-rbm-free-energy``)
over the spins of an :math:`L \times L` torus written as visible units
:math:`x_i = (s_i + 1)/2 \in \{0, 1\}`, :math:`d = L^2`. The equations are in
``book/physics/ising.md``, section "An RBM per temperature" (labels in the docstrings).

Two things live here because a test and the notebook ``book/physics/ising_rbm_torch``
both use them:

- :func:`exact_ising_rbm`, the RBM whose marginal is *exactly* the Ising Boltzmann
  distribution, with one hidden unit per bond (eq. ``physics-rbm-exact-ising``);
- the batched RBM: ``n_T`` independent RBMs of the same shape stacked on axis 0, so that
  one ``torch.bmm`` updates all temperatures at once. Shapes: weights ``W`` ``(n_T, d, d_h)``,
  visible biases ``a`` ``(n_T, d)``, hidden biases ``b`` ``(n_T, d_h)``, visible states
  ``v`` ``(n_T, n, d)``. For ``n_T = 1`` every function equals its :mod:`genmod.ebm`
  counterpart (a test checks it).

The training loop itself (PCD, the flip-symmetric parametrisation, the symmetry
augmentation) is written out in the notebook.

Importing this module imports ``torch`` (never ``tensorflow``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from genmod.ebm import bernoulli

__all__ = [
    "spins_to_visible", "visible_to_spins", "torus_bonds", "exact_ising_rbm", "check_batched",
    "free_energy", "p_h_given_v", "p_v_given_h", "gibbs_step", "symmetric_biases",
    "random_symmetry",
]


def spins_to_visible(spins, *, dtype=torch.float32, device=None) -> torch.Tensor:
    r"""Spins :math:`s = \pm 1` of lattices ``(..., L, L)`` to visible units :math:`x = (s + 1)/2`,
    shape ``(..., L*L)``.

    Args:
        spins: a numpy array or tensor of ±1 (any integer or float dtype), at least 2-D.
        dtype, device: of the result.

    Returns:
        A float tensor of 0s and 1s, the last two axes flattened in row-major order.

    Raises:
        ValueError: if a value is not ±1 or the input has fewer than two axes.
    """
    s = torch.as_tensor(np.asarray(spins) if not torch.is_tensor(spins) else spins)
    if s.dim() < 2:
        raise ValueError(
            f"spins must have at least two axes (..., L, L), got shape {tuple(s.shape)}"
        )
    if not bool(((s == 1) | (s == -1)).all()):
        raise ValueError("spins must be exactly +1 or -1")
    return ((s.to(dtype) + 1) / 2).reshape(*s.shape[:-2], -1).to(device)


def visible_to_spins(v: torch.Tensor, L: int) -> np.ndarray:
    r"""Visible units ``(..., L*L)`` in {0, 1} back to int8 spins ``(..., L, L)`` of ±1 (numpy).

    Raises:
        ValueError: if the last axis is not ``L*L`` long or a value is not 0 or 1.
    """
    if v.shape[-1] != L * L:
        raise ValueError(f"the last axis must have L*L = {L * L} units, got shape {tuple(v.shape)}")
    if not bool(((v == 0) | (v == 1)).all()):
        raise ValueError("visible units must be exactly 0 or 1")
    s = (2 * v.detach().cpu().numpy() - 1).astype(np.int8)
    return s.reshape(*v.shape[:-1], L, L)


def torus_bonds(L: int) -> np.ndarray:
    r"""The :math:`2L^2` nearest-neighbour bonds of the :math:`L \times L` torus, int64 ``(2 L^2,
    2)``.

    Site :math:`(r, c)` has index :math:`rL + c` (row-major, as :func:`spins_to_visible`);
    bond ``k < L^2`` joins site ``k`` to its right neighbour, bond ``L^2 + k`` to the one below.

    Raises:
        ValueError: if ``L < 3`` (on smaller tori two bonds join the same pair of sites,
            and a site would be its own neighbour's neighbour twice).
    """
    if int(L) != L or L < 3:
        raise ValueError(f"need an integer side L >= 3, got {L}")
    idx = np.arange(L * L).reshape(L, L)
    right = np.stack([idx.ravel(), np.roll(idx, -1, axis=1).ravel()], axis=1)
    down = np.stack([idx.ravel(), np.roll(idx, -1, axis=0).ravel()], axis=1)
    return np.concatenate([right, down])


def exact_ising_rbm(L: int, temperature: float, J: float = 1.0, *, dtype=torch.float64):
    r"""The RBM whose marginal is exactly the Ising Boltzmann distribution on the :math:`L \times L`
    torus.

    One hidden unit per bond :math:`\langle ij \rangle`, joined to :math:`x_i` and :math:`x_j`
    with the weight :math:`w` and with the bias :math:`-w`; every visible unit has the bias
    :math:`-2w` (eq. ``physics-rbm-exact-ising``):

    .. math::
        w = 2 \operatorname{arccosh} e^{2K}, \qquad K = J / T, \qquad
        F(\x) = \beta E_{\mathrm{Ising}}(\mathbf{s}) + 2L^2 \left(K -
            \operatorname{softplus}(-w)\right),

    so :math:`p(\x) = e^{-F(\x)}/Z` is :math:`e^{-\beta E(\mathbf{s})} / Z_{\mathrm{Ising}}` with
    :math:`s = 2v - 1`. The construction needs a ferromagnet, :math:`J > 0`.

    Args:
        L: the side, >= 3.
        temperature: :math:`T > 0` (units of :math:`J/k_B`).
        J: the coupling, > 0.
        dtype: of the parameters.

    Returns:
        ``(W, a, b, offset)``: ``W`` ``(L^2, 2L^2)``, ``a`` ``(L^2,)``, ``b`` ``(2L^2,)``,
        and the constant ``offset`` (float) with
        :math:`F(\x) = \beta E(\mathbf{s}) + \text{offset}`.

    Raises:
        ValueError: if ``T <= 0``, ``J <= 0`` or ``L < 3``.

    References:
        The bond-by-bond construction of a Boltzmann distribution with pairwise couplings
        as an RBM: e.g. Torlai & Melko, PRB 94, 165134 (2016); derivation in
        ``book/physics/ising.md``.
    """
    if not (temperature > 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not J > 0:
        raise ValueError(f"the exact Ising RBM needs a ferromagnetic coupling J > 0, got {J}")
    bonds = torus_bonds(L)
    K = J / temperature
    w = 2.0 * math.acosh(math.exp(2.0 * K))                      # 2 ln cosh(w/2) = 4K
    d, d_h = L * L, len(bonds)
    W = torch.zeros(d, d_h, dtype=dtype)
    cols = torch.arange(d_h)
    W[torch.as_tensor(bonds[:, 0]), cols] = w
    W[torch.as_tensor(bonds[:, 1]), cols] = w
    b = torch.full((d_h,), -w, dtype=dtype)
    # each site ends 4 bonds: 4 x (-w/2)
    a = torch.full((d,), -2.0 * w, dtype=dtype)
    softplus_minus_w = math.log1p(math.exp(-w))
    offset = d_h * (K - softplus_minus_w)
    return W, a, b, offset


def check_batched(W: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> None:
    r"""Check the shapes of a batch of RBMs: ``W`` ``(n_T, d, d_h)``, ``a`` ``(n_T, d)``, ``b``
    ``(n_T, d_h)``.

    Raises:
        ValueError: if they do not agree.
    """
    if W.dim() != 3 or a.shape != (W.shape[0], W.shape[1]) or b.shape != (W.shape[0], W.shape[2]):
        raise ValueError(f"need W (n_T, d, d_h), a (n_T, d), b (n_T, d_h); got W {tuple(W.shape)}, "
                         f"a {tuple(a.shape)}, b {tuple(b.shape)}")


def _check_v(v: torch.Tensor, W: torch.Tensor) -> None:
    if v.dim() != 3 or v.shape[0] != W.shape[0] or v.shape[2] != W.shape[1]:
        raise ValueError(
            f"need v (n_T, n, d) = ({W.shape[0]}, n, {W.shape[1]}), got {tuple(v.shape)}"
        )


def free_energy(v: torch.Tensor, W: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""The free energies :math:`F(\x) = -a^\top \x - \sum_j \operatorname{softplus}(b_j + (\x^\top
    W)_j)` of each RBM.

    Eq. ``ebm-rbm-free-energy``, for every temperature of the batch at once.

    Args:
        v: visible states ``(n_T, n, d)``, values in {0, 1} (float).
        W, a, b: the batch of RBMs (:func:`check_batched`).

    Returns:
        ``(n_T, n)``, in nats.

    Raises:
        ValueError: if the shapes do not agree.
    """
    check_batched(W, a, b)
    _check_v(v, W)
    pre = torch.bmm(v, W) + b[:, None, :]                        # (n_T, n, d_h)
    return -(v * a[:, None, :]).sum(-1) - F.softplus(pre).sum(-1)


def p_h_given_v(v: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r""":math:`p(h_j = 1 \mid \x) = \sigmoid(b_j + \sum_i x_i w_{ij})` (eq.
    ``ebm-rbm-hidden-conditional``), ``(n_T, n, d_h)``."""
    return torch.sigmoid(torch.bmm(v, W) + b[:, None, :])


def p_v_given_h(h: torch.Tensor, W: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    r""":math:`p(v_i = 1 \mid \h) = \sigmoid(a_i + \sum_j w_{ij} h_j)` (eq.
    ``ebm-rbm-visible-conditional``), ``(n_T, n, d)``."""
    return torch.sigmoid(torch.bmm(h, W.transpose(1, 2)) + a[:, None, :])


def gibbs_step(v: torch.Tensor, W: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *,
               generator: torch.Generator | None = None) -> torch.Tensor:
    r"""One block-Gibbs step :math:`\x \to \h \sim p(\h \mid \x) \to \x' \sim p(\x \mid \h)` of
    every RBM (eq. ``ebm-gibbs``).

    The random draws are those of :func:`genmod.ebm.gibbs_step` (uniforms for the hidden
    layer first, then for the visible one), so for ``n_T = 1`` both give the same states
    from the same generator.

    Args:
        v: ``(n_T, n, d)`` in {0, 1}.
        W, a, b: the batch of RBMs.
        generator: a ``torch.Generator`` on the parameters' device.

    Returns:
        The new visible states ``(n_T, n, d)``.
    """
    _check_v(v, W)
    h = bernoulli(p_h_given_v(v, W, b), generator=generator)
    return bernoulli(p_v_given_h(h, W, a), generator=generator)


def symmetric_biases(W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The biases that make an RBM invariant under the global flip :math:`\x \to 1 - \x`
    (:math:`\mathbf{s} \to -\mathbf{s}`).

    .. math::
        a = -\tfrac12 W \mathbf{1}, \qquad b = -\tfrac12 W^\top \mathbf{1}
        \quad\Longrightarrow\quad F(\mathbf 1 - \x) = F(\x)

    (eq. ``physics-rbm-flip-symmetric``): each hidden unit then adds
    :math:`\ln 2\cosh(\tfrac14 \sum_i w_{ij} s_i)`, an even function of the spins, and the
    visible biases cancel the linear parts. The exact Ising RBM (:func:`exact_ising_rbm`) has
    this form.

    Args:
        W: ``(..., d, d_h)``.

    Returns:
        ``(a, b)`` of shapes ``(..., d)`` and ``(..., d_h)``, differentiable functions of ``W``.
    """
    return -0.5 * W.sum(-1), -0.5 * W.sum(-2)


def random_symmetry(
    spins: torch.Tensor, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Each lattice moved by a random symmetry of the zero-field torus: a translation, one of the 8
    rotations and reflections, and the global flip.

    The Boltzmann distribution of :math:`E = -J\sum_{\langle ij\rangle} s_i s_j` is invariant under
    all :math:`2 \cdot 8 \cdot L^2` of them, so a lattice moved by one is as likely as the lattice
    itself: the moved lattices are more samples of the same distribution (data augmentation
    that is exact, not approximate). One symmetry is drawn per lattice, uniformly.

    Args:
        spins: ``(..., n, L, L)`` of ±1 (any float or integer dtype).
        generator: ``torch.Generator`` on the spins' device.

    Returns:
        A tensor like ``spins``.

    Raises:
        ValueError: if the lattices are not square.
    """
    L = spins.shape[-1]
    if spins.dim() < 3 or spins.shape[-2] != L:
        raise ValueError(f"need square lattices (..., n, L, L), got {tuple(spins.shape)}")
    dev = spins.device
    shape = spins.shape[:-2]
    dr = torch.randint(L, shape, generator=generator, device=dev)
    dc = torch.randint(L, shape, generator=generator, device=dev)
    rows = (torch.arange(L, device=dev) + dr[..., None]) % L                    # (..., L)
    cols = (torch.arange(L, device=dev) + dc[..., None]) % L
    out = torch.gather(spins, -2, rows[..., :, None].expand(*shape, L, L))
    out = torch.gather(out, -1, cols[..., None, :].expand(*shape, L, L))         # translated
    transpose = torch.rand(shape, generator=generator, device=dev) < 0.5
    out = torch.where(transpose[..., None, None], out.transpose(-1, -2), out)
    flip_r = torch.rand(shape, generator=generator, device=dev) < 0.5
    out = torch.where(flip_r[..., None, None], out.flip(-2), out)
    flip_c = torch.rand(shape, generator=generator, device=dev) < 0.5
    out = torch.where(flip_c[..., None, None], out.flip(-1), out)  # the 8 of D4
    sign = torch.where(torch.rand(shape, generator=generator, device=dev) < 0.5, -1, 1).to(
        spins.dtype
    )
    return out * sign[..., None, None]                                            # the global flip
