r"""GAN losses and the WGAN-GP gradient penalty, in PyTorch, from the discriminator's logits.

The equations are in ``book/gans/theory.md``. The notebook that introduces each
function shows its source (``book/gans/gan_1d_torch`` the losses,
``book/gans/wgan_modes_torch`` the penalty); later notebooks import them from here.
All losses take the discriminator's **logits** :math:`\ell`, with
:math:`D = \sigmoid(\ell)`, and use ``logsigmoid``, which stays finite where
:math:`D` rounds to 0 or 1. Losses are in nats, averaged over the batch.

Importing this module imports ``torch`` (never ``tensorflow``); ``genmod/__init__.py``
does not import it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["discriminator_loss", "generator_loss_saturating", "generator_loss_nonsaturating",
           "critic_loss", "gradient_penalty"]


def discriminator_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    r"""The discriminator's loss: minus the value function on a minibatch.

    .. math::
        \mathcal{L}_D = -\frac1B \sum_i \log D(\x_i)
            - \frac1B \sum_i \log\left(1 - D(G(\h_i))\right) = -\hat v(G, D)

    (eq. ``gans-value-function``; Goodfellow et al. 2014, eq. 1). At :math:`D = \tfrac12`
    everywhere it is :math:`\log 4`.

    Args:
        logits_real: :math:`\ell(\x)` on real data, shape ``(B, 1)`` or ``(B,)``.
        logits_fake: :math:`\ell(G(\h))` on generated data, same shape rule.

    Returns:
        A scalar tensor, in nats.
    """
    # -log D(x) = -logsigmoid(l), -log(1 - D) = -logsigmoid(-l)
    return -F.logsigmoid(logits_real).mean() - F.logsigmoid(-logits_fake).mean()


def generator_loss_saturating(logits_fake: torch.Tensor) -> torch.Tensor:
    r"""The minimax (saturating) generator loss, from logits.

    .. math::
        \mathcal{L}_G^{\mathrm{sat}} = \frac1B \sum_i \log\left(1 - D(G(\h_i))\right)

    (eq. ``gans-saturating-loss``; Goodfellow et al. 2014, eq. 1, the generator's term).

    Its gradient with respect to the logit is :math:`-D`, which vanishes when the
    discriminator rejects the samples confidently.

    Args:
        logits_fake: :math:`\ell(G(\h))`, shape ``(B, 1)`` or ``(B,)``.

    Returns:
        A scalar tensor, in nats (at most 0).
    """
    return F.logsigmoid(-logits_fake).mean()  # log(1 - sigmoid(l)) = logsigmoid(-l)


def generator_loss_nonsaturating(logits_fake: torch.Tensor) -> torch.Tensor:
    r"""The non-saturating generator loss, from logits.

    .. math::
        \mathcal{L}_G^{\mathrm{ns}} = -\frac1B \sum_i \log D(G(\h_i))

    (eq. ``gans-nonsaturating-loss``; Goodfellow et al. 2014, Sec. 3). Its gradient with
    respect to the logit is :math:`-(1 - D)`, large exactly where the saturating loss's
    vanishes.

    Args:
        logits_fake: :math:`\ell(G(\h))`, shape ``(B, 1)`` or ``(B,)``.

    Returns:
        A scalar tensor, in nats (at least 0).
    """
    return -F.logsigmoid(logits_fake).mean()


def critic_loss(f_real: torch.Tensor, f_fake: torch.Tensor) -> torch.Tensor:
    r"""The WGAN critic's loss without penalty: :math:`\E_{\pg}[f] - \E_{\pr}[f]` on a minibatch.

    Eq. ``gans-wgan-dual``.

    Minimising it maximises the critic's estimate :math:`\E_{\pr}[f] - \E_{\pg}[f]`
    of :math:`W_1(\pr, \pg)` (Arjovsky et al. 2017, eq. 3).

    Args:
        f_real, f_fake: critic values on real and generated data, shape ``(B, 1)`` or
            ``(B,)``.

    Returns:
        A scalar tensor, in the critic's units.
    """
    return f_fake.mean() - f_real.mean()


def gradient_penalty(critic, x_real: torch.Tensor, x_fake: torch.Tensor, lam: float = 10.0, *,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    r"""The WGAN-GP gradient penalty.

    .. math::
        \lambda_{\mathrm{GP}}\,
        \E_{\hat\x}\left[(\lVert \nabla_{\hat\x} f(\hat\x) \rVert_2 - 1)^2\right]

    at :math:`\hat\x = \rho \x + (1 - \rho) \tilde\x`, one
    :math:`\rho \sim \mathcal{U}(0, 1)` per pair of a real :math:`\x` and a generated
    :math:`\tilde\x` (eq. ``gans-wgan-gp``; Gulrajani et al. 2017, eq. 3 and
    Algorithm 1). The input gradient is taken with ``create_graph=True`` so that
    the penalty can be differentiated with respect to the critic's weights.

    Args:
        critic: a module or function mapping a batch ``(B, ...)`` to values ``(B, 1)``
            or ``(B,)``.
        x_real: real data, shape ``(B, ...)`` (any number of feature axes).
        x_fake: generated data, the same shape (detached from the generator).
        lam: :math:`\lambda_{\mathrm{GP}} \ge 0`, the penalty weight (10 in the paper).
        generator: ``torch.Generator`` for :math:`\rho` (Gulrajani et al.'s
            :math:`\epsilon`), on ``x_real``'s device; the global one when ``None``.

    Returns:
        A scalar tensor.

    Raises:
        ValueError: if ``x_real`` and ``x_fake`` differ in shape.
    """
    if x_real.shape != x_fake.shape:
        raise ValueError("x_real and x_fake must have the same shape, got "
                         f"{tuple(x_real.shape)} and {tuple(x_fake.shape)}")
    shape = (x_real.shape[0],) + (1,) * (x_real.dim() - 1)  # one rho per pair
    rho = torch.rand(shape, device=x_real.device, dtype=x_real.dtype, generator=generator)
    x_hat = (rho * x_real + (1 - rho) * x_fake).requires_grad_(True)              # (B, ...)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)  # (B, ...)
    grad_norm = grad.flatten(start_dim=1).norm(2, dim=1)  # ||grad f(x_hat)||_2, (B,)
    return lam * ((grad_norm - 1) ** 2).mean()
