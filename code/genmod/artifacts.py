r"""Saving what a generative notebook produced, for the summary chapter.

Layout, one folder a scale and a notebook, like the builds (``_build/<scale>/``):
``<artifacts>/<scale>/<notebook>/samples.npz`` (key ``samples``) and
``<artifacts>/<scale>/<notebook>/metrics.json``, a record with one schema for every
notebook (:data:`SCHEMA_VERSION`). A run at ``quick`` scale (``make test``) therefore
never replaces what a ``book`` build saved, and a reader of artifacts names the scale
it wants (:func:`load_artifacts`).

``schema_version``, ``notebook``, ``scale``, ``device``
    what ran, at which scale, where.
``data``
    the MNIST source the notebook read (:func:`genmod.data.mnist.last_source`), or ``null``.
``config``
    the notebook's whole :class:`genmod.config.Config`.
``samples``
    ``kind`` (see below), ``shape``, ``dtype`` and, for images, the stored value range.
``metrics`` and ``units``
    the numbers, each under a name of :data:`METRIC_UNITS` (optionally after a model
    tag and a slash, e.g. ``"wgan_gp/modes_covered"`` in a notebook that compares two
    models), and the unit of each.

What the samples are is said, never guessed (:data:`SAMPLE_KINDS`):

``"images"``
    shape ``(N, H, W)``, float, every value inside ``value_range``; stored mapped
    linearly to ``[0, 1]``, float32.
``"points"``
    shape ``(N, d)``, finite floats in data units; stored float32.
``"spins"``
    lattices of shape ``(N, L, L)`` whose values are exactly -1 or +1; stored int8.
``"spectra"``
    shape ``(N, n)``, finite floats (intensities on a grid); stored float32.

Anything else (another shape, a value out of range, spins that are not ±1) is an
error that says what was expected: nothing is reshaped or clipped.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from genmod.config import SCALES, Config, env_path, get_scale, repository_root

#: The version of the ``metrics.json`` schema.
SCHEMA_VERSION = 1
#: The kinds of generated samples (the module's documentation says what each needs).
SAMPLE_KINDS = ("images", "points", "spins", "spectra")

#: The metric names every notebook shares, with their units. A notebook that needs a
#: new metric adds it here, so that the summary chapter can compare like with like.
METRIC_UNITS = {
    # the MNIST judge (genmod.judge.judge_samples)
    "frechet_distance": "squared judge-feature units",
    "real_frechet_distance": "squared judge-feature units",
    "classes_with_2pct": "classes of 10",
    "class_histogram": "fraction of samples per class",
    "mean_confidence": "probability",
    "judge_test_accuracy": "fraction of test digits",
    "num_samples": "samples",
    # the judge on a conditional generator's digits (genmod.judge.judge_conditional_samples)
    "requested_accuracy": "fraction of samples",
    "requested_class_accuracy": "fraction of samples per requested class",
    "requested_confusion": "fraction of samples per requested class",
    "requested_counts": "samples per requested class",
    "real_requested_class_accuracy": "fraction of test digits per class",
    # the MMD against real data (genmod.metrics.mmd2_against_real)
    "mmd2_generated_vs_real": "squared MMD (dimensionless)",
    "mmd2_real_vs_real": "squared MMD (dimensionless)",
    "mmd_bandwidth": "data units",
    "mmd_num_samples": "samples",
    "mmd2": "squared MMD (dimensionless)",
    # mixtures with known modes (genmod.metrics.mode_coverage)
    "modes_covered": "modes",
    "num_modes": "modes",
    "high_quality_fraction": "fraction of samples",
    "mode_counts": "high-quality samples per mode",
    # likelihoods and bounds
    "test_elbo": "nats per digit",
    "train_elbo": "nats per digit",
    "test_reconstruction": "nats per digit",
    "test_kl": "nats per digit",
    "log_likelihood_iwae": "nats per digit",
    "log_likelihood_iwae_se": "nats per digit",
    "iwae_num_test_digits": "digits",
    # energy-based models (genmod.rbm): log Z and log-likelihoods, exact or by AIS
    "log_z": "nats",
    "log_z_se": "nats",
    "log_z_exact": "nats",
    "test_log_likelihood": "nats per data point",
    "test_log_likelihood_se": "nats per data point",
    "train_log_likelihood": "nats per data point",
    "true_test_log_likelihood": "nats per data point",
    "baseline_test_log_likelihood": "nats per data point",
    "reconstruction_error": "squared error per data point",
    # Langevin samplers and deep energy-based models (genmod.langevin, book/ebm/langevin.md)
    "tv_distance": "total variation (fraction of probability mass)",
    "tv_distance_floor": "total variation (fraction of probability mass)",
    "acceptance_rate": "fraction of proposals",
    "posterior_mean_error": "posterior standard deviations",
    "posterior_sd_ratio": "fraction (|sd_sampled / sd_exact - 1|)",
    "mixing_time": "sampler steps",
    "energy_data": "energy units (nats up to log Z)",
    "energy_samples": "energy units (nats up to log Z)",
    "ood_auc": "probability",
    # latent spaces
    "active_units": "latent units",
    "prior_hole_fraction": "fraction of prior draws",
    # the Ising model (genmod.ising; k_B = 1, lists are per temperature of the grid)
    "temperatures": "J/k_B",
    "coupling_j": "J",
    "lattice_size": "sites per side",
    "energy_per_spin": "J per spin",
    "energy_per_spin_se": "J per spin",
    "energy_per_spin_exact": "J per spin",
    "abs_magnetisation": "dimensionless (per spin)",
    "abs_magnetisation_se": "dimensionless (per spin)",
    "abs_magnetisation_exact": "dimensionless (per spin)",
    "specific_heat": "k_B per spin",
    "specific_heat_se": "k_B per spin",
    "specific_heat_exact": "k_B per spin",
    "susceptibility": "1/J per spin",
    "susceptibility_se": "1/J per spin",
    "susceptibility_exact": "1/J per spin",
    "max_abs_z_energy": "standard errors",
    "max_abs_z_specific_heat": "standard errors",
    "max_rel_error_energy": "fraction",
    "specific_heat_peak_temperature": "J/k_B",
    "specific_heat_peak_temperature_exact": "J/k_B",
    "tau_int_energy": "sampler steps",
    "tau_int_abs_magnetisation": "sampler steps",
    "samples_per_temperature": "lattices",
    # conditional generators of Ising lattices (book/physics/cgan_ising_torch)
    "held_out_temperatures": "J/k_B",
    "held_out_max_rel_error_energy": "fraction",
    "median_specific_heat_ratio": "fraction (C / C_exact)",
    "positive_magnetisation_fraction": "fraction of lattices per temperature",
    # the RBMs of Ising configurations (book/physics/ising_rbm_torch)
    "max_rel_error_energy_away_from_tc":
        "fraction (over temperatures with |T - T_c| > away_from_tc)",
    "away_from_tc": "J/k_B",
    # the VAE of Ising configurations (book/physics/ising_vae_torch)
    "latent_magnetisation_correlation": "dimensionless (Pearson correlation)",
    "latent_spread_peak_temperature": "J/k_B",
    "elbo_per_lattice": "nats per lattice",
    "iwae_per_lattice": "nats per lattice",
    "log_likelihood_quadrature_per_lattice": "nats per lattice",
    "log_likelihood_exact_mixture_per_lattice": "nats per lattice",
    # diffusion models (genmod.diffusion, book/diffusion/theory.md)
    "test_elbo_bpd": "bits per dimension",
    "test_elbo_bpd_se": "bits per dimension",
    "elbo_num_test_digits": "digits",
    "elbo_num_time_steps": "time steps per digit",
    "simple_loss": "squared noise error per dimension",
    "eps_relative_error":
        "fraction (mean squared error over the mean square of the exact noise prediction)",
    "network_evaluations": "network evaluations per sample",
    "sampling_time_s": "s",
    # cost
    "train_time_s": "s",
}

_JUDGE_KEYS = ("frechet_distance", "real_frechet_distance", "classes_with_2pct", "class_histogram",
               "mean_confidence", "judge_test_accuracy", "num_samples")
_TAG = re.compile(r"^[a-z0-9_]+$")


def artifacts_dir(name: str | None = None, *, scale: str | None = None) -> Path:
    r"""Return the artifacts folder of a scale (or its sub-folder ``name``), creating it.

    The base is ``GENMOD_ARTIFACTS`` if set (a relative path is resolved against the
    repository root, :func:`genmod.config.env_path`); else ``_artifacts/`` at the
    repository root (found from the working directory); else ``./_artifacts``. Under it,
    one folder a scale: ``<base>/<scale>/<name>``.

    Args:
        name: the notebook's name without extension, e.g. ``"gan_mnist_torch"``.
        scale: ``"quick"``, ``"book"`` or ``"full"``; default the current scale
            (:func:`genmod.config.get_scale`).

    Raises:
        ValueError: if ``name`` is empty or contains a path separator, or ``scale``
            is not one of :data:`genmod.config.SCALES`.
    """
    base = env_path("GENMOD_ARTIFACTS")
    if base is None:
        root = repository_root()
        base = (root if root is not None else Path.cwd()) / "_artifacts"
    scale = get_scale() if scale is None else scale
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    base = base / scale
    if name is not None:
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise ValueError(f"artifact name must be a plain notebook name, got {name!r}")
        base = base / name
    base.mkdir(parents=True, exist_ok=True)
    return base


def load_artifacts(notebook: str, *, scale: str) -> tuple[dict, np.ndarray]:
    r"""Read what ``notebook`` saved at ``scale``: its ``metrics.json`` record and its samples.

    The scale must be named: the summary chapter compares ``book``-scale runs, and a
    ``quick`` run (the tests) must never stand in for one.

    Args:
        notebook: the notebook's name, e.g. ``"ddpm_mnist_torch"``.
        scale: ``"quick"``, ``"book"`` or ``"full"``.

    Returns:
        ``(record, samples)``: the record as a ``dict`` (the module docstring gives its
        schema) and the stored samples (images in ``[0, 1]`` float32, spins int8, ...).

    Raises:
        FileNotFoundError: if the notebook has not saved at that scale; the message
            names the folder and the command that makes it.
        ValueError: on an unknown scale or a bad notebook name.
    """
    folder = artifacts_dir(notebook, scale=scale)
    meta = folder / "metrics.json"
    if not meta.is_file():
        raise FileNotFoundError(
            f"no artifacts of {notebook} at scale {scale!r} in {folder}: run the notebook at that "
            f"scale first, e.g. `GENMOD_SCALE={scale} make book`"
        )
    record = json.loads(meta.read_text())
    with np.load(folder / record["samples"]["file"]) as saved:
        samples = saved["samples"]
    return record, samples


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def metric_unit(name: str) -> str:
    r"""The unit of metric ``name`` (``"<metric>"`` or ``"<model tag>/<metric>"``).

    Raises:
        ValueError: if the metric is not in :data:`METRIC_UNITS` or the tag is not
            lower-case letters, digits and underscores; the message lists the names.
    """
    tag, _, base = name.rpartition("/")
    if base not in METRIC_UNITS or (tag and not _TAG.match(tag)):
        raise ValueError(
            f"unknown metric {name!r}: use one of {sorted(METRIC_UNITS)}, optionally after a "
            "model tag such as 'wgan_gp/', or add the new metric with its unit to "
            "genmod.artifacts.METRIC_UNITS"
        )
    return METRIC_UNITS[base]


def check_samples(samples, kind: str, value_range=None) -> np.ndarray:
    r"""Check generated samples against their declared ``kind`` and return them as stored.

    Args:
        samples: array-like; see :data:`SAMPLE_KINDS` and the module docstring for
            the shape and values each kind needs.
        kind: one of :data:`SAMPLE_KINDS`.
        value_range: ``(lo, hi)`` with ``lo < hi``, required for ``"images"``
            (e.g. ``(0, 1)``, or ``(-1, 1)`` for a tanh generator) and refused for
            the other kinds.

    Returns:
        The array as it is stored, with images mapped to ``[0, 1]`` (float32),
        points and spectra as float32, and spins as int8.

    Raises:
        ValueError: on an unknown kind, a wrong shape, a value outside
            ``value_range``, non-finite values, or spins other than -1 and +1.
    """
    if kind not in SAMPLE_KINDS:
        raise ValueError(f"kind must be one of {SAMPLE_KINDS}, got {kind!r}")
    x = np.asarray(samples)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"samples must be a non-empty batch, got shape {x.shape}")
    if kind != "images" and value_range is not None:
        raise ValueError(f"value_range applies to images only, not to {kind!r}")
    if kind == "spins":
        if x.ndim != 3 or x.shape[1] != x.shape[2]:
            raise ValueError(f"spins must be square lattices of shape (N, L, L), got {x.shape}")
        if not np.isin(x, (-1, 1)).all():
            bad = np.unique(x[~np.isin(x, (-1, 1))])[:5]
            raise ValueError(f"spins must be exactly -1 or +1; found {bad.tolist()} "
                             "(map {0, 1} with 2 s - 1 first)")
        return x.astype(np.int8)
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise ValueError(f"{kind} must be finite; found {int((~np.isfinite(x)).sum())} NaN or "
                         "infinite values")
    if kind == "images":
        if x.ndim != 3:
            raise ValueError(
                f"images must have shape (N, H, W), got {x.shape}; reshape first, e.g. "
                "x.reshape(-1, 28, 28) for flat MNIST digits or x[:, 0] for (N, 1, H, W)"
            )
        if value_range is None:
            raise ValueError("images need value_range=(lo, hi), e.g. (0, 1), or (-1, 1) for a "
                             "tanh generator")
        lo, hi = map(float, value_range)
        if not lo < hi:
            raise ValueError(f"value_range must have lo < hi, got {value_range}")
        slack = 1e-5 * (hi - lo)
        if x.min() < lo - slack or x.max() > hi + slack:
            raise ValueError(
                f"images have values in [{x.min():.4g}, {x.max():.4g}], outside value_range "
                f"[{lo:g}, {hi:g}]; pass the range the images really have (nothing is clipped)"
            )
        return np.clip((x - lo) / (hi - lo), 0.0, 1.0)  # only the rounding slack is clipped
    if x.ndim != 2:
        axis = "d" if kind == "points" else "n"
        raise ValueError(f"{kind} must have shape (N, {axis}), got {x.shape}")
    return x


def save_artifacts(notebook: str, samples, metrics: dict, *, kind: str, config: Config,
                   device: str, value_range=None) -> Path:
    r"""Save generated samples and a metrics record under ``<artifacts>/<scale>/<notebook>/``.

    Args:
        notebook: the notebook's name without extension, the ``NOTEBOOK`` constant
            of its setup cell (a test checks that it equals the file name).
        samples: the generated samples; what they are is given by ``kind``
            (:func:`check_samples`).
        metrics: metric name -> JSON-like value (numpy scalars and arrays are
            converted; NaN and infinity are stored as ``null``). Names come from
            :data:`METRIC_UNITS` (:func:`metric_unit`).
        kind: one of :data:`SAMPLE_KINDS`.
        config: the notebook's :class:`genmod.config.Config`, stored whole.
        device: where the notebook ran, e.g. ``"cpu"``, ``"cuda"``, ``"GPU"``.
        value_range: ``(lo, hi)`` of image values (required for images).

    Returns:
        The folder written.

    Raises:
        ValueError: on samples that do not match ``kind`` or an unknown metric name.
        TypeError: if ``config`` is not a :class:`genmod.config.Config`.
    """
    from genmod.data.mnist import last_source

    if not isinstance(config, Config):
        raise TypeError(f"config must be the notebook's genmod.Config, got {type(config).__name__}")
    stored = check_samples(samples, kind, value_range)
    units = {name: metric_unit(name) for name in metrics}
    source = last_source()
    record = {
        "schema_version": SCHEMA_VERSION,
        "notebook": notebook,
        "scale": get_scale(),
        "device": str(device),
        "data": source.describe() if source is not None else None,
        "config": _jsonable(config.as_dict()),
        "samples": {
            "file": "samples.npz",
            "kind": kind,
            "shape": list(stored.shape),
            "dtype": str(stored.dtype),
            "value_range": [0.0, 1.0] if kind == "images" else None,
        },
        "metrics": _jsonable(dict(metrics)),
        "units": units,
    }
    folder = artifacts_dir(notebook)
    np.savez_compressed(folder / "samples.npz", samples=stored)
    (folder / "metrics.json").write_text(json.dumps(record, indent=2) + "\n")
    return folder


def check_record(record: dict) -> list[str]:
    r"""Problems with a ``metrics.json`` record (an empty list when it follows the schema).

    Used by the tests over every record a notebook run writes. MNIST image samples
    (shape ``(N, 28, 28)``) must carry the judge's scores, the judge's test accuracy
    among them.
    """
    problems = []
    required = ("schema_version", "notebook", "scale", "device", "data", "config", "samples",
                "metrics", "units")
    missing = [k for k in required if k not in record]
    if missing:
        return [f"missing keys {missing}"]
    if record["schema_version"] != SCHEMA_VERSION:
        problems.append(f"schema_version {record['schema_version']} != {SCHEMA_VERSION}")
    if record["scale"] not in ("quick", "book", "full"):
        problems.append(f"scale {record['scale']!r}")
    if not isinstance(record["config"], dict) or not record["config"]:
        problems.append("config is empty")
    samples = record["samples"]
    if samples.get("kind") not in SAMPLE_KINDS:
        problems.append(f"samples.kind {samples.get('kind')!r}")
    for name in record["metrics"]:
        try:
            unit = metric_unit(name)
        except ValueError as err:
            problems.append(str(err))
            continue
        if record["units"].get(name) != unit:
            problems.append(f"unit of {name!r} is {record['units'].get(name)!r}, expected {unit!r}")
    if samples.get("kind") == "images" and samples.get("shape", [None])[1:] == [28, 28]:
        absent = [k for k in _JUDGE_KEYS if k not in record["metrics"]]
        if absent:
            problems.append(f"MNIST samples without the judge's {absent}")
        if record["data"] is None:
            problems.append("MNIST samples without the data source")
    return problems
