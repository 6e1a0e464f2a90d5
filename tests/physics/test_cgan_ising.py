r"""The conditional GAN of Ising configurations (book/physics/cgan_ising_torch): its own code,
tested.

The networks, the read-out, the temperature input, the generator's sampling function and
the training loop are taken from the notebook's .py with tests/notebook_code.py. What is
checked: the torus symmetry of both networks (measured, with a zero-padded control that
must fail it), the spins the generator returns and the temperatures it refuses, the
Bernoulli read-out against its closed form (eq. ``physics-vae-factorised-energy``) by
Monte Carlo, the straight-through gradient, that a short training moves the energies at
a cold and a hot temperature apart in the right direction, and the numbers the page
states about its committed checkpoints.
"""

from __future__ import annotations

import functools
import math
import time

import numpy as np
import pytest
import torch
import torch.nn as nn

import genmod
from genmod import ising
from genmod.checkpoints import committed_dir, find_checkpoint
from genmod.gan import critic_loss, gradient_penalty
from genmod.ising import T_C
from genmod.torchutils import get_device
from notebook_code import notebook_config, notebook_functions

NB = "book/physics/cgan_ising_torch.py"
T_RANGE = (1.5, 3.5)


@functools.cache
def nb():
    """The notebook's definitions (taken on first use, inside a test)."""
    config = notebook_config(NB, scale="quick")
    get_device(verbose=False)             # the thread policy of the notebooks (GENMOD_THREADS)
    namespace = {
        "torch": torch,
        "nn": nn,
        "np": np,
        "time": time,
        "ising": ising,
        "T_C": T_C,
        "genmod": genmod,
        "critic_loss": critic_loss,
        "gradient_penalty": gradient_penalty,
        "config": config,
    }
    return notebook_functions(
        NB,
        [
            "CGAN",
            "temperature_feature",
            "sample_noise",
            "bernoulli_spins",
            "generate_lattices",
            "critic_step",
            "generator_step",
            "log_energies",
            "train_cgan",
            "MODEL_SETTINGS",
            "checkpoint_config",
        ],
        namespace,
    )


def quick_config(**changes):
    """The notebook's model settings at quick scale (those train_cgan and CGAN read), with
    changes."""
    return nb()["config"].subset(*nb()["MODEL_SETTINGS"], "log_every", "num_steps", **changes)


def shift_errors(nets, config, seed=0):
    """max |G(rolled h) - rolled G(h)| and max |f(rolled s) - f(s)| for a roll by (3, 5) sites."""
    torch.manual_seed(seed)
    h_loc, h_glob = nb()["sample_noise"](8, config)
    tau = nb()["temperature_feature"](np.full(8, 2.3), T_RANGE)
    s = torch.where(torch.rand(8, config.L, config.L) < 0.5, 1.0, -1.0)
    with torch.no_grad():
        g = nets["generator"](h_loc, h_glob, tau)
        g_rolled_input = nets["generator"](torch.roll(h_loc, (3, 5), dims=(2, 3)), h_glob, tau)
        f, f_rolled = (
            nets["critic"](s, tau),
            nets["critic"](torch.roll(s, (3, 5), dims=(1, 2)), tau),
        )
    return (float((g_rolled_input - torch.roll(g, (3, 5), dims=(1, 2))).abs().max()),
            float((f_rolled - f).abs().max()))


def test_networks_are_equivariant_on_the_torus_and_zero_padding_is_not():
    """Circular padding: translating the noise field translates G's output; the critic is invariant.
    Zero padding breaks both."""
    config = quick_config()
    torch.manual_seed(1)
    gen_err, critic_err = shift_errors(nb()["CGAN"](config), config)
    assert gen_err < 1e-5 and critic_err < 1e-5, (gen_err, critic_err)
    torch.manual_seed(1)
    gen_err0, critic_err0 = shift_errors(nb()["CGAN"](config, padding_mode="zeros"), config)
    assert gen_err0 > 1e-3 and critic_err0 > 1e-5, (gen_err0, critic_err0)


