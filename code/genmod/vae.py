r"""Variational autoencoders: closed-form Gaussian KL, importance-weighted bounds.

The helpers shared by the VAE notebooks (``book/vae/``) and the tests of the
chapter's mathematics (``tests/vae/test_vae_math.py``). The equations they compute
are in ``book/vae/theory.md``: the KL divergence between diagonal Gaussians
(``vae-gaussian-kl``, ``vae-gaussian-kl-standard``), the decoder's Bernoulli
log-likelihood, and the importance-weighted bound ``vae-iwae`` used to estimate
the log-likelihood of test data.

Importing this module imports ``torch`` (never ``tensorflow``); it is not
imported by ``genmod/__init__.py``. Conventions: a latent vector has ``d``
components on the last axis; the ``k`` importance samples of a batch
(:math:`K` in the book's notation) sit on axis 0, the batch on axis 1 (the layout
of ``torch.distributions``' ``sample((k,))``). Log-likelihoods and bounds are in
nats. :func:`gaussian_kl` is the book's one Gaussian-KL formula and is elementwise
(the diffusion chapter uses it too): sum it over the latent axis for a diagonal
Gaussian, as :func:`gaussian_kl_standard_normal` does for the prior.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from genmod.stats import Estimate

__all__ = [
    "gaussian_kl",
    "gaussian_kl_standard_normal",
    "bernoulli_log_likelihood",
    "iwae_bound",
    "iwae_log_weights",
    "IWAEEstimate",
    "log_likelihood_iwae",
]


def gaussian_kl(
    mean_q: torch.Tensor | float,
    logvar_q: torch.Tensor | float,
    mean_p: torch.Tensor | float = 0.0,
    logvar_p: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    r"""KL divergence between one-dimensional Gaussians, elementwise (not summed).

    .. math::

        \KL{\N(\mu_q, \sigma_q^2)}{\N(\mu_p, \sigma_p^2)}
        = \frac12 \left[ \frac{\sigma_q^2}{\sigma_p^2}
          + \frac{(\mu_p - \mu_q)^2}{\sigma_p^2} - 1
          + \log \frac{\sigma_p^2}{\sigma_q^2} \right],
        \qquad \log\sigma_q^2 = \texttt{logvar\_q},\ \log\sigma_p^2 = \texttt{logvar\_p},

    the one-dimensional case of ``vae-gaussian-kl`` in ``book/vae/theory.md``. This is
    the book's one Gaussian-KL convention: a diagonal Gaussian's KL is the sum of this
    over the components, ``gaussian_kl(...).sum(-1)`` for a latent vector on the last
    axis (:func:`gaussian_kl_standard_normal` is that sum for the prior
    :math:`\N(0, \I)`); the diffusion chapter sums it over the pixels. The defaults
    ``mean_p = 0``, ``logvar_p = 0`` give the KL to the standard normal, per component:
    :math:`\frac12(\mu_q^2 + \sigma_q^2 - 1 - \log\sigma_q^2)` (``vae-gaussian-kl-standard``).

    Args:
        mean_q: means :math:`\mu_q`, a tensor of any shape or a float.
        logvar_q: log-variances :math:`\log\sigma_q^2` (natural log), broadcastable
            with ``mean_q``. Pass ``torch.log(var)`` when you hold variances.
        mean_p: means :math:`\mu_p`, broadcastable; default 0.
        logvar_p: log-variances :math:`\log\sigma_p^2`, broadcastable; default 0
            (unit variance).

    Returns:
        Tensor of the broadcast shape of the four arguments (nothing summed), in nats,
        >= 0 up to rounding; the dtype and device of the tensor arguments (float
        arguments become tensors of torch's default dtype).

    Raises:
        ValueError: if the arguments do not broadcast to a common shape.

    References:
        Kingma & Welling (2014), *Auto-Encoding Variational Bayes*, Appendix B
        (the case :math:`p = \N(0, \I)`); the general multivariate formula is
        ``vae-gaussian-kl`` in ``book/vae/theory.md``.
    """
    tensors = [a for a in (mean_q, logvar_q, mean_p, logvar_p) if isinstance(a, torch.Tensor)]
    like = tensors[0] if tensors else torch.zeros(())
    dtype = functools.reduce(torch.promote_types, (t.dtype for t in tensors), like.dtype)
    if not dtype.is_floating_point:
        dtype = torch.get_default_dtype()
    mean_q, logvar_q, mean_p, logvar_p = (
        torch.as_tensor(a, dtype=dtype, device=like.device)
        for a in (mean_q, logvar_q, mean_p, logvar_p)
    )
    try:
        torch.broadcast_shapes(mean_q.shape, logvar_q.shape, mean_p.shape, logvar_p.shape)
    except RuntimeError as err:
        raise ValueError(f"gaussian_kl: shapes do not broadcast: {err}") from err
    # 1/2 [ s_q^2/s_p^2 + (mu_p - mu_q)^2/s_p^2 - 1 + log s_p^2 - log s_q^2 ]
    var_ratio = torch.exp(logvar_q - logvar_p)
    mahalanobis = (mean_p - mean_q).pow(2) * torch.exp(-logvar_p)
    return 0.5 * (var_ratio + mahalanobis - 1.0 + logvar_p - logvar_q)


def gaussian_kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""KL divergence from a diagonal Gaussian encoder to the prior :math:`\N(0, \I)`.

    .. math::

        \KL{\N(\mu, \mathrm{diag}\,\sigma^2)}{\N(0, \I)}
        = \frac12 \sum_{j=1}^{d} \left( \mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2 \right),

    equation ``vae-gaussian-kl-standard`` in ``book/vae/theory.md``: the
    prior-matching term of the ELBO, computed without sampling. It is
    ``gaussian_kl(mu, logvar).sum(-1)``: :func:`gaussian_kl` with its default
    (standard normal) prior, summed over the latent axis.

    Args:
        mu: encoder means :math:`\mu_\phi(\x)`, shape ``(..., d)``, float.
        logvar: encoder log-variances :math:`\log\sigma_\phi^2(\x)`, same shape.

    Returns:
        Tensor of shape ``(...)``, in nats, >= 0.

    Raises:
        ValueError: if ``mu`` and ``logvar`` differ in shape.

    References:
        Kingma & Welling (2014), *Auto-Encoding Variational Bayes*, Appendix B
        (there written as
        :math:`-D_{KL} = \frac12\sum_j(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2)`).
    """
    if mu.shape != logvar.shape:
        raise ValueError(
            f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must have the same shape"
        )
    # 1/2 sum_j (mu^2 + sigma^2 - 1 - log sigma^2)
    return gaussian_kl(mu, logvar).sum(dim=-1)


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""Log-likelihood of binary pixels under a factorised Bernoulli decoder.

    .. math::

        \log p_\theta(\x \mid \h)
        = \sum_{i=1}^{D} \left[ x_i \log \pi_i + (1 - x_i) \log(1 - \pi_i) \right],
        \qquad \pi_i = \operatorname{sigmoid}(\ell_i),

    computed stably from the logits :math:`\ell` (minus the binary cross-entropy).

    Args:
        logits: decoder outputs :math:`\ell_\theta(\h)`, shape ``(..., D)``, float.
        x: pixels, broadcastable to ``logits``, values in ``{0, 1}`` (values in
            ``[0, 1]`` give the cross-entropy with soft targets, not a likelihood).

    Returns:
        Tensor of shape ``(...)``, in nats, <= 0.

    References:
        Kingma & Welling (2014), *Auto-Encoding Variational Bayes*, Appendix C.1
        (Bernoulli MLP as decoder).
    """
    x = x.expand_as(logits) if x.shape != logits.shape else x
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=-1)


def iwae_bound(log_weights: torch.Tensor, dim: int = 0) -> torch.Tensor:
    r"""The importance-weighted bound of each data point: log-mean-exp over the k samples.

    .. math::

        \hat{\mathcal{L}}_K(\x) = \log \frac1K \sum_{i=1}^{K} w_i,
        \qquad \log w_i = \log p_\theta(\x, \h_i) - \log q_\phi(\h_i \mid \x),
        \quad \h_i \sim q_\phi(\h \mid \x),

    a single-draw estimate of :math:`\mathcal{L}_K(\x)` (``vae-iwae`` in
    ``book/vae/theory.md``), computed as ``logsumexp - log k`` so that weights of
    order :math:`e^{-100}` do not underflow. For ``k = 1`` it is the one-sample ELBO.

    Args:
        log_weights: :math:`\log w`, shape ``(k, B)`` by default (samples on axis
            ``dim``), float, in nats; ``-inf`` entries (zero weights) are allowed.
        dim: the axis holding the k importance samples.

    Returns:
        Tensor with axis ``dim`` removed, e.g. shape ``(B,)``: the bound per data
        point, in nats.

    Raises:
        ValueError: if the sample axis is empty.

    References:
        Burda, Grosse & Salakhutdinov (2016), *Importance Weighted Autoencoders*,
        eq. 8, who write :math:`k` for :math:`K` (and Theorem 1:
        :math:`\mathcal{L}_1 = \ELBO \le \mathcal{L}_K \le \mathcal{L}_{K+1} \le \log p(\x)`).
    """
    k = log_weights.shape[dim]
    if k == 0:
        raise ValueError("iwae_bound needs at least one importance sample (k >= 1)")
    # log (1/k) sum_i w_i = logsumexp_i(log w_i) - log k
    return torch.logsumexp(log_weights, dim=dim) - math.log(k)


def iwae_log_weights(
    x: torch.Tensor,
    encoder: Callable[[torch.Tensor], torch.distributions.Normal],
    log_likelihood: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    k: int,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Log importance weights of a batch, shape ``(k, B)``.

    .. math::

        \log w_i = \log p(\x \mid \h_i) + \log p(\h_i) - \log q(\h_i \mid \x).

    Draws :math:`\h_i = \mu_\phi(\x) + \sigma_\phi(\x) \odot \epsilon_i`,
    :math:`\epsilon_i \sim \N(0, \I)` (``vae-reparameterization``), for a standard
    normal prior :math:`p(\h) = \N(0, \I)`.

    Args:
        x: a batch of data, shape ``(B, D)``, float.
        encoder: maps ``x`` to a ``torch.distributions.Normal`` with batch shape
            ``(B, d)`` (a diagonal Gaussian :math:`q_\phi(\h \mid \x)`).
        log_likelihood: ``log_likelihood(x, h)`` returns :math:`\log p_\theta(\x \mid \h)`
            of shape ``(k, B)`` for ``x`` of shape ``(B, D)`` and ``h`` of shape
            ``(k, B, d)``, in nats (e.g. :func:`bernoulli_log_likelihood` of the
            decoder's logits).
        k: number of importance samples, >= 1.
        generator: ``torch.Generator`` for the noise :math:`\epsilon` (on the
            device of ``x``); the global generator when ``None``.

    Returns:
        Tensor of shape ``(k, B)``, in nats.

    Raises:
        ValueError: if ``k < 1`` or the encoder's batch shape is not ``(B, d)``.

    References:
        Burda, Grosse & Salakhutdinov (2016), *Importance Weighted Autoencoders*, eq. 8.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    q = encoder(x)
    if q.loc.ndim != 2 or q.loc.shape[0] != x.shape[0]:
        raise ValueError(
            f"the encoder must return a Normal of batch shape (B, d), got {tuple(q.loc.shape)}"
        )
    eps = torch.randn(
        (k, *q.loc.shape), generator=generator, device=q.loc.device, dtype=q.loc.dtype
    )
    h = q.loc + q.scale * eps  # h = mu + sigma * eps, shape (k, B, d)
    log_q = q.log_prob(h).sum(-1)  # log q(h|x), (k, B)
    log_prior = torch.distributions.Normal(0.0, 1.0).log_prob(h).sum(-1)  # log p(h), (k, B)
    return log_likelihood(x, h) + log_prior - log_q


@dataclass(frozen=True)
class IWAEEstimate(Estimate):
    r"""An importance-weighted estimate of the mean test log-likelihood.

    A :class:`genmod.stats.Estimate`: ``value`` and ``se`` as there, then what the
    estimator knows besides.

    Attributes:
        value: mean of :math:`\hat{\mathcal{L}}_K(\x_n)` over the N data points, in
            nats per data point (a stochastic lower bound on the mean :math:`\log p(\x)`).
        se: its standard error, the sample standard deviation of the N per-point
            values over :math:`\sqrt{N}`, in nats: the uncertainty from the finite test
            set and the finite K, not the bias of the bound (``nan`` when N = 1).
        k: importance samples per data point (:math:`K`).
        num_points: N.
        per_point: the N values, shape ``(N,)``, float64 numpy array.
    """

    k: int
    num_points: int
    per_point: np.ndarray = field(repr=False, compare=False)

    def __str__(self) -> str:
        return (
            f"log p(x) >= {self.value:.2f} +- {self.se:.2f} nats "
            f"(IWAE bound, K = {self.k}, {self.num_points:,} data points)"
        )


@torch.no_grad()
def log_likelihood_iwae(
    x: torch.Tensor,
    encoder: Callable[[torch.Tensor], torch.distributions.Normal],
    log_likelihood: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    k: int,
    *,
    batch_size: int = 100,
    max_rows: int = 20_000,
    generator: torch.Generator | None = None,
) -> IWAEEstimate:
    r"""Estimate the mean log-likelihood of data with the importance-weighted bound.

    For each data point :math:`\x_n` draws k samples from the encoder and computes
    :math:`\hat{\mathcal{L}}_K(\x_n) = \log \frac1K \sum_i w_i` (:func:`iwae_bound`),
    then reports the mean over the N points and its standard error
    :math:`s / \sqrt{N}`. The k samples of a batch are processed in chunks of at
    most ``max_rows`` decoder evaluations, so k = 5000 fits in memory.

    Args:
        x: data, shape ``(N, D)``, float, on the model's device.
        encoder: as in :func:`iwae_log_weights`.
        log_likelihood: as in :func:`iwae_log_weights`.
        k: importance samples per data point (Burda et al. use 5000), >= 1.
        batch_size: data points per batch.
        max_rows: largest ``k_chunk * batch`` evaluated at once (memory bound).
        generator: ``torch.Generator`` for the noise (on the device of ``x``).

    Returns:
        An :class:`IWAEEstimate` (nats).

    Raises:
        ValueError: if ``x`` is empty or ``k < 1``.

    References:
        Burda, Grosse & Salakhutdinov (2016), *Importance Weighted Autoencoders*,
        eq. 8 and Sec. 5 (test log-likelihoods estimated with k = 5000).
    """
    if len(x) == 0:
        raise ValueError("log_likelihood_iwae needs at least one data point")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    values = []
    for start in range(0, len(x), batch_size):
        xb = x[start : start + batch_size]
        chunk = max(1, min(k, max_rows // len(xb)))
        log_w = torch.cat(
            [
                iwae_log_weights(
                    xb, encoder, log_likelihood, min(chunk, k - i), generator=generator
                )
                for i in range(0, k, chunk)
            ]
        )  # (k, B)
        values.append(iwae_bound(log_w, dim=0).double().cpu())
    per_point = torch.cat(values).numpy()
    n = len(per_point)
    se = float(per_point.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    return IWAEEstimate(
        float(per_point.mean()), se, k=int(k), num_points=int(n), per_point=per_point
    )
