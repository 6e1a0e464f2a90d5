r"""Run settings read from the environment: the scale and the folders.

Only ``genmod`` reads environment variables; notebooks call these functions.

Environment variables:

``GENMOD_SCALE``
    ``quick`` (tests and CI: under a minute per notebook on a 2-core CPU),
    ``book`` (the default: under 5 minutes per notebook, results to learn from) or
    ``full`` (paper-scale settings, meant for a GPU).
``GENMOD_DATA``
    folder for downloaded data and cached models (default: the user cache folder,
    ``~/.cache/genmod``).
``GENMOD_ARTIFACTS``
    folder where notebooks save samples and metrics (default: ``_artifacts/`` at
    the repository root).
"""

from __future__ import annotations

import os
from pathlib import Path

SCALES = ("quick", "book", "full")
DEFAULT_SCALE = "book"


def get_scale() -> str:
    r"""Return the scale named by ``GENMOD_SCALE`` (default ``"book"``).

    The value is read on every call, so a notebook that sets the variable
    before calling sees the new scale. Case and surrounding white space are
    ignored.

    Returns:
        One of ``"quick"``, ``"book"``, ``"full"``.

    Raises:
        ValueError: if ``GENMOD_SCALE`` is set to anything else; the message
            lists the valid values.
    """
    raw = os.environ.get("GENMOD_SCALE", "")
    value = raw.strip().lower() or DEFAULT_SCALE
    if value not in SCALES:
        raise ValueError(
            f"GENMOD_SCALE={raw!r} is not a valid scale. Use one of "
            f"{', '.join(SCALES)} (default {DEFAULT_SCALE!r}), e.g. "
            f"`export GENMOD_SCALE=quick`, or unset it."
        )
    return value


def pick(*, quick, book, full):
    r"""Return the value for the current scale.

    A notebook's configuration cell writes one setting a line, e.g.
    ``num_epochs = pick(quick=1, book=30, full=100)``.

    Args:
        quick: value used at ``quick`` scale (tests, CI).
        book: value used at ``book`` scale (the site build, a laptop).
        full: value used at ``full`` scale (paper scale, a GPU).

    Returns:
        The argument named by :func:`get_scale`.

    Raises:
        ValueError: if ``GENMOD_SCALE`` is invalid (see :func:`get_scale`).
    """
    return {"quick": quick, "book": book, "full": full}[get_scale()]


def repository_root(start: Path | None = None) -> Path | None:
    r"""Return the book's repository root: the first folder upwards holding ``_toc.yml``.

    Args:
        start: folder to start from (default: the current working directory).

    Returns:
        The folder, or ``None`` when no parent holds ``_toc.yml`` (e.g. on Colab).
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file() and (folder / "_config.yml").is_file():
            return folder
    return None


def data_dir() -> Path:
    r"""Return the folder for downloads and cached models, creating it.

    ``GENMOD_DATA`` if set, else ``$XDG_CACHE_HOME/genmod`` or ``~/.cache/genmod``.
    """
    env = os.environ.get("GENMOD_DATA", "").strip()
    if env:
        path = Path(env).expanduser()
    else:
        cache = os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache"
        path = Path(cache) / "genmod"
    path.mkdir(parents=True, exist_ok=True)
    return path
