r"""Checkpoints: models trained by a notebook's own code, keyed by its configuration.

Where live training on a CPU cannot reach a result inside the ``book`` budget, a
notebook trains live for its budget *and* loads a model that its own code trained
at a longer scale (``CONTRIBUTING.md``, "A notebook", Checkpoints). This module files
such models by the notebook's name and a hash of the configuration that trained them, each
with its provenance beside it, so that a checkpoint is used only for the exact
configuration that made it.

A checkpoint is two files in a folder::

    <notebook>-<key>.<ext>    the weights, written and read by the notebook's code
    <notebook>-<key>.json     its provenance

``<key>`` is :func:`config_key` of the configuration. The provenance holds
``notebook``, ``key``, ``config``, ``file``, ``sha256``, ``size_bytes``, ``created``
and what the caller gives: ``command`` (how to make it again), ``scale``,
``device``, ``train_time_s``, ``metrics`` (what it reached) and ``builder`` (the
name of the notebook's function that builds the architecture from the
configuration, ``builder(config)``; the tests load every committed checkpoint
into it).

Committed checkpoints live in ``book/<part>/checkpoints/`` beside the notebook
(:func:`committed_dir`), a few MB each at most (:data:`MAX_COMMITTED_BYTES`).
The MNIST judge (:mod:`genmod.judge`) keeps its own in the user's cache folder
with the same mechanism.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from genmod.config import SCALES, Config, get_scale, repository_root

#: The largest checkpoint that may be committed to the repository (bytes).
MAX_COMMITTED_BYTES = 5 * 2**20
#: What the caller of :func:`save_checkpoint` must say about the run.
PROVENANCE_KEYS = ("command", "scale", "device", "train_time_s", "metrics", "builder")
#: What :func:`save_checkpoint` adds to the provenance itself.
_RECORD_KEYS = ("notebook", "key", "config", "file", "sha256", "size_bytes", "created")


def config_key(config: Config | dict) -> str:
    r"""A 12-hex-digit key of a configuration: SHA-256 of its canonical JSON.

    Two configurations get the same key exactly when they hold the same settings
    with the same values (the order they were written in does not matter).
    """
    settings = config.as_dict() if isinstance(config, Config) else dict(config)
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    r"""A checkpoint on disk: the weights file and its provenance."""

    path: Path
    provenance: dict

    def describe(self) -> str:
        p = self.provenance
        return (
            f"checkpoint {self.path.name}: made with `{p.get('command')}` at scale "
            f"{p.get('scale')!r} on {p.get('device')} in "
            f"{p.get('train_time_s', float('nan')):.0f} s; reached {p.get('metrics')}"
        )


def committed_dir(notebook: str) -> Path | None:
    r"""The folder of committed checkpoints of ``notebook``: ``book/<part>/checkpoints``.

    Returns:
        The folder (which may not exist yet) beside ``book/<part>/<notebook>.py``, or
        ``None`` outside a checkout of the book (e.g. on Colab).
    """
    root = repository_root()
    if root is None:
        return None
    sources = sorted((root / "book").glob(f"*/{notebook}.py"))
    return sources[0].parent / "checkpoints" if sources else None


def find_checkpoint(notebook: str, config: Config | dict, *,
                    folder: Path | None = None) -> Checkpoint | None:
    r"""The checkpoint of ``notebook`` for exactly this configuration, if there is one.

    Args:
        notebook: the notebook's name (its ``NOTEBOOK`` constant).
        config: the configuration the checkpoint must have been trained with.
        folder: where to look (default :func:`committed_dir`).

    Returns:
        A :class:`Checkpoint`, or ``None`` when there is none for this key.

    Raises:
        ValueError: if a checkpoint's weights do not match the SHA-256 recorded in
            its provenance (a corrupted or replaced file), or its provenance names
            another configuration.
    """
    folder = committed_dir(notebook) if folder is None else Path(folder)
    if folder is None:
        return None
    key = config_key(config)
    meta = folder / f"{notebook}-{key}.json"
    if not meta.is_file():
        return None
    provenance = json.loads(meta.read_text())
    path = folder / provenance["file"]
    settings = config.as_dict() if isinstance(config, Config) else dict(config)
    if provenance.get("config") != json.loads(json.dumps(settings)):
        raise ValueError(f"{meta} records another configuration than the one asked for (key {key})")
    if not path.is_file() or _sha256(path) != provenance["sha256"]:
        raise ValueError(
            f"{path} is missing or does not match the SHA-256 in {meta.name}; delete both files "
            "to train again, or restore the committed file (git checkout)"
        )
    return Checkpoint(path, provenance)


def save_checkpoint(notebook: str, config: Config | dict, write: Callable[[Path], None], *,
                    provenance: dict,
                    folder: Path | None = None, suffix: str = ".pt",
                    max_bytes: int | None = MAX_COMMITTED_BYTES) -> Checkpoint:
    r"""Write a checkpoint and its provenance.

    Args:
        notebook: the notebook's name.
        config: the configuration the model was trained with.
        write: ``write(path)`` writes the weights to ``path`` (e.g.
            ``lambda p: torch.save(model.state_dict(), p)``).
        provenance: at least :data:`PROVENANCE_KEYS`: ``command`` (str), ``scale``,
            ``device``, ``train_time_s`` (s), ``metrics`` (dict) and ``builder``.
        folder: where to write (default :func:`committed_dir`, created).
        suffix: extension of the weights file.
        max_bytes: refuse a file larger than this (``None``: no limit, for caches).

    Returns:
        The :class:`Checkpoint` written.

    Raises:
        ValueError: if provenance keys are missing, its scale is not a scale name,
            there is no folder to write to,
            or the file is larger than ``max_bytes`` (it is then deleted).
    """
    missing = [k for k in PROVENANCE_KEYS if k not in provenance]
    if missing:
        raise ValueError(f"provenance must say {list(PROVENANCE_KEYS)}; missing {missing}")
    if provenance["scale"] not in SCALES:
        raise ValueError("provenance['scale'] must be the scale the notebook ran at, one of "
                         f"{SCALES}; got {provenance['scale']!r}")
    folder = committed_dir(notebook) if folder is None else Path(folder)
    if folder is None:
        raise ValueError(f"no folder for {notebook}'s checkpoints: pass folder= (outside a "
                         "checkout of the book)")
    folder.mkdir(parents=True, exist_ok=True)
    key = config_key(config)
    path = folder / f"{notebook}-{key}{suffix}"
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    size = tmp.stat().st_size
    if max_bytes is not None and size > max_bytes:
        tmp.unlink()
        raise ValueError(f"checkpoint of {size / 2**20:.1f} MiB is larger than "
                         f"{max_bytes / 2**20:.1f} MiB")
    tmp.replace(path)
    settings = config.as_dict() if isinstance(config, Config) else dict(config)
    record = {
        "notebook": notebook,
        "key": key,
        "config": settings,
        "file": path.name,
        "sha256": _sha256(path),
        "size_bytes": size,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **provenance,
    }
    (folder / f"{notebook}-{key}.json").write_text(json.dumps(record, indent=2) + "\n")
    return Checkpoint(path, record)


def command_for(notebook: str, scale: str | None = None) -> str:
    r"""The command that executes ``notebook`` at ``scale`` from the repository root.

    Args:
        notebook: the notebook's name; its file is found under ``book/*/`` when inside a
            checkout, else ``book/<part>/<notebook>.ipynb`` is written.
        scale: default the current scale (:func:`genmod.config.get_scale`).

    Returns:
        E.g. ``"GENMOD_SCALE=book jupyter nbconvert --to notebook --execute
        book/ebm/ebm_mnist_torch.ipynb"``.
    """
    scale = get_scale() if scale is None else scale
    folder = committed_dir(notebook)
    where = (f"book/{folder.parent.name}/{notebook}.ipynb" if folder is not None
             else f"book/<part>/{notebook}.ipynb")
    return f"GENMOD_SCALE={scale} jupyter nbconvert --to notebook --execute {where}"


def load_or_train(notebook: str, config: Config | dict, *, train: Callable[[], tuple],
                  write: Callable[[object, Path], None], read: Callable[[Path], object],
                  builder: str, device: str, folder: Path | None = None, save: bool = True,
                  suffix: str = ".pt", max_bytes: int | None = MAX_COMMITTED_BYTES,
                  verbose: bool = True):
    r"""Load the checkpoint for ``config`` when there is one, else train, time and save it.

    The provenance is written here, the same way for every notebook: ``command``
    (:func:`command_for` at the current scale), ``scale`` (the scale the notebook ran
    at, one of :data:`genmod.config.SCALES`), ``device`` (as given), ``train_time_s``
    (measured here around ``train()``), ``metrics`` (what the training reached, as
    ``train()`` returns them) and ``builder``. The framework helpers
    :func:`genmod.torchutils.load_or_train` and :func:`genmod.tfutils.load_or_train`
    supply ``write``, ``read``, ``builder`` and ``device``.

    Args:
        notebook, config, folder, suffix, max_bytes: as in :func:`save_checkpoint`.
        train: ``train()`` returns ``(model, metrics)`` or ``(model, metrics, extra)``:
            ``metrics`` a JSON-like ``dict`` of what the training reached (e.g. the
            final loss, the energies of fixed inputs that check a reload), ``extra`` a
            JSON-like ``dict`` of further records kept in the provenance (e.g. a loss
            ``history`` the notebook plots); its keys must not be provenance keys.
        write: ``write(model, path)`` writes the model's weights.
        read: ``read(path)`` returns the model built from the weights.
        builder: the name of the notebook's function ``builder(config)`` that builds
            the architecture (the tests load every committed checkpoint into it).
        device: where the training ran, as :func:`genmod.torchutils.describe_device`
            or :func:`genmod.tfutils.describe_device` says it (e.g. ``"cpu, 1 thread"``).
        save: write a checkpoint after training (default); ``False`` for a run that
            must not write into the repository.
        verbose: print which happened, with the checkpoint's provenance.

    Returns:
        ``(model, checkpoint)``; ``checkpoint`` is ``None`` when the model was
        trained and not saved.

    Raises:
        ValueError: as :func:`find_checkpoint` and :func:`save_checkpoint`, or if
            ``extra`` uses a provenance key.
    """
    found = find_checkpoint(notebook, config, folder=folder)
    if found is not None:
        if verbose:
            print(f"loaded {found.describe()}")
        return read(found.path), found
    if verbose:
        print(f"no checkpoint of {notebook} for configuration {config_key(config)}: training")
    start = time.perf_counter()
    model, metrics, *rest = train()
    seconds = time.perf_counter() - start
    extra = dict(rest[0]) if rest else {}
    clash = sorted(set(extra) & {*PROVENANCE_KEYS, *_RECORD_KEYS})
    if clash:
        raise ValueError(f"train()'s extra records use provenance keys {clash}; rename them")
    if not save:
        return model, None
    provenance = {"command": command_for(notebook), "scale": get_scale(), "device": str(device),
                  "train_time_s": seconds, "metrics": dict(metrics), "builder": builder, **extra}
    saved = save_checkpoint(notebook, config, lambda p: write(model, p), provenance=provenance,
                            folder=folder, suffix=suffix, max_bytes=max_bytes)
    if verbose:
        print(f"saved {saved.describe()}")
    return model, saved
