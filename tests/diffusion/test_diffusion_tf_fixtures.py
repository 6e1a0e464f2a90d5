"""The PyTorch references of the Keras diffusion notebook's tests
(tests/tf/test_diffusion_mnist_tf.py).

The TensorFlow lane never imports torch, so what it compares the Keras port of
book/diffusion/ddpm_mnist_tf with comes from a fixture, tests/tf/fixtures/diffusion_mnist_tf.npz:
the inputs (drawn here with numpy) and what genmod.diffusion and ddpm_mnist_torch's UNet give on
them. This test computes the references afresh and checks the committed fixture against them, so
that the fixture cannot go stale; it writes the fixture when it is missing (commit it then).
"""

from pathlib import Path
import sys

import numpy as np
import torch
from torch import nn

from genmod.diffusion import (ddim_sample, denoising_matching_kl,
                              discretized_gaussian_log_likelihood, linear_schedule, prior_kl,
                              q_sample, reverse_mean, reverse_var)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, also as a script
from fixtures import assert_fixture_is_fresh, write_fixture  # noqa: E402
from notebook_code import notebook_config, notebook_functions  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "tf" / "fixtures" / "diffusion_mnist_tf.npz"
NB_TF = "book/diffusion/ddpm_mnist_tf.py"
NB_TORCH = "book/diffusion/ddpm_mnist_torch.py"
#: The standard deviation s of the Gaussian data N(0, s^2 I) whose exact noise predictor the
#: sampler test uses, and the affine noise predictor of the ELBO test (the same in both lanes).
DATA_STD = 0.5


def to_torch(a):
    """numpy (B, H, W, 1), channels last as Keras, -> float64 torch (B, 1, H, W), as genmod's
    notebooks."""
    return torch.from_numpy(np.asarray(a)).double().permute(0, 3, 1, 2)


def inputs():
    """The inputs of the TensorFlow tests, drawn with numpy (the fixture stores them)."""
    rng = np.random.default_rng(0)
    B, num_t, N = 4, 3, 1000
    levels = rng.integers(0, 256, (B, 28, 28, 1)).astype(np.uint8)
    # the outer bins of the decoder, as MNIST's background
    levels[:, :4], levels[:, -4:] = 0, 255
    ts = rng.integers(2, N + 1, (num_t, B))
    ts[0, :3] = [2, 3, N]                          # the ends of the sum
    return {"levels": levels, "eps1": rng.standard_normal((B, 28, 28, 1)).astype(np.float32),
            "ts": ts,
            "eps_t": rng.standard_normal((num_t, B, 28, 28, 1)).astype(np.float32),
            # mean of the decoder test: up to ~0.8 off the data, z of several hundred at std 0.01
            "decoder_offset": rng.normal(0, 0.2, (B, 28, 28, 1)).astype(np.float32),
            "log_cdf_z": np.array([-200.0, -35.0, -29.0, -5.0, 0.0, 3.0]),
            "xT": rng.standard_normal((256, 2, 2, 1)).astype(np.float32)}


def references() -> dict:
    """The fixture: the inputs and genmod.diffusion's (and the PyTorch UNet's) answers on them."""
    config = notebook_config(NB_TF, scale="book")
    schedule = linear_schedule(config.num_diffusion_steps, config.noise_start, config.noise_end)
    N, ab = schedule.num_steps, schedule.alpha_bar
    out = inputs()
    x0 = out["levels"].astype(np.float32) / 127.5 - 1
    x = to_torch(x0)

    def affine_eps(xt, t):                 # eps(x_t, t) = 0.9 sqrt(1 - abar_t) x_t + 0.01 t / N
        return (0.9 * (1 - ab[t]).sqrt().view(-1, 1, 1, 1) * xt
                + 0.01 * t.double().view(-1, 1, 1, 1) / N)

    t1 = torch.ones(len(x), dtype=torch.long)
    x1, _ = q_sample(x, t1, schedule, eps=to_torch(out["eps1"]))
    mean1 = reverse_mean(x1, t1, affine_eps(x1, t1), schedule)
    std1 = float(reverse_var(schedule)[1].sqrt())
    reconstruction = discretized_gaussian_log_likelihood(x, mean1, std1)
    kls = []
    for t, eps in zip(out["ts"], out["eps_t"]):
        tt = torch.from_numpy(t).long()
        xt, _ = q_sample(x, tt, schedule, eps=to_torch(eps))
        kls.append((N - 1) * denoising_matching_kl(x, xt, tt, affine_eps(xt, tt), schedule))
    out.update(elbo_prior=prior_kl(x, schedule), elbo_reconstruction=reconstruction,
               elbo_denoising=torch.stack(kls).mean(0))
    out["elbo_elbo"] = out["elbo_reconstruction"] - out["elbo_prior"] - out["elbo_denoising"]
    mean = to_torch(x0 + out["decoder_offset"])
    out["decoder_ll"] = discretized_gaussian_log_likelihood(x, mean, 0.01)
    out["log_cdf"] = torch.special.log_ndtr(torch.from_numpy(out["log_cdf_z"]))

    def gaussian_eps(xt, t):                       # E[eps | x_t] for x_0 ~ N(0, DATA_STD^2 I)
        a = ab[t].view(-1, 1, 1, 1)
        return (1 - a).sqrt() * xt / (a * DATA_STD ** 2 + 1 - a)

    ddim = ddim_sample(gaussian_eps, to_torch(out["xT"]), schedule, num_steps=100)
    out["ddim_x0"] = ddim.permute(0, 2, 3, 1)
    out["alpha_bar"] = ab
    torch_nb = notebook_functions(NB_TORCH, ["ResBlock", "UNet"], {"torch": torch, "nn": nn})
    out["unet_params"] = np.array(sum(p.numel() for p in torch_nb["UNet"](config).parameters()))
    return {k: v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v) for k, v in out.items()}


def test_the_tensorflow_lanes_fixture_is_what_genmod_computes():
    assert_fixture_is_fresh(FIXTURE, references(), rtol=1e-10, atol=1e-12, script=__file__)
    assert FIXTURE.stat().st_size < 200_000, "keep the fixture small"


# write the fixture afresh: python tests/diffusion/test_diffusion_tf_fixtures.py
if __name__ == "__main__":
    write_fixture(FIXTURE, references())
