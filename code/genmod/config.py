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
``GENMOD_MNIST``
    an MNIST ``.npz`` in the Keras layout, for offline use (:mod:`genmod.data.mnist`).
``GENMOD_THREADS``
    CPU threads for PyTorch and TensorFlow (default 1; :func:`get_threads`). The
    book's networks are small, and on a shared 2-core CPU two threads were measured
    many times slower than one (``CONTRIBUTING.md``, "Known traps").

A relative path in ``GENMOD_DATA``, ``GENMOD_ARTIFACTS`` or ``GENMOD_MNIST`` is
resolved against the repository root (the first folder upwards from the working
directory that holds ``_toc.yml`` and ``_config.yml``), not against the working
directory: a notebook runs in its own folder (``book/<part>/``), so
``export GENMOD_MNIST=../shared/data/mnist-offline.npz`` typed at the repository
root names the same file for every notebook, test and build. Outside a checkout
(Colab, Binder without the repository) it is resolved against the working
directory. See :func:`env_path`.
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


#: CPU threads a notebook uses when ``GENMOD_THREADS`` is not set.
DEFAULT_THREADS = 1


def get_threads() -> int:
    r"""Return the number of CPU threads named by ``GENMOD_THREADS`` (default 1).

    :func:`genmod.torchutils.get_device` and :func:`genmod.tfutils.describe_device`
    apply it when they run on a CPU: this is the book's one thread policy.

    Returns:
        A positive integer.

    Raises:
        ValueError: if ``GENMOD_THREADS`` is set to anything but a positive integer;
            the message says how to fix it.
    """
    raw = os.environ.get("GENMOD_THREADS", "").strip()
    if not raw:
        return DEFAULT_THREADS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(
            f"GENMOD_THREADS={raw!r} is not a positive integer: set it to the number of CPU "
            "threads to use, e.g. `export GENMOD_THREADS=2`, or unset it "
            f"(default {DEFAULT_THREADS})"
        )
    return value


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


def env_path(name: str) -> Path | None:
    r"""Read a path from the environment variable ``name``, resolved as the book documents.

    An absolute path (or one starting with ``~``) is used as it is. A relative path
    is resolved against the repository root (:func:`repository_root` from the
    working directory) inside a checkout, else against the working directory, so
    that it names the same file wherever a notebook runs.

    Args:
        name: the variable, e.g. ``"GENMOD_MNIST"``.

    Returns:
        The absolute path, or ``None`` when the variable is unset or empty.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not path.is_absolute():
        root = repository_root()
        path = (root if root is not None else Path.cwd()) / path
    return path.resolve()


def describe_env_path(name: str) -> str:
    r"""Say how ``name``'s value was resolved, for error messages.

    Returns:
        A sentence such as ``GENMOD_MNIST='../x.npz' (relative: resolved against ...) -> /x.npz``,
        naming the repository root and the working directory.
    """
    raw = os.environ.get(name, "").strip()
    resolved = env_path(name)
    if resolved is None:
        return f"{name} is not set"
    if Path(raw).expanduser().is_absolute():
        return f"{name}={raw!r} (absolute) -> {resolved}"
    root = repository_root()
    if root is not None:
        base = f"the repository root {root}"
    else:
        base = f"the working directory {Path.cwd()} (no repository root above it)"
    note = ""
    if root is not None and root != Path.cwd().resolve():
        note = f", not the working directory {Path.cwd().resolve()}"
    return f"{name}={raw!r} (relative: resolved against {base}{note}) -> {resolved}"


def data_dir() -> Path:
    r"""Return the folder for downloads and cached models, creating it.

    ``GENMOD_DATA`` if set (a relative path is resolved as :func:`env_path` says),
    else ``$XDG_CACHE_HOME/genmod`` or ``~/.cache/genmod``.
    """
    path = env_path("GENMOD_DATA")
    if path is None:
        cache = os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache"
        path = Path(cache) / "genmod"
    path.mkdir(parents=True, exist_ok=True)
    return path


class Config:
    r"""A notebook's configuration: every setting that changes with the scale, built once.

    A notebook's configuration cell builds one, a setting a line, and the rest of
    the notebook reads ``config.<name>``; :func:`genmod.artifacts.save_artifacts` stores all of
    it with the results, and :mod:`genmod.checkpoints` keys saved models by it::

        config = genmod.Config(
            num_epochs=pick(quick=1, book=30, full=100),  # passes over the training set
            batch_size=pick(quick=64, book=128, full=128),  # digits per minibatch
        )

    Values must be JSON-like: ``bool``, ``int``, ``float``, ``str``, ``None``, or
    lists/tuples of these. A configuration cannot be changed once built (a typo
    such as ``config.num_epoch = 3`` would otherwise pass silently).

    Raises:
        TypeError: on a value that is not JSON-like, or on assignment after building.
        AttributeError: when a setting that does not exist is read; the message
            lists the settings that do.
    """

    def __init__(self, **settings):
        for name, value in settings.items():
            _check_json_like(name, value)
        object.__setattr__(self, "_settings", dict(settings))

    def __getattr__(self, name):
        settings = object.__getattribute__(self, "_settings")
        if name in settings:
            return settings[name]
        raise AttributeError(f"the configuration has no setting {name!r}; "
                             f"it has {sorted(settings)}")

    def __setattr__(self, name, value):
        raise TypeError(f"a Config cannot be changed after it is built (tried to set {name!r}); "
                        "edit the configuration cell")

    def __contains__(self, name) -> bool:
        return name in self._settings

    def __eq__(self, other) -> bool:
        return isinstance(other, Config) and self._settings == other._settings

    def subset(self, *names: str, **changes) -> "Config":
        r"""A new configuration with the settings ``names`` of this one, then ``changes``.

        The idiom for a checkpoint's configuration: the settings that shape the model
        and its training, with a longer run, e.g.
        ``config.subset("lr", "batch_size", num_steps=config.checkpoint_steps)``.

        Args:
            names: settings of this configuration to keep, in this order.
            changes: settings to add or replace (JSON-like values).

        Returns:
            A new :class:`Config`; this one is unchanged.

        Raises:
            AttributeError: if a name is not a setting of this configuration; the
                message lists the settings that are.
            TypeError: on a value that is not JSON-like.
        """
        settings = object.__getattribute__(self, "_settings")
        unknown = [n for n in names if n not in settings]
        if unknown:
            raise AttributeError(f"the configuration has no setting {unknown}; "
                                 f"it has {sorted(settings)}")
        return Config(**{**{n: settings[n] for n in names}, **changes})

    def as_dict(self) -> dict:
        r"""The settings as a new ``dict`` (tuples become lists), in the order written."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self._settings.items()}

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self._settings.items())
        return f"Config({body})"


def _check_json_like(name, value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_json_like(name, item)
        return
    raise TypeError(
        f"setting {name!r} is a {type(value).__name__}; a Config holds numbers, strings, "
        "booleans, None and lists of them (store a name, e.g. 'adam', not an object)"
    )