def test_the_networks_use_circular_padding_everywhere():
    nets = nb()["CGAN"](quick_config())
    convs = [m for m in nets.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(c.padding_mode == "circular" and c.padding == (1, 1) for c in convs)


@pytest.mark.parametrize("readout", ["bernoulli", "sign"])
def test_generator_returns_int8_spin_lattices_at_any_requested_temperature(readout):
    config = quick_config()
    gen = nb()["CGAN"](config)["generator"].eval()
    for t in (1.5, 2.0, 2.35, 2.8, 3.5, T_C):
        spins, g = nb()["generate_lattices"](
            gen, t, 7, config, T_RANGE, readout=readout, seed=3, return_means=True
        )
        assert spins.dtype == np.int8 and spins.shape == (7, config.L, config.L)
        assert set(np.unique(spins)) <= {-1, 1}
        assert g.shape == spins.shape and np.all(np.abs(g) < 1)
        if readout == "sign":
            assert np.array_equal(spins, np.where(g >= 0, 1, -1))
    again = nb()["generate_lattices"](gen, 2.35, 7, config, T_RANGE, readout=readout, seed=3)
    assert np.array_equal(
        again, nb()["generate_lattices"](gen, 2.35, 7, config, T_RANGE, readout=readout, seed=3)
    )


@pytest.mark.parametrize(
    "bad, message",
    [
        (0.0, "> 0"),
        (-1.0, "> 0"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (1.2, "outside the training range"),
        (4.0, "outside the training range"),
        ([2.0, 2.3], "one number"),
    ],
)
def test_generator_refuses_bad_temperatures(bad, message):
    config = quick_config()
    gen = nb()["CGAN"](config)["generator"]
    with pytest.raises(ValueError, match=message):
        nb()["generate_lattices"](gen, bad, 4, config, T_RANGE)


def test_generator_refuses_bad_requests_and_extrapolates_only_when_asked():
    config = quick_config()
    gen = nb()["CGAN"](config)["generator"]
    for num in (0, -3, 2.5):
        with pytest.raises(ValueError, match="positive integer"):
            nb()["generate_lattices"](gen, 2.3, num, config, T_RANGE)
    with pytest.raises(ValueError, match="readout"):
        nb()["generate_lattices"](gen, 2.3, 4, config, T_RANGE, readout="round")
    with pytest.raises(ValueError, match="1-D"):
        nb()["temperature_feature"](np.full((2, 2), 2.3), T_RANGE)
    tau = nb()["temperature_feature"](np.array([4.0]), T_RANGE, allow_extrapolation=True)
    assert tau.shape == (1, 1) and math.isclose(float(tau), (4.0 - T_C) / 0.5, rel_tol=1e-6)
    grid = np.array([1.5, 2.0, T_C, 2.8, 3.5])
    tau = nb()["temperature_feature"](grid, T_RANGE, temperature_scale=0.5)
    assert tau.shape == (5, 1) and tau.dtype == torch.float32
    # tau = (T - T_c) / Delta T, unclipped
    assert np.allclose(tau[:, 0].numpy(), (grid - T_C) / 0.5, atol=1e-6)


def test_bernoulli_readout_has_mean_g_and_the_factorised_energy():
    r"""E[s_i | g] = g_i and E[E(s) | g] = -J sum_<ij> g_i g_j (eq. physics-vae-factorised-energy),
    by Monte Carlo."""
    rng = torch.Generator().manual_seed(0)
    # one lattice of spin means
    g = torch.tanh(2 * torch.randn(8, 8, generator=rng, dtype=torch.float64))
    n = 40_000
    s = nb()["bernoulli_spins"](g.expand(n, 8, 8).contiguous(), generator=rng)
    assert s.dtype == g.dtype and set(s.unique().tolist()) == {-1.0, 1.0}
    mean_se = np.sqrt((1 - g.numpy() ** 2) / n)
    assert np.all(np.abs(s.mean(0).numpy() - g.numpy()) < 5 * mean_se + 1e-12)
    # (n,), units of J
    e = ising.energy(s.numpy().astype(np.int8))
    # -J sum over bonds of g_i g_j
    e_closed = -float((g * (torch.roll(g, 1, 0) + torch.roll(g, 1, 1))).sum())
    assert abs(e.mean() - e_closed) < 4 * e.std() / np.sqrt(n), (e.mean(), e_closed)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        nb()["bernoulli_spins"](torch.tensor([0.5, 1.5]))


def test_straight_through_spins_pass_the_gradient_of_g_unchanged():
    g = torch.tanh(torch.randn(5, 8, 8)).requires_grad_(True)
    w = torch.randn(5, 8, 8)
    s = nb()["bernoulli_spins"](
        g, straight_through=True, generator=torch.Generator().manual_seed(1)
    )
    assert set(s.detach().unique().tolist()) <= {-1.0, 1.0}
    (w * s).sum().backward()
    assert torch.allclose(g.grad, w)


@pytest.mark.slow
def test_a_short_training_moves_the_energies_of_cold_and_hot_lattices_apart():
    r"""After a short run (Bernoulli read-out) the generated lattices at T = 1.5 have a lower energy
    than those at T = 3.5, by a margin much larger than the untrained generator's (which nearly
    ignores T).

    (The continuous read-out first saturates g to one sign everywhere and separates the temperatures
    only later, so
    a short run does not test it; its trained checkpoint is tested below.)"""
    train_readout = "bernoulli"
    temps = np.array([1.5, 3.5])
    data = ising.ising_dataset(8, temps, 400, sampler="wolff", num_chains=20, seed=0, verbose=False)
    spins = np.concatenate([s.flat() for s in data.samples])
    labels = np.repeat(temps, 400)
    config = quick_config(train_readout=train_readout, log_every=1000)
    readout = "sign" if train_readout == "continuous" else "bernoulli"

    def energy_gap(gen):
        e = [
            ising.energy_per_spin(
                nb()["generate_lattices"](gen, t, 500, config, (1.5, 3.5), readout=readout, seed=5),
                config.J,
            ).mean()
            for t in temps
        ]
        return e[1] - e[0]                                         # E(3.5) - E(1.5); exact: +1.29

    torch.manual_seed(config.seed)
    untrained_gap = energy_gap(nb()["CGAN"](config)["generator"].eval())
    nets, history = nb()["train_cgan"](config, spins, labels, num_steps=300, seed=0)
    trained_gap = energy_gap(nets["generator"])
    assert history["step"] == [300] and len(history["w_estimate"]) == 1
    print(f"energy gap E(3.5) - E(1.5): untrained {untrained_gap:.3f}, trained {trained_gap:.3f}")
    assert trained_gap > 0.3 and trained_gap > abs(untrained_gap) + 0.25, (
        untrained_gap,
        trained_gap,
    )


def test_train_cgan_refuses_bad_inputs():
    config = quick_config()
    with pytest.raises(ValueError, match="spins"):
        nb()["train_cgan"](config, np.ones((4, 8, 8)), np.ones(3), num_steps=1)
    with pytest.raises(ValueError, match="train_readout"):
        nb()["train_cgan"](
            quick_config(train_readout="sign"), np.ones((4, 8, 8)), np.full(4, 2.0), num_steps=1
        )


@functools.cache
def checkpoint_lattices(train_readout=None):
    """A committed checkpoint's lattices over its own grid, drawn as the notebook drew them in the
    reference run (the same seeds): the page states the reference run's numbers as text.

    ``train_readout=None``: the notebook's own (``config.train_readout``), the model of its headline
    numbers.
    """
    book = notebook_config(NB, scale="book")
    ckpt_config = nb()["checkpoint_config"](book, train_readout or book.train_readout)
    found = find_checkpoint("cgan_ising_torch", ckpt_config)
    assert found is not None, (
        f"no committed checkpoint for {ckpt_config} in {committed_dir('cgan_ising_torch')}"
    )
    assert (
        found.provenance["builder"] == "CGAN"
        and found.provenance["config"] == ckpt_config.as_dict()
    )
    nets = nb()["CGAN"](ckpt_config)
    nets.load_state_dict(torch.load(found.path, map_location="cpu", weights_only=True), strict=True)
    nets.eval()
    # the reference run whose numbers the page states: the checkpoint's own grid and seeds
    temps = np.array(ckpt_config.temperatures)
    held = np.array(book.held_out)
    t_range = (float(temps[~np.isin(temps, held)].min()), float(temps[~np.isin(temps, held)].max()))
    readout = "sign" if ckpt_config.train_readout == "continuous" else "bernoulli"
    lattices = np.stack([nb()["generate_lattices"](nets["generator"], t, book.num_generated,
                                                   ckpt_config, t_range, readout=readout,
                                                   seed=book.seed + 1000 + k)
                         for k, t in enumerate(temps)])
    return book, temps, lattices, ising.compare_with_exact(lattices, temps, J=book.J)


@pytest.mark.slow
def test_checkpoint_energy_matches_within_the_stated_percentages_left_out_temperatures_included():
    """The page: the checkpoint's energy per spin is within 7% of Kaufman's at every temperature of
    the grid (so also
    away from T_c, |T - T_c| > 0.15), and within 6% at the three left-out temperatures."""
    book, temps, _, cmp = checkpoint_lattices()
    assert cmp.max_abs_energy_rel(book.away_from_tc) < 0.07 and cmp.max_abs_energy_rel(0.0) < 0.07
    held = np.isin(temps, book.held_out)
    assert held.sum() == 3 and np.max(np.abs(cmp.energy_rel[held])) < 0.06


@pytest.mark.slow
def test_checkpoint_overestimates_the_fluctuations_and_misses_the_peak_low():
    """The page: C is too large by more than 40% at every temperature from 1.5 to 3.0 (the
    fluctuations are the hard
    part), and the peak of the measured C(T) lies more than 0.1 (the target) but less than 0.2 below
    the exact T*."""
    book, temps, _, cmp = checkpoint_lattices()
    inner = temps <= 3.0
    assert np.all(cmp.specific_heat_rel[inner] > 0.4), cmp.specific_heat_rel
    t_star, _ = ising.exact_specific_heat_peak(book.L, J=book.J)
    assert 0.1 < t_star - cmp.specific_heat_peak() < 0.2, cmp.specific_heat_peak()


@pytest.mark.slow
def test_checkpoint_draws_both_signs_of_the_magnetisation_below_tc():
    """The page: no collapse onto one sign of m; below T_c between 40% and 60% of the lattices have
    m > 0."""
    _, temps, lattices, _ = checkpoint_lattices()
    m = lattices.reshape(len(temps), lattices.shape[1], -1).mean(axis=2)
    for k in np.flatnonzero(temps < T_C):
        frac = np.mean(m[k][m[k] != 0] > 0)
        assert 0.4 < frac < 0.6, (temps[k], frac)


@pytest.mark.slow
def test_bernoulli_checkpoint_trades_the_errors_as_the_page_says():
    """The page, on the model trained with Bernoulli spins: energy within 3% for T >= 2.4 and at T =
    1.5 but too
    ordered by more than 3% from T = 1.8 to 2.35; C less overestimated than the continuous model's
    from T = 2.0 to
    2.6, its peak within 0.1 of the exact T*, C more than 3 times too large at T <= 1.8; fewer than
    45% of its lattices
    at T = 1.5 have m > 0."""
    book, temps, lattices, bern = checkpoint_lattices("bernoulli")
    _, _, _, cont = checkpoint_lattices("continuous")
    assert np.all(np.abs(bern.energy_rel[(temps >= 2.4) | (temps == 1.5)]) < 0.03)
    assert np.all(bern.energy_rel[(temps >= 1.8) & (temps <= 2.35)] < -0.03)
    near = (temps >= 2.0) & (temps <= 2.6)
    assert np.all(bern.specific_heat_rel[near] < cont.specific_heat_rel[near])
    t_star, _ = ising.exact_specific_heat_peak(book.L, J=book.J)
    assert abs(bern.specific_heat_peak() - t_star) < 0.1
    assert np.all(bern.specific_heat_rel[temps <= 1.8] > 2.0)
    m = lattices[0].reshape(len(lattices[0]), -1).mean(axis=1)
    assert temps[0] == 1.5 and np.mean(m[m != 0] > 0) < 0.45
