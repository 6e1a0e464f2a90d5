r"""Plots for any data: image grids, curves, densities, point clouds, GAN curves.

Each takes ``ax=None`` (a new figure) and returns the axes; none changes
matplotlib's global settings.
"""

from __future__ import annotations

import numpy as np


def _axes(ax, figsize=None):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def image_grid(images, *, nrow: int | None = None, ax=None, title: str | None = None,
               value_range=(0.0, 1.0), cmap="gray_r"):
    r"""Show a batch of greyscale images as one grid.

    Args:
        images: array-like (numpy or a CPU tensor) of shape ``(N, H, W)``,
            ``(N, 1, H, W)``, ``(N, H, W, 1)`` or ``(N, H*W)`` with square images
            (a square 2-D array is refused: it could be one image or N flat ones).
        nrow: images per row, a positive integer (default ``ceil(sqrt(N))``).
        ax: matplotlib axes to draw on; a new figure when ``None``.
        title: axes title.
        value_range: ``(lo, hi)``, lo < hi, the range of pixel values, e.g. ``(-1, 1)`` for
            tanh outputs.
        cmap: colour map (default: dark digits on white).

    Returns:
        The axes.

    Raises:
        ValueError: if the images cannot be read as a batch of images, a 2-D array
            is square (ambiguous), ``nrow`` is not a positive integer, or
            ``value_range`` is not increasing.
    """
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    elif x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    elif x.ndim == 2:
        if x.shape[0] == x.shape[1]:
            raise ValueError(
                f"a {x.shape} array could be one {x.shape[0]}x{x.shape[1]} image or "
                f"{x.shape[0]} flat images: pass one image as images[None], shape (1, H, W), "
                "and flat images reshaped to (N, H, W)"
            )
        side = int(round(np.sqrt(x.shape[1])))
        if side * side != x.shape[1]:
            raise ValueError(f"flat images of length {x.shape[1]} are not square")
        x = x.reshape(-1, side, side)
    if x.ndim != 3 or len(x) == 0:
        raise ValueError(f"expected a non-empty batch of images (N, H, W), got {np.shape(images)}")
    n, h, w = x.shape
    if nrow is not None and (not isinstance(nrow, (int, np.integer)) or nrow < 1):
        raise ValueError(f"nrow must be a positive integer (images per row), got {nrow!r}")
    lo, hi = value_range
    if not lo < hi:
        raise ValueError(f"value_range must be (lo, hi) with lo < hi, got {value_range!r}")
    nrow = nrow or int(np.ceil(np.sqrt(n)))
    ncol = int(np.ceil(n / nrow))
    grid = np.full((ncol * (h + 1) + 1, nrow * (w + 1) + 1), lo, dtype=np.float32)
    for i, img in enumerate(x):
        r, c = divmod(i, nrow)
        grid[1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + c * (w + 1) : 1 + c * (w + 1) + w] = img
    ax = _axes(ax, figsize=(nrow * 0.6, ncol * 0.6))
    ax.imshow(grid, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def training_curves(history: dict, *, ax=None, xlabel: str = "epoch", ylabel: str = "loss",
                    title: str | None = None, logy: bool = False):
    r"""Plot one curve per entry of ``history`` (name -> sequence of values).

    Args:
        history: e.g. ``{"discriminator loss": [...], "generator loss": [...]}``.
        ax: axes to draw on; a new figure when ``None``.
        xlabel, ylabel: axis labels (give units where there are any).
        title: axes title.
        logy: logarithmic y axis.

    Returns:
        The axes.
    """
    ax = _axes(ax, figsize=(5, 3.2))
    for name, values in history.items():
        values = np.asarray(values, dtype=float)
        ax.plot(np.arange(1, len(values) + 1), values, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    if len(history) > 1:
        ax.legend()
    return ax


def density_1d(x, densities: dict, *, samples: dict | None = None, bins: int = 60, ax=None,
               xlabel: str = "$x$", ylabel: str = "density", title: str | None = None):
    r"""Plot 1D densities on a grid, with optional sample histograms.

    Args:
        x: grid, shape ``(M,)``.
        densities: name -> values on the grid, each shape ``(M,)``.
        samples: name -> 1D samples drawn as normalised histograms.
        bins: histogram bins.
        ax: axes; a new figure when ``None``.

    Returns:
        The axes.
    """
    ax = _axes(ax, figsize=(5, 3.2))
    for name, s in (samples or {}).items():
        ax.hist(np.asarray(s).ravel(), bins=bins, density=True, alpha=0.35, label=name)
    for name, y in densities.items():
        ax.plot(np.asarray(x), np.asarray(y), label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def samples_2d(samples: dict, *, centers=None, ax=None, title: str | None = None,
               lim: float | None = None, s: float = 3.0):
    r"""Scatter-plot 2D point clouds, with optional mode centres.

    Args:
        samples: name -> array of shape ``(N, 2)``.
        centers: optional ``(K, 2)`` array drawn as crosses.
        ax: axes; a new figure when ``None``.
        title: axes title.
        lim: symmetric axis limit; automatic when ``None``.
        s: marker size.

    Returns:
        The axes.
    """
    ax = _axes(ax, figsize=(4, 4))
    for name, pts in samples.items():
        pts = np.asarray(pts)
        ax.scatter(pts[:, 0], pts[:, 1], s=s, alpha=0.5, label=name)
    if centers is not None:
        c = np.asarray(centers)
        ax.scatter(c[:, 0], c[:, 1], marker="x", c="k", s=40, label="mode centres")
    if lim is not None:
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize="small")
    return ax


def gan_curves(gen_loss, disc_loss, d_real, d_fake, *, axes=None):
    r"""The two panels of a GAN's training curves: (a) both losses, (b) mean D on real and
    generated data.

    Dotted lines mark the values at the global optimum :math:`p_g = p_r`,
    :math:`D^* = \tfrac12`: :math:`L_G = \log 2` (non-saturating loss),
    :math:`L_D = \log 4` and :math:`D = \tfrac12` (``book/gans/theory.md``,
    eq. ``gans-loss-at-optimum``).

    Args:
        gen_loss, disc_loss: per-epoch means of :math:`L_G` and :math:`L_D`, in nats.
        d_real, d_fake: per-epoch means of :math:`D(\x)` and :math:`D(G(\h))`, in [0, 1].
        axes: two axes; a new figure of two panels when ``None``.

    Returns:
        The two axes.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    training_curves({"generator loss $L_G$": gen_loss, "discriminator loss $L_D$": disc_loss},
                    ax=axes[0], ylabel="loss (nats)", title="(a) losses")
    axes[0].axhline(np.log(2), color="C0", ls=":", lw=1)
    axes[0].axhline(np.log(4), color="C1", ls=":", lw=1)
    training_curves({r"real: $D(\mathbf{x})$": d_real, r"generated: $D(G(\mathbf{h}))$": d_fake},
                    ax=axes[1], ylabel="mean discriminator output",
                    title="(b) discriminator outputs")
    axes[1].axhline(0.5, color="k", ls=":", lw=1)
    axes[1].set_ylim(0, 1)
    return axes

