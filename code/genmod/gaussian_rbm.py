r"""The Gaussian-binary RBM in PyTorch: free energy, conditionals, and its marginal as an exact
mixture of Gaussians.

Real visible units :math:`\x \in \R^d` with one shared standard deviation :math:`\sigma`,
binary hidden units :math:`\h \in \{0, 1\}^{d_h}`, and the energy

.. math::
    E(\x, \h) = \frac{\lVert \x - \mathbf{a} \rVert^2}{2\sigma^2} - \mathbf{b}^\top \h
                - \frac{\x^\top W \h}{\sigma^2}

(eq. ``ebm-grbm-energy`` of ``book/ebm/theory.md``; the labels of the docstrings are that
chapter's). Shapes: ``W`` ``(d, d_h)``, ``a`` ``(d,)``, ``b`` ``(d_h,)``, visible ``x``
``(N, d)``, hidden ``h`` ``(N, d_h)`` (one RBM; unlike :mod:`genmod.rbm`, no batch of RBMs).
:math:`\x`, ``a`` and :math:`\sigma` are in data units; free energies and :math:`\log Z` in
nats. The binary RBM, and what both share (the shape check, the enumeration of the hidden
states), is in :mod:`genmod.rbm`.

Importing this module imports ``torch`` (never ``tensorflow``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from genmod.rbm import all_binary_states, check_parameters

__all__ = [
    "grbm_free_energy", "grbm_p_h_given_x", "grbm_sample_x_given_h", "grbm_log_mixture_weights",
    "grbm_log_z_exact", "grbm_marginal",
]


def _check(W: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> None:
    check_parameters(W, a, b)
    if W.dim() != 2 or a.dim() != 1 or b.dim() != 1:
        raise ValueError(f"need one RBM, W (d, d_h), a (d,), b (d_h,); got W {tuple(W.shape)}, "
                         f"a {tuple(a.shape)}, b {tuple(b.shape)}")


def grbm_free_energy(x: torch.Tensor, W: torch.Tensor, a: torch.Tensor, b: torch.Tensor,
                     sigma: float) -> torch.Tensor:
    r"""Free energy of the Gaussian-binary RBM (eq. ``ebm-grbm-energy``).

    With :math:`E(\x, \h) = \frac{\lVert \x - a \rVert^2}{2\sigma^2} - b^\top \h - \frac{\x^\top W
    \h}{\sigma^2}`,

    .. math::
        F(\x) = \frac{\lVert \x - a \rVert^2}{2\sigma^2}
              - \sum_j \operatorname{softplus}\!\left(b_j + (\x^\top W)_j / \sigma^2\right).

    Args:
        x: real visible vectors, shape ``(N, d)`` (data units).
        W, a, b: the parameters; ``a`` in data units.
        sigma: the shared visible standard deviation, > 0 (data units).

    Returns:
        Shape ``(N,)``, in nats.
    """
    _check(W, a, b)
    return ((x - a) ** 2).sum(-1) / (2 * sigma**2) - F.softplus(x @ W / sigma**2 + b).sum(-1)


def grbm_p_h_given_x(x, W, b, sigma: float) -> torch.Tensor:
    r""":math:`p(h_j = 1 \mid \x) = \sigmoid(b_j + \sum_i x_i w_{ij} / \sigma^2)` (eq.
    ``ebm-grbm-conditionals``), ``(N, d_h)``.
    """
    return torch.sigmoid(x @ W / sigma**2 + b)


def grbm_sample_x_given_h(h, W, a, sigma: float, *,
                          generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Draw :math:`\x \sim \N(a + W\h, \sigma^2 \I)` (eq. ``ebm-grbm-conditionals``), shape ``(N,
    d)``.
    """
    mean = h @ W.T + a
    return mean + sigma * torch.randn(mean.shape, dtype=mean.dtype, device=mean.device,
                                      generator=generator)


