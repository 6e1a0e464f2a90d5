r"""Make ``gan_generator_gradients.png`` for ``book/gans/theory.md``.

The figure compares the saturating generator loss :math:`\log(1 - D)` with the
non-saturating loss :math:`-\log D` (theory page, equations
``gans-saturating-loss`` and ``gans-nonsaturating-loss``) as functions of the
discriminator's output :math:`D = D(G(\h)) = \sigma(\ell)` on a generated
sample, where :math:`\ell` is the discriminator's logit. With
:math:`d\sigma/d\ell = \sigma(1 - \sigma)`,

.. math::
    \frac{\partial}{\partial \ell} \log(1 - \sigma(\ell)) = -\sigma(\ell) = -D,
    \qquad
    \frac{\partial}{\partial \ell} \left(-\log \sigma(\ell)\right) = -(1 - \sigma(\ell)) = -(1 - D).

The script checks both closed forms against central finite differences
before it plots them.

Run from the repository root (it writes next to itself)::

    .venv/bin/python book/gans/figures/make_gan_generator_gradients.py

References:
    Goodfellow et al. (2014), *Generative Adversarial Nets*, Sec. 3 (the
    non-saturating loss); Goodfellow (2016), *NIPS 2016 Tutorial: Generative
    Adversarial Networks*, arXiv:1701.00160 (the heuristic, non-saturating game).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).resolve().with_name("gan_generator_gradients.png")


def saturating_loss(logit: np.ndarray) -> np.ndarray:
    r"""Generator loss :math:`\log(1 - \sigma(\ell)) = -\mathrm{softplus}(\ell)` (to be minimised)."""
    return -np.logaddexp(0.0, logit)


def nonsaturating_loss(logit: np.ndarray) -> np.ndarray:
    r"""Generator loss :math:`-\log \sigma(\ell) = \mathrm{softplus}(-\ell)` (to be minimised)."""
    return np.logaddexp(0.0, -logit)


def main() -> None:
    d_fake = np.linspace(1e-3, 1 - 1e-3, 999)  # D(G(h)) in (0, 1)
    logit = np.log(d_fake) - np.log1p(-d_fake)  # ell = sigma^{-1}(D)

    grad_sat = -d_fake  # d/d ell log(1 - D) = -D
    grad_ns = -(1.0 - d_fake)  # d/d ell (-log D) = -(1 - D)

    # Check the closed forms against central differences in the logit.
    step = 1e-5
    fd_sat = (saturating_loss(logit + step) - saturating_loss(logit - step)) / (2 * step)
    fd_ns = (nonsaturating_loss(logit + step) - nonsaturating_loss(logit - step)) / (2 * step)
    assert np.allclose(fd_sat, grad_sat, atol=1e-6), "saturating-loss gradient is wrong"
    assert np.allclose(fd_ns, grad_ns, atol=1e-6), "non-saturating-loss gradient is wrong"

    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(9.0, 3.4), constrained_layout=True)

    ax_loss.plot(d_fake, np.log1p(-d_fake), label=r"saturating: $\log(1 - D)$")
    ax_loss.plot(d_fake, -np.log(d_fake), label=r"non-saturating: $-\log D$")
    ax_loss.set_xlabel(r"$D(G(\mathbf{h}))$")
    ax_loss.set_ylabel("generator loss (to minimise)")
    ax_loss.set_ylim(-5, 5)
    ax_loss.set_title("(a) losses")
    ax_loss.legend(loc="upper center", fontsize=9)

    ax_grad.plot(d_fake, np.abs(grad_sat), label=r"saturating: $|\partial/\partial\ell| = D$")
    ax_grad.plot(d_fake, np.abs(grad_ns), label=r"non-saturating: $|\partial/\partial\ell| = 1 - D$")
    ax_grad.axvspan(0.0, 0.1, color="0.9", zorder=0)
    ax_grad.annotate(
        "early training:\nD rejects the fakes",
        xy=(0.05, 0.05), xytext=(0.16, 0.22), fontsize=8,
        arrowprops={"arrowstyle": "->", "color": "0.3"},
    )
    ax_grad.set_xlabel(r"$D(G(\mathbf{h}))$")
    ax_grad.set_ylabel(r"gradient magnitude w.r.t. logit $\ell$")
    ax_grad.set_xlim(0, 1)
    ax_grad.set_ylim(0, 1.05)
    ax_grad.set_title("(b) gradients with respect to the logit")
    ax_grad.legend(loc="upper center", fontsize=9)

    fig.savefig(OUT, dpi=150)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
