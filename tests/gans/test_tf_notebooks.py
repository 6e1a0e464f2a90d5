r"""The TensorFlow notebooks' own losses, checked against closed forms and the PyTorch ones.

TensorFlow must not be imported in the pytest process after torchvision has been
(DESIGN.md, known traps; tests/conftest.py imports torchvision first), so each check
runs the notebook's definitions in a fresh Python process that imports TensorFlow
only, on arrays this test makes, and compares what it returns here:

- ``book/vae/vae_mnist_tf.py``, ``VAE.negative_elbo``: the reconstruction term is
  the Bernoulli negative log-likelihood summed over pixels, and the KL term is the
  closed form {eq}`vae-gaussian-kl-standard` (checked against numpy and against
  ``genmod.vae.gaussian_kl_standard_normal``);
- ``book/gans/dcgan_mnist_tf.py``, ``discriminator_loss`` and ``generator_loss``:
  equal to ``genmod.gan.discriminator_loss`` and
  ``genmod.gan.generator_loss_nonsaturating`` on the same logits
  (eqs. gans-value-function, gans-nonsaturating-loss).
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from genmod.gan import discriminator_loss, generator_loss_nonsaturating
from genmod.vae import gaussian_kl_standard_normal

TESTS = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(r"""
    import json, sys
    from types import SimpleNamespace
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import tensorflow as tf
    import keras
    from keras import layers, ops
    from notebook_code import notebook_functions
    assert "torch" not in sys.modules
    a = np.load(sys.argv[2])
    out = {}
    vae = notebook_functions("book/vae/vae_mnist_tf.py", ["VAE"], {"keras": keras, "layers": layers, "ops": ops, "tf": tf})["VAE"]
    mu, logvar, h, probs, x = (tf.constant(a[k]) for k in ("mu", "logvar", "h", "probs", "x"))
    fake = SimpleNamespace(encoder=lambda data: (mu, logvar, h), decoder=lambda z: probs)
    total, rec, kl = vae.negative_elbo(fake, x)
    out["vae"] = [float(total), float(rec), float(kl)]
    gan = notebook_functions("book/gans/dcgan_mnist_tf.py", ["cross_entropy", "discriminator_loss", "generator_loss"], {"tf": tf})
    lr, lf = tf.constant(a["logits_real"]), tf.constant(a["logits_fake"])
    out["dcgan"] = [float(gan["discriminator_loss"](lr, lf)), float(gan["generator_loss"](lf))]
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def arrays(tmp_path_factory):
    rng = np.random.default_rng(0)
    b, d = 64, 2
    a = {
        "mu": rng.normal(size=(b, d)).astype(np.float32),
        "logvar": rng.normal(scale=0.5, size=(b, d)).astype(np.float32),
        "h": rng.normal(size=(b, d)).astype(np.float32),
        "probs": rng.uniform(0.02, 0.98, size=(b, 28, 28, 1)).astype(np.float32),
        "x": (rng.uniform(size=(b, 28, 28, 1)) < 0.3).astype(np.float32),
        "logits_real": rng.normal(1.0, 2.0, size=(b, 1)).astype(np.float32),
        "logits_fake": rng.normal(-1.0, 2.0, size=(b, 1)).astype(np.float32),
    }
    path = tmp_path_factory.mktemp("tf") / "arrays.npz"
    np.savez(path, **a)
    return path, a


@pytest.fixture(scope="module")
def tf_results(arrays):
    path, _ = arrays
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(TESTS), str(path)], capture_output=True, text=True,
                         cwd=TESTS.parent, timeout=300)
    assert run.returncode == 0, f"the TensorFlow subprocess failed:\n{run.stderr[-4000:]}"
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_keras_vae_negative_elbo_is_bernoulli_nll_plus_closed_form_kl(arrays, tf_results):
    _, a = arrays
    total, rec, kl = tf_results["vae"]
    x, p = a["x"].astype(np.float64), a["probs"].astype(np.float64)
    nll = -(x * np.log(p) + (1 - x) * np.log1p(-p)).sum(axis=(1, 2, 3)).mean()   # -E log p(x|h), nats
    mu, logvar = a["mu"].astype(np.float64), a["logvar"].astype(np.float64)
    kl_closed = (-0.5 * (1 + logvar - mu**2 - np.exp(logvar))).sum(axis=1).mean()  # eq. vae-gaussian-kl-standard
    kl_torch = gaussian_kl_standard_normal(torch.from_numpy(mu), torch.from_numpy(logvar)).mean().item()
    assert rec == pytest.approx(nll, rel=1e-4)       # float32 sums of 784 terms
    assert kl == pytest.approx(kl_closed, rel=1e-5)
    assert kl == pytest.approx(kl_torch, rel=1e-5)
    assert total == pytest.approx(rec + kl, rel=1e-6)


def test_dcgan_losses_match_the_torch_losses_of_genmod(arrays, tf_results):
    _, a = arrays
    l_real, l_fake = torch.from_numpy(a["logits_real"]).double(), torch.from_numpy(a["logits_fake"]).double()
    d_tf, g_tf = tf_results["dcgan"]
    assert d_tf == pytest.approx(discriminator_loss(l_real, l_fake).item(), rel=1e-5)
    assert g_tf == pytest.approx(generator_loss_nonsaturating(l_fake).item(), rel=1e-5)
    # and both are the closed forms: -mean log sigmoid(l_r) - mean log(1 - sigmoid(l_f)), -mean log sigmoid(l_f)
    log_sig = lambda l: -np.logaddexp(0.0, -l)  # noqa: E731
    d_closed = -log_sig(a["logits_real"].astype(np.float64)).mean() - log_sig(-a["logits_fake"].astype(np.float64)).mean()
    assert d_tf == pytest.approx(d_closed, rel=1e-5)
