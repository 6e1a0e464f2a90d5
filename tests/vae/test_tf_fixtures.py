r"""The PyTorch references of the TensorFlow lane's VAE tests, kept as a small fixture.

The TensorFlow lane (tests/tf/) never imports torch, so what tests/tf/test_vae_mnist_tf.py
compares book/vae/vae_mnist_tf's negative ELBO with, ``genmod.vae`` (the reference of
book/vae/theory.md), is stored in ``tests/tf/fixtures/vae_mnist_tf.npz``: encoder outputs
(means, log-variances, one latent sample per digit), decoder outputs (Bernoulli means) and
binary digits, all float32, and in float64 the per-digit KL divergence
``genmod.vae.gaussian_kl_standard_normal`` (eq. vae-gaussian-kl-standard) and
log-likelihood ``genmod.vae.bernoulli_log_likelihood`` of them. This test recomputes them from
genmod and asserts that the committed fixture equals them, so the fixture cannot go stale.

To write the fixture again (after a deliberate change of genmod.vae)::

    .venv/bin/python tests/vae/test_tf_fixtures.py
"""

from pathlib import Path
import sys

import numpy as np
import torch

from genmod.vae import bernoulli_log_likelihood, gaussian_kl_standard_normal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, also as a script
from fixtures import assert_fixture_is_fresh, write_fixture  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "tf" / "fixtures" / "vae_mnist_tf.npz"
BATCH, LATENT_DIM = 8, 2


def reference() -> dict[str, np.ndarray]:
    """The fixture's arrays: float32 inputs of the Keras loss, float64 genmod values per digit."""
    rng = np.random.default_rng(0)
    inputs = {
        "mu": rng.normal(size=(BATCH, LATENT_DIM)).astype(np.float32),
        "logvar": rng.normal(scale=0.5, size=(BATCH, LATENT_DIM)).astype(np.float32),
        "h": rng.normal(size=(BATCH, LATENT_DIM)).astype(np.float32),
        "probs": rng.uniform(0.02, 0.98, size=(BATCH, 28, 28, 1)).astype(np.float32),
        "x": (rng.uniform(size=(BATCH, 28, 28, 1)) < 0.3).astype(np.float32),
    }
    mu, logvar, probs, x = (torch.from_numpy(inputs[k]).double()
                            for k in ("mu", "logvar", "probs", "x"))
    # the decoder's Bernoulli means as logits, one row of 784 pixels per digit
    logits = torch.logit(probs).reshape(BATCH, -1)
    return {
        **inputs,
        "kl": gaussian_kl_standard_normal(mu, logvar).numpy(),                      # (B,) nats
        "log_likelihood": bernoulli_log_likelihood(logits, x.reshape(BATCH, -1)).numpy(),  # (B,)
    }


def test_committed_fixture_equals_a_fresh_computation_from_genmod_vae():
    fresh = reference()
    assert_fixture_is_fresh(FIXTURE, fresh, rtol=1e-12, atol=0.0, script=__file__)
    assert (fresh["kl"] > 0).all() and (fresh["log_likelihood"] < 0).all()


if __name__ == "__main__":
    write_fixture(FIXTURE, reference())
