r"""Estimates with standard errors, and the autocorrelation of Markov chains (numpy only).

One type for every number the book reports with an uncertainty: :class:`Estimate`
(a value, its standard error, and its deviation from a reference in standard errors).
The models' own estimators return it or a subclass of it: the AIS estimate of
:math:`\log Z` (:class:`genmod.rbm.AISEstimate`), the importance-weighted bound
(:class:`genmod.vae.IWAEEstimate`), and the Ising observables
(:func:`genmod.ising.thermodynamics`). Beside it, the two tools that give a standard
error for correlated samples: the blocked jackknife (:func:`jackknife`) and Sokal's
integrated autocorrelation time (:func:`integrated_autocorrelation_time`).

Importing this module imports no deep-learning framework.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Estimate", "jackknife", "autocorrelation", "integrated_autocorrelation_time"]


@dataclass(frozen=True)
class Estimate:
    r"""A value and its standard error, in the same unit.

    Attributes:
        value: the estimate (float).
        se: its standard error (float, >= 0; 0 for an exact value).

    Subclasses add what their estimator knows (the number of runs, the per-point
    values); ``value`` and ``se`` always mean the same.
    """

    value: float
    se: float

    def __str__(self) -> str:
        return f"{self.value:.4f} +- {self.se:.4f}"

    def z(self, reference: float) -> float:
        r"""The deviation from ``reference`` in standard errors,
        :math:`(\hat\theta - \theta) / \mathrm{se}`.

        Returns:
            A float; :math:`\pm\infty` when ``se`` is 0 and the value differs from the
            reference (0 when it does not).
        """
        diff = self.value - reference
        if self.se > 0:
            return diff / self.se
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)


def jackknife(statistic, *columns, num_blocks: int = 20) -> Estimate:
    r"""A blocked jackknife estimate of ``statistic(*columns)`` and its standard error.

    The samples (axis 0 of each column) are cut into ``num_blocks`` contiguous blocks;
    with :math:`\hat\theta_{(b)}` the statistic without block :math:`b`,

    .. math::
        \hat\theta_J = B \hat\theta - (B - 1) \bar\theta_{(\cdot)}, \qquad
        \mathrm{se}^2 = \frac{B - 1}{B} \sum_{b=1}^{B}
            \left(\hat\theta_{(b)} - \bar\theta_{(\cdot)}\right)^2

    (bias-corrected). Blocks much longer than the autocorrelation time make the blocks
    about independent, so the error accounts for correlated samples.

    Args:
        statistic: a function of the columns returning a float.
        columns: arrays with the same length along axis 0 (at least ``num_blocks``).
        num_blocks: B >= 2.

    Returns:
        An :class:`Estimate`.
    """
    n = len(columns[0])
    if num_blocks < 2 or n < num_blocks or any(len(c) != n for c in columns):
        raise ValueError("need num_blocks >= 2 and at least num_blocks samples in every column, "
                         f"got n = {n}, num_blocks = {num_blocks}")
    edges = np.linspace(0, n, num_blocks + 1).astype(int)
    full = statistic(*columns)
    loo = np.empty(num_blocks)
    for b in range(num_blocks):
        keep = np.r_[0:edges[b], edges[b + 1]:n]
        loo[b] = statistic(*(c[keep] for c in columns))
    mean_loo = loo.mean()
    se = math.sqrt((num_blocks - 1) / num_blocks * ((loo - mean_loo) ** 2).sum())
    return Estimate(float(num_blocks * full - (num_blocks - 1) * mean_loo), se)


def autocorrelation(series) -> np.ndarray:
    r"""The normalised autocorrelation :math:`\rho(t)` of one or several chains' series.

    .. math::
        \rho(t) = \frac{\hat\Gamma(t)}{\hat\Gamma(0)}, \qquad
        \hat\Gamma(t) = \frac{1}{n} \sum_{u=1}^{n - t} (f_u - \bar f)(f_{u+t} - \bar f),

    by FFT, averaged over chains (each centred on its own mean).

    Args:
        series: shape ``(n,)`` or ``(num_chains, n)``, one value per step.

    Returns:
        :math:`\rho(t)` for :math:`t = 0, \dots, n - 1`, float64 ``(n,)``; all zeros after
        :math:`t = 0` for a constant series (whose :math:`\rho` is undefined).
    """
    x = np.atleast_2d(np.asarray(series, dtype=np.float64))
    n = x.shape[1]
    if n < 2:
        raise ValueError(f"need at least 2 steps, got {n}")
    x = x - x.mean(1, keepdims=True)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(x, size, axis=1)
    acov = np.fft.irfft(f * np.conj(f), size, axis=1)[:, :n].mean(0) / n
    if acov[0] <= 0:
        out = np.zeros(n)
        out[0] = 1.0
        return out
    return acov / acov[0]


def integrated_autocorrelation_time(series, c: float = 5.0) -> tuple[float, int]:
    r"""Sokal's integrated autocorrelation time with his automatic window (eq. ``physics-tau-int``).

    .. math::
        \tau_{\mathrm{int}} = \frac12 + \sum_{t=1}^{W} \rho(t),

    with :math:`W` the smallest window with :math:`W \ge c\, \tau_{\mathrm{int}}(W)`. The
    variance of a mean of :math:`n` correlated steps is then
    :math:`2 \tau_{\mathrm{int}} \sigma^2 / n`: :math:`n / (2 \tau_{\mathrm{int}})` steps are
    worth one independent sample (1/2 for uncorrelated steps, in this convention).

    Args:
        series: shape ``(n,)`` or ``(num_chains, n)``.
        c: the window factor (Sokal: 4 to 10; 5 by default).

    Returns:
        ``(tau_int, W)``, in steps. When no window satisfies the criterion the series is
        too short; the estimate at the largest window is returned (a lower bound).

    References:
        A. D. Sokal, *Monte Carlo methods in statistical mechanics* (1997), eqs. (3.19)-(3.21);
        N. Madras and A. D. Sokal, J. Stat. Phys. 50, 109 (1988).
    """
    rho = autocorrelation(series)
    tau = 0.5 + np.cumsum(rho[1:])                        # tau_int(W), W = 1 .. n - 1
    windows = np.arange(1, len(rho))
    ok = windows >= c * tau
    W = int(windows[np.argmax(ok)]) if ok.any() else int(windows[-1])
    return float(max(tau[W - 1], 0.5)), W


