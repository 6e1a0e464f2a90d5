r"""PyTorch helpers: device choice and the CPU thread policy, seeding, MNIST as tensors,
and checkpoints of PyTorch models.

Importing this module imports ``torch`` (never ``tensorflow``).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from genmod import checkpoints
from genmod.config import Config, get_threads


def get_device(verbose: bool = True) -> torch.device:
    r"""Return ``cuda`` when a CUDA GPU is available, else ``cpu``; on a CPU, set the threads.

    The book's one CPU thread policy lives here: on a CPU, PyTorch uses
    :func:`genmod.config.get_threads` threads (``GENMOD_THREADS``, default 1; the
    book's networks are small, and on a shared 2-core CPU two threads were measured
    many times slower than one). Results on a GPU may differ from CPU results in the
    last digits (different kernels, non-deterministic reductions).

    Args:
        verbose: print the device, the threads and the torch version.

    Returns:
        ``torch.device("cuda")`` or ``torch.device("cpu")``.

    Raises:
        ValueError: if ``GENMOD_THREADS`` is not a positive integer.
    """
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(get_threads())
    if verbose:
        print(f"device: {describe_device(device)}; torch {torch.__version__}")
    return device


def describe_device(device: torch.device | str) -> str:
    r"""Say where PyTorch runs, the same way in every notebook and checkpoint provenance.

    Returns:
        ``"cpu, 1 thread"`` (the threads PyTorch uses now) or ``"cuda, <GPU name>"``.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda, {torch.cuda.get_device_name(device)}"
    threads = torch.get_num_threads()
    return f"{device.type}, {threads} thread{'s' if threads != 1 else ''}"


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


def images_to_tensor(x: np.ndarray, *, value_range=(0.0, 1.0),
                     flatten: bool = False) -> torch.Tensor:
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


def load_or_train(notebook: str, config: Config, *, build: Callable[[Config], torch.nn.Module],
                  train: Callable[[], tuple], device: torch.device | str, save: bool = True,
                  folder: Path | None = None, verbose: bool = True):
    r"""A PyTorch model trained by the notebook's own code: loaded from its checkpoint, or
    trained and saved.

    The checkpoint of ``notebook`` for exactly ``config`` (:mod:`genmod.checkpoints`)
    holds the model's ``state_dict``; its provenance (command, scale, device, training
    time, metrics, builder) is written by :func:`genmod.checkpoints.load_or_train`.

    Args:
        notebook: the notebook's name (its ``NOTEBOOK`` constant).
        config: the configuration that trains the model (e.g. ``config.subset(...)``).
        build: the notebook's function ``build(config)`` returning the untrained
            architecture; its name is recorded, and the tests load the committed
            checkpoint into it.
        train: ``train()`` returns ``(model, metrics)`` or ``(model, metrics, extra)``
            (see :func:`genmod.checkpoints.load_or_train`).
        device: where the model runs; a loaded model is moved there.
        save: write the checkpoint after training (default ``True``).
        folder: where checkpoints live (default ``book/<part>/checkpoints``).
        verbose: print whether it was loaded or trained, with the provenance.

    Returns:
        ``(model, checkpoint)``: the model on ``device``, and the
        :class:`genmod.checkpoints.Checkpoint` (``None`` if trained and not saved).

    Raises:
        ValueError: on a corrupted checkpoint or incomplete provenance.
        RuntimeError: if the saved weights do not fit ``build(config)``.
    """

    def write(model, path):
        torch.save(model.state_dict(), path)

    def read(path):
        model = build(config)
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.to(device)

    return checkpoints.load_or_train(notebook, config, train=train, write=write, read=read,
                                     builder=build.__name__, device=describe_device(device),
                                     folder=folder, save=save, suffix=".pt", verbose=verbose)
