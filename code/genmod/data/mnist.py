r"""MNIST from a Keras-layout ``.npz`` or from torchvision.

MNIST is returned in the Keras layout, the same for PyTorch and TensorFlow
notebooks: ``(x_train, y_train), (x_test, y_test)`` with images ``uint8`` in
``0..255`` of shape ``(N, 28, 28)`` and labels ``uint8`` in ``0..9`` of shape ``(N,)``.

Sources, in order:

1. ``GENMOD_MNIST`` names an ``.npz`` in the Keras layout (the book's CI points it at
   the offline file of the book's repository: 10,000 real digits from the MNIST *test*
   set, 8,000 used for training and 2,000 for testing).
2. Otherwise torchvision's MNIST under ``GENMOD_DATA`` (downloaded once, then
   converted to ``mnist.npz`` beside it). If TensorFlow is already imported, the
   torchvision step runs in a subprocess, because importing torchvision after
   TensorFlow crashes Python (``CONTRIBUTING.md``, "Known traps").
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genmod.config import data_dir, describe_env_path, env_path

KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")

#: What GENMOD_MNIST must name, and how to set it: quoted by every error of this module. The
#: package is installed outside the book's repository too (Colab), so it names no path in it.
HOW_TO_SET_GENMOD_MNIST = (
    "Point GENMOD_MNIST at an MNIST .npz in the Keras layout (x_train, y_train, x_test, "
    "y_test), e.g. the offline file of the book's repository: `export "
    "GENMOD_MNIST=/path/to/mnist-offline.npz` in the shell, or "
    "`os.environ[\"GENMOD_MNIST\"] = \"/path/to/mnist-offline.npz\"` in Python before "
    "load_mnist (a relative path is resolved against the root of the book's repository "
    "when run inside a checkout, else against the working directory)."
)


class MnistUnavailableError(RuntimeError):
    """MNIST could not be loaded; the message says what was tried and how to fix it."""


@dataclass(frozen=True)
class MnistSource:
    """Where the digits came from (printed by :func:`load_mnist`)."""

    kind: str  # "npz" or "torchvision"
    path: str
    num_train: int
    num_test: int

    @property
    def is_offline_subset(self) -> bool:
        return self.kind == "npz" and (self.num_train + self.num_test) < 70_000

    def describe(self) -> str:
        total = self.num_train + self.num_test
        text = (
            f"MNIST from {self.kind} file {self.path}: {self.num_train:,} training and "
            f"{self.num_test:,} test images"
        )
        if self.is_offline_subset:
            text += (
                f" (the offline subset: {total:,} real digits of the MNIST test set, "
                "not the full 70,000-image data set)"
            )
        elif self.kind == "torchvision":
            text = (
                f"MNIST from torchvision under {self.path}: {self.num_train:,} training and "
                f"{self.num_test:,} test images (the full data set)"
            )
        return text


_LAST_SOURCE: MnistSource | None = None


def last_source() -> MnistSource | None:
    """The source used by the last call of :func:`load_mnist` in this process."""
    return _LAST_SOURCE


def read_keras_npz(
    path, *, origin: str | None = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    r"""Read and check an MNIST ``.npz`` in the Keras layout.

    Args:
        path: file with keys ``x_train`` ``(N, 28, 28)`` uint8, ``y_train`` ``(N,)``,
            ``x_test`` ``(M, 28, 28)`` uint8, ``y_test`` ``(M,)`` with labels 0..9.
        origin: how ``path`` was found (e.g. :func:`genmod.config.describe_env_path`),
            quoted when the file is missing.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays.

    Raises:
        MnistUnavailableError: if the file is missing, unreadable or malformed.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        tried = f" ({origin})" if origin else ""
        raise MnistUnavailableError(
            f"MNIST file not found: tried {path}{tried}. {HOW_TO_SET_GENMOD_MNIST} Or unset "
            "GENMOD_MNIST to download MNIST with torchvision."
        )
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in KERAS_KEYS if k not in f.files]
            if missing:
                raise MnistUnavailableError(
                    f"{path} is not an MNIST file in the Keras layout: keys {missing} are "
                    f"missing (found {sorted(f.files)}; expected {list(KERAS_KEYS)})."
                )
            arrays = {k: f[k] for k in KERAS_KEYS}
    except MnistUnavailableError:
        raise
    except Exception as err:  # zipfile.BadZipFile, OSError, ValueError, ...
        raise MnistUnavailableError(
            f"could not read {path} as an .npz file ({type(err).__name__}: {err}). "
            "Check that GENMOD_MNIST names an uncorrupted numpy .npz in the Keras layout."
        ) from err
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        problems = []
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            problems.append(f"x_{split} has shape {x.shape}, expected (N, 28, 28)")
        if y.ndim != 1 or y.shape[0] != x.shape[0]:
            problems.append(f"y_{split} has shape {y.shape}, expected ({x.shape[0]},)")
        if x.dtype != np.uint8:
            problems.append(f"x_{split} has dtype {x.dtype}, expected uint8 (0..255)")
        if y.size and (y.min() < 0 or y.max() > 9):
            problems.append(f"y_{split} has labels outside 0..9")
        if problems:
            raise MnistUnavailableError(f"{path} is malformed: " + "; ".join(problems) + ".")
    return (arrays["x_train"], arrays["y_train"].astype(np.uint8)), (
        arrays["x_test"],
        arrays["y_test"].astype(np.uint8),
    )


