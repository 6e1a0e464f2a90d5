r"""Plotting helpers: :mod:`genmod.plotting.generic` for any data, :mod:`genmod.plotting.mnist` for digits.

Every helper takes ``ax=None`` (or ``axes=None``), draws, and returns the axes; none
changes matplotlib's global settings. Both modules' helpers are importable from here.
"""

from genmod.plotting.generic import density_1d, gan_curves, image_grid, samples_2d, standard_normal_grid, training_curves
from genmod.plotting.mnist import class_histogram, latent_scatter, samples_and_classes

__all__ = ["class_histogram", "density_1d", "gan_curves", "image_grid", "latent_scatter", "samples_2d",
           "samples_and_classes", "standard_normal_grid", "training_curves"]
