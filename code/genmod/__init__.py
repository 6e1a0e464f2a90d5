"""Helpers for the book *Deep generative models for the physical sciences*.

Importing this package imports no deep-learning framework (``CONTRIBUTING.md``,
"Known traps"): PyTorch helpers live in :mod:`genmod.torchutils`, TensorFlow helpers in
:mod:`genmod.tfutils`, and the MNIST judge (PyTorch) in :mod:`genmod.judge`.
"""

from genmod.config import SCALES, Config, get_scale, get_threads, pick, repository_root
from genmod.artifacts import artifacts_dir, save_artifacts
from genmod.data import load_mnist

#: The package's version, written only here (code/pyproject.toml reads it).
__version__ = "0.1.0"

__all__ = [
    "SCALES",
    "Config",
    "get_scale",
    "get_threads",
    "pick",
    "repository_root",
    "artifacts_dir",
    "save_artifacts",
    "load_mnist",
    "show_source",
    "glue",
]


def glue(name: str, value, *, display: bool = False):
    r"""Record a result of the run under ``name``, for the page's prose to quote.

    The prose beside a notebook states the numbers of the run it sits beside, never a
    number typed by hand: a summary writes ``{glue:text}`name:.2f``` (MyST-NB) and the
    built page shows the value this run computed. Outside a MyST-NB build (Colab,
    plain Jupyter, nbmake) the value is still recorded in the cell's output metadata
    when ``myst_nb`` is installed, and nothing happens when it is not.

    Args:
        name: a key unique within the notebook, lower case with underscores,
            e.g. ``"fd_checkpoint"``.
        value: a number (Python or numpy scalar) or a short string.
        display: also show the value in the cell's output.

    Returns:
        ``value``, unchanged, so that ``x = genmod.glue("x", compute())`` reads well.

    Raises:
        ValueError: if ``name`` is not lower-case letters, digits and underscores.
    """
    import re

    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError("glue name must be lower-case letters, digits and underscores, "
                         f"got {name!r}")
    try:
        from myst_nb import glue as _glue
    except ImportError:  # Colab without MyST-NB: the prose's numbers are the book's
        return value
    shown = value.item() if hasattr(value, "item") and getattr(value, "ndim", 1) == 0 else value
    _glue(name, shown, display=display)
    return value


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
