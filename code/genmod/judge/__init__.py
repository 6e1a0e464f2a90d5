r"""The MNIST sample judge: a small CNN classifier that scores generated digits.

- :mod:`genmod.judge.classifier`: the network, its training and its scores
  (Fréchet distance of features, class histogram, mean confidence).
- this module: :func:`get_judge` trains the judge once on the training split of
  whatever MNIST source :func:`genmod.data.mnist.load_mnist` uses and keeps it in the
  cache folder (``GENMOD_DATA``/judge) with the checkpoint mechanism of
  :mod:`genmod.checkpoints`, keyed by the data and the training settings;
  :func:`judge_samples` scores samples from any notebook, and
  :func:`judge_conditional_samples` the digits of a conditional generator, each
  drawn for a requested class;
- ``python -m genmod.judge SAMPLES.npz --json OUT.json``: the same from the command
  line (``genmod/judge/__main__.py``); with a key ``requested`` in the file, the
  conditional scores.

The judge is written in PyTorch. Importing torchvision or torch after TensorFlow
crashes some builds (DESIGN.md, known traps), so when TensorFlow is already
imported :func:`judge_samples` runs the judge in a fresh Python process.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from genmod.checkpoints import config_key, load_or_train
from genmod.config import data_dir
from genmod.data import last_source, load_mnist
from genmod.judge.classifier import (JUDGE_EPOCHS, JUDGE_SEED, Judge, build_model, requested_class_scores,
                                     train_classifier)

__all__ = ["Judge", "get_judge", "judge_samples", "judge_conditional_samples", "real_reference", "cache_folder"]

_JUDGE: Judge | None = None
_JUDGE_KEY: str | None = None


def cache_folder() -> Path:
    r"""Where the trained judge is kept: ``<GENMOD_DATA>/judge`` (:func:`genmod.config.data_dir`)."""
    return data_dir() / "judge"


def _judge_config(x_train: np.ndarray) -> dict:
    """What the judge's weights depend on: the training digits and the training settings."""
    digest = hashlib.sha1(np.ascontiguousarray(x_train[:: max(1, len(x_train) // 500)]).tobytes()).hexdigest()
    return {"data_digest": digest[:16], "num_train": int(len(x_train)), "epochs": JUDGE_EPOCHS,
            "seed": JUDGE_SEED, "version": 2}


def get_judge(*, verbose: bool = True) -> Judge:
    r"""Return the MNIST judge: loaded from the cache, or trained (about a minute on a CPU).

    Args:
        verbose: print the source, whether the judge was cached, and its test accuracy.

    Returns:
        A :class:`~genmod.judge.classifier.Judge`.

    Raises:
        genmod.data.mnist.MnistUnavailableError: when MNIST cannot be loaded.
    """
    global _JUDGE, _JUDGE_KEY
    import torch

    (x_train, y_train), (x_test, y_test) = load_mnist(verbose=False)
    config = _judge_config(x_train)
    key = f"{cache_folder()}:{config_key(config)}"
    if _JUDGE is not None and _JUDGE_KEY == key:
        return _JUDGE

    def train():
        if verbose:
            print(f"judge: training a CNN classifier on {len(x_train):,} digits (kept in {cache_folder()})")
        with torch.random.fork_rng():
            model, acc = train_classifier(x_train, y_train, x_test, y_test, verbose=verbose)
        return (model, acc), {"judge_test_accuracy": acc}

    def write(model_acc, path):
        model, acc = model_acc
        torch.save({"model": model.state_dict(), "test_accuracy": acc}, path)

    def read(path):
        state = torch.load(path, map_location="cpu", weights_only=True)
        model = build_model()
        model.load_state_dict(state["model"])
        return model, float(state["test_accuracy"])

    (model, acc), _ = load_or_train("judge", config, train=train, write=write, read=read,
                                    builder="genmod.judge.classifier.build_model", device="cpu",
                                    folder=cache_folder(), save=True, max_bytes=None, verbose=verbose)
    if verbose:
        print(f"judge data: {last_source().describe()}")
    judge = Judge(model, acc, x_test / 255.0)
    if verbose:
        print(f"judge: test accuracy {acc:.4f} on {len(x_test):,} test digits")
    _JUDGE, _JUDGE_KEY = judge, key
    return judge


def real_reference(num_samples: int = 1000, *, verbose: bool = False) -> dict:
    r"""The judge's scores for *real* training digits: the floor a generator aims at.

    Args:
        num_samples: how many training digits to score against the test digits.

    Returns:
        The dict of :meth:`genmod.judge.classifier.Judge.score` for real digits.
    """
    judge = get_judge(verbose=verbose)
    (x_train, _), _ = load_mnist(verbose=False)
    rng = np.random.default_rng(JUDGE_SEED)
    idx = rng.choice(len(x_train), size=min(num_samples, len(x_train)), replace=False)
    return judge.score(x_train[idx] / 255.0)


def _judge_in_subprocess(arrays: dict, *, with_reference: bool, verbose: bool) -> dict:
    """Run ``python -m genmod.judge`` on ``arrays`` (saved to an .npz) in a fresh process; return its JSON result."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "samples.npz"
        np.savez(src, **arrays)
        cmd = [sys.executable, "-m", "genmod.judge", str(src), "--json", str(Path(tmp) / "out.json")]
        if not with_reference:
            cmd.append("--no-reference")
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"the judge's subprocess failed:\n{run.stderr[-3000:]}")
        if verbose:
            print(run.stdout.strip())
        return json.loads((Path(tmp) / "out.json").read_text())


def judge_samples(images, *, verbose: bool = True, with_reference: bool = True) -> dict:
    r"""Score generated MNIST digits with the judge; safe to call from any notebook.

    In a process that has imported TensorFlow the judge runs in a subprocess
    (importing PyTorch there could crash, DESIGN.md), so TensorFlow notebooks call
    this function like PyTorch ones.

    Args:
        images: generated digits, shape ``(N, 28, 28)``, ``(N, 784)``,
            ``(N, 1, 28, 28)`` or ``(N, 28, 28, 1)``, values in [0, 1].
        verbose: print a one-line summary.
        with_reference: also return ``real_frechet_distance``, the same distance for
            as many real training digits (at most 2,000): the value to compare with.

    Returns:
        The dict of :meth:`genmod.judge.classifier.Judge.score`, plus ``real_frechet_distance`` if asked.

    Raises:
        ValueError: on a wrong shape or values outside [0, 1].
        RuntimeError: if the judge's subprocess fails (its error is quoted).
    """
    x = np.asarray(images, dtype=np.float32)
    if "tensorflow" in sys.modules:
        return _judge_in_subprocess({"images": x}, with_reference=with_reference, verbose=verbose)
    judge = get_judge(verbose=verbose)
    result = judge.score(x)
    if with_reference:
        result["real_frechet_distance"] = real_reference(min(len(x), 2000))["frechet_distance"]
    if verbose:
        ref = f" (real digits: {result['real_frechet_distance']:.2f})" if with_reference else ""
        print(
            f"judge: Fréchet distance {result['frechet_distance']:.2f}{ref}, "
            f"{result['classes_with_2pct']}/10 classes with >= 2% of samples, "
            f"mean confidence {result['mean_confidence']:.3f}"
        )
    return result


def judge_conditional_samples(images, requested, *, verbose: bool = True, with_reference: bool = True) -> dict:
    r"""Score a conditional generator's digits, each drawn for a requested class; safe in any notebook.

    The scores of :func:`judge_samples` (Fréchet distance, class histogram, mean
    confidence), plus how often the judge assigns each digit to the class it was
    requested for (:func:`genmod.judge.classifier.requested_class_scores`: per class,
    overall, and the confusion matrix). As in :func:`judge_samples`, in a process that
    has imported TensorFlow the judge runs in a fresh Python process
    (``python -m genmod.judge``), so TensorFlow notebooks never import PyTorch.

    Args:
        images: generated digits, shape ``(N, 28, 28)`` (or the layouts of
            :func:`judge_samples`), values in [0, 1].
        requested: the class each digit was generated for, shape ``(N,)``, integers 0..9.
        verbose: print a summary (the line of :func:`judge_samples` and the per-class accuracy).
        with_reference: also return ``real_frechet_distance`` (as :func:`judge_samples`)
            and ``real_requested_class_accuracy``: the judge's per-class accuracy on the
            real test digits with their true labels, the ceiling a generator can reach.

    Returns:
        The dict of :meth:`genmod.judge.classifier.Judge.score_conditional`, plus the
        references if asked.

    Raises:
        ValueError: on a wrong shape, values outside [0, 1], or requested classes that
            are not ``N`` integers in 0..9 (checked before the judge runs).
        RuntimeError: if the judge's subprocess fails (its error is quoted).
    """
    x = np.asarray(images, dtype=np.float32)
    requested = np.asarray(requested)
    if requested.shape != (len(x),):
        raise ValueError(f"expected one requested class per digit, shape ({len(x)},), got shape {requested.shape}")
    requested_class_scores(np.full((len(x), 10), 0.1), requested)  # checks the classes before any work
    if "tensorflow" in sys.modules:
        return _judge_in_subprocess({"images": x, "requested": requested.astype(np.int64)},
                                    with_reference=with_reference, verbose=verbose)
    judge = get_judge(verbose=verbose)
    result = judge.score_conditional(x, requested)
    if with_reference:
        result["real_frechet_distance"] = real_reference(min(len(x), 2000))["frechet_distance"]
        _, (x_test, y_test) = load_mnist(verbose=False)
        real = requested_class_scores(judge.predict_proba(x_test / 255.0), y_test)
        result["real_requested_class_accuracy"] = real["requested_class_accuracy"]
    if verbose:
        ref = f" (real digits: {result['real_frechet_distance']:.2f})" if with_reference else ""
        print(
            f"judge: Fréchet distance {result['frechet_distance']:.2f}{ref}, "
            f"{result['classes_with_2pct']}/10 classes with >= 2% of samples, "
            f"mean confidence {result['mean_confidence']:.3f}"
        )
        per_class = " ".join(f"{c}:{a:.2f}" for c, a in enumerate(result["requested_class_accuracy"]))
        print(f"judge: requested class found in {result['requested_accuracy']:.1%} of digits; per class {per_class}")
    return result
