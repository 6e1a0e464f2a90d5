"""Helpers for the book *Deep generative models for the physical sciences*.

Importing this package imports no deep-learning framework (see DESIGN.md, known
traps): PyTorch helpers live in :mod:`genmod.torchutils`, TensorFlow helpers in
:mod:`genmod.tfutils`, and the MNIST judge (PyTorch) in :mod:`genmod.judge`.
"""

from genmod.config import SCALES, get_scale, pick, repository_root
from genmod.artifacts import artifacts_dir, save_artifacts
from genmod.data import load_mnist

__version__ = "0.1.0"

__all__ = [
    "SCALES",
    "get_scale",
    "pick",
    "repository_root",
    "artifacts_dir",
    "save_artifacts",
    "load_mnist",
]
