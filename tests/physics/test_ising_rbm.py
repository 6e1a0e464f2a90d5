"""RBMs of Ising configurations (genmod.ising_rbm, book/physics/ising_rbm_torch): exact results and
the notebook's code.

- the exact Ising RBM (eq. physics-rbm-exact-ising): its free energy is beta E + const on every
state
  of the 3 x 3 and 4 x 4 tori (enumeration), and its Gibbs samples, drawn by the notebook's own
  sample_rbms, reproduce Kaufman's energy and specific heat of the 8 x 8 torus;
- the flip-symmetric parametrisation (eq. physics-rbm-flip-symmetric), in closed form;
- the notebook's batch of RBMs (genmod.rbm, one per temperature) equals one RBM per temperature;
- the lattice symmetries used as data augmentation leave every energy unchanged;
- the notebook's PCD training moves the energy of the samples towards the data's;
- the committed checkpoint loads and reproduces its recorded energies (fixed seed).
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import genmod
from genmod import ising
from genmod.ising_rbm import (
    exact_ising_rbm,
    random_symmetry,
    spins_to_visible,
    symmetric_biases,
    torus_bonds,
    visible_to_spins,
)
from genmod.rbm import free_energy, gibbs_step
from notebook_code import notebook_config

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_PY = "book/physics/ising_rbm_torch.py"


@pytest.fixture(scope="module")
def nb(ising_rbm_nb):
    """The notebook's own functions (tests/physics/conftest.py)."""
    return ising_rbm_nb


# --- the exact Ising RBM -------------------------------------------------------------------------

@pytest.mark.parametrize("L", [3, 4])
@pytest.mark.parametrize("T", [1.2, ising.T_C, 2.7, 5.0])
def test_exact_rbm_free_energy_is_the_ising_energy_by_enumeration(L, T):
    """F(x) = E(s)/T + offset on all 2^(L^2) states (eq. physics-rbm-exact-ising), with genmod.rbm's
    free energy."""
    W, a, b, offset = exact_ising_rbm(L, T, J=1.3)
    states = ising.all_spin_states(L)
    F = free_energy(spins_to_visible(states, dtype=torch.float64), W, a, b).numpy()
    beta_E = ising.energy(states, J=1.3) / T
    np.testing.assert_allclose(F - beta_E, offset, rtol=0, atol=1e-10)
    # and so the normalised distribution is Boltzmann's: log Z_RBM = log Z_Ising - offset
    log_z_rbm = torch.logsumexp(-torch.as_tensor(F), 0).item()
    log_z_ising = ising.exact_enumeration(L, [T], J=1.3).log_z[0]
    assert log_z_rbm == pytest.approx(log_z_ising - offset, abs=1e-10)


def test_exact_rbm_structure():
    """One hidden unit per bond, joined to exactly its two ends; biases -w (hidden) and -2w
    (visible)."""
    L, T = 5, 2.0
    W, a, b, _ = exact_ising_rbm(L, T)
    w = 2 * math.acosh(math.exp(2 / T))
    bonds = torus_bonds(L)
    assert (
        W.shape == (L * L, 2 * L * L)
        and len({tuple(sorted(p)) for p in bonds.tolist()}) == 2 * L * L
    )
    assert torch.equal((W != 0).sum(0), torch.full((2 * L * L,), 2))
    assert torch.equal((W != 0).sum(1), torch.full((L * L,), 4))        # four bonds per site
    assert torch.allclose(W[W != 0], torch.tensor(w, dtype=W.dtype))
    assert torch.allclose(b, torch.tensor(-w, dtype=b.dtype)) and torch.allclose(
        a, torch.tensor(-2 * w, dtype=a.dtype)
    )


@pytest.mark.parametrize("kwargs, match", [
    (dict(L=4, temperature=0.0), "temperature"), (dict(L=4, temperature=-1.0), "temperature"),
    (dict(L=4, temperature=2.0, J=-1.0), "ferromagnetic"), (dict(L=2, temperature=2.0), "L >= 3"),
])
def test_exact_rbm_refuses_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        exact_ising_rbm(**kwargs)


@pytest.mark.slow
def test_exact_rbm_gibbs_samples_reproduce_kaufman(nb):
    """The notebook's sample_rbms on the exact RBMs of the 8 x 8 torus: E and C within their
    standard errors."""
    L, temps = 8, np.array([1.8, 2.35, 3.0])
    params = [exact_ising_rbm(L, t, dtype=torch.float32) for t in temps]
    W, a, b = (torch.stack([p[i] for p in params]) for i in range(3))
    g = torch.Generator().manual_seed(5)
    spins, tau, thinning = nb["sample_rbms"](W, a, b, num_chains=200, burn_in=300, pilot_steps=300,
                                             samples_per_chain=10, generator=g)
    assert spins.shape == (3, 2000, L, L) and spins.dtype == np.int8
    assert np.all(thinning >= np.ceil(2 * tau.max(1)))
    cmp = ising.compare_with_exact(spins, temps, num_blocks=20)
    assert np.all(np.abs(cmp.energy_z) < 4), cmp.table()
    assert np.all(np.abs(cmp.specific_heat_z) < 4), cmp.table()
    assert np.abs(cmp.energy_rel).max() < 0.01, cmp.table()


