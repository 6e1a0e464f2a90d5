r"""The VAE of Ising configurations, book/physics/ising_vae_torch: its sampler, its exact
references, its bounds.

The notebook's own functions are taken from its .py (tests/notebook_code.py):

- ``mean_field_energy`` is eq. ``physics-vae-factorised-energy``: the mean energy of lattices
  drawn spin by spin from a factorised Bernoulli decoder equals the energy of the mean
  configuration (Monte Carlo against the closed form);
- ``genmod.ising.log_likelihood`` and ``mixture_log_likelihood`` (eq. ``physics-vae-mixture``)
  normalise over all 2^16 states of the 4 x 4 torus, and the entropy bound
  ``physics-vae-entropy-bound`` (-S = -(beta <E> + ln Z)) equals the enumerated sum
  -S = sum_s p log p;
- ``log_marginal_quadrature`` (the exact log p_theta(x) of a VAE with d_h = 2) normalises over
  all states of 2 x 2 and 3 x 3 lattices;
- on a briefly trained model, ELBO < L_K <= log p_theta(x) (quadrature), with L_K close to it
  for large K, and the gap log p_theta(x) - ELBO(x) equals KL(q(h|x) || p(h|x)) computed on the
  quadrature grid (eq. ``vae-elbo-decomposition``); the model's mean log-likelihood stays below
  the exact one of the mixture (Gibbs' inequality);
- a short training makes the latent mean correlate with the magnetisation (and an untrained
  encoder does not reach that correlation); its aggregate-posterior samples keep <|m|> but lose
  the energy at high temperature, as the page says;
- ``sample_aggregate_posterior`` and ``sample_prior`` return int8 +-1 lattices of the right
  shape, follow the decoder's Bernoulli means, and refuse bad input.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.special import logsumexp
from torch import nn
from torch.distributions import Normal

from genmod import ising
from genmod.ising_rbm import spins_to_visible, visible_to_spins
from genmod.vae import (
    bernoulli_log_likelihood,
    gaussian_kl_standard_normal,
    iwae_bound,
    iwae_log_weights,
)
from notebook_code import notebook_config, notebook_functions

NOTEBOOK = "book/physics/ising_vae_torch.py"
NAMES = [
    "Encoder",
    "Decoder",
    "elbo_terms",
    "train_vae",
    "sample_aggregate_posterior",
    "sample_prior",
    "mean_field_energy",
    "log_marginal_quadrature",
    "mixture_log_likelihood",
    "elbo_and_iwae",
    "latent_magnetisation",
    "latent_spread",
]


@pytest.fixture(scope="module")
def nb():
    return notebook_functions(NOTEBOOK, NAMES, {
        "np": np, "torch": torch, "nn": nn, "F": F, "Normal": Normal, "ising": ising, "math": math,
        "logsumexp": logsumexp, "bernoulli_log_likelihood": bernoulli_log_likelihood,
        "gaussian_kl_standard_normal": gaussian_kl_standard_normal, "iwae_bound": iwae_bound,
        "iwae_log_weights": iwae_log_weights, "spins_to_visible": spins_to_visible,
        "visible_to_spins": visible_to_spins})


def _all_states(L):
    return ising.all_spin_states(L, L)                                   # (2^(L^2), L, L) int8


TEMPS = np.array([1.5, 2.0, 2.3, 2.6, 3.5])


@pytest.fixture(scope="module")
def trained(nb):
    """A d_h = 2 VAE trained for a few epochs on 8 x 8 Wolff lattices of five temperatures (and its
    untrained twin)."""
    data = ising.ising_dataset(
        8, TEMPS, 400, sampler="wolff", num_chains=20, seed=5, cache=False, verbose=False
    )
    spins = data.spins()                                                 # (n_T, 400, 8, 8)
    train, test = spins[:, :320], spins[:, 320:]
    torch.manual_seed(0)
    enc, dec = nb["Encoder"](2, 128, 64), nb["Decoder"](2, 128, 64)
    enc0, dec0 = nb["Encoder"](2, 128, 64), nb["Decoder"](2, 128, 64)
    enc0.load_state_dict(enc.state_dict()), dec0.load_state_dict(dec.state_dict())
    x = spins_to_visible(train.reshape(-1, 8, 8))
    torch.manual_seed(1)
    history = nb["train_vae"](
        enc, dec, x, num_epochs=8, batch_size=64, lr=1e-3, seed=0, log_every=0
    )
    return dict(enc=enc, dec=dec, enc0=enc0.eval(), dec0=dec0.eval(), test=test, history=history)


def _latent_u(enc, nb, spins):
    """The notebook's latent magnetisation of lattices (n_T, n, 8, 8), and their magnetisations."""
    with torch.no_grad():
        mu = (
            enc(spins_to_visible(spins.reshape(-1, 8, 8))).loc.numpy().reshape(*spins.shape[:2], -1)
        )
    m = ising.magnetisation(spins)
    u, _ = nb["latent_magnetisation"](mu, m)
    return u, m


