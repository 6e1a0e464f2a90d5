r"""Saving what a generative notebook produced, for the summary chapter.

Layout: ``<artifacts>/<notebook name>/samples.npz`` (key ``images``, float32 in
``[0, 1]``, shape ``(N, 28, 28)`` for MNIST or ``(N, d)`` for toy data) and
``<artifacts>/<notebook name>/metrics.json``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from genmod.config import get_scale, repository_root


def artifacts_dir(name: str | None = None) -> Path:
    r"""Return the artifacts folder (or the sub-folder ``name``), creating it.

    ``GENMOD_ARTIFACTS`` if set; else ``_artifacts/`` at the repository root
    (found from the working directory); else ``./_artifacts``.

    Args:
        name: the notebook's name without extension, e.g. ``"gan_mnist_torch"``.

    Raises:
        ValueError: if ``name`` is empty or contains a path separator.
    """
    env = os.environ.get("GENMOD_ARTIFACTS", "").strip()
    if env:
        base = Path(env).expanduser()
    else:
        root = repository_root()
        base = (root if root is not None else Path.cwd()) / "_artifacts"
    if name is not None:
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise ValueError(f"artifact name must be a plain notebook name, got {name!r}")
        base = base / name
    base.mkdir(parents=True, exist_ok=True)
    return base


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def save_artifacts(name: str, images, metrics: dict, *, image_range=(0.0, 1.0)) -> Path:
    r"""Save generated samples and metrics under ``<artifacts>/<name>/``.

    Args:
        name: the notebook's name without extension, e.g. ``"dcgan_mnist_tf"``.
        images: array-like, shape ``(N, 28, 28)``, ``(N, 784)`` or ``(N, 1, 28, 28)``
            for MNIST (reshaped to ``(N, 28, 28)``), or ``(N, d)`` for toy data.
        metrics: JSON-serialisable numbers and strings (numpy scalars are converted;
            NaN and infinity are stored as ``null``). The scale is added as ``"scale"``.
        image_range: the value range of ``images``; ``(-1, 1)`` images (tanh
            generators) are mapped to ``[0, 1]``. Values are then clipped to ``[0, 1]``.

    Returns:
        The folder written.

    Raises:
        ValueError: if ``images`` is empty or has an unexpected shape.
    """
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"images must be a non-empty batch, got shape {x.shape}")
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    elif x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim == 2 and x.shape[1] == 784:
        x = x.reshape(-1, 28, 28)
    if x.ndim not in (2, 3):
        raise ValueError(
            "images must have shape (N, 28, 28), (N, 784), (N, 1, 28, 28), (N, 28, 28, 1) "
            f"or (N, d); got {x.shape}"
        )
    lo, hi = image_range
    if x.ndim == 3:
        x = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    folder = artifacts_dir(name)
    np.savez_compressed(folder / "samples.npz", images=x)
    payload = {"notebook": name, "scale": get_scale(), **_jsonable(dict(metrics))}
    (folder / "metrics.json").write_text(json.dumps(payload, indent=2) + "\n")
    return folder
