"""The building blocks of book/gans/gan_mnist_torch.py, taken from the notebook itself.

The notebook defines its networks, its noise and its losses inline (the model is the
lesson), so these tests read those function definitions from the paired .py file
and check them: output shapes and ranges, dropout only in training mode, the noise
moments against their closed forms, and the discriminator loss against the value
function at D = 1/2 (eqs. gans-value-function and gans-loss-at-optimum).
"""

import math

import pytest
from notebook_code import notebook_functions

torch = pytest.importorskip("torch")
nn = torch.nn

NAMES = ("make_generator_network", "make_discriminator_network", "create_noise")


@pytest.fixture(scope="module")
def nb():
    """The notebook's factory and noise functions, executed from its source."""
    return notebook_functions("book/gans/gan_mnist_torch.py", NAMES, {"torch": torch, "nn": nn})


@pytest.mark.parametrize("layers,units", [(1, 100), (2, 64)])
def test_generator_maps_noise_to_images_in_tanh_range(nb, layers, units):
    torch.manual_seed(0)
    g = nb["make_generator_network"](input_size=20, num_hidden_layers=layers, num_hidden_units=units)
    linear = [m for m in g if isinstance(m, nn.Linear)]
    assert len(linear) == layers + 1
    assert [m.out_features for m in linear] == [units] * layers + [784]
    assert isinstance(g[-1], nn.Tanh)
    h = 10 * torch.randn(256, 20)  # large inputs push the outputs to saturation
    with torch.no_grad():
        x = g(h)
    assert x.shape == (256, 784)
    assert x.min() >= -1 and x.max() <= 1
    assert x.min() < -0.9 and x.max() > 0.9  # the whole tanh range is reachable


def test_discriminator_outputs_probabilities_and_uses_dropout_only_in_training(nb):
    torch.manual_seed(0)
    d = nb["make_discriminator_network"](input_size=784, num_hidden_layers=1, num_hidden_units=100)
    assert isinstance(d[-1], nn.Sigmoid)
    assert any(isinstance(m, nn.Dropout) and m.p == 0.5 for m in d)
    x = torch.rand(512, 784) * 2 - 1
    d.eval()
    with torch.no_grad():
        p1, p2 = d(x), d(x)
    assert p1.shape == (512, 1)
    assert ((p1 > 0) & (p1 < 1)).all()
    assert torch.equal(p1, p2), "in eval mode the discriminator must be deterministic"
    d.train()
    with torch.no_grad():
        q1, q2 = d(x), d(x)
    assert not torch.equal(q1, q2), "in training mode dropout must make the outputs random"


@pytest.mark.parametrize("mode,mean,var,lo,hi", [("uniform", 0.0, 1 / 3, -1.0, 1.0), ("normal", 0.0, 1.0, -math.inf, math.inf)])
def test_noise_moments_match_the_closed_form(nb, mode, mean, var, lo, hi):
    torch.manual_seed(0)
    n, k = 20_000, 20
    h = nb["create_noise"](n, k, mode)
    assert h.shape == (n, k)
    assert h.min() >= lo and h.max() <= hi
    se_mean = math.sqrt(var / (n * k))
    assert abs(h.mean().item() - mean) < 5 * se_mean
    # var of the sample variance: (mu4 - sigma^4) / N; mu4 = 1/5 (uniform), 3 (normal)
    mu4 = 0.2 if mode == "uniform" else 3.0
    se_var = math.sqrt((mu4 - var**2) / (n * k))
    assert abs(h.var().item() - var) < 5 * se_var


def test_noise_rejects_unknown_mode(nb):
    with pytest.raises(ValueError):
        nb["create_noise"](4, 2, "laplace")


def test_discriminator_bce_loss_is_minus_the_value_function(nb):
    # L_D = BCE(D(x), 1) + BCE(D(G(h)), 0) = -v(G, D) on a minibatch; at D = 1/2 it is log 4.
    torch.manual_seed(0)
    loss_fn = nn.BCELoss()
    d_real, d_fake = torch.rand(1000, 1) * 0.98 + 0.01, torch.rand(1000, 1) * 0.98 + 0.01
    d_loss = loss_fn(d_real, torch.ones_like(d_real)) + loss_fn(d_fake, torch.zeros_like(d_fake))
    value = torch.log(d_real).mean() + torch.log(1 - d_fake).mean()
    assert d_loss.item() == pytest.approx(-value.item(), rel=1e-5)
    half = torch.full((10, 1), 0.5)
    at_half = loss_fn(half, torch.ones_like(half)) + loss_fn(half, torch.zeros_like(half))
    assert at_half.item() == pytest.approx(math.log(4), rel=1e-6)


def test_fresh_discriminator_is_near_one_half(nb):
    # Before training D's outputs on G's images are close to 1/2, so the first losses
    # start near log 4 and log 2.
    torch.manual_seed(0)
    g = nb["make_generator_network"](input_size=20, num_hidden_layers=1, num_hidden_units=128)
    d = nb["make_discriminator_network"](input_size=784, num_hidden_layers=1, num_hidden_units=128)
    d.eval()
    with torch.no_grad():
        d_fake = d(g(nb["create_noise"](256, 20, "normal")))
    assert abs(d_fake.mean().item() - 0.5) < 0.1
