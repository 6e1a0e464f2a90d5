r"""The deep EBM of book/ebm/ebm_mnist_torch: its sampler against the equations, its training loop
on a quadratic
energy, and its committed checkpoint.

The notebook's own functions are taken from its .py (tests/notebook_code.py):

- ``langevin_negatives`` is the practical step {eq}`ebm-practical-langevin`: one step equals the
formula written
  out; with the noise sqrt(2 eta) and no clipping it is the Langevin step {eq}`ebm-ula` and samples
  the Gaussian of
  a quadratic energy with the exact variance of its linear chain (as in
  {eq}`ebm-ula-gaussian-bias`); with another noise sigma it samples
  the density at the inverse temperature beta = 2 eta / sigma^2 {eq}`ebm-effective-temperature`;
- ``train_step`` with ``ReplayBuffer`` (the maximum-likelihood update {eq}`ebm-deep-ml-gradient`
with the
  regulariser {eq}`ebm-energy-regulariser`) moves the minimum of a learnable quadratic energy to the
  data;
- the committed checkpoint loads into ``build_energy`` and reproduces the energies recorded in its
provenance;
- both EBM notebooks (PyTorch and Keras) ask, at every scale, for exactly the checkpoint committed
beside them, so
  they load it instead of training for the better part of an hour (the Keras checkpoint's weights
  are checked in
  the TensorFlow lane, tests/tf/test_ebm_deep_ebm.py).
"""

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

import genmod
from genmod.checkpoints import config_key
from notebook_code import notebook_config, notebook_constant, notebook_functions

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "book/ebm/ebm_mnist_torch.py"


@pytest.fixture(scope="module")
def nb():
    return notebook_functions(NOTEBOOK,
                              ["langevin_negatives", "ReplayBuffer", "train_step", "build_energy",
                                         "fixed_inputs"], {"torch": torch, "nn": nn})


class Quadratic(nn.Module):
    """E(x) = mean over pixels of (x - m)^2 / (2 s^2) * scale: a Gaussian with per-pixel variance
    s^2 /
    scale * 784.
    """

    def __init__(self, m=0.0, s=0.1, per_pixel=False):
        super().__init__()
        self.m = nn.Parameter(torch.full((1, 1, 28, 28), float(m)))
        self.s = s
        self.per_pixel = per_pixel   # True: sum over pixels, so each pixel is N(m, s^2)

    def forward(self, x):
        sq = ((x - self.m) ** 2).flatten(1)
        return (sq.sum(1) if self.per_pixel else sq.mean(1)) / (2 * self.s**2)


def test_one_step_is_the_practical_langevin_formula(nb):
    energy = Quadratic(m=0.2, s=0.5, per_pixel=True)
    x0 = 0.5 * torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0)) - 0.25
    eta, sigma, g_max = 0.05, 0.01, 0.03
    got = nb["langevin_negatives"](energy, x0, num_steps=1, step_size=eta, noise=sigma,
                                   grad_clip=g_max,
                                   generator=torch.Generator().manual_seed(1))
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(1))
    x_hat = (x0 + sigma * eps).clamp(-1, 1)                                   # Pi(x + sigma eps)
    grad = (x_hat - 0.2) / 0.5**2  # grad_x E of the quadratic
    expected = (x_hat - eta * grad.clamp(-g_max, g_max)).clamp(-1, 1)  # Pi(x_hat - eta clip(grad))
    assert torch.allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("beta", [1.0, 4.0])
