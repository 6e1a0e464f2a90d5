r"""RBMs of Ising configurations in PyTorch: what is particular to the Ising model.

The RBM itself, and batches of RBMs (one per temperature, stacked on axis 0: ``W``
``(n_T, d, d_h)``, visible states ``x`` ``(n_T, N, d)``), is the book's binary RBM of
:mod:`genmod.rbm` (eqs. ``ebm-rbm-energy``, ``ebm-rbm-free-energy``). Here the spins of an
:math:`L \times L` torus are its visible units :math:`x_i = (s_i + 1)/2 \in \{0, 1\}`,
:math:`d = L^2`. The equations are in ``book/physics/ising.md``, section "An RBM per
temperature" (labels in the docstrings).

What lives here, because a test and the notebook ``book/physics/ising_rbm_torch`` both use it:

- the maps between spins and visible units (:func:`spins_to_visible`,
  :func:`visible_to_spins`) and the bonds of the torus (:func:`torus_bonds`);
- :func:`exact_ising_rbm`, the RBM whose marginal is *exactly* the Ising Boltzmann
  distribution, with one hidden unit per bond (eq. ``physics-rbm-exact-ising``);
- the flip-symmetric biases (:func:`symmetric_biases`) and the exact symmetries of the
  torus used as data augmentation (:func:`random_symmetry`).

The training loop itself (PCD, the flip-symmetric parametrisation, the symmetry
augmentation) is written out in the notebook.

Importing this module imports ``torch`` (never ``tensorflow``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "spins_to_visible", "visible_to_spins", "torus_bonds", "exact_ising_rbm", "symmetric_biases",
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


def visible_to_spins(x: torch.Tensor, L: int) -> np.ndarray:
    r"""Visible units ``(..., L*L)`` in {0, 1} back to int8 spins ``(..., L, L)`` of ±1 (numpy).

    Raises:
        ValueError: if the last axis is not ``L*L`` long or a value is not 0 or 1.
    """
    if x.shape[-1] != L * L:
        raise ValueError(f"the last axis must have L*L = {L * L} units, got shape {tuple(x.shape)}")
    if not bool(((x == 0) | (x == 1)).all()):
        raise ValueError("visible units must be exactly 0 or 1")
    s = (2 * x.detach().cpu().numpy() - 1).astype(np.int8)
    return s.reshape(*x.shape[:-1], L, L)


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
