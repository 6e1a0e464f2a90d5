r"""The MNIST sample judge: a small CNN classifier that scores generated digits.

The judge is trained once on the training split of whatever MNIST source
:func:`genmod.data.load_mnist` uses, and cached under ``GENMOD_DATA`` (keyed by
the source's file and size). For a batch of generated digits it reports

- the Fréchet distance between the judge's penultimate-layer features
  (128-dimensional) of the samples and of real test digits, in the spirit of the
  FID (Heusel et al. 2017, eq. 6) with an MNIST classifier in place of Inception;
- the histogram of predicted classes (do the samples cover all ten digits?);
- the mean confidence (the mean of the largest softmax probability), a rough
  sharpness score in the spirit of the Inception score (Salimans et al. 2016).

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

from genmod.config import data_dir
from genmod.data import last_source, load_mnist
from genmod.metrics import frechet_distance_features

FEATURE_DIM = 128
JUDGE_EPOCHS = 4
JUDGE_SEED = 0


def _build_model():
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 28x28 => 14x14
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 14x14 => 7x7
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, FEATURE_DIM), nn.ReLU(),  # features used for the Fréchet distance
        nn.Dropout(0.25),
        nn.Linear(FEATURE_DIM, 10),
    )


def _cache_path(x_train: np.ndarray) -> Path:
    source = last_source()
    digest = hashlib.sha1(np.ascontiguousarray(x_train[:: max(1, len(x_train) // 500)]).tobytes())
    digest.update(f"{len(x_train)}-{JUDGE_EPOCHS}-{JUDGE_SEED}-v1".encode())
    kind = source.kind if source else "mnist"
    return data_dir() / "judge" / f"judge-{kind}-{len(x_train)}-{digest.hexdigest()[:12]}.pt"


def _to_input(images) -> "torch.Tensor":
    import torch

    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    elif x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    elif x.ndim == 2 and x.shape[1] == 784:
        x = x.reshape(-1, 28, 28)
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"expected digits of shape (N, 28, 28) with values in [0, 1], got {np.shape(images)}")
    return torch.from_numpy(x).unsqueeze(1)


class Judge:
    r"""A trained MNIST classifier used to score samples (see the module docstring).

    Use :func:`get_judge` to obtain one (trained once, then loaded from the cache).

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

        x = _to_input(images)
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


def _train(x_train, y_train, x_test, y_test, *, verbose: bool):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(JUDGE_SEED)
    gen = torch.Generator().manual_seed(JUDGE_SEED)
    model = _build_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = _to_input(x_train / 255.0)
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
        pred = torch.cat([model(_to_input(x_test[i : i + 1000] / 255.0)).argmax(1) for i in range(0, len(x_test), 1000)])
    acc = float((pred.numpy() == y_test).mean())
    return model, acc


_JUDGE: Judge | None = None


def get_judge(*, verbose: bool = True) -> Judge:
    r"""Return the MNIST judge: loaded from the cache, or trained (about a minute on a CPU).

    Args:
        verbose: print the source, whether the judge was cached, and its test accuracy.

    Returns:
        A :class:`Judge`.

    Raises:
        genmod.data.MnistUnavailableError: when MNIST cannot be loaded.
    """
    global _JUDGE
    import torch

    (x_train, y_train), (x_test, y_test) = load_mnist(verbose=False)
    path = _cache_path(x_train)
    if _JUDGE is not None and getattr(_JUDGE, "_path", None) == path:
        return _JUDGE
    if path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=False)
        model = _build_model()
        model.load_state_dict(state["model"])
        acc = state["test_accuracy"]
        if verbose:
            print(f"judge: loaded from {path}")
    else:
        if verbose:
            print(f"judge: training a CNN classifier on {len(x_train):,} digits (cached at {path})")
        with torch.random.fork_rng():
            model, acc = _train(x_train, y_train, x_test, y_test, verbose=verbose)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "test_accuracy": acc}, tmp)
        tmp.replace(path)
    if verbose:
        print(f"judge data: {last_source().describe()}")
    judge = Judge(model, acc, x_test / 255.0)
    judge._path = path
    if verbose:
        print(f"judge: test accuracy {acc:.4f} on {len(x_test):,} test digits")
    _JUDGE = judge
    return judge


def real_reference(num_samples: int = 1000, *, verbose: bool = False) -> dict:
    r"""The judge's scores for *real* training digits: the floor a generator aims at.

    Args:
        num_samples: how many training digits to score against the test digits.

    Returns:
        The dict of :meth:`Judge.score` for real digits.
    """
    judge = get_judge(verbose=verbose)
    (x_train, _), _ = load_mnist(verbose=False)
    rng = np.random.default_rng(JUDGE_SEED)
    idx = rng.choice(len(x_train), size=min(num_samples, len(x_train)), replace=False)
    return judge.score(x_train[idx] / 255.0)


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
        The dict of :meth:`Judge.score`, plus ``real_frechet_distance`` if asked.
    """
    x = np.asarray(images, dtype=np.float32)
    if "tensorflow" in sys.modules:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "samples.npz"
            np.savez(src, images=x)
            cmd = [sys.executable, "-m", "genmod.judge", str(src), "--json", str(Path(tmp) / "out.json")]
            if not with_reference:
                cmd.append("--no-reference")
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                raise RuntimeError(f"the judge's subprocess failed:\n{run.stderr[-3000:]}")
            if verbose:
                print(run.stdout.strip())
            return json.loads((Path(tmp) / "out.json").read_text())
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


def _main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Score generated MNIST digits with the judge.")
    parser.add_argument("samples", help=".npz with key 'images', shape (N, 28, 28), values in [0, 1]")
    parser.add_argument("--json", help="write the result to this file")
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args(argv)
    with np.load(args.samples) as f:
        images = f["images"]
    result = judge_samples(images, with_reference=not args.no_reference)
    if args.json:
        Path(args.json).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
