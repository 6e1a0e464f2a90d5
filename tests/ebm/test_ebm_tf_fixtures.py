r"""The PyTorch references of the TensorFlow lane's EBM tests, kept as small fixtures.

The TensorFlow lane (tests/tf/) never imports torch, so what its EBM tests compare with is
stored in ``tests/tf/fixtures/``:

- ``ebm_deep_ebm_sampler.npz``: three images ``x0`` and five noise-free steps of the
  PyTorch notebook's sampler (``langevin_negatives`` of book/ebm/ebm_mnist_torch.py, eq.
  ``ebm-practical-langevin``) from them on a quadratic energy; the Keras notebook's
  ``generate_samples`` and ``sample_step`` must give the same images
  (tests/tf/test_ebm_deep_ebm.py);
- ``ebm_rbm_frameworks.npz``: a small binary RBM, data, persistent chains, the uniforms
  that seeded ``torch.Generator`` s hand to ``genmod.rbm.cd_gradient`` (replayed), and
  genmod.rbm's free energies, CD-1 and PCD-2 estimates and one step of SGD with
  momentum; the Keras RBM of book/ebm/rbm_mnist_tf.py must reproduce them to float64
  rounding (tests/tf/test_ebm_rbm_frameworks.py).

This test recomputes both from genmod and the PyTorch notebook and asserts that the
committed fixtures equal them, so a fixture cannot go stale. To write them again (after
a deliberate change)::

    .venv/bin/python tests/ebm/test_ebm_tf_fixtures.py
"""

from pathlib import Path
import sys

import numpy as np
import pytest
import torch
from torch import nn

from genmod.rbm import cd_gradient, free_energy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, also as a script
from fixtures import assert_fixture_is_fresh, write_fixture  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "tf" / "fixtures"
#: the quadratic energy E(x) = sum_i (x_i - M)^2 / (2 S^2) of the sampler fixture
M, S = 0.2, 0.5
#: the RBM fixture: visible, hidden, minibatch, persistent chains; SGD's settings
D, D_H, B, C = 30, 12, 40, 16
LR, MOMENTUM, WEIGHT_DECAY = 0.1, 0.5, 2e-3


def deep_ebm_sampler() -> dict[str, np.ndarray]:
    """x0 (3, 28, 28, 1) float32 and five steps of the PyTorch notebook's sampler from it."""
    from notebook_code import notebook_functions  # tests/ is on sys.path (tests/conftest.py)

    fn = notebook_functions("book/ebm/ebm_mnist_torch.py", ["langevin_negatives"],
                            {"torch": torch, "nn": nn})["langevin_negatives"]
    x0 = np.random.default_rng(0).uniform(-0.9, 0.9, (3, 28, 28, 1)).astype("float32")

    def energy(x):
        return ((x - M) ** 2).flatten(1).sum(1) / (2 * S**2)

    x_t = torch.from_numpy(x0).permute(0, 3, 1, 2)            # (B, 1, 28, 28) for PyTorch
    got = fn(energy, x_t, num_steps=5, step_size=0.05, noise=0.0, grad_clip=0.03)
    return {"x0": x0, "torch_steps": got.permute(0, 2, 3, 1).numpy(),
            "m": np.float64(M), "s": np.float64(S)}


def rbm_frameworks() -> dict[str, np.ndarray]:
    """Weights, data, replayed uniforms, and genmod.rbm's results on them (float64)."""
    gen = torch.Generator().manual_seed(0)
    dt = torch.float64
    W = 0.3 * torch.randn(D, D_H, generator=gen, dtype=dt)
    a_vis = 0.5 * torch.randn(D, generator=gen, dtype=dt)
    b_hid = 0.5 * torch.randn(D_H, generator=gen, dtype=dt)
    x = (torch.rand(B, D, generator=gen, dtype=dt) < 0.4).to(dt)
    chain = (torch.rand(C, D, generator=gen, dtype=dt) < 0.5).to(dt)

    out = {"free_energy": free_energy(x, W, a_vis, b_hid)}
    cd1 = cd_gradient(x, W, a_vis, b_hid, k=1, generator=torch.Generator().manual_seed(1))
    pcd2 = cd_gradient(x, W, a_vis, b_hid, k=2, chain=chain,
                       generator=torch.Generator().manual_seed(2))
    for name, result in (("cd1", cd1), ("pcd2", pcd2)):
        for part, value in zip(("dW", "da", "db", "x_model"), result):
            out[f"{name}_{part}"] = value

    replay = torch.Generator().manual_seed(1)  # the draws of cd_gradient's one Gibbs step
    out["cd_u_h"] = torch.rand(B, D_H, generator=replay, dtype=dt)
    out["cd_u_x"] = torch.rand(B, D, generator=replay, dtype=dt)
    replay = torch.Generator().manual_seed(2)  # two steps of the persistent chains
    for i in range(2):
        out[f"pcd_u_h{i}"] = torch.rand(C, D_H, generator=replay, dtype=dt)
        out[f"pcd_u_x{i}"] = torch.rand(C, D, generator=replay, dtype=dt)
    out["rec_u"] = torch.rand(B, D_H, generator=gen, dtype=dt)  # the reconstruction error's

    # one step of SGD with momentum from zero velocity: theta + lr * (ascent direction), decay
    # on W. Keras keeps the learning rate in a float32 variable, so the step uses LR rounded to
    # float32.
    lr = float(np.float32(LR))
    dW, da, db, chain_new = pcd2
    out |= {"step_W": W + lr * (dW - WEIGHT_DECAY * W), "step_a": a_vis + lr * da,
            "step_b": b_hid + lr * db, "step_chain": chain_new}
    out |= {"W": W, "a": a_vis, "b": b_hid, "x": x, "chain": chain}
    arrays = {k: v.numpy() for k, v in out.items()}
    arrays |= {"lr": np.float64(LR), "momentum": np.float64(MOMENTUM),
               "weight_decay": np.float64(WEIGHT_DECAY)}
    return arrays


REFERENCES = {"ebm_deep_ebm_sampler.npz": deep_ebm_sampler,
              "ebm_rbm_frameworks.npz": rbm_frameworks}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_committed_fixture_equals_a_fresh_computation(name):
    assert_fixture_is_fresh(FIXTURES / name, REFERENCES[name](), rtol=0.0,
                            atol={np.float64: 1e-12, np.float32: 1e-6}, script=__file__)


def test_the_rbm_fixture_exercises_the_chains():
    """The replayed states are binary and mixed, so agreeing on them means something."""
    fresh = rbm_frameworks()
    for key in ("cd1_x_model", "pcd2_x_model"):
        states = fresh[key]
        assert set(np.unique(states)) <= {0.0, 1.0} and 0 < states.mean() < 1, key


if __name__ == "__main__":
    for name, compute in REFERENCES.items():
        write_fixture(FIXTURES / name, compute())