# --- the flip-symmetric RBM and the batched functions ---------------------------------------------

def test_flip_symmetric_biases_closed_form():
    """eq. physics-rbm-flip-symmetric: F(1 - x) = F(x), and -F = sum_j ln 2 cosh(w_j . s / 4) - sum
    W / 4."""
    g = torch.Generator().manual_seed(0)
    W = torch.randn(2, 9, 5, generator=g, dtype=torch.float64)
    a, b = symmetric_biases(W)
    v = ising.all_spin_states(3)
    x = spins_to_visible(v, dtype=torch.float64).expand(2, -1, -1)
    F = free_energy(x, W, a, b)
    torch.testing.assert_close(F, free_energy(1 - x, W, a, b), rtol=0, atol=1e-12)
    s = 2 * x - 1
    closed = torch.log(2 * torch.cosh(torch.bmm(s, W) / 4)).sum(-1) - W.sum((1, 2))[:, None] / 4
    torch.testing.assert_close(-F, closed, rtol=0, atol=1e-12)
    # untied biases break the symmetry: the test can tell
    assert (free_energy(x, W, a + 0.1, b) - free_energy(1 - x, W, a + 0.1, b)).abs().max() > 0.1


def test_batch_of_rbms_equals_one_rbm_per_temperature():
    """The notebook's batch of RBMs, one per temperature on axis 0 (genmod.rbm, W (n_T, d, d_h)):
    the exact Ising RBMs of three temperatures, stacked, give each temperature's free energies,
    and a batch of one draws the same Gibbs states as the unbatched RBM from the same generator.
    (genmod.rbm's batch axes in general: tests/package/test_rbm.py.)"""
    temperatures = (1.5, ising.T_C, 3.0)
    params = [exact_ising_rbm(3, t)[:3] for t in temperatures]
    W, a, b = (torch.stack(p) for p in zip(*params))                    # (3, 9, 18), ...
    states = spins_to_visible(ising.all_spin_states(3), dtype=torch.float64)       # (512, 9)
    batched = free_energy(states.expand(3, -1, -1), W, a, b)
    for k, (W_k, a_k, b_k) in enumerate(params):
        torch.testing.assert_close(batched[k], free_energy(states, W_k, a_k, b_k))
    g1, g2 = torch.Generator().manual_seed(2), torch.Generator().manual_seed(2)
    x = states[::7]
    ours, h_ours = gibbs_step(x[None], W[:1], a[:1], b[:1], generator=g1)
    theirs, h_theirs = gibbs_step(x, *params[0], generator=g2)
    assert torch.equal(ours[0], theirs) and torch.equal(h_ours[0], h_theirs)
    with pytest.raises(ValueError, match="need x"):
        free_energy(states[:, :8], W, a, b)


def test_spins_and_visible_units():
    s = np.array([[[1, -1], [-1, 1]]], dtype=np.int8)
    v = spins_to_visible(s)
    assert v.tolist() == [[1.0, 0.0, 0.0, 1.0]]
    assert np.array_equal(visible_to_spins(v, 2), s)
    with pytest.raises(ValueError, match="exactly"):
        spins_to_visible(np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match="L\\*L"):
        visible_to_spins(v, 3)


def test_random_symmetry_is_a_symmetry_of_the_torus():
    """Every moved lattice keeps its energy and |M|; the flip, translations and the D4 moves all
    occur."""
    g = torch.Generator().manual_seed(3)
    rng = np.random.default_rng(0)
    base = rng.choice([-1, 1], size=(1, 6, 6)).astype(np.int8)
    base[0, 0, :4] = 1                                                  # make it asymmetric
    x = torch.as_tensor(np.repeat(base, 4000, 0), dtype=torch.float32)
    y = random_symmetry(x, generator=g)
    e_x, e_y = ising.energy(x.numpy().astype(np.int8)), ising.energy(y.numpy().astype(np.int8))
    np.testing.assert_array_equal(e_x, e_y)
    assert torch.equal(y.sum((-1, -2)).abs(), x.sum((-1, -2)).abs())
    flipped = (y.sum((-1, -2)) == -x.sum((-1, -2))).float().mean().item()
    assert 0.45 < flipped < 0.55
    distinct = {tuple(t.flatten().tolist()) for t in y[:4000]}
    # up to 2 * 8 * 36 = 576 images
    assert len(distinct) > 400
    with pytest.raises(ValueError, match="square"):
        random_symmetry(torch.ones(2, 3, 4))


# --- the notebook's training and its checkpoint --------------------------------------------

