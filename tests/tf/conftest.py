"""The TensorFlow lane: tests of the Keras notebooks, in a pytest process of their own.

Importing TensorFlow before torchvision in one process crashes the interpreter
(CONTRIBUTING.md, "Known traps"), and the main test process imports torchvision first
(tests/conftest.py). So this folder runs apart, as `make unit` does:

    .venv/bin/python -m pytest tests/tf

and the main run leaves it out (`--ignore=tests/tf`). Nothing here imports torch: the
PyTorch references a test compares with are small fixtures (tests/tf/fixtures/*.npz),
written by the PyTorch lane's tests from genmod and checked there against a fresh
computation, so a fixture cannot go stale.
"""

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/notebook_code.py

import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """tests/tf/fixtures: PyTorch reference values, written and checked by the PyTorch lane."""
    return FIXTURES