def _fetch_with_torchvision(root: Path) -> Path:
    """Download MNIST with torchvision into ``root`` and write ``root/mnist.npz``."""
    import torchvision  # noqa: PLC0415  (only on this path)

    out = root / "mnist.npz"
    arrays = {}
    for split, train in (("train", True), ("test", False)):
        ds = torchvision.datasets.MNIST(root=str(root), train=train, download=True)
        arrays[f"x_{split}"] = ds.data.numpy().astype(np.uint8)
        arrays[f"y_{split}"] = ds.targets.numpy().astype(np.uint8)
    tmp = out.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(out)
    return out


def _load_torchvision_cache() -> Path:
    root = data_dir() / "mnist"
    root.mkdir(parents=True, exist_ok=True)
    cached = root / "mnist.npz"
    if cached.is_file():
        return cached
    try:
        if "tensorflow" in sys.modules:
            # torchvision after tensorflow crashes the interpreter: use a fresh process.
            subprocess.run(
                [sys.executable, "-m", "genmod.data.mnist", "fetch", str(root)],
                check=True,
                capture_output=True,
                text=True,
            )
        else:
            _fetch_with_torchvision(root)
    except subprocess.CalledProcessError as err:
        reason = (err.stderr or "").strip().splitlines()[-1:] or ["unknown error"]
        raise _download_error(root, reason[0]) from err
    except ImportError as err:
        raise MnistUnavailableError(
            f"torchvision is not installed ({err}), so MNIST cannot be downloaded. Install "
            f"it (`pip install 'torchvision>=0.29'`), or: {HOW_TO_SET_GENMOD_MNIST}"
        ) from err
    except Exception as err:  # network errors, bad checksums, ...
        raise _download_error(root, f"{type(err).__name__}: {err}") from err
    return cached


def _download_error(root: Path, reason: str) -> MnistUnavailableError:
    return MnistUnavailableError(
        f"downloading MNIST with torchvision into {root} failed ({reason}). Offline? "
        f"{HOW_TO_SET_GENMOD_MNIST} Or set GENMOD_DATA to a folder that already holds "
        "torchvision's MNIST."
    )


def load_mnist(*, verbose: bool = True):
    r"""Load MNIST as numpy arrays in the Keras layout, for PyTorch and TensorFlow alike.

    Reads ``GENMOD_MNIST`` when it is set (a relative path is resolved against the
    repository root, :func:`genmod.config.env_path`); otherwise downloads with torchvision once
    into ``GENMOD_DATA`` and reuses the cached copy.

    Args:
        verbose: print which source was used and how many images it holds.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: images uint8 in ``0..255`` of shape
        ``(N, 28, 28)``; labels uint8 in ``0..9`` of shape ``(N,)``.

    Raises:
        MnistUnavailableError: the file named by ``GENMOD_MNIST`` is missing or
            malformed, or the download failed; the message says how to fix it.
    """
    global _LAST_SOURCE
    path = env_path("GENMOD_MNIST")
    if path is not None:
        origin = describe_env_path("GENMOD_MNIST")
        (x_train, y_train), (x_test, y_test) = read_keras_npz(path, origin=origin)
        source = MnistSource("npz", str(path), len(x_train), len(x_test))
    else:
        cached = _load_torchvision_cache()
        (x_train, y_train), (x_test, y_test) = read_keras_npz(cached)
        source = MnistSource("torchvision", str(cached.parent), len(x_train), len(x_test))
    _LAST_SOURCE = source
    if verbose:
        print(source.describe())
    return (x_train, y_train), (x_test, y_test)


def binarize(images: np.ndarray, *, seed: int) -> np.ndarray:
    r"""Stochastically binarized digits: pixel :math:`i` is 1 with probability grey level / 255.

    One fixed draw per call, made with ``numpy.random.default_rng(seed)`` as
    ``uniform < grey / 255``, so that a PyTorch and a Keras notebook that call it with
    the same seed train on the same binary vectors (``book/ebm/rbm_mnist_torch`` and
    ``book/ebm/rbm_mnist_tf``). This is the binarization of the binarized MNIST on
    which RBM log-likelihoods are reported (Salakhutdinov & Murray 2008).

    Args:
        images: digits as returned by :func:`load_mnist`: ``uint8`` in ``0..255``,
            shape ``(N, 28, 28)``.
        seed: seed of the draw.

    Returns:
        ``float32`` array of shape ``(N, 784)`` with values in {0, 1}.

    Raises:
        ValueError: if ``images`` is not ``uint8`` of shape ``(N, 28, 28)`` (grey levels
            already scaled to [0, 1] would be binarized wrongly, so they are refused).
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError("binarize expects uint8 digits of shape (N, 28, 28) in 0..255, as "
                         f"load_mnist returns; got {images.dtype} of shape {images.shape}")
    rng = np.random.default_rng(seed)
    grey = images.reshape(len(images), -1).astype(np.float64) / 255.0
    return (rng.uniform(size=grey.shape) < grey).astype(np.float32)


def _main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "fetch":
        _fetch_with_torchvision(Path(argv[1]))
        return 0
    print("usage: python -m genmod.data.mnist fetch ROOT", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))

