r"""Equilibrium data sets: thinned by the measured autocorrelation time, cached by their settings
(numpy only).

:func:`sample_ising` draws one temperature; :func:`ising_dataset` a grid, cached in
``<GENMOD_DATA>/ising/``; :data:`BOOK_DATASET` and :func:`book_dataset` are the one
data set of the book's physics notebooks.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field

import numpy as np

from genmod.checkpoints import config_key
from genmod.ising.lattice import _check_J, _check_temperatures
from genmod.ising.samplers import SAMPLERS, initial_spins, run_chains
from genmod.stats import integrated_autocorrelation_time

__all__ = [
    "IsingSamples",
    "sample_ising",
    "IsingDataset",
    "ising_dataset",
    "BOOK_TEMPERATURES",
    "BOOK_DATASET",
    "book_dataset",
]

# ---------------------------------------------------------------------------
# Data sets
# ---------------------------------------------------------------------------

@dataclass
class IsingSamples:
    r"""Equilibrium lattices at one temperature, and how they were made.

    Attributes:
        spins: int8 ``(num_chains, samples_per_chain, L, L)`` of ±1, in chain order
            (consecutive samples of a chain are ``thinning`` steps apart).
        temperature: :math:`T` (units of :math:`J/k_B`).
        sampler: ``"metropolis"`` or ``"wolff"``.
        tau_energy, tau_abs_magnetisation: :math:`\tau_{\mathrm{int}}` of :math:`E` and
            :math:`|m|`, in sampler steps, measured on the equilibration run.
        thinning: steps between kept samples, :math:`\lceil 2 \max \tau_{\mathrm{int}} \rceil`.
        burn_in: steps discarded at the start.
        mean_cluster_size: Wolff only: mean cluster size (spins), else ``None``; a Wolff step
            flips that many spins, so :math:`\tau` in sweeps is :math:`\tau \cdot` size :math:`/N`.
        seconds: wall time.
    """

    spins: np.ndarray
    temperature: float
    sampler: str
    tau_energy: float
    tau_abs_magnetisation: float
    thinning: int
    burn_in: int
    mean_cluster_size: float | None
    seconds: float

    def flat(self) -> np.ndarray:
        r"""The lattices as one batch, int8 ``(num_chains * samples_per_chain, L, L)``."""
        return self.spins.reshape(-1, *self.spins.shape[-2:])

    def tau_in_sweeps(self, which: str = "energy") -> float:
        r""":math:`\tau_{\mathrm{int}}` in sweeps (:math:`N` attempted spin flips; a Wolff step
        counts its cluster size)."""
        tau = self.tau_energy if which == "energy" else self.tau_abs_magnetisation
        if self.mean_cluster_size is None:
            return tau
        return tau * self.mean_cluster_size / (self.spins.shape[-1] * self.spins.shape[-2])


def sample_ising(
    L: int,
    temperature: float,
    num_samples: int,
    *,
    sampler: str = "wolff",
    J: float = 1.0,
    num_chains: int = 50,
    burn_in: int | None = None,
    min_burn_in: int = 200,
    burn_in_taus: float = 20.0,
    max_thinning: int = 10_000,
    seed: int = 0,
    start: str = "auto",
) -> IsingSamples:
    r"""Equilibrium samples of the :math:`L \times L` torus at one temperature.

    Procedure: ``num_chains`` independent chains start from :func:`initial_spins`; an
    equilibration run of ``burn_in`` steps (default: ``min_burn_in``, doubled until it
    lasts at least ``burn_in_taus`` times the :math:`\tau_{\mathrm{int}}` measured on its
    second half) is discarded; :math:`\tau_{\mathrm{int}}` of :math:`E` and :math:`|m|`
    (:func:`integrated_autocorrelation_time`, on that second half, all chains together)
    sets the thinning :math:`\lceil 2 \max(\tau_E, \tau_{|m|}) \rceil`, so kept samples are
    about independent; then :math:`\lceil n / \text{num\_chains} \rceil` samples are kept
    per chain.

    Args:
        L: the side, >= 2 (even for ``"metropolis"``).
        temperature: :math:`T > 0` (units of :math:`J/k_B`).
        num_samples: lattices wanted in total, >= 1 (rounded up to a multiple of ``num_chains``).
        sampler: ``"metropolis"`` or ``"wolff"``.
        J: the coupling, > 0.
        num_chains: independent chains, >= 1.
        burn_in: fixed equilibration steps (``None``: adaptive, as above).
        min_burn_in, burn_in_taus, max_thinning: the adaptive rule's settings.
        seed: seeds the ``numpy.random.Generator``.
        start: ``"auto"``, ``"random"`` or ``"ordered"`` (:func:`initial_spins`).

    Returns:
        An :class:`IsingSamples`.

    Raises:
        ValueError: on :math:`T \le 0`, an odd ``L`` for Metropolis, an unknown sampler, a
            non-positive count, or a needed thinning above ``max_thinning``.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    if int(L) != L or L < 2:
        raise ValueError(f"L must be an integer >= 2, got {L}")
    if sampler == "metropolis" and L % 2:
        raise ValueError(
            "the checkerboard Metropolis sampler needs an even L (an odd torus is not bipartite), "
            f"got {L}"
        )
    for name, value in (
        ("num_samples", num_samples),
        ("num_chains", num_chains),
        ("min_burn_in", min_burn_in),
    ):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value}")
    if burn_in is not None and (int(burn_in) != burn_in or burn_in < 4):
        raise ValueError(f"burn_in must be an integer >= 4 or None, got {burn_in}")
    (temperature,) = _check_temperatures([temperature])
    J = _check_J(J)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    spins = initial_spins(num_chains, L, temperature, rng, start)
    steps = int(burn_in) if burn_in is not None else int(min_burn_in)
    done = 0
    sizes = []
    while True:
        trace = run_chains(spins, temperature, steps - done, rng, sampler=sampler, J=J)
        if trace.cluster_size is not None:
            sizes.append(trace.cluster_size)
        half = trace.energy[len(trace.energy) // 2:].T                      # (chains, steps / 2)
        tau_e, _ = integrated_autocorrelation_time(half)
        tau_m, _ = integrated_autocorrelation_time(
            np.abs(trace.magnetisation[len(trace.energy) // 2 :].T)
        )
        done = steps
        if (
            burn_in is not None
            or steps >= burn_in_taus * max(tau_e, tau_m)
            or steps >= 64 * max_thinning
        ):
            break
        # run as long again, and measure again
        steps *= 2
    thinning = int(math.ceil(2 * max(tau_e, tau_m)))
    if thinning > max_thinning:
        raise ValueError(
            f"{sampler} at T = {temperature:g}, L = {L} needs thinning {thinning} > max_thinning "
            f"{max_thinning} (critical slowing down?); use the Wolff sampler or raise max_thinning"
        )
    per_chain = int(math.ceil(num_samples / num_chains))
    kept = np.empty((num_chains, per_chain, L, L), dtype=np.int8)
    for k in range(per_chain):
        trace = run_chains(spins, temperature, thinning, rng, sampler=sampler, J=J)
        if trace.cluster_size is not None:
            sizes.append(trace.cluster_size)
        kept[:, k] = spins
    mean_size = float(np.concatenate(sizes).mean()) if sizes else None
    return IsingSamples(kept, float(temperature), sampler, tau_e, tau_m, thinning, done, mean_size,
                        time.perf_counter() - t0)


@dataclass
class IsingDataset:
    r"""Samples over a temperature grid (:func:`ising_dataset`).

    Attributes:
        temperatures: the grid, float64 ``(n_T,)``.
        samples: one :class:`IsingSamples` per temperature.
        settings: the settings that made it (and key its cache file).
        cached: whether it was read from the cache.
    """

    temperatures: np.ndarray
    samples: list
    settings: dict
    cached: bool = False
    path: object = field(default=None, repr=False)

    def spins(self) -> np.ndarray:
        r"""All lattices, int8 ``(n_T, num_samples, L, L)`` (each temperature's chains
        flattened)."""
        return np.stack([s.flat() for s in self.samples])


def ising_dataset(
    L: int,
    temperatures,
    num_samples: int,
    *,
    sampler: str = "wolff",
    J: float = 1.0,
    num_chains: int = 50,
    seed: int = 0,
    cache: bool = True,
    verbose: bool = True,
) -> IsingDataset:
    r"""Equilibrium Ising lattices over a temperature grid, cached by a hash of the settings.

    Each temperature is sampled by :func:`sample_ising` with the seed ``seed + index``. The
    result is cached in ``<GENMOD_DATA>/ising/ising-<key>.npz`` (:func:`genmod.config.data_dir`),
    where ``key`` is the SHA-256 of the settings (L, the temperatures, num_samples,
    sampler, J, num_chains, seed and this module's data version): the same settings read
    the same file, any change makes a new one.

    Args:
        L: the side (even for Metropolis).
        temperatures: a 1-D grid of :math:`T > 0`, strictly increasing.
        num_samples: lattices per temperature.
        sampler, J, num_chains, seed: as :func:`sample_ising`.
        cache: read and write the cache (``False``: always sample, write nothing).
        verbose: print one line per temperature (and where the data came from).

    Returns:
        An :class:`IsingDataset`.

    Raises:
        ValueError: on bad settings (see :func:`sample_ising`), or a grid that is not
            strictly increasing.
    """
    t = _check_temperatures(temperatures)
    if t.ndim != 1 or np.any(np.diff(t) <= 0):
        raise ValueError(f"temperatures must be a strictly increasing 1-D grid, got {t.tolist()}")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    if sampler == "metropolis" and L % 2:
        raise ValueError(f"the checkerboard Metropolis sampler needs an even L, got {L}")
    settings = dict(
        L=int(L),
        temperatures=[float(x) for x in t],
        num_samples=int(num_samples),
        sampler=sampler,
        J=float(_check_J(J)),
        num_chains=int(num_chains),
        seed=int(seed),
        version=1,
    )
    path = None
    if cache:
        from genmod.config import data_dir

        folder = data_dir() / "ising"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"ising-{config_key(settings)}.npz"
        if path.is_file():
            with np.load(path, allow_pickle=False) as f:
                meta = json.loads(str(f["meta"]))
                if meta["settings"] == settings:
                    samples = [
                        IsingSamples(f[f"spins_{i}"], **info)
                        for i, info in enumerate(meta["samples"])
                    ]
                    if verbose:
                        print(f"Ising data: read from the cache {path}")
                    return IsingDataset(t, samples, settings, True, path)
    samples = []
    for i, temp in enumerate(t):
        s = sample_ising(
            L, temp, num_samples, sampler=sampler, J=J, num_chains=num_chains, seed=seed + i
        )
        samples.append(s)
        if verbose:
            size = (
                f", mean cluster {s.mean_cluster_size:.1f} spins"
                if s.mean_cluster_size is not None
                else ""
            )
            print(
                f"  T = {temp:.3f}: tau_E = {s.tau_energy:.1f}, tau_|m| = "
                f"{s.tau_abs_magnetisation:.1f} steps, "
                f"thinning {s.thinning}, burn-in {s.burn_in}{size} ({s.seconds:.1f} s)"
            )
    if path is not None:
        info = [
            {
                k: getattr(s, k)
                for k in (
                    "temperature",
                    "sampler",
                    "tau_energy",
                    "tau_abs_magnetisation",
                    "thinning",
                    "burn_in",
                    "mean_cluster_size",
                    "seconds",
                )
            }
            for s in samples
        ]
        arrays = {f"spins_{i}": s.spins for i, s in enumerate(samples)}
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez_compressed(tmp, meta=json.dumps({"settings": settings, "samples": info}), **arrays)
        tmp.replace(path)
        if verbose:
            print(f"Ising data: sampled with {sampler} and cached in {path}")
    return IsingDataset(t, samples, settings, False, path)


# ---------------------------------------------------------------------------
# The one data set of the book's physics notebooks
# ---------------------------------------------------------------------------

#: The temperature grid of every physics notebook (units of :math:`J/k_B`), the same at every
#: scale: from the ordered phase through :math:`T_c \approx 2.269` to the disordered phase,
#: with steps of 0.05 around the exact specific-heat peak of the :math:`8 \times 8` torus
#: (:math:`T^* = 2.362`). It holds the training grids of the committed checkpoints (the RBMs'
#: twelve temperatures and the conditional GAN's thirteen), so that every model is judged
#: on the same temperatures.
BOOK_TEMPERATURES = (1.5, 1.8, 2.0, 2.1, 2.2, 2.3, 2.35, 2.4, 2.5, 2.6, 2.7, 2.8, 3.0, 3.5)

#: The settings of :func:`ising_dataset` that make the book's physics data set, per scale
#: (``quick``, ``book``, ``full``): Wolff samples of the :math:`8 \times 8` torus on
#: :data:`BOOK_TEMPERATURES`; :func:`book_dataset` reads or samples them.
BOOK_DATASET = {
    scale: dict(
        L=8,
        temperatures=BOOK_TEMPERATURES,
        num_samples=num_samples,
        sampler="wolff",
        J=1.0,
        num_chains=num_chains,
        seed=0,
    )
    for scale, num_samples, num_chains in (
        ("quick", 400, 20),
        ("book", 2000, 50),
        ("full", 20000, 100),
    )
}


def book_dataset(scale: str | None = None, *, verbose: bool = True) -> IsingDataset:
    r"""The physics notebooks' one data set: :func:`ising_dataset` with :data:`BOOK_DATASET` of
    ``scale``.

    Every physics notebook loads it, so the models learn from, and are compared on, the
    same lattices at the same temperatures (:data:`BOOK_TEMPERATURES`). Cached like any
    :func:`ising_dataset` (the first notebook that asks samples it, the others read it).

    Args:
        scale: ``"quick"``, ``"book"`` or ``"full"``; default :func:`genmod.config.get_scale`.
        verbose: as :func:`ising_dataset`.

    Returns:
        An :class:`IsingDataset` of ``num_samples`` lattices per temperature, each
        temperature's chains in order.

    Raises:
        ValueError: on an unknown scale.
    """
    from genmod.config import get_scale

    scale = get_scale() if scale is None else scale
    if scale not in BOOK_DATASET:
        raise ValueError(f"scale must be one of {sorted(BOOK_DATASET)}, got {scale!r}")
    return ising_dataset(**BOOK_DATASET[scale], verbose=verbose)