def grbm_log_mixture_weights(W: torch.Tensor, a: torch.Tensor, b: torch.Tensor,
                             sigma) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The unnormalised log weights of the Gaussian-binary RBM's mixture, for every hidden state.

    .. math::
        \log \tilde\pi_\h = b^\top \h + \frac{\lVert a + W\h \rVert^2 - \lVert a
        \rVert^2}{2\sigma^2}
                         = b^\top \h + \frac{2 a^\top W \h + \h^\top W^\top W \h}{2\sigma^2}

    (eq. ``ebm-grbm-marginal``; the component of :math:`\h` is :math:`\N(a + W\h, \sigma^2\I)`).
    The second form needs arrays of shape ``(2^d_h, d_h)`` only, never ``(2^d_h, d)``.

    Args:
        W, a, b: the parameters, shapes ``(d, d_h)``, ``(d,)``, ``(d_h,)``.
        sigma: the shared visible standard deviation, > 0 (a float or a 0-d tensor).

    Returns:
        ``(states, log_weights)``: all hidden states ``(2^d_h, d_h)`` in the order of
        :func:`genmod.rbm.all_binary_states`, and :math:`\log \tilde\pi_\h` ``(2^d_h,)``, in nats;
        ``torch.softmax(log_weights, 0)`` are the mixture weights.
    """
    _check(W, a, b)
    h = all_binary_states(W.shape[1], dtype=W.dtype, device=W.device)       # (2^d_h, d_h)
    quadratic = 2 * h @ (W.T @ a) + ((h @ (W.T @ W)) * h).sum(-1)
    return h, h @ b + quadratic / (2 * sigma**2)


def grbm_log_z_exact(W, a, b, sigma) -> torch.Tensor:
    r""":math:`\log Z = \frac d2 \log(2\pi\sigma^2) + \log \sum_\h e^{b^\top\h + (\lVert a + W\h
    \rVert^2 - \lVert a \rVert^2)/(2\sigma^2)}` (eq. ``ebm-grbm-marginal``), in nats.

    Differentiable in ``W``, ``a``, ``b`` and, when it is a tensor, ``sigma``. The sum runs
    over the :math:`2^{d_h}` hidden states with memory of order :math:`2^{d_h} d_h`
    (:math:`\lVert a + W\h \rVert^2 - \lVert a \rVert^2 = 2 a^\top W \h + \h^\top W^\top W \h`),
    so :math:`d_h \le 20` is cheap for any number of visible units.
    """
    _, log_pi = grbm_log_mixture_weights(W, a, b, sigma)
    d = W.shape[0]
    # a tensor sigma keeps its gradient
    sigma_t = torch.as_tensor(sigma, dtype=W.dtype, device=W.device)
    return 0.5 * d * torch.log(2 * math.pi * sigma_t**2) + torch.logsumexp(log_pi, 0)


def grbm_marginal(W, a, b, sigma: float):
    r"""The Gaussian-binary RBM's marginal :math:`p(\x)` as the exact mixture of :math:`2^{d_h}`
    Gaussians.

    .. math::
        p(\x) = \sum_\h \pi_\h \, \N(\x; a + W\h, \sigma^2 \I), \qquad
        \pi_\h \propto e^{b^\top \h + (\lVert a + W\h \rVert^2 - \lVert a \rVert^2)/(2\sigma^2)}

    (eq. ``ebm-grbm-marginal``), returned as a :class:`genmod.data.toy.Mixture`
    (density, log-density, score, sampler).

    Args:
        W, a, b: the parameters (any float dtype; converted to numpy float64).
        sigma: the shared visible standard deviation, > 0.

    Returns:
        A ``Mixture`` with :math:`2^{d_h}` components.
    """
    from genmod.data.toy import Mixture

    _check(W, a, b)
    h, log_pi = grbm_log_mixture_weights(W.double(), a.double(), b.double(), float(sigma))
    means = h @ W.double().T + a.double()                                   # (2^d_h, d)
    weights = torch.softmax(log_pi, 0)
    return Mixture(means.detach().cpu().numpy(), float(sigma),
                   (weights / weights.sum()).detach().cpu().numpy())
