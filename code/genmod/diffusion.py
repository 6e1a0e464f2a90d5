r"""Diffusion models in PyTorch: noise schedules, the forward process, its posterior, losses,
samplers, the ELBO.

The equations are in ``book/diffusion/theory.md`` (labels in the docstrings). Notation
(``book/notation.md``): data :math:`\x_0 \in \R^d`, noised variables :math:`\x_t`,
:math:`t = 1, \dots, N`; the encoder of the variational diffusion model is
:math:`q(\x_t \mid \x_{t-1}) = \N(\sqrt{\alpha_t}\,\x_{t-1}, (1-\alpha_t)\I)` and
:math:`\abar_t = \prod_{t' \le t} \alpha_{t'}`. Ho et al. (2020) write :math:`T` for the number
of steps :math:`N` (the book keeps :math:`T` for the temperature) and :math:`\beta_t` for the
noise variance :math:`1 - \alpha_t`; the book keeps :math:`\beta` for the inverse temperature
and writes :math:`1 - \alpha_t`. In code the number of steps is ``num_steps``.

Indexing: a schedule holds ``N + 1`` values indexed by the time step, with the
convention :math:`\alpha_0 = \abar_0 = 1` (no noise at :math:`t = 0`), so that
``schedule.alpha_bar[t]`` is :math:`\abar_t` for ``t`` in ``0..N``. Batches sit on
axis 0; time steps are integer tensors of shape ``(B,)``. Log-likelihoods are in
nats unless a name says bits.

The notebooks write their networks and training loops out; they share from here what
the tests check against closed forms: the schedules, :math:`q(\x_t \mid \x_0)`, the
posterior :math:`q(\x_{t-1} \mid \x_t, \x_0)`, the conversions between the three
parameterisations (:math:`\x_0`, noise, score), the ancestral, DDIM and
probability-flow samplers, the terms of the ELBO, and the exact noised marginals
of Gaussian-mixture data (their score and optimal denoiser).

Importing this module imports ``torch`` (never ``tensorflow``); ``genmod/__init__.py``
does not import it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from genmod.vae import gaussian_kl

__all__ = [
    "NoiseSchedule", "linear_schedule", "cosine_schedule",
    "q_mean_var", "q_sample", "forward_chain", "posterior_mean_var",
    "x0_from_eps", "eps_from_x0", "score_from_eps", "eps_from_score", "reverse_mean", "reverse_var",
    "simple_loss", "heldout_simple_loss", "denoising_matching_kl", "prior_kl",
    "discretized_gaussian_log_likelihood",
    "elbo_terms", "elbo_three_terms", "bits_per_dim",
    "ancestral_sample", "sampling_times", "ddim_sample", "probability_flow_sample",
    "noised_mixture", "mixture_score", "mixture_optimal_eps", "mixture_eps_fn",
]


@dataclass(frozen=True)
class NoiseSchedule:
    r"""A variance-preserving noise schedule :math:`\alpha_1, \dots, \alpha_N`.

    Equation {eq}`diffusion-encoder`.

    Attributes:
        alpha: float64 tensor of shape ``(N + 1,)``, ``alpha[0] = 1`` by convention and
            ``alpha[t]`` :math:`= \alpha_t \in (0, 1)` for ``t = 1..N``.

    Derived (float64, shape ``(N + 1,)``, indexed by ``t``):

    - ``alpha_bar`` :math:`\abar_t = \prod_{t'=1}^t \alpha_{t'}` ({eq}`diffusion-q-xt-x0`), with
      ``alpha_bar[0] = 1``;
    - ``snr`` :math:`\mathrm{SNR}(t) = \abar_t / (1 - \abar_t)` ({eq}`diffusion-snr`), ``inf`` at
      ``t = 0``;
    - ``posterior_var`` :math:`\tilde\sigma_t^2 = (1-\alpha_t)(1-\abar_{t-1})/(1-\abar_t)`
      ({eq}`diffusion-posterior`), ``0`` at ``t = 0`` and ``t = 1``.

    Raises:
        ValueError: if ``alpha`` is not 1-D with ``alpha[0] = 1`` and the rest in (0, 1).
    """

    alpha: torch.Tensor

    def __post_init__(self):
        a = self.alpha
        if not isinstance(a, torch.Tensor) or a.dim() != 1 or len(a) < 2:
            raise ValueError(f"alpha must be a 1-D tensor of N + 1 >= 2 values, got "
                             f"{type(a).__name__} "
                             f"{tuple(a.shape) if isinstance(a, torch.Tensor) else ''}")
        if float(a[0]) != 1.0 or not bool(((a[1:] > 0) & (a[1:] < 1)).all()):
            raise ValueError("alpha[0] must be 1 (no noise at t = 0) and alpha[1:] must lie "
                             "in (0, 1)")
        object.__setattr__(self, "alpha", a.to(torch.float64))

    @property
    def num_steps(self) -> int:
        r"""The number of diffusion steps :math:`N` (Ho et al.'s :math:`T`)."""
        return len(self.alpha) - 1

    @property
    def alpha_bar(self) -> torch.Tensor:
        return torch.cumprod(self.alpha, 0)

    @property
    def snr(self) -> torch.Tensor:
        ab = self.alpha_bar
        return ab / (1 - ab)

    @property
    def posterior_var(self) -> torch.Tensor:
        ab = self.alpha_bar
        ab_prev = torch.cat([ab[:1], ab[:-1]])
        var = (1 - self.alpha) * (1 - ab_prev) / (1 - ab).clamp_min(1e-300)
        var[0] = 0.0
        return var

    def check_t(self, t: torch.Tensor, *, low: int = 1) -> torch.Tensor:
        r"""Return ``t`` as a long tensor after checking that its values lie in ``low..N``.

        Raises:
            ValueError: if ``t`` is not an integer tensor or has values outside ``low..N``.
        """
        if not isinstance(t, torch.Tensor) or t.dtype.is_floating_point or t.dtype == torch.bool:
            raise ValueError(f"time steps must be an integer tensor, got {t!r}")
        if t.numel() and (int(t.min()) < low or int(t.max()) > self.num_steps):
            raise ValueError(f"time steps must lie in {low}..{self.num_steps}, got "
                             f"{int(t.min())}..{int(t.max())}")
        return t.long()


def linear_schedule(num_steps: int = 1000, noise_start: float = 1e-4,
                    noise_end: float = 0.02) -> NoiseSchedule:
    r"""The linear schedule of Ho et al. (2020): :math:`1 - \alpha_t` rises linearly.

    From ``noise_start`` to ``noise_end``:

    .. math:: 1 - \alpha_t = a + \frac{t - 1}{N - 1}(b - a), \quad t = 1, \dots, N,

    with :math:`a` = ``noise_start`` and :math:`b` = ``noise_end``

    (Ho et al. write :math:`\beta_t = 1 - \alpha_t`; the book does not, see the module docstring).

    Args:
        num_steps: the number of diffusion steps :math:`N`, >= 2 (Ho et al.: 1000).
        noise_start, noise_end: :math:`1 - \alpha_1` and :math:`1 - \alpha_N`, with
            ``0 < noise_start <= noise_end < 1`` (Ho et al.: 1e-4 and 0.02).

    Returns:
        A :class:`NoiseSchedule`.

    Raises:
        ValueError: on ``num_steps < 2`` or noise levels outside ``(0, 1)`` or decreasing.

    References:
        Ho, Jain & Abbeel (2020), *Denoising diffusion probabilistic models*, Sec. 4.
    """
    if int(num_steps) != num_steps or num_steps < 2:
        raise ValueError(f"num_steps must be an integer >= 2, got {num_steps}")
    N = int(num_steps)
    if not 0 < noise_start <= noise_end < 1:
        raise ValueError(f"need 0 < noise_start <= noise_end < 1, got {noise_start}, {noise_end}")
    noise = torch.linspace(noise_start, noise_end, N, dtype=torch.float64)
    return NoiseSchedule(torch.cat([torch.ones(1, dtype=torch.float64), 1 - noise]))


def cosine_schedule(num_steps: int = 1000, s: float = 0.008,
                    max_noise: float = 0.999) -> NoiseSchedule:
    r"""The cosine schedule of Nichol & Dhariwal (2021): :math:`\abar_t = f(t)/f(0)`.

    Here :math:`f(t) = \cos^2\!\big(\frac{t/N + s}{1 + s}\frac{\pi}{2}\big)` (the book writes the
    offset :math:`s` = 0.008 as a number).

    Then :math:`\alpha_t = \abar_t / \abar_{t-1}`, with :math:`1 - \alpha_t` clipped at
    ``max_noise`` as in the paper (it would reach 1 at :math:`t = N`).

    Args:
        num_steps: the number of diffusion steps :math:`N`, >= 2.
        s: small offset > 0 that keeps :math:`1-\alpha_1` from vanishing (paper: 0.008).
        max_noise: the largest :math:`1 - \alpha_t`, in (0, 1) (paper: 0.999).

    Returns:
        A :class:`NoiseSchedule`.

    Raises:
        ValueError: on ``num_steps < 2``, ``s <= 0`` or ``max_noise`` outside (0, 1).

    References:
        Nichol & Dhariwal (2021), *Improved denoising diffusion probabilistic models*, eq. 17.
    """
    if int(num_steps) != num_steps or num_steps < 2:
        raise ValueError(f"num_steps must be an integer >= 2, got {num_steps}")
    N = int(num_steps)
    if s <= 0 or not 0 < max_noise < 1:
        raise ValueError(f"need s > 0 and 0 < max_noise < 1, got s={s}, max_noise={max_noise}")
    t = torch.arange(N + 1, dtype=torch.float64)
    f = torch.cos((t / N + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    alpha = alpha_bar[1:] / alpha_bar[:-1]
    alpha = torch.clamp(alpha, min=1 - max_noise)
    return NoiseSchedule(torch.cat([torch.ones(1, dtype=torch.float64), alpha]))


# --------------------------------------------------------------------------------------------
# The forward process and its posterior
# --------------------------------------------------------------------------------------------

def _at(values: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""``values[t]`` reshaped to ``(B, 1, ..., 1)`` to broadcast against ``x`` (B, ...).

    In ``x``'s dtype and on its device."""
    out = values.to(x.device)[t.to(x.device)].to(x.dtype)
    return out.view(-1, *([1] * (x.dim() - 1)))


def _check_batch(name: str, x: torch.Tensor, t: torch.Tensor):
    if not isinstance(x, torch.Tensor) or x.dim() < 1 or not x.dtype.is_floating_point:
        raise ValueError(f"{name} must be a floating-point tensor of shape (B, ...), got {x!r:.80}")
    if t.shape != (x.shape[0],):
        raise ValueError(f"time steps must have shape (B,) = ({x.shape[0]},) to match {name}, "
                         f"got {tuple(t.shape)}")


def q_mean_var(x0: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule):
    r"""Mean and variance of :math:`q(\x_t \mid \x_0) = \N(\sqrt{\abar_t}\,\x_0, (1 - \abar_t)\I)`.

    Equation {eq}`diffusion-q-xt-x0`.

    Args:
        x0: data, float tensor of shape ``(B, ...)``.
        t: time steps, integer tensor ``(B,)`` with values in ``0..N``.
        schedule: the noise schedule.

    Returns:
        ``(mean, var)``: ``mean`` like ``x0``; ``var`` of shape ``(B, 1, ..., 1)``.

    Raises:
        ValueError: on shapes that do not match or time steps outside ``0..N``.
    """
    t = schedule.check_t(t, low=0)
    _check_batch("x0", x0, t)
    ab = _at(schedule.alpha_bar, t, x0)
    return ab.sqrt() * x0, 1 - ab


def q_sample(x0: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule, *,
             eps: torch.Tensor | None = None,
             generator: torch.Generator | None = None):
    r"""Draw :math:`\x_t = \sqrt{\abar_t}\,\x_0 + \sqrt{1-\abar_t}\,\epsilon`, :math:`\epsilon`
    standard normal.

    Equation {eq}`diffusion-q-xt-x0`.

    Args:
        x0: data, float tensor ``(B, ...)``.
        t: integer tensor ``(B,)``, values in ``0..N``.
        schedule: the noise schedule.
        eps: the noise, like ``x0``; drawn with ``generator`` when ``None``.
        generator: ``torch.Generator`` on ``x0``'s device.

    Returns:
        ``(xt, eps)``, both like ``x0``.

    Raises:
        ValueError: on shapes that do not match or time steps outside ``0..N``.
    """
    mean, var = q_mean_var(x0, t, schedule)
    if eps is None:
        eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
    elif eps.shape != x0.shape:
        raise ValueError(f"eps must have x0's shape {tuple(x0.shape)}, got {tuple(eps.shape)}")
    return mean + var.sqrt() * eps, eps


def forward_chain(x0: torch.Tensor, schedule: NoiseSchedule, *,
                  generator: torch.Generator | None = None,
                  keep: bool = False):
    r"""Run the encoder :math:`q(\x_t \mid \x_{t-1})` step by step ({eq}`diffusion-encoder`).

    Each step draws from :math:`\N(\sqrt{\alpha_t}\,\x_{t-1}, (1-\alpha_t)\I)`.

    The slow way to reach :math:`\x_N`, one Gaussian step at a time; the tests check it
    against the closed form :func:`q_sample`.

    Args:
        x0: data, float tensor ``(B, ...)``.
        schedule: the noise schedule.
        generator: ``torch.Generator`` on ``x0``'s device.
        keep: return every :math:`\x_t`, stacked as ``(N + 1, B, ...)`` (index ``t``).

    Returns:
        :math:`\x_N` like ``x0``, or all of :math:`\x_0, \dots, \x_N` if ``keep``.
    """
    if not isinstance(x0, torch.Tensor) or not x0.dtype.is_floating_point:
        raise ValueError("x0 must be a floating-point tensor of shape (B, ...)")
    alpha = schedule.alpha.to(x0.device, x0.dtype)
    x, path = x0, [x0]
    for t in range(1, schedule.num_steps + 1):
        z = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        x = alpha[t].sqrt() * x + (1 - alpha[t]).sqrt() * z
        if keep:
            path.append(x)
    return torch.stack(path) if keep else x


def posterior_mean_var(x0: torch.Tensor, xt: torch.Tensor, t: torch.Tensor,
                       schedule: NoiseSchedule):
    r"""Mean and variance of :math:`q(\x_{t-1} \mid \x_t, \x_0)` ({eq}`diffusion-posterior`).

    .. math::
        \tilde\mu_t = \frac{\sqrt{\abar_{t-1}}(1-\alpha_t)}{1-\abar_t}\,\x_0
                    + \frac{\sqrt{\alpha_t}(1-\abar_{t-1})}{1-\abar_t}\,\x_t, \qquad
        \tilde\sigma_t^2 = \frac{(1-\alpha_t)(1-\abar_{t-1})}{1-\abar_t}.

    Args:
        x0, xt: float tensors of the same shape ``(B, ...)``.
        t: integer tensor ``(B,)``, values in ``1..N``.
        schedule: the noise schedule.

    Returns:
        ``(mean, var)``: ``mean`` like ``xt``, ``var`` of shape ``(B, 1, ..., 1)``.

    Raises:
        ValueError: on shapes that do not match or time steps outside ``1..N``.

    References:
        Ho et al. (2020), eqs. 6-7; Luo (2022), eq. 84.
    """
    t = schedule.check_t(t)
    _check_batch("xt", xt, t)
    if x0.shape != xt.shape:
        raise ValueError(f"x0 and xt must have the same shape, got {tuple(x0.shape)} and "
                         f"{tuple(xt.shape)}")
    a, ab = _at(schedule.alpha, t, xt), _at(schedule.alpha_bar, t, xt)
    ab_prev = _at(schedule.alpha_bar, t - 1, xt)
    mean = ab_prev.sqrt() * (1 - a) / (1 - ab) * x0 + a.sqrt() * (1 - ab_prev) / (1 - ab) * xt
    return mean, (1 - a) * (1 - ab_prev) / (1 - ab)


# --------------------------------------------------------------------------------------------
# Three parameterisations: x0, noise, score (Tweedie)
# --------------------------------------------------------------------------------------------

def x0_from_eps(xt, eps, t, schedule: NoiseSchedule):
    r""":math:`\hat\x_0 = (\x_t - \sqrt{1-\abar_t}\,\epsilon)/\sqrt{\abar_t}`.

    The inverse of {eq}`diffusion-q-xt-x0`. ``t`` in ``1..N``."""
    t = schedule.check_t(t)
    ab = _at(schedule.alpha_bar, t, xt)
    return (xt - (1 - ab).sqrt() * eps) / ab.sqrt()


def eps_from_x0(xt, x0, t, schedule: NoiseSchedule):
    r""":math:`\epsilon = (\x_t - \sqrt{\abar_t}\,\x_0)/\sqrt{1-\abar_t}`.

    The noise that turns ``x0`` into ``xt``. ``t`` in ``1..N``."""
    t = schedule.check_t(t)
    ab = _at(schedule.alpha_bar, t, xt)
    return (xt - ab.sqrt() * x0) / (1 - ab).sqrt()


def score_from_eps(eps, t, schedule: NoiseSchedule):
    r"""Tweedie ({eq}`diffusion-tweedie-score`): the score from the noise prediction.

    :math:`\nabla_{\x_t}\log q(\x_t) = -\E[\epsilon \mid \x_t]/\sqrt{1-\abar_t}`. ``t`` in ``1..N``.
    """
    t = schedule.check_t(t)
    return -eps / _at(schedule.alpha_bar, t, eps).neg().add(1).sqrt()


def eps_from_score(score, t, schedule: NoiseSchedule):
    r"""The inverse of :func:`score_from_eps`.

    :math:`\epsilon = -\sqrt{1-\abar_t}\,\nabla\log q(\x_t)`. ``t`` in ``1..N``."""
    t = schedule.check_t(t)
    return -score * _at(schedule.alpha_bar, t, score).neg().add(1).sqrt()


def reverse_mean(xt, t, eps_pred, schedule: NoiseSchedule):
    r"""Mean of :math:`p_\theta(\x_{t-1} \mid \x_t)` in the noise parameterisation.

    Equation {eq}`diffusion-eps-mean`:

    .. math::
        \mu_\theta(\x_t, t) = \frac{1}{\sqrt{\alpha_t}}\Big(\x_t
          - \frac{1-\alpha_t}{\sqrt{1-\abar_t}}\,\epsilon_\theta(\x_t, t)\Big)

    It is the posterior mean :func:`posterior_mean_var` with :math:`\x_0` replaced by
    :func:`x0_from_eps`. ``t`` in ``1..N``; tensors ``(B, ...)``.

    References:
        Ho et al. (2020), eq. 11.
    """
    t = schedule.check_t(t)
    a, ab = _at(schedule.alpha, t, xt), _at(schedule.alpha_bar, t, xt)
    return (xt - (1 - a) / (1 - ab).sqrt() * eps_pred) / a.sqrt()


def reverse_var(schedule: NoiseSchedule, kind: str = "posterior") -> torch.Tensor:
    r"""The fixed variances :math:`\sigma_t^2` of :math:`p_\theta(\x_{t-1} \mid \x_t)`.

    Float64 ``(N + 1,)``, indexed by ``t``.

    Args:
        schedule: the noise schedule.
        kind: ``"posterior"``: :math:`\sigma_t^2 = \tilde\sigma_t^2` ({eq}`diffusion-posterior`) for
            :math:`t \ge 2`, and :math:`1 - \alpha_1` at :math:`t = 1` (where
            :math:`\tilde\sigma_1^2 = 0`); ``"noise"``: :math:`\sigma_t^2 = 1 - \alpha_t`
            (Ho et al.'s :math:`\beta_t`). Index 0 holds 0.

    Raises:
        ValueError: on another ``kind``.
    """
    if kind == "posterior":
        var = schedule.posterior_var.clone()
        var[1] = 1 - schedule.alpha[1]
    elif kind == "noise":
        var = 1 - schedule.alpha
    else:
        raise ValueError(f"kind must be 'posterior' or 'noise', got {kind!r}")
    var[0] = 0.0
    return var


# --------------------------------------------------------------------------------------------
# Losses and the ELBO
# --------------------------------------------------------------------------------------------

def simple_loss(eps_pred: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    r"""Ho et al.'s simplified loss {eq}`diffusion-simple-loss`, averaged over every element.

    :math:`\lVert\epsilon - \epsilon_\theta\rVert^2` per element.

    Raises:
        ValueError: if the shapes differ (nothing is broadcast).
    """
    if eps_pred.shape != eps.shape:
        raise ValueError(f"eps_pred {tuple(eps_pred.shape)} and eps {tuple(eps.shape)} must "
                         "have the same shape")
    return ((eps_pred - eps) ** 2).mean()


@torch.no_grad()
def heldout_simple_loss(eps_fn, x0: torch.Tensor, schedule: NoiseSchedule, *,
                        seed: int = 0) -> float:
    r"""The simplified loss {eq}`diffusion-simple-loss` on fixed data, one fixed t and noise each.

    The time steps :math:`t \sim \mathcal U\{1, \dots, N\}` (shape ``(B,)``), then the noise
    :math:`\epsilon` (like ``x0``), come from one CPU ``torch.Generator`` seeded with ``seed``, so
    the value is deterministic on a CPU: a checkpoint records it, and a test reproduces it.

    Args:
        eps_fn: ``eps_fn(xt, t)`` returns :math:`\epsilon_\theta(\x_t, t)` (a model in eval mode).
        x0: held-out data, float32 tensor ``(B, ...)``, on the model's device.
        schedule: the noise schedule.
        seed: the seed of the draws.

    Returns:
        :math:`\frac{1}{B d}\sum \lVert\epsilon - \epsilon_\theta(\x_t, t)\rVert^2`, a float.
    """
    gen = torch.Generator().manual_seed(seed)
    t = torch.randint(1, schedule.num_steps + 1, (len(x0),), generator=gen)
    eps = torch.randn(x0.shape, generator=gen)
    ab = schedule.alpha_bar.float()[t].view(-1, *([1] * (x0.dim() - 1)))
    xt = ab.sqrt() * x0.cpu() + (1 - ab).sqrt() * eps                # x_t ~ q(x_t | x_0)
    eps_pred = eps_fn(xt.to(x0.device), t.to(x0.device)).cpu()
    return float(((eps_pred - eps) ** 2).mean())


def denoising_matching_kl(x0, xt, t, eps_pred, schedule: NoiseSchedule, *,
                          var_kind: str = "posterior"):
    r"""Per example :math:`\KL{q(\x_{t-1} \mid \x_t, \x_0)}{p_\theta(\x_{t-1} \mid \x_t)}`, nats.

    For ``t`` in ``2..N`` ({eq}`diffusion-denoising-kl`).

    With :math:`p_\theta = \N(\mu_\theta, \sigma_t^2 \I)`, :math:`\mu_\theta` from
    :func:`reverse_mean` and :math:`\sigma_t^2` from :func:`reverse_var`, this is

    .. math::
        \frac{d}{2}\Big(\log\frac{\sigma_t^2}{\tilde\sigma_t^2}
        + \frac{\tilde\sigma_t^2}{\sigma_t^2} - 1\Big)
        + \frac{1}{2\sigma_t^2}\frac{(1-\alpha_t)^2}{(1-\abar_t)\alpha_t}
        \lVert\epsilon - \epsilon_\theta\rVert^2

    ({eq}`diffusion-kl-eps`), computed here from the two Gaussians with
    :func:`genmod.vae.gaussian_kl`, the book's one Gaussian KL.

    Args:
        x0, xt, eps_pred: float tensors ``(B, ...)``.
        t: integer tensor ``(B,)``, values in ``2..N``.
        schedule: the noise schedule.
        var_kind: the reverse variances, as in :func:`reverse_var`.

    Returns:
        float tensor ``(B,)``.
    """
    t = schedule.check_t(t, low=2)
    mean_q, var_q = posterior_mean_var(x0, xt, t, schedule)
    mean_p = reverse_mean(xt, t, eps_pred, schedule)
    var_p = _at(reverse_var(schedule, var_kind), t, xt)
    # the book's one Gaussian KL (genmod.vae.gaussian_kl) takes log-variances
    kl = gaussian_kl(mean_q, torch.log(var_q), mean_p, torch.log(var_p))
    return kl.flatten(1).sum(1)


def prior_kl(x0: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
    r"""The prior-matching term :math:`\KL{q(\x_N \mid \x_0)}{\N(0, \I)}` per example.

    In nats, shape ``(B,)`` ({eq}`diffusion-elbo-denoising`)."""
    t = torch.full((x0.shape[0],), schedule.num_steps, dtype=torch.long)
    mean, var = q_mean_var(x0, t, schedule)
    return gaussian_kl(mean, torch.log(var)).flatten(1).sum(1)      # KL to N(0, I)


def discretized_gaussian_log_likelihood(x0: torch.Tensor, mean: torch.Tensor, std, *,
                                        num_levels: int = 256):
    r"""Per example :math:`\log P(\x_0)` of a Gaussian discretised to ``num_levels`` levels.

    On the levels in [-1, 1]; nats, shape ``(B,)``.

    Each pixel's probability is the Gaussian mass of its bin,
    :math:`\Phi\big(\frac{x + \delta - \mu}{\sigma}\big) -
    \Phi\big(\frac{x - \delta - \mu}{\sigma}\big)` with
    :math:`\delta = 1/(\text{num\_levels} - 1)`, and the two outer bins reach to :math:`\mp\infty`
    (Ho et al. 2020, eq. 13, the decoder :math:`p_\theta(\x_0 \mid \x_1)` of
    {eq}`diffusion-decoder`).
    Computed from log-CDFs in float64, so that far tails do not underflow.

    Args:
        x0: data on the grid :math:`-1 + 2k/(\text{num\_levels}-1)`, float tensor ``(B, ...)``.
        mean: the Gaussian's mean, like ``x0``.
        std: its standard deviation, > 0, a float or a tensor broadcasting to ``x0``.
        num_levels: levels of the data (256 for 8-bit images).

    Returns:
        float64 tensor ``(B,)``.

    Raises:
        ValueError: if ``x0`` lies outside [-1, 1] or off the grid (more than 1e-4 of a level).
    """
    x = x0.double()
    levels = (x + 1) * (num_levels - 1) / 2
    if x.min() < -1 - 1e-6 or x.max() > 1 + 1e-6 or (levels - levels.round()).abs().max() > 1e-4:
        raise ValueError(f"x0 must lie on the {num_levels}-level grid in [-1, 1] (discrete "
                         "data scaled to [-1, 1])")
    std = torch.as_tensor(std, dtype=torch.float64, device=x.device)
    if (std <= 0).any():
        raise ValueError("std must be positive")
    delta = 1.0 / (num_levels - 1)
    upper = (x + delta - mean.double()) / std
    lower = (x - delta - mean.double()) / std
    # log(Phi(b) - Phi(a)) computed on the side of the tail that does not round to 1
    flip = (upper + lower) > 0
    b = torch.where(flip, -lower, upper)
    a = torch.where(flip, -upper, lower)
    log_b, log_a = torch.special.log_ndtr(b), torch.special.log_ndtr(a)
    log_mass = log_b + torch.log1p(-torch.exp((log_a - log_b).clamp(max=0.0)).clamp(max=1 - 1e-300))
    bottom, top = levels.round() == 0, levels.round() == num_levels - 1
    # (-inf, x + delta]
    log_mass = torch.where(bottom, torch.special.log_ndtr(upper), log_mass)
    log_mass = torch.where(top, torch.special.log_ndtr(-lower), log_mass)         # [x - delta, inf)
    return log_mass.flatten(1).sum(1)


def _full_t(x, value):
    return torch.full((x.shape[0],), int(value), dtype=torch.long, device=x.device)


@torch.no_grad()
def elbo_terms(eps_fn, x0: torch.Tensor, schedule: NoiseSchedule, *, num_t: int | None = None,
               generator: torch.Generator | None = None, decoder: str = "discretized",
               var_kind: str = "posterior", batch_size: int | None = None) -> dict:
    r"""The ELBO of a noise-prediction model in the denoising-matching form, per example.

    Equation {eq}`diffusion-elbo-denoising`:

    .. math::
        \mathrm{ELBO}(\x_0) = \E_{q(\x_1 \mid \x_0)}[\log p_\theta(\x_0 \mid \x_1)]
          - \KL{q(\x_N \mid \x_0)}{p(\x_N)}
          - \sum_{t=2}^{N} \E_{q(\x_t \mid \x_0)}\big[
            \KL{q(\x_{t-1} \mid \x_t, \x_0)}{p_\theta(\x_{t-1} \mid \x_t)}\big]

    The prior term is exact; the reconstruction term uses one draw of :math:`\x_1`; the sum
    over :math:`t` is exact (one draw of :math:`\x_t` per :math:`t`) when ``num_t`` is ``None``,
    else
    estimated without bias as :math:`(N-1)` times the mean over ``num_t`` time steps drawn
    uniformly from ``2..N`` (one :math:`\x_t` each), the estimate of Ho et al. (2020).

    Args:
        eps_fn: ``eps_fn(xt, t)`` returns :math:`\epsilon_\theta(\x_t, t)` like ``xt``; ``t``
            is (B,) long.
        x0: data, float tensor ``(B, ...)``; on the 256-level grid in [-1, 1] for the
            discretised decoder.
        schedule: the noise schedule.
        num_t: time steps drawn per example, or ``None`` for all of ``2..N``.
        generator: ``torch.Generator`` on ``x0``'s device for every draw.
        decoder: ``"discretized"`` (:func:`discretized_gaussian_log_likelihood`: a
            log-probability of 8-bit data) or ``"gaussian"`` (a continuous density, for
            continuous data).
        var_kind: the reverse variances (:func:`reverse_var`); the decoder's variance is
            :math:`\sigma_1^2`.
        batch_size: evaluate ``x0`` in batches of this many examples, one after the other
            with the same ``generator`` (the draws are those of calling this function on
            each batch in turn); ``None``: all at once.

    Returns:
        A dict of float64 tensors ``(B,)``: ``reconstruction``, ``prior``, ``denoising`` (the
        sum over t) and ``elbo`` = reconstruction - prior - denoising, all in nats; with
        ``num_t`` also ``denoising_terms`` ``(B, num_t)``, the scaled per-step values whose mean
        is ``denoising``.

    Raises:
        ValueError: on a bad ``decoder`` or ``num_t < 1``.
    """
    if decoder not in ("discretized", "gaussian"):
        raise ValueError(f"decoder must be 'discretized' or 'gaussian', got {decoder!r}")
    if num_t is not None and num_t < 1:
        raise ValueError(f"num_t must be >= 1 or None, got {num_t}")
    if batch_size is not None and len(x0) > batch_size:
        parts = [elbo_terms(eps_fn, batch, schedule, num_t=num_t, generator=generator,
                            decoder=decoder, var_kind=var_kind) for batch in x0.split(batch_size)]
        return {k: torch.cat([part[k] for part in parts]) for k in parts[0]}
    B, N = x0.shape[0], schedule.num_steps
    out = {"prior": prior_kl(x0, schedule).double()}
    # reconstruction: log p(x0 | x1) with mean mu_theta(x1, 1) and variance sigma_1^2
    t1 = _full_t(x0, 1)
    x1, _ = q_sample(x0, t1, schedule, generator=generator)
    mean = reverse_mean(x1, t1, eps_fn(x1, t1), schedule)
    std = float(reverse_var(schedule, var_kind)[1].sqrt())
    if decoder == "discretized":
        out["reconstruction"] = discretized_gaussian_log_likelihood(x0, mean, std)
    else:
        log_density = -0.5 * ((x0 - mean) / std) ** 2 - math.log(std) - 0.5 * math.log(2 * math.pi)
        out["reconstruction"] = log_density.flatten(1).sum(1).double()
    # denoising matching: sum over t = 2..N
    if num_t is None:
        total = torch.zeros(B, dtype=torch.float64, device=x0.device)
        for t in range(2, N + 1):
            tt = _full_t(x0, t)
            xt, _ = q_sample(x0, tt, schedule, generator=generator)
            total += denoising_matching_kl(x0, xt, tt, eps_fn(xt, tt), schedule,
                                           var_kind=var_kind).double()
        out["denoising"] = total
    else:
        terms = torch.empty(B, num_t, dtype=torch.float64, device=x0.device)
        for k in range(num_t):
            tt = torch.randint(2, N + 1, (B,), generator=generator, device=x0.device)
            xt, _ = q_sample(x0, tt, schedule, generator=generator)
            terms[:, k] = (N - 1) * denoising_matching_kl(x0, xt, tt, eps_fn(xt, tt), schedule,
                                                          var_kind=var_kind)
        out["denoising_terms"] = terms
        out["denoising"] = terms.mean(1)
    out["elbo"] = out["reconstruction"] - out["prior"] - out["denoising"]
    return out


def elbo_three_terms(log_decoder, reverse_fn, x0: torch.Tensor, schedule: NoiseSchedule, *,
                     generator: torch.Generator | None = None) -> dict:
    r"""One Monte Carlo draw of the ELBO in the reconstruction / prior-matching / consistency form.

    Equation {eq}`diffusion-elbo-consistency`.

    Draws one forward chain :math:`\x_1, \dots, \x_N \sim q(\x_{1:N} \mid \x_0)` and returns, per
    example,

    - ``reconstruction`` :math:`\log p_\theta(\x_0 \mid \x_1)`;
    - ``prior`` :math:`\log q(\x_N \mid \x_{N-1}) - \log p(\x_N)`, whose expectation is the
      prior-matching KL;
    - ``consistency`` :math:`\sum_{t=1}^{N-1} [\log q(\x_t \mid \x_{t-1}) -
      \log p_\theta(\x_t \mid \x_{t+1})]`,
      whose expectation is the consistency term, each summand averaged under
      :math:`q(\x_{t-1}, \x_t, \x_{t+1} \mid \x_0)`;
    - ``elbo`` = reconstruction - prior - consistency, an unbiased estimate of the ELBO.

    Every term needs the whole chain: this is the high-variance estimator that the
    denoising-matching form {eq}`diffusion-elbo-denoising` (:func:`elbo_terms`) replaces.

    Args:
        log_decoder: ``log_decoder(x0, x1)`` returns :math:`\log p_\theta(\x_0 \mid \x_1)`,
            ``(B,)``.
        reverse_fn: ``reverse_fn(xt, t)`` returns ``(mean, var)`` of
            :math:`p_\theta(\x_{t-1} \mid \x_t)`
            (``var`` broadcasting to ``xt``), for ``t`` in ``2..N``.
        x0: data, float tensor ``(B, ...)``.
        schedule: the noise schedule.
        generator: ``torch.Generator`` for the chain.

    Returns:
        A dict of float tensors ``(B,)`` in nats.
    """
    path = forward_chain(x0, schedule, generator=generator, keep=True)     # (N + 1, B, ...)
    alpha = schedule.alpha.to(x0.device, x0.dtype)
    N = schedule.num_steps

    def log_normal(x, mean, var):
        var = torch.as_tensor(var, dtype=x.dtype, device=x.device).expand_as(x)
        return (-0.5 * (x - mean) ** 2 / var - 0.5 * torch.log(2 * math.pi * var)).flatten(1).sum(1)

    def log_q_step(t):                                                        # log q(x_t | x_{t-1})
        return log_normal(path[t], alpha[t].sqrt() * path[t - 1], 1 - alpha[t])

    out = {"reconstruction": log_decoder(x0, path[1])}
    out["prior"] = log_q_step(N) - log_normal(path[N], torch.zeros_like(path[N]), 1.0)
    consistency = torch.zeros(x0.shape[0], dtype=x0.dtype, device=x0.device)
    for t in range(1, N):
        mean, var = reverse_fn(path[t + 1], _full_t(x0, t + 1))             # p_theta(x_t | x_{t+1})
        consistency += log_q_step(t) - log_normal(path[t], mean, var)
    out["consistency"] = consistency
    out["elbo"] = out["reconstruction"] - out["prior"] - out["consistency"]
    return out


def bits_per_dim(log_likelihood_nats, num_dims: int):
    r"""Convert a log-likelihood (or ELBO) in nats per example to bits per dimension.

    :math:`-\ell / (d \ln 2)` ({eq}`diffusion-bpd`)."""
    return -log_likelihood_nats / (num_dims * math.log(2.0))


# --------------------------------------------------------------------------------------------
# Samplers
# --------------------------------------------------------------------------------------------

@torch.no_grad()
def ancestral_sample(eps_fn, xN: torch.Tensor, schedule: NoiseSchedule, *,
                     generator: torch.Generator | None = None,
                     var_kind: str = "posterior", keep_at=()):
    r"""Ancestral sampling {eq}`diffusion-ancestral`, from :math:`\x_N` down to :math:`\x_0`.

    For :math:`t = N, \dots, 1`: :math:`\x_{t-1} = \mu_\theta(\x_t, t) + \sigma_t \mathbf{z}`,
    :math:`\mathbf{z} \sim \N(0, \I)`, with no noise added at the last step (Ho et al. 2020,
    Algorithm 2). ``N`` network evaluations.

    Args:
        eps_fn: ``eps_fn(xt, t)`` returns :math:`\epsilon_\theta(\x_t, t)`; ``t`` is (B,) long.
        xN: the start, float tensor ``(B, ...)``, usually standard normal.
        schedule: the noise schedule.
        generator: ``torch.Generator`` on ``xN``'s device.
        var_kind: :math:`\sigma_t^2`, as in :func:`reverse_var`.
        keep_at: time steps whose :math:`\x_t` to return as well.

    Returns:
        :math:`\x_0` like ``xN``; with ``keep_at``, ``(x0, {t: x_t})``.
    """
    var = reverse_var(schedule, var_kind)
    x, kept = xN, {}
    if schedule.num_steps in keep_at:
        kept[schedule.num_steps] = x.clone()
    for t in range(schedule.num_steps, 0, -1):
        tt = _full_t(x, t)
        mean = reverse_mean(x, tt, eps_fn(x, tt), schedule)        # mu_theta(x_t, t)
        if t > 1:
            z = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
            x = mean + float(var[t].sqrt()) * z                   # x_{t-1} = mu_theta + sigma_t z
        else:
            x = mean                                              # no noise at the last step
        if t - 1 in keep_at:
            kept[t - 1] = x.clone()
    return (x, kept) if keep_at else x


def sampling_times(N: int, num_steps: int) -> list[int]:
    r"""``num_steps`` time steps from ``N`` down to 1, evenly spaced (rounded), strictly decreasing.

    Raises:
        ValueError: unless ``1 <= num_steps <= N``.
    """
    if not 1 <= num_steps <= N:
        raise ValueError(f"num_steps must lie in 1..N = 1..{N}, got {num_steps}")
    times = np.unique(np.round(np.linspace(1, N, num_steps)).astype(int))[::-1]
    return [int(t) for t in times]


@torch.no_grad()
def ddim_sample(eps_fn, xN: torch.Tensor, schedule: NoiseSchedule, *, num_steps: int,
                eta: float = 0.0,
                generator: torch.Generator | None = None, keep_at=()):
    r"""DDIM sampling {eq}`diffusion-ddim` (Song, Meng & Ermon 2021, eq. 12) in ``num_steps`` steps.

    From :math:`t` to the next sampling time :math:`t' < t` (the last one is :math:`t' = 0`):
    :math:`\hat\x_0 = (\x_t - \sqrt{1-\abar_t}\,\epsilon_\theta)/\sqrt{\abar_t}` and
    :math:`\x_{t'} = \sqrt{\abar_{t'}}\,\hat\x_0 + \sqrt{1 - \abar_{t'} - \sigma_{t \to t'}^2}\,
    \epsilon_\theta + \sigma_{t \to t'}\mathbf{z}`, with :math:`\sigma_{t \to t'} =
    \eta_{\mathrm{DDIM}}\sqrt{(1-\abar_{t'})/(1-\abar_t)}\sqrt{1-\abar_t/\abar_{t'}}`. With
    ``eta = 0`` it is deterministic (an Euler step of the probability-flow ODE in the
    variables of :func:`probability_flow_sample`); with ``eta = 1`` and all ``N`` steps it
    is ancestral sampling with the posterior variances. ``num_steps`` network evaluations.

    Args:
        eps_fn: ``eps_fn(xt, t)`` as in :func:`ancestral_sample`.
        xN: the start, float tensor ``(B, ...)``.
        schedule: the noise schedule.
        num_steps: network evaluations, in ``1..N`` (:func:`sampling_times`).
        eta: stochasticity :math:`\eta_{\mathrm{DDIM}} \ge 0`.
        generator: needed when ``eta > 0``.
        keep_at: time steps (among the sampling times, or 0) whose :math:`\x_t` to return too.

    Returns:
        :math:`\x_0` like ``xN``; with ``keep_at``, ``(x0, {t: x_t})``.

    Raises:
        ValueError: on ``eta < 0`` or ``num_steps`` outside ``1..N``.
    """
    if eta < 0:
        raise ValueError(f"eta must be >= 0, got {eta}")
    ab = schedule.alpha_bar
    times = sampling_times(schedule.num_steps, num_steps)
    x, kept = xN, {}
    if times[0] in keep_at:
        kept[times[0]] = x.clone()
    for t, t_next in zip(times, times[1:] + [0]):                 # t' = t_next < t
        eps = eps_fn(x, _full_t(x, t))
        ab_t, ab_next = float(ab[t]), float(ab[t_next])
        x0_pred = (x - math.sqrt(1 - ab_t) * eps) / math.sqrt(ab_t)   # hat x_0
        # sigma_{t -> t'} = eta sqrt((1 - abar_t') / (1 - abar_t)) sqrt(1 - abar_t / abar_t')
        sigma = eta * math.sqrt((1 - ab_next) / (1 - ab_t)) * math.sqrt(1 - ab_t / ab_next)
        x = math.sqrt(ab_next) * x0_pred + math.sqrt(max(1 - ab_next - sigma ** 2, 0.0)) * eps
        if sigma > 0:
            x = x + sigma * torch.randn(x.shape, generator=generator, dtype=x.dtype,
                                        device=x.device)
        if t_next in keep_at:
            kept[t_next] = x.clone()
    return (x, kept) if keep_at else x


@torch.no_grad()
def probability_flow_sample(eps_fn, xN: torch.Tensor, schedule: NoiseSchedule, *, num_steps: int):
    r"""Integrate the probability-flow ODE {eq}`diffusion-probability-flow` with Heun's method.

    From :math:`t = N` to 0.

    In the variables :math:`\varsigma_t = \sqrt{(1-\abar_t)/\abar_t}` and
    :math:`\bar\x = \x/\sqrt{\abar_t}` the ODE
    reads :math:`d\bar\x/d\varsigma = \epsilon_\theta(\x_t, t)` (Song et al. 2021, DDIM, eq. 14;
    Karras et al.
    2022). Each step between two sampling times is a second-order Heun step; the last
    step, to :math:`\varsigma = 0`, is an Euler step. About ``2 num_steps`` network evaluations.

    Args:
        eps_fn: ``eps_fn(xt, t)`` as in :func:`ancestral_sample`.
        xN: the start, float tensor ``(B, ...)``.
        schedule: the noise schedule.
        num_steps: sampling times (:func:`sampling_times`).

    Returns:
        :math:`\x_0` like ``xN``.
    """
    ab = schedule.alpha_bar
    times = sampling_times(schedule.num_steps, num_steps)
    sig = {t: math.sqrt((1 - float(ab[t])) / float(ab[t])) for t in times + [0]}
    xbar = xN / math.sqrt(float(ab[times[0]]))
    for t, s in zip(times, times[1:] + [0]):
        d_t = eps_fn(xbar * math.sqrt(float(ab[t])), _full_t(xbar, t))
        x_euler = xbar + (sig[s] - sig[t]) * d_t
        if s == 0:
            xbar = x_euler
        else:
            d_s = eps_fn(x_euler * math.sqrt(float(ab[s])), _full_t(xbar, s))
            xbar = xbar + (sig[s] - sig[t]) * 0.5 * (d_t + d_s)
    return xbar                                                    # abar_0 = 1: x_0 = xbar


# --------------------------------------------------------------------------------------------
# Gaussian-mixture data: the noised marginals in closed form
# --------------------------------------------------------------------------------------------

def noised_mixture(mixture, alpha_bar_t: float):
    r"""The marginal :math:`q(\x_t)` of Gaussian-mixture data, itself a Gaussian mixture.

    Equation {eq}`diffusion-mixture-marginal`.

    If :math:`\x_0 \sim \sum_j w_j \N(\mu_j, v_j\I)` (variances :math:`v_j`, ``mixture.stds`` their
    square roots) then
    :math:`q(\x_t) = \sum_j w_j \N(\sqrt{\abar_t}\,\mu_j, (\abar_t v_j + 1 - \abar_t)\I)`.

    Args:
        mixture: a :class:`genmod.data.toy.Mixture`.
        alpha_bar_t: :math:`\abar_t \in (0, 1]`.

    Returns:
        A :class:`genmod.data.toy.Mixture` (its ``score`` is the exact score of :math:`q(\x_t)`).

    Raises:
        ValueError: if ``alpha_bar_t`` is outside (0, 1].
    """
    from genmod.data.toy import Mixture

    ab = float(alpha_bar_t)
    if not 0 < ab <= 1:
        raise ValueError(f"alpha_bar_t must lie in (0, 1], got {alpha_bar_t}")
    return Mixture(math.sqrt(ab) * mixture.means, np.sqrt(ab * mixture.stds ** 2 + 1 - ab),
                   mixture.weights)


def mixture_score(mixture, xt, alpha_bar_t: float) -> np.ndarray:
    r"""The exact score :math:`\nabla_{\x_t}\log q(\x_t)` of noised mixture data.

    Float64 ``(n, d)`` (:func:`noised_mixture`)."""
    return noised_mixture(mixture, alpha_bar_t).score(xt)


def mixture_optimal_eps(mixture, xt, alpha_bar_t: float) -> np.ndarray:
    r"""The optimal noise prediction :math:`\E[\epsilon \mid \x_t]` for mixture data, ``(n, d)``.

    It is :math:`-\sqrt{1-\abar_t}\,\nabla\log q(\x_t)` ({eq}`diffusion-tweedie-score`).

    The minimiser of the simplified loss {eq}`diffusion-simple-loss` at time :math:`t` over all
    functions of :math:`\x_t`.
    """
    return -math.sqrt(1 - float(alpha_bar_t)) * mixture_score(mixture, xt, alpha_bar_t)


def mixture_eps_fn(mixture, schedule: NoiseSchedule):
    r"""A torch ``eps_fn(xt, t)``: the exact :math:`\E[\epsilon \mid \x_t]` of mixture data.

    For the samplers.

    Computed in torch (float64 inside, returned in ``xt``'s dtype) from the responsibilities of
    the noised components, so that the samplers can run on the exact score.

    Args:
        mixture: a :class:`genmod.data.toy.Mixture` in :math:`\R^d`.
        schedule: the noise schedule that defines :math:`\abar_t`.

    Returns:
        ``eps_fn``: ``xt`` float ``(B, d)``, ``t`` long ``(B,)`` in ``1..N`` -> ``(B, d)``.
    """
    means = torch.as_tensor(mixture.means, dtype=torch.float64)
    var0 = torch.as_tensor(mixture.stds, dtype=torch.float64) ** 2
    log_w = torch.log(torch.as_tensor(mixture.weights, dtype=torch.float64))
    alpha_bar = schedule.alpha_bar

    def eps_fn(xt, t):
        t = schedule.check_t(t)
        if xt.dim() != 2 or xt.shape[1] != means.shape[1]:
            raise ValueError(f"xt must have shape (B, {means.shape[1]}), got {tuple(xt.shape)}")
        x = xt.double().cpu()
        ab = alpha_bar[t.cpu()][:, None]                                   # (B, 1)
        var = ab * var0[None] + 1 - ab                                     # (B, M) noised variances
        diff = x[:, None, :] - ab.sqrt()[:, :, None] * means[None]         # (B, M, d)
        d = x.shape[1]
        log_comp = log_w - 0.5 * (diff ** 2).sum(-1) / var - 0.5 * d * torch.log(2 * math.pi * var)
        resp = torch.softmax(log_comp, dim=1)                              # p(j | x_t)
        score = -(resp[:, :, None] * diff / var[:, :, None]).sum(1)        # grad log q(x_t)
        return (-(1 - ab).sqrt() * score).to(xt.dtype).to(xt.device)

    return eps_fn
