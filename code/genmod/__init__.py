"""Helpers for the book *Deep generative models for the physical sciences*.

Importing this package imports no deep-learning framework (see DESIGN.md, known
traps): PyTorch helpers live in :mod:`genmod.torchutils`, TensorFlow helpers in
:mod:`genmod.tfutils`, and the MNIST judge (PyTorch) in :mod:`genmod.judge`.
"""

from genmod.config import SCALES, Config, get_scale, pick, repository_root
from genmod.artifacts import artifacts_dir, save_artifacts
from genmod.data import load_mnist

__version__ = "0.1.0"

__all__ = [
    "SCALES",
    "Config",
    "get_scale",
    "pick",
    "repository_root",
    "artifacts_dir",
    "save_artifacts",
    "load_mnist",
    "show_source",
]


def show_source(obj):
    r"""Show the source of a ``genmod`` function or class in a notebook, with where it lives.

    A notebook that introduces a helper which later notebooks import shows its
    code this way, so the reader sees the lesson and knows where to find it.

    Args:
        obj: a function or class.

    Prints where the object is defined, then shows its source with syntax
    highlighting (``IPython.display.Code``), or prints it outside IPython.
    """
    import inspect
    from pathlib import Path

    path = Path(inspect.getsourcefile(obj))
    lines, start = inspect.getsourcelines(obj)
    try:
        where = path.relative_to(Path(__file__).resolve().parents[1])
    except ValueError:
        where = path.name
    print(f"{obj.__module__}.{obj.__qualname__}, defined in {where}, line {start}:")
    source = "".join(lines)
    try:
        from IPython.display import Code, display
    except ImportError:  # pragma: no cover - notebooks always have IPython
        print(source)
        return
    display(Code(source, language="python"))
