r"""Data for the book's notebooks, framework-neutral (numpy only).

- :mod:`genmod.data.mnist`: MNIST in the Keras layout, online (torchvision) or
  offline (``GENMOD_MNIST``).
- :mod:`genmod.data.toy`: distributions known in closed form (Gaussian mixtures, the
  standard-normal quantile grid of a latent space), generated here, needing no download.
"""

from genmod.data.mnist import (
    MnistSource,
    MnistUnavailableError,
    binarize,
    last_source,
    load_mnist,
    read_keras_npz,
)
from genmod.data.toy import Mixture, standard_normal_grid

__all__ = [
    "Mixture",
    "MnistSource",
    "MnistUnavailableError",
    "binarize",
    "last_source",
    "load_mnist",
    "read_keras_npz",
    "standard_normal_grid",
]