def test_sampler_samples_the_quadratic_energy_at_inverse_temperature_beta(nb, beta):
    """Noise sigma = sqrt(2 eta / beta), no clipping: each pixel ~ N(m, s^2 / beta) inflated by
    ULA's
    exact factor.
    """
    s, m, eta = 0.1, 0.1, 0.001
    energy = Quadratic(m=m, s=s, per_pixel=True)
    gen = torch.Generator().manual_seed(2)
    x0 = m + s * torch.randn(16, 1, 28, 28, generator=gen) / math.sqrt(beta)
    x = nb["langevin_negatives"](energy, x0, num_steps=300, step_size=eta,
                                 noise=math.sqrt(2 * eta / beta),
                                 grad_clip=1e9, generator=gen).flatten()
    # noise first, then the gradient step: x' - m = r (x - m + sigma eps) with r = 1 - eta / s^2,
    # so the stationary variance is r^2 sigma^2 / (1 - r^2), which tends to s^2 / beta as
    # eta -> 0 (ULA's order gives sigma^2 / (1 - r^2))
    r = 1 - eta / s**2
    var = r**2 * (2 * eta / beta) / (1 - r**2)
    n = len(x)  # 12,544 pixels, independent
    assert abs(x.mean().item() - m) < 4 * math.sqrt(var / n)
    assert abs(x.var().item() / var - 1) < 4 * math.sqrt(2 / n)
    assert x.abs().max() < 1, "the clipping to [-1, 1] must not have acted"


@pytest.mark.slow
def test_training_loop_moves_the_energy_minimum_to_the_data(nb):
    """A quadratic energy whose minimum m starts at 0, data at 0.5: the update pushes m to the
    data's value."""
    torch.manual_seed(0)
    energy = Quadratic(m=0.0, s=0.5)
    optimizer = torch.optim.Adam(energy.parameters(), lr=0.02, betas=(0.0, 0.999))
    gen = torch.Generator().manual_seed(3)
    buffer = nb["ReplayBuffer"](256, generator=gen)
    cfg = SimpleNamespace(batch_size=32, fresh_fraction=0.05, langevin_steps=20, step_size=10.0,
                          noise=0.005,
                          grad_clip=0.03, alpha=0.1, data_noise=0.005)
    data = torch.full((32, 1, 28, 28), 0.5)
    means = []
    for _ in range(150):
        nb["train_step"](energy, optimizer, data, buffer, cfg, gen)
        means.append(energy.m.mean().item())
    assert abs(means[-1] - 0.5) < 0.1, means[::15]
    assert means[-1] > means[10] > means[0] > 0.0
    assert int(buffer.visits.sum()) == 150 * 32


COMMITTED = sorted((ROOT / "book/ebm/checkpoints").glob("ebm_mnist_torch-*.json"))


def test_the_checkpoint_is_committed():
    assert COMMITTED, ("book/ebm/checkpoints/ebm_mnist_torch-*.json is missing: "
                       "run the notebook to train it")


@pytest.mark.parametrize("meta", COMMITTED, ids=lambda p: p.name)
def test_checkpoint_reproduces_its_recorded_energies(nb, meta):
    record = json.loads(meta.read_text())
    config = genmod.Config(**record["config"])
    model = nb["build_energy"](config)
    model.load_state_dict(torch.load(meta.parent / record["file"], map_location="cpu",
                                     weights_only=True))
    with torch.no_grad():
        energies = model(nb["fixed_inputs"]())
    assert torch.allclose(energies, torch.tensor(record["metrics"]["energy_fixed_inputs"]),
                          atol=1e-5)
    assert record["config"]["num_updates"] == 2000 and record["builder"] == "build_energy"


@pytest.mark.parametrize("scale", ["quick", "book", "full"])
@pytest.mark.parametrize("notebook", ["ebm_mnist_torch", "ebm_mnist_tf"])
def test_the_notebook_asks_for_the_committed_checkpoint(notebook, scale):
    """The notebook's long_config, config.subset(*TRAIN_KEYS, num_updates=checkpoint_updates), has
    the committed checkpoint's key."""
    path = f"book/ebm/{notebook}.py"
    source = (ROOT / path).read_text()
    assert "config.subset(*TRAIN_KEYS, num_updates=config.checkpoint_updates)" in source
    config = notebook_config(path, scale=scale)
    long_config = config.subset(*notebook_constant(path, "TRAIN_KEYS"),
                                num_updates=config.checkpoint_updates)
    committed = sorted((ROOT / "book/ebm/checkpoints").glob(f"{notebook}-*.json"))
    assert {p.stem.split("-")[-1] for p in committed} == {config_key(long_config)}
