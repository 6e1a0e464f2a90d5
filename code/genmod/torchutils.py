r"""PyTorch helpers: device choice, seeding, MNIST as tensors.

Importing this module imports ``torch`` (never ``tensorflow``).
"""

from __future__ import annotations

import random

import numpy as np
import torch


def get_device(verbose: bool = True) -> torch.device:
    r"""Return ``cuda`` when a CUDA GPU is available, else ``cpu``, and print it.

    Results on a GPU may differ from CPU results in the last digits (different
    kernels, non-deterministic reductions).
    """
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if verbose:
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
        print(f"device: {device} ({name}), torch {torch.__version__}")
    return device


def seed_everything(seed: int) -> torch.Generator:
    r"""Seed Python, numpy and PyTorch (CPU and CUDA).

    Args:
        seed: non-negative integer.

    Returns:
        A ``torch.Generator`` seeded with ``seed`` (CPU), for code that takes one.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return torch.Generator().manual_seed(seed)


def images_to_tensor(x: np.ndarray, *, value_range=(0.0, 1.0), flatten: bool = False) -> torch.Tensor:
    r"""Convert uint8 images ``(N, 28, 28)`` in 0..255 to a float32 tensor.

    Args:
        x: uint8 array of shape ``(N, H, W)``.
        value_range: ``(0, 1)`` or ``(-1, 1)`` (for tanh generators).
        flatten: return shape ``(N, H*W)`` instead of ``(N, 1, H, W)``.

    Returns:
        float32 tensor of shape ``(N, 1, H, W)`` or ``(N, H*W)``.

    Raises:
        ValueError: if ``x`` is not 3-dimensional.
    """
    if x.ndim != 3:
        raise ValueError(f"expected images of shape (N, H, W), got {x.shape}")
    lo, hi = value_range
    t = torch.from_numpy(np.asarray(x, dtype=np.float32) / 255.0) * (hi - lo) + lo
    return t.reshape(len(x), -1) if flatten else t.unsqueeze(1)
