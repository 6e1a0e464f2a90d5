"""The building blocks of book/gans/gan_mnist_torch.py, taken from the notebook itself.

The notebook defines its networks, its noise, its loss and its two training steps
inline (the model is the lesson), so these tests read those definitions from the
paired .py file and check them: output shapes and ranges, dropout only in training
mode, the noise moments against their closed forms, and one step of each player
against the same step written out from the chapter's equations: the discriminator
descends L_D = -v(G, D) on the minibatch (eq. gans-value-function) without touching
the generator, the generator descends the non-saturating loss -mean log D(G(h))
(eq. gans-nonsaturating-loss, not the saturating one) without touching the
discriminator, and at D = 1/2 the two losses are log 4 and log 2 (eq. gans-loss-at-optimum).
"""

import ast
import copy
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from notebook_code import notebook_functions

torch = pytest.importorskip("torch")
nn = torch.nn

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "book/gans/gan_mnist_torch.py"
# Monte Carlo tolerance, in standard errors computed from the closed-form variances: a
# correct sampler misses by more with probability 2 (1 - Phi(5)) = 5.7e-7 per comparison.
NUM_SE = 5.0
NAMES = ("make_generator_network", "make_discriminator_network", "create_noise")


@pytest.fixture(scope="module")
def nb():
    """The notebook's factory and noise functions, executed from its source."""
    return notebook_functions(NOTEBOOK, NAMES, {"torch": torch, "nn": nn})


@pytest.mark.parametrize("layers,units", [(1, 100), (2, 64)])
def test_generator_maps_noise_to_images_in_tanh_range(nb, layers, units):
    torch.manual_seed(0)
    g = nb["make_generator_network"](
        input_size=20, num_hidden_layers=layers, num_hidden_units=units
    )
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


@pytest.mark.parametrize(
    "mode,mean,var,lo,hi",
    [("uniform", 0.0, 1 / 3, -1.0, 1.0), ("normal", 0.0, 1.0, -math.inf, math.inf)],
)
def test_noise_moments_match_the_closed_form(nb, mode, mean, var, lo, hi):
    torch.manual_seed(0)
    n, k = 20_000, 20
    h = nb["create_noise"](n, k, mode)
    assert h.shape == (n, k)
    assert h.min() >= lo and h.max() <= hi
    se_mean = math.sqrt(var / (n * k))
    assert abs(h.mean().item() - mean) < NUM_SE * se_mean
    # var of the sample variance: (mu4 - sigma^4) / N; mu4 = 1/5 (uniform), 3 (normal)
    mu4 = 0.2 if mode == "uniform" else 3.0
    se_var = math.sqrt((mu4 - var**2) / (n * k))
    assert abs(h.var().item() - var) < NUM_SE * se_var


def test_noise_rejects_unknown_mode(nb):
    with pytest.raises(ValueError):
        nb["create_noise"](4, 2, "laplace")


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


# ---------------------------------------------------------------------------
# One training step of each player, against the equations
# ---------------------------------------------------------------------------

# small networks: the step, not the scale, is under test
DATA_DIM, Z_SIZE, BATCH, LR = 6, 4, 32, 0.05


