r"""The binary restricted Boltzmann machine in PyTorch: energies, conditionals, Gibbs sampling,
CD-k, exact log Z, AIS.

The equations are in ``book/ebm/theory.md`` (labels in the docstrings). Notation
(``book/notation.md``): visible units :math:`\x \in \{0, 1\}^d`, hidden units
:math:`\h \in \{0, 1\}^{d_h}`, weights :math:`W` of shape ``(d, d_h)``, visible biases
:math:`\mathbf{a}` ``(d,)``, hidden biases :math:`\mathbf{b}` ``(d_h,)``. Energies, free
energies, :math:`\log Z` and log-likelihoods are in nats. Every sampler takes a
``torch.Generator``.

**Shapes.** One RBM has ``W`` ``(d, d_h)``, ``a`` ``(d,)``, ``b`` ``(d_h,)``, and its states
are batches on the second-to-last axis: visible ``x`` ``(N, d)``, hidden ``h`` ``(N, d_h)``.
Every function also takes a *batch of RBMs* of the same size on leading axes that broadcast:
``W`` ``(..., d, d_h)``, ``a`` ``(..., d)``, ``b`` ``(..., d_h)``, ``x`` ``(..., N, d)``,
``h`` ``(..., N, d_h)``. The physics part stacks one RBM per temperature on axis 0
(``W`` ``(n_T, d, d_h)``, ``x`` ``(n_T, N, d)``), so that one batched matrix product updates
all temperatures at once; for each temperature the results equal those of the unbatched RBM
(``tests/package/test_rbm.py`` checks it). :func:`log_z_exact` loops over the batch;
:func:`ais_log_z` takes one RBM.

The notebooks write their training loops out; they share from here what the tests
check against exact enumeration: the free energy, the conditionals, one block-Gibbs
step, the CD-k / PCD gradient, log Z by summing over the hidden layer, and
annealed importance sampling. The Gaussian-binary RBM is in :mod:`genmod.gaussian_rbm`,
the Ising-specific RBMs of the physics part in :mod:`genmod.ising_rbm`.

Importing this module imports ``torch`` (never ``tensorflow``); ``genmod/__init__.py``
does not import it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from genmod.stats import Estimate

__all__ = [
    "check_parameters", "bernoulli", "energy", "free_energy", "p_h_given_x", "p_x_given_h",
    "gibbs_step", "cd_gradient", "all_binary_states", "log_z_exact", "log_likelihood",
    "AISEstimate", "ais_schedule", "ais_log_z",
]


def check_parameters(W: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> None:
    r"""Check the shapes of an RBM or of a batch of RBMs.

    Args:
        W: weights ``(..., d, d_h)``.
        a: visible biases ``(..., d)``.
        b: hidden biases ``(..., d_h)``.

    Raises:
        ValueError: if ``W`` has fewer than two axes, the last axes of ``a`` and ``b`` are
            not ``d`` and ``d_h``, or the leading (batch) axes do not broadcast.
    """
    ok = W.dim() >= 2 and a.dim() >= 1 and b.dim() >= 1
    ok = ok and a.shape[-1] == W.shape[-2] and b.shape[-1] == W.shape[-1]
    if ok:
        try:
            torch.broadcast_shapes(W.shape[:-2], a.shape[:-1], b.shape[:-1])
        except RuntimeError:
            ok = False
    if not ok:
        raise ValueError(f"need W (..., d, d_h), a (..., d), b (..., d_h) with batch axes that "
                         f"broadcast; got W {tuple(W.shape)}, a {tuple(a.shape)}, "
                         f"b {tuple(b.shape)}")


def _check_units(x: torch.Tensor, size: int, name: str) -> None:
    if x.dim() < 2 or x.shape[-1] != size:
        raise ValueError(f"need {name} (..., N, {size}), got {tuple(x.shape)}")


def _dot(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    r""":math:`\sum_i x_i a_i` over the last axis: ``x`` ``(..., N, d)``, ``a`` ``(..., d)``,
    result ``(..., N)``. One RBM's ``a`` ``(d,)`` takes a matrix-vector product and a batch's
    an elementwise product and sum: the operations of the two RBM modules this one replaces,
    so that the numbers of the committed runs stay the same bit for bit."""
    if a.dim() == 1:
        return x @ a
    return (x * a[..., None, :]).sum(-1)


def bernoulli(p: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Binary states with :math:`P(1) = p`, drawn as :math:`u < p` from uniforms :math:`u \sim
    \mathcal{U}[0, 1)`.

    Written out instead of ``torch.bernoulli`` so that the random bits are explicit:
    the uniforms come from ``torch.rand`` with ``p``'s shape, dtype and device, one
    call per draw, so another framework given the same uniforms draws the same
    states (``tests/tf/test_ebm_rbm_frameworks.py`` checks the Keras RBM of
    ``book/ebm/rbm_mnist_tf`` against this module that way).

    Args:
        p: probabilities, any shape, values in [0, 1].
        generator: ``torch.Generator`` on ``p``'s device (the global one if ``None``).

    Returns:
        A tensor like ``p`` (shape, dtype, device) with values in {0, 1}.
    """
    u = torch.rand(p.shape, generator=generator, dtype=p.dtype, device=p.device)
    return (u < p).to(p.dtype)


