r"""TensorFlow helpers: seeding, the device report and the CPU thread policy, Keras
weights as ``.npz`` files, checkpoints of Keras models, and the GAN losses in Keras
(the twins of :mod:`genmod.gan`).

Importing this module imports ``tensorflow``. Import torchvision *before* it in any
process that needs both (``CONTRIBUTING.md``, "Known traps"); the book's notebooks
use one framework each, so they never do.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Callable

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide INFO/WARNING C++ logs

import tensorflow as tf  # noqa: E402

from genmod import checkpoints  # noqa: E402
from genmod.config import Config, get_threads  # noqa: E402


def seed_everything(seed: int) -> None:
    r"""Seed Python, numpy and TensorFlow (``tf.keras.utils.set_random_seed``)."""
    random.seed(seed)
    np.random.seed(seed)
    tf.keras.utils.set_random_seed(seed)


def describe_device(verbose: bool = True) -> str:
    r"""Say where TensorFlow runs, and on a CPU set its threads (the book's thread policy).

    TensorFlow places operations on a GPU by itself when it sees one. On a CPU, its
    intra- and inter-op thread pools get :func:`genmod.config.get_threads` threads
    (``GENMOD_THREADS``, default 1), as :func:`genmod.torchutils.get_device` does for
    PyTorch. Call it in the setup cell, before any TensorFlow operation runs.

    Args:
        verbose: print the device, the threads and the TensorFlow version.

    Returns:
        ``"cpu, 1 thread"`` (the threads set) or ``"gpu, <number> GPU(s)"``; the same
        string goes into checkpoint provenance.

    Raises:
        ValueError: if ``GENMOD_THREADS`` is not a positive integer.
        RuntimeError: if TensorFlow has already started on a CPU with other thread
            pools (call this before any TensorFlow operation).
    """
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        device = f"gpu, {len(gpus)} GPU{'s' if len(gpus) != 1 else ''}"
    else:
        threads = get_threads()
        for pool in (tf.config.threading.set_intra_op_parallelism_threads,
                     tf.config.threading.set_inter_op_parallelism_threads):
            try:
                pool(threads)
            except RuntimeError as err:
                current = tf.config.threading.get_intra_op_parallelism_threads()
                if current != threads:
                    raise RuntimeError(
                        f"TensorFlow already runs with {current or 'its default'} threads; call "
                        "genmod.tfutils.describe_device() before any TensorFlow operation"
                    ) from err
        device = f"cpu, {threads} thread{'s' if threads != 1 else ''}"
    if verbose:
        print(f"device: {device}; tensorflow {tf.__version__}")
    return device


def save_weights(model: tf.keras.Model, path) -> None:
    r"""Write a Keras model's ``get_weights()`` arrays, in order, to ``path`` as an ``.npz``.

    The arrays are stored as ``arr_0``, ``arr_1``, ... (``numpy.savez``), so the file
    needs only numpy to read, and the name is kept exactly (no ``.npz`` is appended).
    """
    with open(path, "wb") as f:
        np.savez(f, *model.get_weights())


def load_weights(model: tf.keras.Model, path) -> tf.keras.Model:
    r"""Set ``model``'s weights from an ``.npz`` written by :func:`save_weights`; return ``model``.

    Raises:
        ValueError: if the number or the shapes of the arrays do not fit the model
            (Keras says which).
    """
    with np.load(path) as saved:
        model.set_weights([saved[f"arr_{i}"] for i in range(len(saved.files))])
    return model


def load_or_train(notebook: str, config: Config, *, build: Callable[[Config], tf.keras.Model],
                  train: Callable[[], tuple], save: bool = True, folder: Path | None = None,
                  verbose: bool = True):
    r"""A Keras model trained by the notebook's own code: loaded from its checkpoint, or
    trained and saved.

    The TensorFlow twin of :func:`genmod.torchutils.load_or_train`: the checkpoint
    holds the model's weight arrays (:func:`save_weights`), and its provenance is
    written by :func:`genmod.checkpoints.load_or_train`.

    Args:
        notebook: the notebook's name (its ``NOTEBOOK`` constant).
        config: the configuration that trains the model.
        build: ``build(config)`` returns the untrained, built Keras model (weights
            created); its name is recorded as the provenance's ``builder``.
        train: ``train()`` returns ``(model, metrics)`` or ``(model, metrics, extra)``.
        save, folder, verbose: as in :func:`genmod.torchutils.load_or_train`.

    Returns:
        ``(model, checkpoint)``.

    Raises:
        ValueError: on a corrupted checkpoint, incomplete provenance, or weights that
            do not fit ``build(config)``.
    """
    return checkpoints.load_or_train(
        notebook, config, train=train, write=save_weights,
        read=lambda path: load_weights(build(config), path), builder=build.__name__,
        device=describe_device(verbose=False), folder=folder, save=save, suffix=".npz",
        verbose=verbose)


# ---------------------------------------------------------------------------
# GAN losses (Keras): the TensorFlow twins of genmod.gan's, from the discriminator's logits.
# Introduced (and shown with genmod.show_source) in book/gans/dcgan_mnist_tf; used by
# book/gans/cgan_mnist_tf. The equations are in book/gans/theory.md.
# ---------------------------------------------------------------------------


def binary_cross_entropy_from_logits(logits: tf.Tensor, label) -> tf.Tensor:
    r"""The binary cross-entropy of a logit and a label, averaged over the batch.

    .. math::
        \mathrm{BCE}(\ell, y)
            = -\left[y \log \sigmoid(\ell) + (1 - y) \log\left(1 - \sigmoid(\ell)\right)\right]
            = \log\left(1 + e^{\ell}\right) - y \ell ,

    computed by ``tf.nn.sigmoid_cross_entropy_with_logits``, which stays finite where
    :math:`\sigmoid(\ell)` rounds to 0 or 1 (the value of
    ``tf.keras.losses.BinaryCrossentropy(from_logits=True)``, without a Keras object).

    Args:
        logits: :math:`\ell`, the discriminator's logits, shape ``(B, 1)`` or ``(B,)``, float.
        label: :math:`y \in [0, 1]`, a number (``1.0`` for "real", ``0.0`` for
            "generated") or a tensor broadcastable to ``logits``.

    Returns:
        A scalar tensor, in nats.
    """
    labels = tf.broadcast_to(tf.cast(label, logits.dtype), tf.shape(logits))
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def discriminator_loss(logits_real: tf.Tensor, logits_fake: tf.Tensor) -> tf.Tensor:
    r"""The discriminator's loss: minus the value function on a minibatch, from logits.

    .. math::
        \mathcal{L}_D = \frac1B \sum_i \mathrm{BCE}(\ell(\x_i), 1)
            + \frac1B \sum_i \mathrm{BCE}(\ell(G(\h_i)), 0)
            = -\frac1B \sum_i \log D(\x_i) - \frac1B \sum_i \log\left(1 - D(G(\h_i))\right)
            = -\hat v(G, D) ,

    with :math:`D = \sigmoid(\ell)` (eq. ``gans-value-function``; Goodfellow et al. 2014,
    eq. 1). At :math:`D = \tfrac12` everywhere it is :math:`\log 4`. With the label as a
    second input of the discriminator, :math:`\ell(\x, y)`, it is minus the conditional
    value function (eq. ``gans-conditional-game``). The Keras twin of
    :func:`genmod.gan.discriminator_loss`.

    Args:
        logits_real: :math:`\ell(\x)` on real data, shape ``(B, 1)`` or ``(B,)``.
        logits_fake: :math:`\ell(G(\h))` on generated data, same shape rule.

    Returns:
        A scalar tensor, in nats.
    """
    real_loss = binary_cross_entropy_from_logits(logits_real, 1.0)  # -mean log D(x)
    fake_loss = binary_cross_entropy_from_logits(logits_fake, 0.0)  # -mean log(1 - D(G(h)))
    return real_loss + fake_loss                                     # L_D = -v(G, D) on the batch


def generator_loss_nonsaturating(logits_fake: tf.Tensor) -> tf.Tensor:
    r"""The non-saturating generator loss from logits: the fakes' cross-entropy with "real".

    .. math::
        \mathcal{L}_G^{\mathrm{ns}} = \frac1B \sum_i \mathrm{BCE}(\ell(G(\h_i)), 1)
            = -\frac1B \sum_i \log D(G(\h_i))

    (eq. ``gans-nonsaturating-loss``; Goodfellow et al. 2014, Sec. 3). Its gradient with
    respect to the logit is :math:`-(1 - D)`, large where the discriminator rejects the
    fakes; at :math:`D = \tfrac12` the loss is :math:`\log 2`. The Keras twin of
    :func:`genmod.gan.generator_loss_nonsaturating`.

    Args:
        logits_fake: :math:`\ell(G(\h))`, shape ``(B, 1)`` or ``(B,)``.

    Returns:
        A scalar tensor, in nats (at least 0).
    """
    return binary_cross_entropy_from_logits(logits_fake, 1.0)
