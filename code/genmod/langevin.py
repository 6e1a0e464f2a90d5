r"""Langevin samplers in PyTorch: unadjusted Langevin (ULA), MALA and SGLD.

The equations are in ``book/ebm/langevin.md`` (labels in the docstrings). Notation
(``book/notation.md``): a state :math:`\x \in \R^d`, a target density :math:`p(\x)`
known up to its normalising constant, its *score* :math:`\nabla_{\x} \log p(\x)`
(which needs no partition function), a step size :math:`\eta > 0` and standard
normal noise :math:`\epsilon_t \sim \N(0, \I)`. The Langevin step is

.. math::

    \x_{t+1} = \x_t + \eta\, \nabla_{\x} \log p(\x_t) + \sqrt{2\eta}\, \epsilon_t .

States are batches of independent chains, shape ``(n, d)``, on axis 0. Every
sampler takes a ``torch.Generator`` for its noise. A score or log-density is a
function of a tensor ``(n, d)`` returning ``(n, d)`` (score) or ``(n,)``
(log-density); :func:`score_from_log_prob` turns a log-density into a score by
automatic differentiation.

The deep energy-based models of ``book/ebm/ebm_mnist_torch`` write their own
sampler out (with the clipping and the noise used in practice); this module holds
the exact-in-the-limit samplers that the tests check against closed forms.

Importing this module imports ``torch`` (never ``tensorflow``); ``genmod/__init__.py``
does not import it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

__all__ = [
    "score_from_log_prob", "langevin_step", "langevin_chain", "MALAResult", "mala_chain",
    "sgld_step_sizes", "sgld",
]

Score = Callable[[torch.Tensor], torch.Tensor]


def _check_states(x: torch.Tensor, name: str = "x") -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a tensor of shape (n, d): n chains in d dimensions; got "
                         f"{shape}")
    if not torch.is_floating_point(x):
        raise ValueError(f"{name} must be a floating-point tensor, got {x.dtype}")


def _check_step(step_size: float) -> float:
    step_size = float(step_size)
    if not (step_size > 0 and math.isfinite(step_size)):
        raise ValueError(f"step_size (eta) must be a positive finite number, got {step_size}")
    return step_size


def score_from_log_prob(log_prob: Callable[[torch.Tensor], torch.Tensor]) -> Score:
    r"""The score :math:`\nabla_{\x} \log p(\x)` of a log-density, by automatic differentiation.

    An additive constant in ``log_prob`` (such as :math:`-\log Z`) does not change
    the score, which is why Langevin sampling needs no partition function
    (eq. ``ebm-score-no-z``).

    Args:
        log_prob: maps ``(n, d)`` to ``(n,)``, the log-density of each row up to a
            constant (nats), differentiable in its input; e.g. ``-energy(x)``.

    Returns:
        A function mapping ``(n, d)`` to ``(n, d)``, the score of each row; it
        does not keep the graph (the result carries no gradient).
    """

    def score(x: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(log_prob(x).sum(), x)
        return grad

    return score


def langevin_step(x: torch.Tensor, score: Score, step_size: float, *,
                  generator: torch.Generator | None = None,
                  noise_scale: float | None = None) -> torch.Tensor:
    r"""One step of the unadjusted Langevin algorithm (ULA), eq. ``ebm-ula``.

    .. math::

        \x_{t+1} = \x_t + \eta\, \nabla_{\x} \log p(\x_t) + \sqrt{2\eta}\, \epsilon_t,
        \qquad \epsilon_t \sim \N(0, \I).

    Args:
        x: current states, shape ``(n, d)``, float.
        score: maps ``(n, d)`` to ``(n, d)``, :math:`\nabla_{\x} \log p`.
        step_size: :math:`\eta > 0`, in squared units of :math:`\x`.
        generator: ``torch.Generator`` on ``x``'s device for the noise.
        noise_scale: the standard deviation of the added noise; ``None`` (the
            default) is the correct :math:`\sqrt{2\eta}`. Anything else is *not* a
            sampler of :math:`p`: :math:`\sqrt{\eta}` (the course notes' slip)
            samples :math:`p^2` (normalised) as :math:`\eta \to 0`, eq.
            ``ebm-sqrt-eta-slip``; in general the chain samples
            :math:`p^{2\eta/s^2}` for noise scale :math:`s` (an inverse
            temperature :math:`\beta = 2\eta/s^2`, eq. ``ebm-effective-temperature``).

    Returns:
        The new states, shape ``(n, d)``.

    Raises:
        ValueError: if ``x`` is not a float ``(n, d)`` tensor, ``step_size`` is not
            positive, ``noise_scale`` is negative, or ``score`` returns another shape.

    References:
        Roberts and Tweedie (1996), eq. (3) (ULA); Welling and Teh (2011), eq. (4)
        with their :math:`\epsilon = 2\eta`.
    """
    _check_states(x)
    eta = _check_step(step_size)
    s = math.sqrt(2.0 * eta) if noise_scale is None else float(noise_scale)
    if not (s >= 0 and math.isfinite(s)):
        raise ValueError(f"noise_scale must be a non-negative finite number, got {noise_scale}")
    g = score(x)
    if g.shape != x.shape:
        raise ValueError(f"score must return the shape of its input {tuple(x.shape)}, got "
                         f"{tuple(g.shape)}")
    # eps_t ~ N(0, I)
    eps = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x + eta * g + s * eps  # x_{t+1} = x_t + eta grad log p + sqrt(2 eta) eps_t


def langevin_chain(x0: torch.Tensor, score: Score, step_size: float, num_steps: int, *,
                   generator: torch.Generator | None = None, noise_scale: float | None = None,
                   burn_in: int = 0, thin: int = 1) -> torch.Tensor:
    r"""Run ULA (:func:`langevin_step`) for ``num_steps`` steps from ``x0`` and keep the states.

    Args:
        x0: initial states, shape ``(n, d)``: ``n`` independent chains.
        score, step_size, generator, noise_scale: as in :func:`langevin_step`.
        num_steps: number of steps, >= 1.
        burn_in: states of the first ``burn_in`` steps are not kept.
        thin: keep every ``thin``-th state after the burn-in.

    Returns:
        The kept states, shape ``(num_kept, n, d)`` with
        ``num_kept = len(range(burn_in + thin, num_steps + 1, thin))``: state
        :math:`\x_t` for :math:`t = \text{burn\_in} + \text{thin}, \ldots \le \text{num\_steps}`.

    Raises:
        ValueError: on a bad shape or step size (see :func:`langevin_step`), or if
            ``num_steps < 1``, ``burn_in < 0``, ``thin < 1`` or nothing would be kept.
    """
    _check_states(x0, "x0")
    if num_steps < 1 or burn_in < 0 or thin < 1:
        raise ValueError(f"need num_steps >= 1, burn_in >= 0, thin >= 1; got {num_steps}, "
                         f"{burn_in}, {thin}")
    keep = range(burn_in + thin, num_steps + 1, thin)
    if len(keep) == 0:
        raise ValueError(f"burn_in={burn_in} and thin={thin} keep no state of {num_steps} steps")
    x, kept = x0, []
    for t in range(1, num_steps + 1):
        x = langevin_step(x, score, step_size, generator=generator, noise_scale=noise_scale)
        if t in keep:
            kept.append(x)
    return torch.stack(kept)


@dataclass(frozen=True)
class MALAResult:
    r"""What :func:`mala_chain` returns.

    Attributes:
        samples: kept states, shape ``(num_kept, n, d)``.
        acceptance_rate: the fraction of accepted proposals over all chains and steps, in [0, 1].
    """

    samples: torch.Tensor
    acceptance_rate: float


def mala_chain(x0: torch.Tensor, log_prob: Callable[[torch.Tensor], torch.Tensor], step_size: float,
               num_steps: int, *, generator: torch.Generator | None = None, burn_in: int = 0,
               thin: int = 1) -> MALAResult:
    r"""The Metropolis-adjusted Langevin algorithm (MALA), eqs. ``ebm-mala-proposal`` and
    ``ebm-mala-acceptance``.

    Each step proposes the Langevin step
    :math:`\x' = \x + \eta \nabla \log p(\x) + \sqrt{2\eta}\,\epsilon`, whose density is
    :math:`q(\x' \mid \x) = \N(\x'; \x + \eta \nabla \log p(\x), 2\eta \I)`, and accepts it
    with probability

    .. math::

        \min\left(1, \frac{p(\x')\, q(\x \mid \x')}{p(\x)\, q(\x' \mid \x)}\right),

    so that :math:`p` is exactly stationary for every :math:`\eta` (the ratio of
    unnormalised densities needs no partition function).

    Args:
        x0: initial states, shape ``(n, d)``.
        log_prob: maps ``(n, d)`` to ``(n,)``, :math:`\log p` up to a constant
            (nats), differentiable (the score is taken by autograd).
        step_size: :math:`\eta > 0`.
        num_steps, burn_in, thin: as in :func:`langevin_chain`.
        generator: ``torch.Generator`` on ``x0``'s device (noise and the accept test).

    Returns:
        A :class:`MALAResult`.

    Raises:
        ValueError: as :func:`langevin_chain`, or if ``log_prob`` does not return shape ``(n,)``.

    References:
        Roberts and Tweedie (1996), section 1.3; Besag (1994).
    """
    _check_states(x0, "x0")
    eta = _check_step(step_size)
    if num_steps < 1 or burn_in < 0 or thin < 1:
        raise ValueError(f"need num_steps >= 1, burn_in >= 0, thin >= 1; got {num_steps}, "
                         f"{burn_in}, {thin}")
    keep = range(burn_in + thin, num_steps + 1, thin)
    if len(keep) == 0:
        raise ValueError(f"burn_in={burn_in} and thin={thin} keep no state of {num_steps} steps")

    def value_and_score(x):
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            lp = log_prob(x)
            if lp.shape != x.shape[:1]:
                raise ValueError(f"log_prob must return shape ({x.shape[0]},), got "
                                 f"{tuple(lp.shape)}")
            (g,) = torch.autograd.grad(lp.sum(), x)
        return lp.detach(), g

    def log_q(to, frm, score_frm):  # log N(to; frm + eta score, 2 eta I) up to a constant
        return -((to - frm - eta * score_frm) ** 2).sum(-1) / (4.0 * eta)

    x = x0.detach()
    lp, g = value_and_score(x)
    kept, accepted = [], 0
    for t in range(1, num_steps + 1):
        eps = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        prop = x + eta * g + math.sqrt(2.0 * eta) * eps              # the Langevin proposal
        lp_prop, g_prop = value_and_score(prop)
        log_alpha = lp_prop + log_q(x, prop, g_prop) - lp - log_q(prop, x, g)  # log of the MH ratio
        u = torch.rand(x.shape[:1], generator=generator, dtype=x.dtype, device=x.device)
        accept = torch.log(u) < log_alpha
        accepted += int(accept.sum())
        x = torch.where(accept[:, None], prop, x)
        lp = torch.where(accept, lp_prop, lp)
        g = torch.where(accept[:, None], g_prop, g)
        if t in keep:
            kept.append(x)
    return MALAResult(torch.stack(kept), accepted / (num_steps * x.shape[0]))


def sgld_step_sizes(num_steps: int, *, eta0: float, t0: float = 1.0,
                    decay: float = 0.55) -> torch.Tensor:
    r"""The polynomially decaying step sizes of SGLD, eq. ``ebm-sgld-schedule``:
    :math:`\eta_t = \eta_0 (1 + t/t_0)^{-\upsilon}`.

    With the decay exponent :math:`\upsilon \in (1/2, 1]` the schedule satisfies Robbins and
    Monro's conditions :math:`\sum_t \eta_t = \infty`, :math:`\sum_t \eta_t^2 < \infty`.

    Args:
        num_steps: number of steps :math:`t = 0, \ldots, \text{num\_steps} - 1`.
        eta0: the first step size :math:`\eta_0 > 0` (squared units of the parameters).
        t0: the number of steps :math:`t_0 > 0` over which the steps stay near :math:`\eta_0`.
        decay: the exponent :math:`\upsilon`, in (1/2, 1].

    Returns:
        Float64 tensor of shape ``(num_steps,)``.

    Raises:
        ValueError: if ``eta0`` or ``t0`` is not positive, ``decay`` is outside (1/2, 1] or
            ``num_steps < 1``.

    References:
        Welling and Teh (2011), section 3 (their :math:`\epsilon_t = a (b + t)^{-\gamma} =
        2\eta_t`).
    """
    if num_steps < 1 or not eta0 > 0 or not t0 > 0 or not 0.5 < decay <= 1:
        raise ValueError("need num_steps >= 1, eta0 > 0, t0 > 0, 0.5 < decay <= 1; got "
                         f"{num_steps}, {eta0}, {t0}, {decay}")
    t = torch.arange(num_steps, dtype=torch.float64)
    return eta0 * (1.0 + t / t0) ** (-decay)


def sgld(theta0: torch.Tensor, grad_log_prior: Score,
         grad_log_lik: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
         data: torch.Tensor, *, batch_size: int, step_sizes,
         generator: torch.Generator | None = None,
         burn_in: int = 0, thin: int = 1) -> torch.Tensor:
    r"""Stochastic-gradient Langevin dynamics (Welling and Teh 2011), eq. ``ebm-sgld``.

    With :math:`n` data points and a minibatch :math:`\mathcal{S}_t` of :math:`B` of them,

    .. math::

        \theta_{t+1} = \theta_t + \eta_t \Big( \nabla \log p(\theta_t)
            + \frac{n}{B} \sum_{i \in \mathcal{S}_t} \nabla \log p(\x_i \mid \theta_t) \Big)
            + \sqrt{2 \eta_t}\, \epsilon_t .

    Args:
        theta0: initial parameters, shape ``(c, k)``: ``c`` independent chains of
            ``k`` parameters each.
        grad_log_prior: maps ``(c, k)`` to ``(c, k)``, :math:`\nabla_\theta \log p(\theta)`.
        grad_log_lik: ``grad_log_lik(theta, batch)`` maps ``(c, k)`` and a batch of
            data rows ``(B, ...)`` to ``(c, k)``, the *sum* over the batch of
            :math:`\nabla_\theta \log p(\x_i \mid \theta)`.
        data: the :math:`n` data points, rows on axis 0.
        batch_size: :math:`B`, 1 <= B <= n; each step draws a batch without
            replacement (the same batch for all chains).
        step_sizes: :math:`\eta_t`, a 1-D sequence, one per step (e.g. :func:`sgld_step_sizes`);
            its length is the number of steps.
        generator: ``torch.Generator`` for the batches and the noise (on the CPU
            for the batches; the noise is drawn on ``theta0``'s device, which must
            then be the CPU too when a generator is given).
        burn_in, thin: as in :func:`langevin_chain`.

    Returns:
        The kept parameters, shape ``(num_kept, c, k)``.

    Raises:
        ValueError: on a bad shape, batch size or step size, or if ``grad_log_lik``
            or ``grad_log_prior`` returns another shape.

    References:
        Welling and Teh (2011), eq. (4), with their :math:`\epsilon_t = 2\eta_t`.
    """
    _check_states(theta0, "theta0")
    n = len(data)
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be in [1, n = {n}], got {batch_size}")
    steps = [float(s) for s in step_sizes]
    if not steps:
        raise ValueError("step_sizes is empty: give one step size per step")
    for s in steps:
        _check_step(s)
    num_steps = len(steps)
    keep = range(burn_in + thin, num_steps + 1, thin)
    if burn_in < 0 or thin < 1 or len(keep) == 0:
        raise ValueError(f"burn_in={burn_in} and thin={thin} keep no state of {num_steps} steps")
    theta, kept = theta0, []
    for t, eta in enumerate(steps, start=1):
        idx = torch.randperm(n, generator=generator)[:batch_size]
        g_prior = grad_log_prior(theta)
        g_lik = grad_log_lik(theta, data[idx])
        if g_prior.shape != theta.shape or g_lik.shape != theta.shape:
            raise ValueError(f"gradients must have the shape of theta {tuple(theta.shape)}; "
                             f"got prior {tuple(g_prior.shape)}, "
                             f"likelihood {tuple(g_lik.shape)}")
        drift = g_prior + (n / batch_size) * g_lik  # unbiased estimate of grad log posterior
        eps = torch.randn(theta.shape, generator=generator, dtype=theta.dtype, device=theta.device)
        theta = theta + eta * drift + math.sqrt(2.0 * eta) * eps    # eq. ebm-sgld
        if t in keep:
            kept.append(theta)
    return torch.stack(kept)
