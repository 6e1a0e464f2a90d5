r"""Plotting helpers: :mod:`genmod.plotting.generic` for any data, :mod:`genmod.plotting.mnist`
for digits, :mod:`genmod.plotting.physics` for Ising lattices.

Every helper takes ``ax=None`` (or ``axes=None``), draws, and returns the axes; none
changes matplotlib's global settings. The modules' helpers are importable from here.
"""

from genmod.plotting.generic import density_1d, gan_curves, image_grid, samples_2d, training_curves
from genmod.plotting.mnist import class_histogram, latent_scatter, samples_and_classes
from genmod.plotting.physics import thermodynamics_vs_exact

__all__ = ["class_histogram", "density_1d", "gan_curves", "image_grid", "latent_scatter",
           "samples_2d", "samples_and_classes", "thermodynamics_vs_exact", "training_curves"]
