"""Shared test set-up.

Importing TensorFlow before torchvision in one process crashes the interpreter
(CONTRIBUTING.md, "Known traps"). Every test module runs in this one pytest process, so
torchvision is imported here, first, before any test module can import TensorFlow.
Notebooks run in their own kernels (nbmake), one framework each.
"""

import os
import sys
from pathlib import Path

import pytest

# Test modules live in folders by part (tests/<part>/, tests/genmod/, tests/book/) and are
# imported with pytest's importlib mode (pyproject.toml); their shared helpers
# (notebook_code.py) sit here, in tests/.
sys.path.insert(0, str(Path(__file__).resolve().parent))

TF_LANE = Path(__file__).resolve().parent / "tf"


def pytest_configure(config):
    """The PyTorch lane imports torchvision first, before any test module can import
    TensorFlow; the TensorFlow lane (tests/tf, a process of its own) imports no torch at all.
    Torch runs on genmod's thread policy (GENMOD_THREADS, default 1), as the notebooks do."""
    paths = [Path(str(arg).split("::")[0]).resolve() for arg in config.args]
    if paths and all(p == TF_LANE or TF_LANE in p.parents for p in paths):
        return
    try:  # must come before anything that may import tensorflow
        import torch
        import torchvision  # noqa: F401

        from genmod.config import get_threads

        torch.set_num_threads(get_threads())
    except ImportError:  # pragma: no cover - the book's environment has it
        pass


os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
OFFLINE_MNIST = ROOT.parent / "shared" / "data" / "mnist-offline.npz"


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT


@pytest.fixture(scope="session")
def mnist_file() -> Path:
    """The offline MNIST file: GENMOD_MNIST when set (resolved as genmod resolves it, against the
    repository root), else ../shared/data/mnist-offline.npz beside the checkout."""
    from genmod.config import env_path

    path = env_path("GENMOD_MNIST") or OFFLINE_MNIST
    if not path.is_file():
        pytest.fail(
            f"offline MNIST not found at {path}: set GENMOD_MNIST to the Keras-layout .npz "
            "(../shared/data/mnist-offline.npz beside the checkout)"
        )
    return path


# The judge is trained once and kept in a cache folder of the test run (inside the
# repository, ignored by git), never in the user's ~/.cache/genmod.
TEST_DATA = ROOT / ".pytest_cache" / "genmod-data"


@pytest.fixture(scope="session")
def judge_data_dir():
    """TEST_DATA, the test run's GENMOD_DATA folder where the judge is cached (a fixture, so that
    test modules need not import conftest, which is ambiguous when tests/built/conftest.py is
    collected in the same run)."""
    return TEST_DATA


@pytest.fixture(scope="session")
def judge_and_data(mnist_file):
    """The book's MNIST judge, trained once on the offline MNIST into TEST_DATA, and that MNIST."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GENMOD_MNIST", str(mnist_file))
    mp.setenv("GENMOD_DATA", str(TEST_DATA))
    from genmod.data import load_mnist
    from genmod.judge import get_judge

    judge = get_judge(verbose=False)
    data = load_mnist(verbose=False)
    yield judge, data
    mp.undo()
