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
crashes some builds (``CONTRIBUTING.md``, "Known traps"), so when TensorFlow is already
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

from genmod.checkpoints import config_key, find_checkpoint, save_checkpoint
from genmod.config import data_dir, get_scale
from genmod.data import last_source, load_mnist
from genmod.judge.classifier import (JUDGE_EPOCHS, JUDGE_SEED, Judge, build_model,
                                     requested_class_scores, train_classifier)

__all__ = ["Judge", "get_judge", "judge_samples", "judge_conditional_samples", "real_reference",
           "cache_folder"]

_JUDGE: Judge | None = None
_JUDGE_KEY: str | None = None


def cache_folder() -> Path:
    r"""Where the trained judge is kept: ``<GENMOD_DATA>/judge``
    (:func:`genmod.config.data_dir`)."""
    return data_dir() / "judge"


def _judge_config(x_train: np.ndarray) -> dict:
    """What the judge's weights depend on: the training digits and the training settings."""
    every = max(1, len(x_train) // 500)  # about 500 digits identify the training set
    digest = hashlib.sha1(np.ascontiguousarray(x_train[::every]).tobytes()).hexdigest()
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

    found = find_checkpoint("judge", config, folder=cache_folder())
    if found is not None:
        state = torch.load(found.path, map_location="cpu", weights_only=True)
        model = build_model()
        model.load_state_dict(state["model"])
        acc = float(state["test_accuracy"])
        if verbose:
            print(f"loaded {found.describe()}")
    else:
        model, acc = _train_and_keep(config, (x_train, y_train), (x_test, y_test), verbose=verbose)
    if verbose:
        print(f"judge data: {last_source().describe()}")
    judge = Judge(model, acc, x_test / 255.0)
    if verbose:
        print(f"judge: test accuracy {acc:.4f} on {len(x_test):,} test digits")
    _JUDGE, _JUDGE_KEY = judge, key
    return judge


def _train_and_keep(config: dict, train_split, test_split, *, verbose: bool):
    """Train the judge and keep it in :func:`cache_folder`, with its provenance.

    Not a notebook's checkpoint: the judge is the same at every scale, so its provenance names
    the command that trains it (any first call of :func:`get_judge`) and says so in a note.
    """
    import time

    import torch

    from genmod.torchutils import describe_device

    if verbose:
        print(f"judge: training a CNN classifier on {len(train_split[0]):,} digits "
              f"(kept in {cache_folder()})")
    start = time.perf_counter()
    with torch.random.fork_rng():
        model, acc = train_classifier(*train_split, *test_split, verbose=verbose)
    provenance = {
        "command": "python -c 'import genmod.judge; genmod.judge.get_judge()'",
        "scale": get_scale(),
        "device": describe_device("cpu"),
        "train_time_s": time.perf_counter() - start,
        "metrics": {"judge_test_accuracy": acc},
        "builder": "genmod.judge.classifier.build_model",
        "note": "the MNIST judge: the same at every scale (scale: the one it was first asked at)",
    }
    state = {"model": model.state_dict(), "test_accuracy": acc}
    saved = save_checkpoint("judge", config, lambda path: torch.save(state, path),
                            provenance=provenance, folder=cache_folder(), max_bytes=None)
    if verbose:
        print(f"saved {saved.describe()}")
    return model, acc


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
    """Run ``python -m genmod.judge`` on ``arrays`` (saved to an .npz) in a fresh process;
    return its JSON result."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "samples.npz"
        np.savez(src, **arrays)
        out = Path(tmp) / "out.json"
        cmd = [sys.executable, "-m", "genmod.judge", str(src), "--json", str(out)]
        if not with_reference:
            cmd.append("--no-reference")
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"the judge's subprocess failed:\n{run.stderr[-3000:]}")
        if verbose:
            print(run.stdout.strip())
        return json.loads(out.read_text())


def judge_samples(images, *, verbose: bool = True, with_reference: bool = True) -> dict:
    r"""Score generated MNIST digits with the judge; safe to call from any notebook.

    In a process that has imported TensorFlow the judge runs in a subprocess
    (importing PyTorch there could crash, ``CONTRIBUTING.md``, "Known traps"), so TensorFlow
    notebooks call this function like PyTorch ones.

    Args:
        images: generated digits, shape ``(N, 28, 28)``, ``(N, 784)``,
            ``(N, 1, 28, 28)`` or ``(N, 28, 28, 1)``, values in [0, 1].
        verbose: print a one-line summary.
        with_reference: also return ``real_frechet_distance``, the same distance for
            as many real training digits (at most 2,000): the value to compare with.

    Returns:
        The dict of :meth:`genmod.judge.classifier.Judge.score`, plus
        ``real_frechet_distance`` if asked.

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


def judge_conditional_samples(images, requested, *, verbose: bool = True,
                              with_reference: bool = True) -> dict:
    r"""Score a conditional generator's digits, each drawn for a requested class; safe in any
    notebook.

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
        raise ValueError(f"expected one requested class per digit, shape ({len(x)},), "
                         f"got shape {requested.shape}")
    # checks the classes before any work
    requested_class_scores(np.full((len(x), 10), 0.1), requested)
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
        per_class = " ".join(f"{c}:{a:.2f}"
                             for c, a in enumerate(result["requested_class_accuracy"]))
        print(f"judge: requested class found in {result['requested_accuracy']:.1%} of digits; "
              f"per class {per_class}")
    return result