def energy(x: torch.Tensor, h: torch.Tensor, W: torch.Tensor, a: torch.Tensor,
           b: torch.Tensor) -> torch.Tensor:
    r"""The binary RBM's energy :math:`E(\x, \h) = -\mathbf{a}^\top \x - \mathbf{b}^\top \h -
    \x^\top W \h` (eq. ``ebm-rbm-energy``).

    Args:
        x: visible states, shape ``(..., N, d)``, values in {0, 1} (float).
        h: hidden states, shape ``(..., N, d_h)``, values in {0, 1} (float).
        W, a, b: the parameters, shapes ``(..., d, d_h)``, ``(..., d)``, ``(..., d_h)``.

    Returns:
        Energies, shape ``(..., N)``, in nats (units of :math:`k_B T` at :math:`T = 1`).

    Raises:
        ValueError: if the shapes do not agree.
    """
    check_parameters(W, a, b)
    _check_units(x, W.shape[-2], "x")
    _check_units(h, W.shape[-1], "h")
    return -_dot(x, a) - _dot(h, b) - ((x @ W) * h).sum(-1)


def free_energy(x: torch.Tensor, W: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""The free energy :math:`F(\x) = -\mathbf{a}^\top \x - \sum_j \operatorname{softplus}(b_j +
    (\x^\top W)_j)`.

    :math:`F(\x) = -\log \sum_\h e^{-E(\x, \h)}` in closed form (eqs. ``ebm-free-energy``,
    ``ebm-rbm-free-energy``), so :math:`p(\x) = e^{-F(\x)} / Z`.

    Args:
        x: visible states, shape ``(..., N, d)``, float (binary for a binary RBM; any
            real value is accepted, as AIS and the tests need).
        W, a, b: the parameters, shapes ``(..., d, d_h)``, ``(..., d)``, ``(..., d_h)``.

    Returns:
        Shape ``(..., N)``, in nats.

    Raises:
        ValueError: if the shapes do not agree.
    """
    check_parameters(W, a, b)
    _check_units(x, W.shape[-2], "x")
    return -_dot(x, a) - F.softplus(x @ W + b[..., None, :]).sum(-1)


def p_h_given_x(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r""":math:`p(h_j = 1 \mid \x) = \sigmoid(b_j + \sum_i x_i w_{ij})` (eq.
    ``ebm-rbm-hidden-conditional``).

    Args:
        x: visible states ``(..., N, d)``, float.
        W, b: weights ``(..., d, d_h)`` and hidden biases ``(..., d_h)``.

    Returns:
        Probabilities, shape ``(..., N, d_h)``, dtype of ``x``.
    """
    return torch.sigmoid(x @ W + b[..., None, :])


def p_x_given_h(h: torch.Tensor, W: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    r""":math:`p(x_i = 1 \mid \h) = \sigmoid(a_i + \sum_j w_{ij} h_j)` (eq.
    ``ebm-rbm-visible-conditional``).

    Args:
        h: hidden states ``(..., N, d_h)``, float.
        W, a: weights ``(..., d, d_h)`` and visible biases ``(..., d)``.

    Returns:
        Probabilities, shape ``(..., N, d)``, dtype of ``h``.
    """
    return torch.sigmoid(h @ W.transpose(-1, -2) + a[..., None, :])


def gibbs_step(x: torch.Tensor, W: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *,
               generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One block-Gibbs step :math:`\x \to \h \sim p(\h \mid \x) \to \x' \sim p(\x \mid \h)` (eq.
    ``ebm-gibbs``).

    The draws are :func:`bernoulli`'s: the uniforms of the hidden layer first (shape
    ``(..., N, d_h)``), then those of the visible layer (``(..., N, d)``).

    Args:
        x: current visible states, shape ``(..., N, d)``, values in {0, 1} (float).
        W, a, b: the parameters, shapes ``(..., d, d_h)``, ``(..., d)``, ``(..., d_h)``.
        generator: ``torch.Generator`` on the parameters' device (global one if ``None``).

    Returns:
        ``(x_new, h)``: the new visible states ``(..., N, d)`` and the hidden states drawn
        on the way ``(..., N, d_h)``. The visible probabilities :math:`p(x_i = 1 \mid \h)`
        of the step are ``p_x_given_h(h, W, a)`` (no draw: the same numbers).

    Raises:
        ValueError: if the shapes do not agree.
    """
    check_parameters(W, a, b)
    _check_units(x, W.shape[-2], "x")
    h = bernoulli(p_h_given_x(x, W, b), generator=generator)        # uniforms (..., N, d_h)
    return bernoulli(p_x_given_h(h, W, a), generator=generator), h   # then uniforms (..., N, d)


def cd_gradient(x: torch.Tensor, W: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *, k: int = 1,
                chain: torch.Tensor | None = None, generator: torch.Generator | None = None):
    r"""The CD-k (or PCD) estimate of the log-likelihood gradient: positive minus negative phase.

    .. math::
        \Delta W = \langle \x\, p(\h \mid \x)^\top \rangle_{\mathrm{data}}
                 - \langle \tilde\x\, p(\h \mid \tilde\x)^\top \rangle_{\mathrm{chain}},
        \quad \Delta \mathbf{a} = \langle \x \rangle - \langle \tilde\x \rangle,
        \quad \Delta \mathbf{b} = \langle p(\h \mid \x) \rangle - \langle p(\h \mid \tilde\x)
        \rangle,

    the learning rule ``ebm-rbm-learning-rule`` with the model expectation replaced
    by the chain's states :math:`\tilde\x` after ``k`` block-Gibbs steps
    (eq. ``ebm-cd``; Hinton 2002). The chain starts at the data (CD-k) or, when
    ``chain`` is given, at the persistent chain's states (PCD, eq. ``ebm-pcd``;
    Tieleman 2008). Hidden probabilities, not samples, enter both phases (lower
    variance, same expectation). It is an *ascent* direction: add ``lr`` times it.

    Args:
        x: a minibatch of data, shape ``(..., B, d)``, values in {0, 1}.
        W, a, b: the parameters (not modified), shapes ``(..., d, d_h)``, ``(..., d)``,
            ``(..., d_h)``.
        k: Gibbs steps per update, >= 1.
        chain: persistent chain states ``(..., C, d)`` for PCD; ``None`` for CD-k.
        generator: ``torch.Generator`` for the Gibbs steps.

    Returns:
        ``(dW, da, db, chain)``: gradient estimates of shapes ``(..., d, d_h)``, ``(..., d)``,
        ``(..., d_h)`` (the batch axes of the data and the parameters broadcast), and the
        chain's states after the ``k`` steps (pass them back for PCD).

    Raises:
        ValueError: if ``k < 1`` or the shapes do not agree.
    """
    check_parameters(W, a, b)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    ph_data = p_h_given_x(x, W, b)                                  # positive phase, (B, d_h)
    x_model = x if chain is None else chain
    for _ in range(k):
        x_model, _ = gibbs_step(x_model, W, a, b, generator=generator)
    ph_model = p_h_given_x(x_model, W, b)                           # negative phase, (C, d_h)
    # <x h>_data - <x h>_model
    dW = (x.transpose(-1, -2) @ ph_data / x.shape[-2]
          - x_model.transpose(-1, -2) @ ph_model / x_model.shape[-2])
    da = x.mean(-2) - x_model.mean(-2)
    db = ph_data.mean(-2) - ph_model.mean(-2)
    return dW, da, db, x_model


def all_binary_states(n: int, *, dtype=torch.float64, device=None) -> torch.Tensor:
    r"""All :math:`2^n` binary vectors of length ``n``, shape ``(2^n, n)``, in lexicographic order.

    Args:
        n: the length, 0 <= n <= 24.
        dtype, device: of the result.

    Returns:
        A tensor of 0s and 1s; row :math:`r` is the binary expansion of :math:`r`, most
        significant bit first.

    Raises:
        ValueError: if ``n`` is not in 0..24 (the array would not fit in memory comfortably).
    """
    if not 0 <= n <= 24:
        raise ValueError(f"enumerating 2^{n} states is not sensible; n must be in 0..24")
    return torch.tensor(list(itertools.product((0.0, 1.0), repeat=n)), dtype=dtype,
                        device=device).reshape(2**n, n)


def _log_z_one(W: torch.Tensor, a: torch.Tensor, b: torch.Tensor, chunk: int) -> torch.Tensor:
    d_h = W.shape[1]
    parts = []
    bits = torch.arange(d_h, device=W.device)
    for start in range(0, 2**d_h, chunk):
        idx = torch.arange(start, min(start + chunk, 2**d_h), device=W.device)
        h = ((idx[:, None] >> bits) & 1).to(W.dtype)                    # (chunk, d_h)
        parts.append(torch.logsumexp(h @ b + F.softplus(h @ W.T + a).sum(-1), dim=0))
    return torch.logsumexp(torch.stack(parts), dim=0)


def log_z_exact(W: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *,
                chunk: int = 1 << 14) -> torch.Tensor:
    r"""The exact :math:`\log Z` of a binary RBM by summing over its hidden layer (eq.
    ``ebm-log-z-exact``).

    .. math::
        \log Z = \log \sum_{\h} e^{\mathbf{b}^\top \h} \prod_i \left(1 + e^{a_i + (W\h)_i}\right),

    a sum of :math:`2^{d_h}` terms, done in chunks with ``logsumexp``. Feasible for
    :math:`d_h \le 24` (:math:`2^{20}` states take seconds on a CPU). A batch of RBMs is
    summed one RBM after the other.

    Args:
        W, a, b: the parameters, shapes ``(..., d, d_h)``, ``(..., d)``, ``(..., d_h)``;
            float64 recommended.
        chunk: hidden states per chunk (memory: ``chunk * d`` numbers).

    Returns:
        A tensor of the broadcast batch shape ``(...)`` (0-dimensional for one RBM), in nats;
        differentiable in the parameters.

    Raises:
        ValueError: if :math:`d_h > 24` or the shapes do not agree.
    """
    check_parameters(W, a, b)
    d_h = W.shape[-1]
    if d_h > 24:
        raise ValueError(f"exact log Z sums over 2^d_h hidden states; d_h = {d_h} is too many (use "
                         "ais_log_z)")
    if W.dim() == 2 and a.dim() == 1 and b.dim() == 1:
        return _log_z_one(W, a, b, chunk)
    batch = torch.broadcast_shapes(W.shape[:-2], a.shape[:-1], b.shape[:-1])
    Ws = W.expand(*batch, *W.shape[-2:]).reshape(-1, *W.shape[-2:])
    As = a.expand(*batch, a.shape[-1]).reshape(-1, a.shape[-1])
    Bs = b.expand(*batch, d_h).reshape(-1, d_h)
    return torch.stack([_log_z_one(*p, chunk) for p in zip(Ws, As, Bs)]).reshape(batch)


def log_likelihood(x: torch.Tensor, W: torch.Tensor, a: torch.Tensor, b: torch.Tensor,
                   log_z) -> torch.Tensor:
    r""":math:`\log p(\x) = -F(\x) - \log Z` per data point, in nats.

    Args:
        x: visible states ``(..., N, d)``.
        W, a, b: the parameters, shapes ``(..., d, d_h)``, ``(..., d)``, ``(..., d_h)``.
        log_z: :math:`\log Z`, a float or a tensor of the batch shape ``(...)``
            (:func:`log_z_exact`, or the ``value`` of :func:`ais_log_z`).

    Returns:
        Shape ``(..., N)``, in nats.
    """
    if torch.is_tensor(log_z) and log_z.dim() > 0:
        log_z = log_z[..., None]
    return -free_energy(x, W, a, b) - log_z


@dataclass(frozen=True)
class AISEstimate(Estimate):
    r"""An AIS estimate of :math:`\log Z` (eq. ``ebm-ais-estimate``): a
    :class:`genmod.stats.Estimate`.

    Attributes:
        value: :math:`\log \hat Z = \log Z_A + \log \frac1R \sum_r w_r`, in nats.
        se: delta-method standard error of ``value``,
            :math:`\mathrm{sd}(w) / (\sqrt{R}\, \bar w)`, in nats.
        num_betas: intermediate distributions, K + 1 including both ends.
        num_runs: R, independent annealing runs.
        log_weights: :math:`\log w_r`, shape ``(R,)``.
    """

    num_betas: int
    num_runs: int
    log_weights: torch.Tensor

    def __str__(self) -> str:
        return (f"log Z = {self.value:.3f} +- {self.se:.3f} nats (AIS, {self.num_betas} "
                "temperatures, "
                f"{self.num_runs} runs)")


def ais_schedule(num_betas: int, *, dtype=torch.float64) -> torch.Tensor:
    r"""A piecewise uniform AIS schedule :math:`0 = \beta_0 < \dots < \beta_K = 1`, denser near 1.

    A tenth of the temperatures on [0, 0.5], a third on [0.5, 0.9] and the rest on
    [0.9, 1], in the spirit of Salakhutdinov & Murray (2008, who use 500 on
    [0, 0.5], 4,000 on [0.5, 0.9], 10,000 on [0.9, 1]), where the intermediate
    distributions (eq. ``ebm-ais-intermediate``) of a trained RBM change fastest.

    Args:
        num_betas: K + 1 >= 8, the number of inverse temperatures including 0 and 1.
        dtype: the tensor's dtype.

    Returns:
        An increasing tensor of shape ``(num_betas,)`` from 0 to 1.

    Raises:
        ValueError: if ``num_betas < 8``.
    """
    if num_betas < 8:
        raise ValueError(f"num_betas must be >= 8 for a three-piece schedule, got {num_betas}")
    n1, n2 = max(2, num_betas // 10), max(2, num_betas // 3)
    n3 = num_betas - n1 - n2 + 2
    parts = [torch.linspace(0.0, 0.5, n1, dtype=dtype),
             torch.linspace(0.5, 0.9, n2, dtype=dtype)[1:],
             torch.linspace(0.9, 1.0, n3, dtype=dtype)[1:]]
    return torch.cat(parts)


def ais_log_z(W: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *,
              betas: torch.Tensor | int = 1000,
              num_runs: int = 100, base_a: torch.Tensor | None = None,
              generator: torch.Generator | None = None) -> AISEstimate:
    r"""Annealed importance sampling of a binary RBM's :math:`\log Z` (Neal 2001; Salakhutdinov &
    Murray 2008).

    The base model :math:`p_A` has :math:`W = 0`, hidden biases 0 and visible
    biases ``base_a`` (S&M use the log-odds of the data's pixel means), so
    :math:`\log Z_A = d_h \log 2 + \sum_i \operatorname{softplus}(a_{A,i})` and it is
    sampled exactly. The intermediate distributions (eq. ``ebm-ais-intermediate``)
    are :math:`p_t^*(\x) = e^{-F_t(\x)}` with

    .. math::
        F_t(\x) = -(1 - \beta_t) a_A^\top \x - \beta_t a^\top \x
                  - \sum_j \operatorname{softplus}\!\left(\beta_t (b_j + (\x^\top W)_j)\right),

    for :math:`0 = \beta_0 < \dots < \beta_K = 1`; each transition is one block-Gibbs
    step of the intermediate RBM (weights :math:`\beta_t W`, visible biases
    :math:`(1-\beta_t) a_A + \beta_t a`, hidden biases :math:`\beta_t b`), which
    leaves :math:`p_t` invariant. The log weights (eq. ``ebm-ais-weights``) are
    :math:`\log w = \sum_{t=1}^{K} [F_{t-1}(\x_{t-1}) - F_t(\x_{t-1})]`.

    :math:`\hat Z` is unbiased, so :math:`\log \hat Z` is biased low (Jensen): test
    log-likelihoods computed with it are biased high.

    Args:
        W, a, b: one RBM's parameters, shapes ``(d, d_h)``, ``(d,)``, ``(d_h,)``; float64
            recommended.
        betas: the schedule, an increasing tensor from 0 to 1, or the number of
            temperatures for a uniform schedule (S&M: 14,500 for MNIST).
        num_runs: R >= 2 independent runs (S&M: 100).
        base_a: visible biases of the base model, shape ``(d,)``; zeros (the
            uniform distribution) when ``None``.
        generator: ``torch.Generator`` for the samples.

    Returns:
        An :class:`AISEstimate`.

    Raises:
        ValueError: on a schedule that does not run from 0 to 1 increasingly,
            ``num_runs < 2``, or parameters of a batch of RBMs.
    """
    check_parameters(W, a, b)
    if W.dim() != 2 or a.dim() != 1 or b.dim() != 1:
        raise ValueError(f"ais_log_z takes one RBM, W (d, d_h); got W {tuple(W.shape)} (loop over "
                         "a batch)")
    if isinstance(betas, int):
        betas = torch.linspace(0.0, 1.0, betas, dtype=W.dtype, device=W.device)
    betas = betas.to(dtype=W.dtype, device=W.device)
    if betas[0] != 0 or betas[-1] != 1 or not bool((betas[1:] > betas[:-1]).all()):
        raise ValueError("betas must increase strictly from 0 to 1")
    if num_runs < 2:
        raise ValueError(f"num_runs must be >= 2 for a standard error, got {num_runs}")
    d, d_h = W.shape
    a_A = torch.zeros_like(a) if base_a is None else base_a.to(W)

    def neg_free_energy(x, beta):                                  # -F_t(x), shape (R,)
        return x @ ((1 - beta) * a_A + beta * a) + F.softplus(beta * (x @ W + b)).sum(-1)

    # exact sample of p_A
    x = bernoulli(torch.sigmoid(a_A).expand(num_runs, d), generator=generator)
    log_w = torch.zeros(num_runs, dtype=W.dtype, device=W.device)
    for beta_prev, beta in zip(betas[:-1], betas[1:]):
        # log p*_t(x) - log p*_{t-1}(x)
        log_w += neg_free_energy(x, beta) - neg_free_energy(x, beta_prev)
        # one Gibbs step of the intermediate RBM at beta, which leaves p_t invariant
        h = bernoulli(torch.sigmoid(beta * (x @ W + b)), generator=generator)
        x = bernoulli(torch.sigmoid((1 - beta) * a_A + beta * (h @ W.T + a)), generator=generator)
    log_z_a = d_h * math.log(2.0) + F.softplus(a_A).sum()
    log_mean_w = torch.logsumexp(log_w, 0) - math.log(num_runs)
    w_rel = torch.exp(log_w - log_w.max())  # w / max w, for a stable sd(w) / mean(w)
    std_error = float(w_rel.std(unbiased=True) / (math.sqrt(num_runs) * w_rel.mean()))
    return AISEstimate(float(log_z_a + log_mean_w), std_error, int(len(betas)), int(num_runs),
                       log_w)