@pytest.mark.slow
def test_short_pcd_training_moves_the_energy_towards_the_data(nb):
    """The notebook's train_pcd (300 steps, d_h = 16) brings the samples' energy closer to the
    data's at each T."""
    config = notebook_config(NOTEBOOK_PY, scale="quick")
    temps = (1.8, 3.0)
    data = ising.ising_dataset(8, temps, 400, sampler="wolff", num_chains=10, seed=7, verbose=False)
    x = torch.as_tensor(data.spins(), dtype=torch.float32)
    e_data = np.array([ising.energy_per_spin(s.flat()).mean() for s in data.samples])
    rbm = nb["builder"](
        genmod.Config(**{**config.as_dict(), "temperatures": temps, "hidden_sizes": (16,)})
    )["d_h_16"]
    g = torch.Generator().manual_seed(0)

    def sample_energy():
        spins, _, _ = nb["sample_rbms"](
            *[p.detach() for p in rbm.parameters_wab()],
            num_chains=50,
            burn_in=50,
            pilot_steps=50,
            samples_per_chain=4,
            generator=g,
        )
        return np.array([ising.energy_per_spin(s).mean() for s in spins])

    with torch.no_grad():
        rbm.W.copy_(config.init_std * torch.randn(rbm.W.shape, generator=g))
    before = np.abs(sample_energy() - e_data)
    history = nb["train_pcd"](rbm, x, config, num_steps=300, generator=g, log_every=100)
    after = np.abs(sample_energy() - e_data)
    assert history["step"] == [100, 200, 300]
    assert np.all(after < 0.5 * before), (before, after)


def _committed_checkpoint():
    folder = ROOT / "book/physics/checkpoints"
    metas = sorted(folder.glob("ising_rbm_torch-*.json"))
    assert metas, "no committed checkpoint of ising_rbm_torch in book/physics/checkpoints"
    return json.loads(metas[-1].read_text()), folder


def test_checkpoint_is_the_notebooks_long_config(nb):
    record, _ = _committed_checkpoint()
    assert record["config"] == json.loads(json.dumps(nb["long_config"].as_dict())), (
        "the committed checkpoint was trained with another configuration than the notebook's "
        "long_config"
    )


@pytest.mark.slow
def test_checkpoint_reproduces_its_recorded_energies(nb):
    """Load the committed RBMs into the notebook's builder; a fixed-seed Gibbs run gives the
    recorded energies."""
    record, folder = _committed_checkpoint()
    config = genmod.Config(**record["config"])
    rbms = nb["builder"](config)
    rbms.load_state_dict(
        torch.load(folder / record["file"], map_location="cpu", weights_only=True), strict=True
    )
    assert record["metrics"]["check_sampling"] == nb["CHECK"]
    got = nb["checkpoint_energies"](rbms, config)
    for name, rec in record["metrics"].items():
        if not name.startswith("d_h_"):
            continue
        e, se = np.array(got[name]["energy_per_spin"]), np.array(rec["energy_per_spin_se"])
        z = (e - np.array(rec["energy_per_spin"])) / np.hypot(
            se, np.array(got[name]["energy_per_spin_se"])
        )
        assert np.all(np.abs(z) < 4), f"{name}: {np.round(z, 2).tolist()}"


# --- the notebook's exercises --------------------------------------------------------------

def test_antiferromagnet_by_a_sublattice_flip():
    """Exercise physics-ex-ising-rbm-torch-antiferromagnet: the solution's RBM is the J < 0 model on
    the 4 x 4 torus."""
    L, T, J = 4, 1.7, -1.0
    W, a, b, offset = exact_ising_rbm(L, T, J=abs(J))
    B = torch.as_tensor((np.indices((L, L)).sum(0) % 2 == 1).ravel())
    W2, a2, b2 = W.clone(), a.clone(), b + W[B].sum(0)
    W2[B] = -W[B]
    a2[B] = -a[B]
    w = W.max().item()
    states = ising.all_spin_states(L)
    F = free_energy(spins_to_visible(states, dtype=torch.float64), W2, a2, b2).numpy()
    E_afm = -ising.energy(states, J=1.0) * abs(J)                     # E_J = -E_{|J|} for J < 0
    np.testing.assert_allclose(F - E_afm / T, offset - 2 * w * int(B.sum()), rtol=0, atol=1e-10)
    # the ferromagnet's RBM does not describe the antiferromagnet
    F_ferro = free_energy(spins_to_visible(states, dtype=torch.float64), W, a, b).numpy()
    assert np.ptp(F_ferro - E_afm / T) > 1.0


def test_magnetic_field_enters_the_visible_biases():
    """Exercise physics-ex-ising-rbm-torch-field: a_i + 2H/T gives F = E_H / T + offset - L^2 H /
    T."""
    L, T, H = 3, 2.2, 0.3
    W, a, b, offset = exact_ising_rbm(L, T)
    states = ising.all_spin_states(L)
    E_H = ising.energy(states) - H * states.reshape(len(states), -1).sum(1)
    F = free_energy(spins_to_visible(states, dtype=torch.float64), W, a + 2 * H / T, b).numpy()
    np.testing.assert_allclose(F - E_H / T, offset - L * L * H / T, rtol=0, atol=1e-10)
