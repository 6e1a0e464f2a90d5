r"""The judge's classifier: a small CNN, how it is trained, and how it scores digits.

For a batch of generated digits :meth:`Judge.score` reports

- the Fréchet distance between the judge's penultimate-layer features
  (128-dimensional) of the samples and of real test digits, in the spirit of the
  FID (Heusel et al. 2017, eq. 6) with an MNIST classifier in place of Inception;
- the histogram of predicted classes (do the samples cover all ten digits?);
- the mean confidence (the mean of the largest softmax probability), a rough
  sharpness score in the spirit of the Inception score (Salimans et al. 2016).

For the digits of a *conditional* generator, each drawn for a requested class,
:meth:`Judge.score_conditional` adds how often the judge sees the requested class
(:func:`requested_class_scores`: per class, overall, and the confusion matrix).

Importing this module imports nothing from PyTorch until a function is called;
:mod:`genmod.judge` trains and caches the judge, and runs it in a fresh process
when TensorFlow is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from genmod.metrics import frechet_distance_features

if TYPE_CHECKING:  # for the annotations only: importing this module imports no PyTorch
    import torch

#: Dimension of the penultimate-layer features used for the Fréchet distance.
FEATURE_DIM = 128
#: Passes over the training digits when the judge is trained.
JUDGE_EPOCHS = 4
#: Seed of the judge's initialisation and minibatch order.
JUDGE_SEED = 0


def build_model():
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 28x28 => 14x14
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 14x14 => 7x7
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, FEATURE_DIM), nn.ReLU(),  # features used for the Fréchet distance
        nn.Dropout(0.25),
        nn.Linear(FEATURE_DIM, 10),
    )


def to_input(images) -> "torch.Tensor":
    import torch

    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    elif x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    elif x.ndim == 2 and x.shape[1] == 784:
        x = x.reshape(-1, 28, 28)
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError("expected digits of shape (N, 28, 28) with values in [0, 1], "
                         f"got {np.shape(images)}")
    return torch.from_numpy(x).unsqueeze(1)


class Judge:
    r"""A trained MNIST classifier used to score samples (see the module docstring).

    Use :func:`genmod.judge.get_judge` to obtain one (trained once, then loaded from the cache).

    Attributes:
        test_accuracy: accuracy on the test split of the source, in [0, 1].
        reference: statistics of real test digits (features and predicted classes).
    """

    def __init__(self, model, test_accuracy: float, x_test_unit: np.ndarray):
        self.model = model.eval()
        self.test_accuracy = float(test_accuracy)
        self._real_features = self.features(x_test_unit)

    def _forward(self, images, batch_size: int = 1000):
        import torch

        x = to_input(images)
        feats, probs = [], []
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                h = self.model[:-2](x[i : i + batch_size])
                logits = self.model[-1](h)
                feats.append(h.numpy())
                probs.append(torch.softmax(logits, dim=1).numpy())
        return np.concatenate(feats), np.concatenate(probs)

    def features(self, images) -> np.ndarray:
        r"""Penultimate-layer features, shape ``(N, 128)``, of digits ``(N, 28, 28)`` in [0, 1]."""
        return self._forward(images)[0]

    def predict_proba(self, images) -> np.ndarray:
        r"""Class probabilities, shape ``(N, 10)``, of digits ``(N, 28, 28)`` in [0, 1]."""
        return self._forward(images)[1]

    def score(self, images) -> dict:
        r"""Score generated digits against real test digits.

        Args:
            images: shape ``(N, 28, 28)`` (or ``(N, 784)``, ``(N, 1, 28, 28)``),
                float values in ``[0, 1]``, N >= 2.

        Returns:
            dict with ``frechet_distance`` (squared feature units), ``class_histogram``
            (10 fractions summing to 1), ``mean_confidence`` (in [0.1, 1]),
            ``classes_with_2pct`` (how many classes get at least 2% of the samples),
            ``judge_test_accuracy`` and ``num_samples``.

        Raises:
            ValueError: on a wrong shape or values outside [0, 1].
        """
        x = np.asarray(images, dtype=np.float32)
        if x.size and (x.min() < -1e-3 or x.max() > 1 + 1e-3):
            raise ValueError(
                f"judge expects pixel values in [0, 1], got [{x.min():.3f}, {x.max():.3f}]; "
                "map tanh outputs with (x + 1) / 2 first"
            )
        feats, probs = self._forward(x)
        hist = np.bincount(probs.argmax(axis=1), minlength=10) / len(probs)
        return {
            "frechet_distance": frechet_distance_features(feats, self._real_features),
            "class_histogram": hist.round(4).tolist(),
            "classes_with_2pct": int((hist >= 0.02).sum()),
            "mean_confidence": float(probs.max(axis=1).mean()),
            "judge_test_accuracy": self.test_accuracy,
            "num_samples": int(len(x)),
        }

    def score_conditional(self, images, requested) -> dict:
        r"""Score a conditional generator's digits: :meth:`score` plus
        :func:`requested_class_scores`.

        Args:
            images: shape ``(N, 28, 28)`` (or the layouts of :meth:`score`), values in [0, 1].
            requested: the class each digit was generated for, shape ``(N,)``, integers 0..9.

        Returns:
            The dict of :meth:`score` with the keys of :func:`requested_class_scores` added.

        Raises:
            ValueError: as :meth:`score` and :func:`requested_class_scores`.
        """
        result = self.score(images)
        result.update(requested_class_scores(self.predict_proba(images), requested))
        return result


def requested_class_scores(probs, requested) -> dict:
    r"""How often the judge assigns each generated digit to the class that was requested.

    For a conditional generator $G(\h, y)$ asked for class $y_i$ to draw digit $\x_i$,
    with the judge's predicted class $\hat y_i = \arg\max_c p_{\mathrm{judge}}(c \mid \x_i)$,

    .. math::

        \mathrm{acc}_c = \frac{\#\{i : y_i = c,\ \hat y_i = c\}}{\#\{i : y_i = c\}}, \qquad
        M_{c c'} = \frac{\#\{i : y_i = c,\ \hat y_i = c'\}}{\#\{i : y_i = c\}} ,

    and the overall accuracy $\#\{i : \hat y_i = y_i\} / N$. A generator that ignores the
    label and draws class $c'$ with probability $\pi_{c'}$ has $\mathrm{acc}_c = \pi_c$ in
    expectation (0.1 for one that draws the ten classes equally often); real test digits
    with their true labels give the judge's own per-class test accuracy, the ceiling.
    The score measures only whether the class is right, not whether the digits are
    varied or realistic (the Fréchet distance and the class histogram of
    :meth:`Judge.score` do that); see book/gans/theory.md, eq. ``gans-conditional-game``.

    Args:
        probs: the judge's class probabilities, shape ``(N, 10)``, finite, N >= 1
            (:meth:`Judge.predict_proba`).
        requested: the requested classes, shape ``(N,)``, integers in 0..9
            (any integer dtype, or floats with integer values).

    Returns:
        dict with ``requested_accuracy`` (overall fraction, in [0, 1]),
        ``requested_class_accuracy`` (10 fractions; ``nan`` for a class that was never
        requested), ``requested_confusion`` (10 rows of 10 fractions, row ``c`` the
        judged classes of the digits requested as ``c``, summing to 1; ``nan`` rows for
        classes never requested) and ``requested_counts`` (10 integers).

    Raises:
        ValueError: if ``probs`` is not ``(N, 10)`` and finite, or ``requested`` is not
            ``N`` integers in 0..9.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != 10 or len(probs) == 0 or not np.isfinite(probs).all():
        raise ValueError("expected finite class probabilities of shape (N, 10), N >= 1, "
                         f"got shape {probs.shape}")
    requested = np.asarray(requested)
    if requested.shape != (len(probs),):
        raise ValueError(f"expected {len(probs)} requested classes, shape ({len(probs)},), "
                         f"got shape {requested.shape}")
    if requested.dtype.kind not in "iu":
        if requested.dtype.kind != "f" or not np.all(requested == np.round(requested)):
            raise ValueError("requested classes must be integers 0..9, "
                             f"got dtype {requested.dtype}")
    requested = requested.astype(np.int64)
    if requested.min() < 0 or requested.max() > 9:
        raise ValueError("requested classes must be integers 0..9, got values in "
                         f"[{requested.min()}, {requested.max()}]")
    judged = probs.argmax(axis=1)
    counts = np.bincount(requested, minlength=10)       # digits requested per class
    joint = np.zeros((10, 10))
    np.add.at(joint, (requested, judged), 1.0)          # #{i: y_i = c, yhat_i = c'}
    with np.errstate(invalid="ignore", divide="ignore"):
        # M_{cc'}, nan rows where never requested
        confusion = joint / counts[:, None]
    return {
        "requested_accuracy": float((judged == requested).mean()),
        "requested_class_accuracy": np.diag(confusion).round(4).tolist(),  # acc_c = M_cc
        "requested_confusion": confusion.round(4).tolist(),
        "requested_counts": counts.tolist(),
    }


def train_classifier(x_train, y_train, x_test, y_test, *, verbose: bool):
    r"""Train the classifier (:data:`JUDGE_EPOCHS` epochs of Adam, seed :data:`JUDGE_SEED`);
    return ``(model, test accuracy)``."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(JUDGE_SEED)
    gen = torch.Generator().manual_seed(JUDGE_SEED)
    model = build_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = to_input(x_train / 255.0)
    y = torch.from_numpy(y_train.astype(np.int64))
    for epoch in range(JUDGE_EPOCHS):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 128):
            idx = perm[i : i + 128]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if verbose:
            print(f"  judge epoch {epoch + 1}/{JUDGE_EPOCHS}: last batch loss {loss.item():.3f}")
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(to_input(x_test[i : i + 1000] / 255.0)).argmax(1)
                          for i in range(0, len(x_test), 1000)])
    acc = float((pred.numpy() == y_test).mean())
    return model, acc


