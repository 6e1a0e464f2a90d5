r"""Evaluating energy-based models from any framework: numpy arrays in, numbers out.

:func:`auc_lower` scores an energy as a detector of out-of-distribution inputs, and
:func:`smooth` is the moving average of a training curve; the deep EBMs of
``book/ebm/ebm_mnist_torch`` and ``book/ebm/ebm_mnist_tf`` use both.

The log-likelihood of a binary RBM, in nats: a Keras RBM (``book/ebm/rbm_mnist_tf``) and a PyTorch
one (``book/ebm/rbm_mnist_torch``)
are evaluated by the same code: :func:`rbm_log_likelihood` runs annealed importance
sampling (:func:`genmod.rbm.ais_log_z` with :func:`genmod.rbm.ais_schedule`,
eqs. ``ebm-ais-intermediate`` to ``ebm-ais-estimate`` of ``book/ebm/theory.md``)
and the free energy (eq. ``ebm-rbm-free-energy``) of :mod:`genmod.rbm`, in float64.
:mod:`genmod.rbm` is written in PyTorch, and importing torch after TensorFlow crashes
some builds (CONTRIBUTING.md, Known traps), so in a process that has imported
TensorFlow the evaluation runs in a fresh Python process:
``python -m genmod.ebm_eval IN.npz OUT.json`` (this module's command line).

This module imports neither torch nor tensorflow.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["auc_lower", "smooth", "rbm_log_likelihood"]

_KEYS = ("W", "a", "b", "x", "base_a")


def auc_lower(e_in, e_out) -> float:
    r"""The probability that an in-distribution input has the lower energy: :math:`P(E_{\rm in} <
    E_{\rm out})`.

    The area under the ROC curve of the energy as a score that flags ``e_out``
    (Mann-Whitney), over all pairs, ties counted half: 1 separates perfectly, 0.5 is
    chance.

    Args:
        e_in: energies of in-distribution inputs (e.g. test digits), shape ``(n,)``.
        e_out: energies of the other inputs, shape ``(m,)``.

    Returns:
        A float in [0, 1].

    Raises:
        ValueError: if either set is empty or not one-dimensional.
    """
    e_in, e_out = np.asarray(e_in, dtype=np.float64), np.asarray(e_out, dtype=np.float64)
    if e_in.ndim != 1 or e_out.ndim != 1 or not len(e_in) or not len(e_out):
        raise ValueError(f"need two non-empty 1-d arrays of energies, got {e_in.shape}, "
                         f"{e_out.shape}")
    e_in, e_out = e_in[:, None], e_out[None, :]
    return float((e_in < e_out).mean() + 0.5 * (e_in == e_out).mean())


def smooth(values, width: int = 10) -> np.ndarray:
    r"""The moving average of ``values`` over ``width`` consecutive entries (a training curve).

    Args:
        values: a 1-d sequence of numbers.
        width: the window; shortened to ``len(values)`` when longer, at least 1.

    Returns:
        float64 array of length ``len(values) - width + 1``: entry :math:`t` is the mean
        of ``values[t : t + width]``.
    """
    values = np.asarray(values, dtype=np.float64)
    width = max(1, min(int(width), len(values)))
    return np.convolve(values, np.ones(width) / width, mode="valid")


def _check(W, a, b, x, base_a):
    if W.ndim != 2 or a.shape != (W.shape[0],) or b.shape != (W.shape[1],):
        raise ValueError(f"need W (d, d_h), a (d,), b (d_h,); got W {W.shape}, a {a.shape}, b "
                         f"{b.shape}")
    if x.ndim != 2 or x.shape[1] != W.shape[0]:
        raise ValueError(f"x must be (N, d) = (N, {W.shape[0]}) binary vectors, got shape "
                         f"{x.shape}; "
                         "flatten images first")
    if not np.isin(x, (0, 1)).all():
        raise ValueError("x must hold binary vectors with values in {0, 1}; "
                         "binarize the data first")
    if base_a.shape != a.shape:
        raise ValueError(f"base_a must have the shape of a, {a.shape}, got {base_a.shape}")


def _evaluate(W, a, b, x, base_a, *, num_betas: int, num_runs: int, seed: int) -> dict:
    import torch  # only here: never next to TensorFlow

    from genmod.rbm import ais_log_z, ais_schedule, log_likelihood

    W, a, b, x, base_a = (torch.as_tensor(v, dtype=torch.float64) for v in (W, a, b, x, base_a))
    gen = torch.Generator().manual_seed(seed)
    est = ais_log_z(W, a, b, betas=ais_schedule(num_betas), num_runs=num_runs, base_a=base_a,
                    generator=gen)
    ll = log_likelihood(x, W, a, b, est.value)                     # -F(x) - log Z per vector, nats
    se_data = float(ll.std() / math.sqrt(len(ll)))
    return {
        "log_likelihood": float(ll.mean()),                        # nats per vector
        # the vectors' spread and log Z's se
        "log_likelihood_se": math.sqrt(se_data**2 + est.se**2),
        "log_z": est.value,
        "log_z_se": est.se,
        "num_betas": est.num_betas,
        "num_runs": est.num_runs,
        "num_vectors": int(len(ll)),
    }


def rbm_log_likelihood(W, a, b, x, *, base_a=None, num_betas: int = 2000, num_runs: int = 100,
                       seed: int = 0) -> dict:
    r"""Mean log-likelihood :math:`\frac1n\sum_i [-F(\x_i)] - \log \hat Z` of a binary RBM, by AIS.

    Args:
        W: weights, array of shape ``(d, d_h)``.
        a: visible biases, ``(d,)``.
        b: hidden biases, ``(d_h,)``.
        x: the vectors to score, ``(N, d)``, values exactly 0 or 1 (flattened, binarized digits).
        base_a: visible biases of the AIS base model, ``(d,)`` (Salakhutdinov & Murray 2008:
            the log-odds of the training pixel means); zeros when ``None``.
        num_betas: inverse temperatures of :func:`genmod.rbm.ais_schedule`, K + 1 >= 8.
        num_runs: R >= 2 annealing runs.
        seed: seed of the AIS draws (a ``torch.Generator``).

    Returns:
        A dict with ``log_likelihood`` (nats per vector), ``log_likelihood_se`` (nats: the
        spread over the vectors and the standard error of :math:`\log \hat Z` combined),
        ``log_z`` and ``log_z_se`` (nats), ``num_betas``, ``num_runs``, ``num_vectors``.
        :math:`\log \hat Z` is biased low, so the log-likelihood is, if anything, too high.

    Raises:
        ValueError: on shapes that do not agree or non-binary ``x``.
        RuntimeError: if the subprocess (used when TensorFlow is imported) fails; its error is
            quoted.
    """
    W, a, b, x = (np.asarray(v, dtype=np.float64) for v in (W, a, b, x))
    base_a = np.zeros_like(a) if base_a is None else np.asarray(base_a, dtype=np.float64)
    _check(W, a, b, x, base_a)
    if "tensorflow" not in sys.modules:
        return _evaluate(W, a, b, x, base_a, num_betas=num_betas, num_runs=num_runs, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        inputs, output = Path(tmp) / "rbm.npz", Path(tmp) / "out.json"
        np.savez(inputs, W=W, a=a, b=b, x=x, base_a=base_a)
        cmd = [sys.executable, "-m", "genmod.ebm_eval", str(inputs), str(output),
               "--num-betas", str(num_betas), "--num-runs", str(num_runs), "--seed", str(seed)]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"the RBM evaluation's subprocess failed:\n{run.stderr[-3000:]}")
        return json.loads(output.read_text())


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m genmod.ebm_eval",
                                     description="Log-likelihood of a binary RBM by AIS (nats per "
                                                 "vector).")
    parser.add_argument("inputs",
                        help=".npz with keys W (d, d_h), a (d,), b (d_h,), x (N, d), base_a (d,)")
    parser.add_argument("output", help="JSON file for the result")
    parser.add_argument("--num-betas", type=int, default=2000)
    parser.add_argument("--num-runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with np.load(args.inputs) as f:
        missing = [k for k in _KEYS if k not in f.files]
        if missing:
            parser.error(f"{args.inputs} lacks the keys {missing} (found {f.files})")
        arrays = {k: f[k] for k in _KEYS}
    _check(*(arrays[k] for k in _KEYS))
    import torch

    # One thread: AIS is a long sequence of small float64 products. Measured here on
    # 2 shared cores (load ~10): 300 temperatures x 100 runs of a 784 x 500 RBM took
    # 5 s on one thread and 76 s on two; on an idle machine two gain little.
    torch.set_num_threads(1)
    result = _evaluate(*(arrays[k] for k in _KEYS), num_betas=args.num_betas,
                       num_runs=args.num_runs, seed=args.seed)
    Path(args.output).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
