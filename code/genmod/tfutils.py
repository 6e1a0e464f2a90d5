r"""TensorFlow helpers: seeding and device report.

Importing this module imports ``tensorflow``. Import torchvision *before* it in any
process that needs both (DESIGN.md, known traps); the book's notebooks use one
framework each, so they never do.
"""

from __future__ import annotations

import os
import random

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide INFO/WARNING C++ logs

import tensorflow as tf  # noqa: E402


def seed_everything(seed: int) -> None:
    r"""Seed Python, numpy and TensorFlow (``tf.keras.utils.set_random_seed``)."""
    random.seed(seed)
    np.random.seed(seed)
    tf.keras.utils.set_random_seed(seed)


def describe_device(verbose: bool = True) -> str:
    r"""Return and print ``"GPU"`` when TensorFlow sees a GPU, else ``"CPU"``.

    TensorFlow places operations on the GPU automatically when one is present.
    """
    gpus = tf.config.list_physical_devices("GPU")
    device = "GPU" if gpus else "CPU"
    if verbose:
        print(f"device: {device} ({len(gpus)} GPU(s) visible), tensorflow {tf.__version__}")
    return device
