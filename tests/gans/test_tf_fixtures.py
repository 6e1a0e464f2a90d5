r"""The PyTorch references of the TensorFlow lane's GAN tests, kept as small fixtures.

The TensorFlow lane (tests/tf/) never imports torch, so what it compares with
``genmod.gan`` (the reference: the PyTorch losses of book/gans/theory.md) is stored in
``tests/tf/fixtures/gan_losses.npz``: fixed logits, some of them far in the tails where
:math:`\sigmoid(\ell)` rounds to 0 or 1 in float32, and the values of
``genmod.gan.discriminator_loss``, ``generator_loss_nonsaturating`` and
``generator_loss_saturating`` on them, in float64. This test recomputes them from genmod
and asserts that the committed fixture equals them, so the fixture cannot go stale.

To write the fixture again (after a deliberate change of genmod.gan)::

    .venv/bin/python tests/gans/test_tf_fixtures.py
"""

from pathlib import Path
import sys

import numpy as np
import torch

from genmod.gan import (discriminator_loss, generator_loss_nonsaturating,
                        generator_loss_saturating)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, also as a script
from fixtures import assert_fixture_is_fresh, write_fixture  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "tf" / "fixtures" / "gan_losses.npz"


def reference() -> dict[str, np.ndarray]:
    """The fixture's arrays: logits (float32, shape (64, 1)) and genmod.gan's losses (float64)."""
    rng = np.random.default_rng(0)
    logits_real = rng.normal(1.0, 2.0, size=(64, 1)).astype(np.float32)
    logits_fake = rng.normal(-1.0, 2.0, size=(64, 1)).astype(np.float32)
    # the tails: sigmoid rounds to 0 or 1 in float32 beyond |l| of about 17
    logits_real[:4, 0] = [40.0, -40.0, 90.0, -90.0]
    logits_fake[:4, 0] = [-40.0, 40.0, -90.0, 90.0]
    l_real, l_fake = (torch.from_numpy(a).double() for a in (logits_real, logits_fake))
    return {
        "logits_real": logits_real,
        "logits_fake": logits_fake,
        "discriminator_loss": np.float64(discriminator_loss(l_real, l_fake).item()),
        "generator_loss_nonsaturating": np.float64(generator_loss_nonsaturating(l_fake).item()),
        "generator_loss_saturating": np.float64(generator_loss_saturating(l_fake).item()),
    }


def test_committed_fixture_equals_a_fresh_computation_from_genmod_gan():
    fresh = reference()
    assert_fixture_is_fresh(FIXTURE, fresh, rtol=1e-12, atol=0.0, script=__file__)


if __name__ == "__main__":
    write_fixture(FIXTURE, reference())