def notebook_assignment(relpath: str, name: str, namespace: dict):
    """Evaluate the right-hand side of the notebook's top-level ``name = <expression>`` in
    ``namespace``."""
    tree = ast.parse((ROOT / relpath).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [
            name
        ]:
            return eval(compile(ast.Expression(node.value), relpath, "eval"), namespace)
    raise AssertionError(f"{relpath} assigns no top-level {name}")


@pytest.fixture
def game(nb):
    """The notebook's d_train and g_train, running on small float64 networks with plain SGD.

    SGD without momentum makes a step exactly parameters - LR * gradient, so the step can be
    compared with the gradient of the loss written out from the chapter. The discriminator is
    in eval mode (no dropout) so that the written-out loss sees the same network.
    """
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    generator = nb["make_generator_network"](
        input_size=Z_SIZE, num_hidden_layers=1, num_hidden_units=8, num_output_units=DATA_DIM
    )
    discriminator = nb["make_discriminator_network"](
        input_size=DATA_DIM, num_hidden_layers=1, num_hidden_units=8
    )
    discriminator.eval()
    namespace = {
        "torch": torch, "nn": nn, "device": "cpu", "create_noise": nb["create_noise"],
        "config": SimpleNamespace(z_size=Z_SIZE, mode_z="normal"),
        "generator": generator, "discriminator": discriminator,
        # the notebook's loss
        "loss_fn": notebook_assignment(NOTEBOOK, "loss_fn", {"nn": nn, "torch": torch}),
        "g_optimizer": torch.optim.SGD(generator.parameters(), lr=LR),
        "d_optimizer": torch.optim.SGD(discriminator.parameters(), lr=LR),
    }
    yield notebook_functions(NOTEBOOK, ["d_train", "g_train"], namespace)
    torch.set_default_dtype(dtype)


def _params(net):
    return [p.detach().clone() for p in net.parameters()]


def _sgd_step(net, loss_of):
    """Parameters after one SGD step on loss_of(copy of net), computed on a copy; and the loss."""
    twin = copy.deepcopy(net)
    loss = loss_of(twin)
    grads = torch.autograd.grad(loss, list(twin.parameters()))
    return [p.detach() - LR * g for p, g in zip(twin.parameters(), grads)], loss.item()


def _assert_params(net, expected, **tol):
    for p, e in zip(net.parameters(), expected):
        torch.testing.assert_close(p.detach(), e, **tol)


def test_discriminator_step_descends_minus_the_value_function(game):
    r"""d_train: L_D = -[mean log D(x) + mean log(1 - D(G(h)))] (eq. gans-value-function), one SGD
    step on D only."""
    g, d = game["generator"], game["discriminator"]
    x_real = torch.rand(BATCH, DATA_DIM) * 2 - 1
    torch.manual_seed(7)
    h = game["create_noise"](BATCH, Z_SIZE, "normal")  # the noise d_train draws after the same seed
    with torch.no_grad():
        x_fake = g(h)
        d_real_before, d_fake_before = d(x_real), d(x_fake)

    def minus_value(net):  # -v(G, D) on the minibatch, written from the equation
        return -(torch.log(net(x_real)).mean() + torch.log(1 - net(x_fake)).mean())

    expected_d, expected_loss = _sgd_step(d, minus_value)
    g_before, d_before = _params(g), _params(d)
    torch.manual_seed(7)
    d_loss, d_real, d_fake = game["d_train"](x_real)
    assert d_loss == pytest.approx(expected_loss, rel=1e-12)
    # D(x) and D(G(h)) before the step
    torch.testing.assert_close(d_real, d_real_before, rtol=1e-12, atol=0)
    torch.testing.assert_close(d_fake, d_fake_before, rtol=1e-12, atol=0)
    _assert_params(d, expected_d, rtol=1e-12, atol=1e-14)
    assert max((a - b).abs().max() for a, b in zip(_params(d), d_before)) > 1e-4, (
        "the step must move D"
    )
    _assert_params(g, g_before, rtol=0, atol=0)  # the generator is untouched ...
    assert all(p.grad is None for p in g.parameters()), (
        "... and gets no gradient: x_fake is detached"
    )


def test_generator_step_descends_the_nonsaturating_loss(game):
    r"""g_train: L_G = -mean log D(G(h)) (eq. gans-nonsaturating-loss) on fresh noise, one SGD step
    on G only.

    The negative control: a step on the saturating loss mean log(1 - D(G(h))) (eq.
    gans-saturating-loss), which has the same sign of gradient in the logit but weights the
    samples by D instead of 1 - D, moves G differently, so the comparison can tell them apart.
    """
    g, d = game["generator"], game["discriminator"]
    torch.manual_seed(11)
    h = game["create_noise"](BATCH, Z_SIZE, "normal")
    expected_g, expected_loss = _sgd_step(g, lambda net: -torch.log(d(net(h))).mean())
    saturating_g, _ = _sgd_step(g, lambda net: torch.log(1 - d(net(h))).mean())
    g_before, d_before = _params(g), _params(d)
    torch.manual_seed(11)
    g_loss = game["g_train"](BATCH)
    assert g_loss == pytest.approx(expected_loss, rel=1e-12)
    _assert_params(g, expected_g, rtol=1e-12, atol=1e-14)
    moved = [p - b for p, b in zip(_params(g), g_before)]
    moved_saturating = [s - b for s, b in zip(saturating_g, g_before)]
    assert max((m - ms).abs().max() for m, ms in zip(moved, moved_saturating)) > 1e-3 * max(
        m.abs().max() for m in moved
    )
    _assert_params(d, d_before, rtol=0, atol=0)  # g_optimizer steps the generator only


def test_losses_at_an_indifferent_discriminator_are_log_four_and_log_two(game):
    r"""At D = 1/2 everywhere, L_D = log 4 (v = -2 log 2, eq. gans-loss-at-optimum) and L_G = log 2.

    The discriminator's output layer is set to zero, so D = sigmoid(0) = 1/2 exactly whatever
    the input; d_train and g_train must then report these values to rounding.
    """
    d = game["discriminator"]

    def indifferent():
        with torch.no_grad():
            d[-2].weight.zero_()  # the last linear layer, before the sigmoid
            d[-2].bias.zero_()

    indifferent()
    d_loss, d_real, d_fake = game["d_train"](torch.rand(BATCH, DATA_DIM) * 2 - 1)
    assert (d_real == 0.5).all() and (d_fake == 0.5).all()
    assert d_loss == pytest.approx(math.log(4), rel=1e-14)
    indifferent()  # the step just taken has moved D away from 1/2
    assert game["g_train"](BATCH) == pytest.approx(math.log(2), rel=1e-14)