def _latent_r2(enc, nb, spins):
    """R^2 of m against the latent magnetisation (the squared correlation the page prints)."""
    u, m = _latent_u(enc, nb, spins)
    return float(np.corrcoef(u.ravel(), m.ravel())[0, 1] ** 2)


# ---------------------------------------------------------------------------
# Input checks and the samplers
# ---------------------------------------------------------------------------

def test_pixels_round_trip_and_bad_input_is_refused(nb):
    s = _all_states(2)
    x = spins_to_visible(s)
    assert (
        x.dtype == torch.float32 and x.shape == (16, 4) and set(x.unique().tolist()) == {0.0, 1.0}
    )
    assert np.array_equal(visible_to_spins(x, 2), s)
    with pytest.raises(ValueError, match="\\+1 or -1"):
        spins_to_visible((s + 1) // 2)                              # {0, 1} spins are not accepted
    with pytest.raises(ValueError, match="two axes"):
        spins_to_visible(s[0, 0])                                   # not a lattice
    with pytest.raises(ValueError, match="exactly 0 or 1"):
        # Bernoulli means are not samples
        visible_to_spins(torch.full((2, 4), 0.5), 2)
    with pytest.raises(ValueError, match="L\\*L"):
        visible_to_spins(x, 3)


def _decoder_with_bias(nb, bias, d_h=2, num_spins=16):
    dec = nb["Decoder"](d_h, 8, num_spins)
    with torch.no_grad():
        dec.net[-1].weight.zero_()
        dec.net[-1].bias.copy_(torch.as_tensor(bias, dtype=torch.float32).expand(num_spins))
    return dec.eval()


@pytest.mark.slow
def test_samplers_return_int8_lattices_that_follow_the_bernoulli_means(nb):
    enc = nb["Encoder"](2, 8, 16).eval()
    spins = _all_states(4)[:: 997][:40]                                   # 40 lattices, 4 x 4
    gen = torch.Generator().manual_seed(0)
    for bias, expected in ((30.0, 1), (-30.0, -1)):
        dec = _decoder_with_bias(nb, bias)
        out = nb["sample_aggregate_posterior"](enc, dec, spins, generator=gen)
        assert out.dtype == np.int8 and out.shape == (40, 4, 4) and np.all(out == expected)
        prior = nb["sample_prior"](dec, 25, 4, generator=gen)
        assert prior.dtype == np.int8 and prior.shape == (25, 4, 4) and np.all(prior == expected)
    # logit(0.8): each spin is +1 with probability 0.8, independently
    dec = _decoder_with_bias(nb, math.log(4.0))
    many = np.concatenate(
        [nb["sample_aggregate_posterior"](enc, dec, spins, generator=gen) for _ in range(50)]
    )
    frac = (many == 1).mean()
    assert abs(frac - 0.8) < 4 * math.sqrt(0.8 * 0.2 / many.size)
    assert set(np.unique(many)) == {-1, 1}
    with pytest.raises(ValueError):
        nb["sample_aggregate_posterior"](enc, dec, (spins + 1) // 2, generator=gen)


@pytest.mark.slow
def test_aggregate_posterior_samples_of_a_trained_model_have_the_right_shape(nb, trained):
    out = nb["sample_aggregate_posterior"](trained["enc"], trained["dec"], trained["test"][0])
    assert out.dtype == np.int8 and out.shape == trained["test"][0].shape
    assert np.isin(out, (-1, 1)).all()


# ---------------------------------------------------------------------------
# Eq. physics-vae-factorised-energy
# ---------------------------------------------------------------------------

def test_mean_field_energy_is_the_mean_energy_of_factorised_samples(nb):
    """Monte Carlo energy of spins drawn independently with means tanh(l/2) against the closed
    form."""
    gen = torch.Generator().manual_seed(3)
    # four decoders' outputs, 4 x 4
    logits = 3 * torch.randn(4, 16, generator=gen) + torch.linspace(-2, 2, 16)
    closed = nb["mean_field_energy"](logits, 4).numpy()
    # (S, 4, 16)
    draws = torch.bernoulli(torch.sigmoid(logits).expand(40_000, 4, 16), generator=gen)
    s = (2 * draws - 1).to(torch.int8).reshape(40_000, 4, 4, 4).numpy()
    e = ising.energy_per_spin(s)                                                    # (S, 4)
    mc, se = e.mean(0), e.std(0, ddof=1) / math.sqrt(len(e))
    assert np.all(np.abs(mc - closed) < 4 * se), (mc, closed, se)
    # deterministic decoders (logits +-40) reproduce the energy of the lattice they encode
    lattices = _all_states(4)[[0, 1234, 40000, 65535]]
    sharp = 80 * (torch.from_numpy(lattices.reshape(4, 16)).float() / 2)
    assert np.allclose(
        nb["mean_field_energy"](sharp, 4).numpy(), ising.energy_per_spin(lattices), atol=1e-6
    )
    with pytest.raises(ValueError):
        nb["mean_field_energy"](logits, 3)


# ---------------------------------------------------------------------------
# Exact references: eqs. physics-vae-mixture and physics-vae-entropy-bound
# ---------------------------------------------------------------------------

def test_exact_log_likelihoods_normalise_and_give_the_entropy(nb):
    # all 65,536 states
    states = _all_states(4)
    log_p = ising.log_likelihood(states, TEMPS)                               # (2^16, n_T)
    assert log_p.shape == (2**16, len(TEMPS))
    # each p_T sums to one
    assert np.allclose(logsumexp(log_p, axis=0), 0.0, atol=1e-10)
    log_mix = nb["mixture_log_likelihood"](states, TEMPS)
    # the mixture sums to one
    assert abs(logsumexp(log_mix)) < 1e-10
    # a mean is below the max
    assert np.all(log_mix <= log_p.max(1) + 1e-12)
    # and above max / n_T
    assert np.all(log_mix >= log_p.max(1) - math.log(len(TEMPS)) - 1e-12)
    # -S(T) = -(N <e> / T + ln Z), the entropy bound, against the enumerated sum of p log p
    exact = ising.exact_enumeration(4, TEMPS)
    neg_entropy = -(16 * exact.energy / TEMPS + exact.log_z)
    enumerated = (np.exp(log_p) * log_p).sum(0)
    assert np.allclose(neg_entropy, enumerated, rtol=0, atol=1e-9)
    # Gibbs: the mixture's log-likelihood averaged over p_T is below -S(T)
    assert np.all((np.exp(log_p) * log_mix[:, None]).sum(0) <= enumerated + 1e-12)


# ---------------------------------------------------------------------------
# The exact log p_theta(x) by quadrature, and the bounds below it
# ---------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("L", [2, 3])
def test_quadrature_log_likelihood_normalises_over_all_states(nb, L):
    torch.manual_seed(L)
    dec = nb["Decoder"](2, 32, L * L).eval()
    with torch.no_grad():
        # sharper than at initialisation
        dec.net[-1].weight.mul_(3.0)
    x = spins_to_visible(_all_states(L))
    log_q = nb["log_marginal_quadrature"](dec, x, num_points=201)
    assert abs(logsumexp(log_q)) < 1e-6
    with pytest.raises(ValueError, match="d_h = 2"):
        nb["log_marginal_quadrature"](nb["Decoder"](3, 8, L * L), x, num_points=11)


@pytest.mark.slow
def test_elbo_below_iwae_below_the_quadrature_log_likelihood(nb, trained):
    enc, dec = trained["enc"], trained["dec"]
    # 150 held-out lattices
    x = spins_to_visible(trained["test"][:, :30].reshape(-1, 8, 8))
    gen = torch.Generator().manual_seed(4)
    elbo, iwae = nb["elbo_and_iwae"](enc, dec, x, 2000, generator=gen)
    _, iwae_10 = nb["elbo_and_iwae"](enc, dec, x, 10, generator=gen)
    quad = nb["log_marginal_quadrature"](dec, x, num_points=301)
    gap = quad - elbo
    assert elbo.mean() < iwae_10.mean() < iwae.mean()
    # L_K <= log p(x): the mean of d is <= 0
    d = iwae - quad
    # up to its noise (one-sided, 3 se)
    assert d.mean() < 3 * d.std(ddof=1) / math.sqrt(len(d))
    # K = 2000 closes most of the gap
    assert quad.mean() - iwae.mean() < 0.1 * gap.mean()
    # the gap is KL(q(h|x) || p(h|x)), with p(h|x) = p(x|h) p(h) / p(x) on the quadrature grid
    axis = torch.linspace(-6, 6, 301, dtype=torch.float64)
    h = torch.cartesian_prod(axis, axis)
    dh2 = float(axis[1] - axis[0]) ** 2
    with torch.no_grad():
        q = enc(x[:20])
        logits = dec(h.float()).double()
        log_lik = x[:20].double() @ logits.T - F.softplus(logits).sum(-1)  # (20, G)
        log_post = (
            log_lik + Normal(0.0, 1.0).log_prob(h).sum(-1) - torch.from_numpy(quad[:20])[:, None]
        )
        # (20, G)
        log_q = Normal(q.loc.double()[:, None], q.scale.double()[:, None]).log_prob(h).sum(-1)
        kl = (torch.exp(log_q) * (log_q - log_post)).sum(-1) * dh2
        # E_q[log p(x|h)] on the grid
        rec = (torch.exp(log_q) * log_lik).sum(-1) * dh2
        elbo_grid = rec - gaussian_kl_standard_normal(q.loc.double(), 2 * q.scale.double().log())
    assert torch.allclose(torch.from_numpy(quad[:20]) - elbo_grid, kl, atol=1e-4)
    assert torch.all(kl > 0)
    # Gibbs' inequality: no model beats the exact mixture on average (one-sided, 3 standard errors)
    diff = quad - nb["mixture_log_likelihood"](trained["test"][:, :30].reshape(-1, 8, 8), TEMPS)
    assert diff.mean() < 3 * diff.std(ddof=1) / math.sqrt(len(diff))


# ---------------------------------------------------------------------------
# Training: the order parameter, and the failure the page reports
# ---------------------------------------------------------------------------

@pytest.mark.slow
def test_short_training_moves_the_latent_mean_to_correlate_with_m(nb, trained):
    r2_trained = _latent_r2(trained["enc"], nb, trained["test"])
    r2_untrained = _latent_r2(trained["enc0"], nb, trained["test"])
    assert r2_trained > 0.95, r2_trained
    assert r2_trained > r2_untrained + 0.05, (r2_trained, r2_untrained)
    assert trained["history"]["elbo"][-1] > trained["history"]["elbo"][0]


@pytest.mark.slow
def test_latent_spread_peaks_near_tc(nb, trained):
    """The page's claim that sd(|u|) per temperature marks the transition: largest at 2.3 or 2.6 of
    (1.5, ..., 3.5)."""
    spread = nb["latent_spread"](_latent_u(trained["enc"], nb, trained["test"])[0])
    k = int(np.argmax(spread))
    assert TEMPS[k] in (2.3, 2.6), spread
    assert spread[k] > 1.5 * max(spread[0], spread[-1]), spread           # a peak, not a drift
    untrained = nb["latent_spread"](_latent_u(trained["enc0"], nb, trained["test"])[0])
    assert untrained.max() < 1.5 * max(untrained[0], untrained[-1]), untrained


@pytest.mark.slow
def test_factorised_samples_keep_the_magnetisation_but_lose_the_energy_when_hot(nb, trained):
    """The page's finding, at the hottest temperature: <|m|> close to the data's, the energy far
    above the exact one."""
    gen = torch.Generator().manual_seed(6)
    samples = [
        nb["sample_aggregate_posterior"](trained["enc"], trained["dec"], s, generator=gen)
        for s in trained["test"]
    ]
    cmp_ = ising.compare_with_exact(samples, TEMPS)
    data = ising.compare_with_exact(list(trained["test"]), TEMPS)
    # T = 3.5: > 20 % too high
    assert cmp_.energy_rel[-1] > 0.2
    # the data are right there
    assert abs(data.energy_rel[-1]) < 0.1
    m_vae = cmp_.observed[0].abs_magnetisation.value
    m_data = data.observed[0].abs_magnetisation.value
    # T = 1.5: the order is kept
    assert abs(m_vae - m_data) < 0.1


def test_config_states_what_away_from_tc_means():
    """The notebook's settings at every scale, and the grid it reads: the physics part's one
    data set, whose grid brackets the peak T* = 2.362 and whose chains hold out whole chains."""
    for scale in ("quick", "book", "full"):
        cfg = notebook_config(NOTEBOOK, scale=scale)
        assert cfg.away_from_tc > 0 and cfg.latent_dim == 2
        settings = ising.BOOK_DATASET[scale]
        assert (settings["L"], settings["J"]) == (cfg.L, cfg.J)
        assert 0 < cfg.held_out_chains < settings["num_chains"]
        t = np.array(settings["temperatures"])
        assert np.all(np.diff(t) > 0)
        assert {2.2, 2.3, 2.35, 2.4, 2.5} <= set(settings["temperatures"])
