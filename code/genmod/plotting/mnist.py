r"""Plots for MNIST digits: the judge's class histogram, samples beside it, latent codes by class.

Each takes ``ax=None`` (a new figure) and returns the axes; none changes
matplotlib's global settings.
"""

from __future__ import annotations

import numpy as np

from genmod.plotting.generic import _axes, image_grid


def class_histogram(fractions, *, reference=None, threshold: float = 0.02, ax=None,
                    title: str | None = None):
    r"""Bar chart of the judge's class histogram, optionally beside the true class frequencies.

    Args:
        fractions: 10 fractions summing to 1, e.g. ``judge_samples(...)["class_histogram"]``.
        reference: optional true class labels (any shape, integers 0..9) of real digits,
            drawn as a second bar per class.
        threshold: share a class needs to count as present (dotted line), in [0, 1].
        ax: axes; a new figure when ``None``.
        title: axes title.

    Returns:
        The axes.

    Raises:
        ValueError: if ``fractions`` does not hold 10 values.
    """
    fractions = np.asarray(fractions, dtype=float).ravel()
    if fractions.shape != (10,):
        raise ValueError(f"expected 10 class fractions, got shape {fractions.shape}")
    ax = _axes(ax, figsize=(5, 3.2))
    classes = np.arange(10)
    width = 0.4 if reference is not None else 0.8
    offset = 0.2 if reference is not None else 0.0
    ax.bar(classes - offset, fractions, width=width, label="generated (judge's class)")
    if reference is not None:
        labels = np.asarray(reference).ravel().astype(int)
        shares = np.bincount(labels, minlength=10)[:10] / len(labels)
        ax.bar(classes + offset, shares, width=width, label="real digits (true class)")
    ax.axhline(threshold, color="k", ls=":", lw=1, label=f"{threshold:.0%} threshold")
    ax.set_xticks(classes)
    ax.set_xlabel("digit class")
    ax.set_ylabel("fraction of digits")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def samples_and_classes(samples, fractions, *, reference=None, num_shown: int = 100):
    r"""One figure: (a) the first generated digits, (b) the judge's class histogram.

    Args:
        samples: generated digits, any layout :func:`genmod.plotting.generic.image_grid`
            reads, values in [0, 1].
        fractions: the judge's 10 class fractions (``judge_samples(...)["class_histogram"]``).
        reference: optional true labels of real digits, drawn beside (:func:`class_histogram`).
        num_shown: how many digits panel (a) shows, 10 per row.

    Returns:
        The two axes.
    """
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1, 1.2]})
    image_grid(np.asarray(samples)[:num_shown], nrow=10, ax=axes[0],
               title=f"(a) {num_shown} generated digits")
    class_histogram(fractions, reference=reference, ax=axes[1], title="(b) class histogram")
    return axes


def latent_scatter(h, labels, *, ax=None, title: str | None = None, xlabel: str = "$h_1$",
                   ylabel: str = "$h_2$"):
    r"""Scatter two latent coordinates of data points, coloured by class, with a colour bar.

    Args:
        h: latent points, shape ``(N, 2)`` (e.g. encoder means :math:`\mu_\phi(\x)`).
        labels: integer classes 0..9, shape ``(N,)``.
        ax: axes; a new figure when ``None``.
        title, xlabel, ylabel: text of the axes.

    Returns:
        The axes.

    Raises:
        ValueError: if ``h`` is not of shape ``(N, 2)`` or ``labels`` not of length N.
    """
    h = np.asarray(h)
    labels = np.asarray(labels).ravel()
    if h.ndim != 2 or h.shape[1] != 2 or len(labels) != len(h):
        raise ValueError(f"expected h of shape (N, 2) and N labels, got {h.shape} and "
                         f"{labels.shape}")
    ax = _axes(ax, figsize=(6, 5))
    points = ax.scatter(h[:, 0], h[:, 1], c=labels, cmap="tab10", s=4, vmin=-0.5, vmax=9.5)
    ax.figure.colorbar(points, ax=ax, ticks=range(10), label="digit class")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax
