"""book/diffusion/ddpm_mnist_tf: its Keras U-Net, train_step, samplers, TensorFlow ELBO and committed checkpoint.

TensorFlow runs in a subprocess (never in one process with torch/torchvision, DESIGN.md): each test
runs a short script that takes the notebook's own definitions from its .py with
``notebook_functions``, prints one JSON line, and writes arrays to an .npz; the PyTorch side
(``genmod.diffusion``) is computed here, in the test process, on the same inputs.
"""

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import genmod
from genmod.checkpoints import MAX_COMMITTED_BYTES, find_checkpoint
from genmod.diffusion import (ddim_sample, denoising_matching_kl, discretized_gaussian_log_likelihood,
                              linear_schedule, prior_kl, q_sample, reverse_mean, reverse_var)
from notebook_code import notebook_config, notebook_functions

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
NB = "book/diffusion/ddpm_mnist_tf.py"

PREAMBLE = textwrap.dedent(r"""
    import json, math, sys, time
    from pathlib import Path
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    from keras import layers
    import genmod
    from notebook_code import notebook_config, notebook_functions
    assert "torch" not in sys.modules
    out_file = Path(sys.argv[2])
    NB = "book/diffusion/ddpm_mnist_tf.py"
    config = notebook_config(NB, scale="book")
    nb = {"tf": tf, "keras": keras, "layers": layers, "np": np, "math": math, "time": time, "genmod": genmod,
          "config": config}
    notebook_functions(NB, ["TRAINING_SETTINGS", "training_config", "checkpoint_config", "linear_alpha_bar"], nb)
    # the notebook's schedule arrays, computed as its cells do
    N = config.num_diffusion_steps
    alpha_bar = nb["linear_alpha_bar"](N, config.noise_start, config.noise_end)
    alpha = np.concatenate([[1.0], alpha_bar[1:] / alpha_bar[:-1]])
    posterior_var = np.zeros(N + 1)
    posterior_var[2:] = (1 - alpha[2:]) * (1 - alpha_bar[1:-1]) / (1 - alpha_bar[2:])
    sigma2 = posterior_var.copy()
    sigma2[1] = 1 - alpha[1]
    schedule_tf = {name: tf.constant(values, tf.float32) for name, values in
                   (("alpha", alpha), ("alpha_bar", alpha_bar), ("sigma2", sigma2))}
    nb.update(N=N, alpha=alpha, alpha_bar=alpha_bar, posterior_var=posterior_var, sigma2=sigma2,
              schedule_tf=schedule_tf)
""")


def run_tf(body: str, tmp_path: Path, timeout: int = 600):
    """Run PREAMBLE + body with TensorFlow only; return (the JSON of its last stdout line, its .npz arrays)."""
    out_file = tmp_path / "out.npz"
    proc = subprocess.run([sys.executable, "-c", PREAMBLE + textwrap.dedent(body), str(TESTS), str(out_file)],
                          capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    assert proc.returncode == 0, f"TensorFlow subprocess failed:\n{proc.stderr[-4000:]}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    arrays = dict(np.load(out_file)) if out_file.exists() else {}
    return result, arrays


@pytest.fixture(scope="module")
def schedule():
    config = notebook_config(NB, scale="book")
    return linear_schedule(config.num_diffusion_steps, config.noise_start, config.noise_end)


def test_unet_is_the_torch_unet_in_keras(tmp_path):
    """Shapes, dependence on t, and the same number of parameters as ddpm_mnist_torch's UNet (the same network)."""
    result, _ = run_tf("""
        notebook_functions(NB, ["build_unet"], nb)
        net = nb["build_unet"](nb["checkpoint_config"])
        x = tf.random.stateless_normal((3, 28, 28, 1), seed=[0, 0])
        out = net([x, tf.constant([1.0, 500.0, 1000.0])])
        same_x = tf.repeat(x[:1], 2, axis=0)
        two_t = net([same_x, tf.constant([1.0, 1000.0])]).numpy()
        print(json.dumps({"shape": list(out.shape), "params": net.count_params(), "arrays": len(net.weights),
                          "t_changes_output": float(np.abs(two_t[0] - two_t[1]).max())}))
    """, tmp_path)
    torch_nb = notebook_functions("book/diffusion/ddpm_mnist_torch.py", ["UNet"], {"torch": torch, "nn": nn})
    config = notebook_config(NB, scale="book")
    torch_params = sum(p.numel() for p in torch_nb["UNet"](config).parameters())
    assert result["shape"] == [3, 28, 28, 1]
    assert result["params"] == torch_params, (result["params"], torch_params)
    assert result["t_changes_output"] > 1e-4, "the step t must change the prediction"


def test_tf_elbo_agrees_with_genmod_diffusion(tmp_path, schedule):
    """The notebook's TensorFlow ELBO (all three terms) equals genmod.diffusion's formulas on the same inputs and draws.

    The noise predictor is a closed-form function (the same in both frameworks), so that only the ELBO's
    formulas are compared: the prior-matching KL, the discretised decoder, and the denoising-matching KLs.
    """
    rng = np.random.default_rng(0)
    B, num_t, N = 6, 5, schedule.num_steps
    x0 = (rng.integers(0, 256, (B, 28, 28, 1)) / 127.5 - 1).astype("float32")
    x0[:, :4] = -1.0                                  # the outer bins of the decoder, as in MNIST's background
    x0[:, -4:] = 1.0
    eps1 = rng.standard_normal(x0.shape).astype("float32")
    ts = rng.integers(2, N + 1, (num_t, B))
    ts[0, :3] = [2, 3, N]                             # the ends of the sum
    eps_t = rng.standard_normal((num_t,) + x0.shape).astype("float32")
    np.savez(tmp_path / "in.npz", x0=x0, eps1=eps1, ts=ts, eps_t=eps_t)
    result, tf_out = run_tf(f"""
        notebook_functions(NB, ["log_normal_cdf", "discretized_log_likelihood", "elbo_terms"], nb)
        inp = np.load("{tmp_path / 'in.npz'}")
        def network(inputs, training=False):        # eps(x_t, t) = 0.9 sqrt(1 - abar_t) x_t + 0.01 t / N
            xt, t = inputs
            ab = tf.reshape(tf.gather(schedule_tf["alpha_bar"], tf.cast(t, tf.int32)), (-1, 1, 1, 1))
            return 0.9 * tf.sqrt(1 - ab) * xt + 0.01 * tf.reshape(t, (-1, 1, 1, 1)) / N
        out = nb["elbo_terms"](network, inp["x0"], 5, draws=(inp["eps1"], inp["ts"], inp["eps_t"]))
        np.savez(out_file, **out)
        print(json.dumps({{"ok": True}}))
    """, tmp_path)
    assert result["ok"]

    def eps_fn(xt, t):
        ab = schedule.alpha_bar[t].to(xt.dtype).view(-1, 1, 1, 1)
        return 0.9 * (1 - ab).sqrt() * xt + 0.01 * t.to(xt.dtype).view(-1, 1, 1, 1) / N

    x = torch.from_numpy(x0).double().permute(0, 3, 1, 2)                       # channels first, as genmod's notebooks
    to_torch = lambda a: torch.from_numpy(a).double().permute(0, 3, 1, 2)
    prior = prior_kl(x, schedule)
    t1 = torch.ones(B, dtype=torch.long)
    x1, _ = q_sample(x, t1, schedule, eps=to_torch(eps1))
    mean1 = reverse_mean(x1, t1, eps_fn(x1, t1), schedule)
    reconstruction = discretized_gaussian_log_likelihood(x, mean1, float(reverse_var(schedule)[1].sqrt()))
    kls = []
    for t, eps in zip(ts, eps_t):
        tt = torch.from_numpy(t).long()
        xt, _ = q_sample(x, tt, schedule, eps=to_torch(eps))
        kls.append((N - 1) * denoising_matching_kl(x, xt, tt, eps_fn(xt, tt), schedule))
    denoising = torch.stack(kls).mean(0)
    expected = {"prior": prior, "reconstruction": reconstruction, "denoising": denoising,
                "elbo": reconstruction - prior - denoising}
    for name, value in expected.items():
        np.testing.assert_allclose(tf_out[name], value.numpy(), rtol=1e-4, atol=1e-3, err_msg=name)
    assert np.all(tf_out["denoising"] > 0) and np.all(tf_out["reconstruction"] < 0)


def test_tf_decoder_agrees_with_genmod_in_the_far_tails(tmp_path):
    """The TensorFlow discretised Gaussian decoder (with its own log-CDF) equals genmod's where Phi underflows."""
    rng = np.random.default_rng(1)
    x0 = (rng.integers(0, 256, (4, 28, 28, 1)) / 127.5 - 1).astype("float32")
    mean = x0 + rng.normal(0, 0.2, x0.shape)                  # up to ~0.8 off: z of several hundred at std 0.01
    np.savez(tmp_path / "in.npz", x0=x0, mean=mean)
    _, tf_out = run_tf(f"""
        notebook_functions(NB, ["log_normal_cdf", "discretized_log_likelihood"], nb)
        inp = np.load("{tmp_path / 'in.npz'}")
        z = np.array([-200.0, -35.0, -29.0, -5.0, 0.0, 3.0])
        np.savez(out_file, ll=nb["discretized_log_likelihood"](inp["x0"], inp["mean"], 0.01).numpy(),
                 log_cdf=nb["log_normal_cdf"](z).numpy())
        print(json.dumps({{"ok": True}}))
    """, tmp_path)
    x = torch.from_numpy(x0).double().permute(0, 3, 1, 2)
    expected = discretized_gaussian_log_likelihood(x, torch.from_numpy(mean).double().permute(0, 3, 1, 2), 0.01)
    assert np.all(np.isfinite(tf_out["ll"]))
    np.testing.assert_allclose(tf_out["ll"], expected.numpy(), rtol=1e-6)
    z = torch.tensor([-200.0, -35.0, -29.0, -5.0, 0.0, 3.0], dtype=torch.float64)
    np.testing.assert_allclose(tf_out["log_cdf"], torch.special.log_ndtr(z).numpy(), rtol=1e-9)


def test_tf_samplers_on_gaussian_data(tmp_path, schedule):
    """With the exact noise predictor of Gaussian data N(0, s^2 I), the notebook's DDIM equals genmod's ddim_sample
    on the same start, and both samplers draw data with standard deviation s (within Monte Carlo error)."""
    s, B = 0.5, 2000
    xT = np.random.default_rng(2).standard_normal((B, 2, 2, 1)).astype("float32")
    np.savez(tmp_path / "in.npz", xT=xT)
    _, tf_out = run_tf(f"""
        notebook_functions(NB, ["ddim_sample", "_ddim", "ancestral_sample", "_ancestral"], nb)
        inp = np.load("{tmp_path / 'in.npz'}")
        def network(inputs, training=False):        # E[eps | x_t] for x_0 ~ N(0, s^2 I)
            xt, t = inputs
            ab = tf.reshape(tf.gather(schedule_tf["alpha_bar"], tf.cast(t, tf.int32)), (-1, 1, 1, 1))
            return tf.sqrt(1 - ab) * xt / (ab * {s} ** 2 + 1 - ab)
        ddim = nb["ddim_sample"](network, inp["xT"], 100).numpy()
        half = nb["ancestral_sample"](network, inp["xT"], N, 400, seed=5)
        pieces = nb["ancestral_sample"](network, half, 400, 0, seed=5).numpy()
        whole = nb["ancestral_sample"](network, inp["xT"], N, 0, seed=5).numpy()
        np.savez(out_file, ddim=ddim, pieces=pieces, whole=whole)
        print(json.dumps({{"ok": True}}))
    """, tmp_path)

    def eps_fn(xt, t):
        ab = schedule.alpha_bar[t].to(xt.dtype).view(-1, 1, 1, 1)
        return (1 - ab).sqrt() * xt / (ab * s ** 2 + 1 - ab)

    expected = ddim_sample(eps_fn, torch.from_numpy(xT).double().permute(0, 3, 1, 2), schedule, num_steps=100)
    np.testing.assert_allclose(tf_out["ddim"], expected.permute(0, 2, 3, 1).numpy(), rtol=1e-3, atol=1e-4)
    np.testing.assert_array_equal(tf_out["pieces"], tf_out["whole"])    # a chain drawn in pieces is one chain
    se = s * math.sqrt(2 / (4 * B))                                       # standard error of a standard deviation
    for name in ("ddim", "whole"):
        assert abs(tf_out[name].std() - s) < 4 * se + 0.01, (name, tf_out[name].std())


def test_training_lowers_the_simple_loss(tmp_path):
    """A few steps of the notebook's train_step (through train_ddpm) lower the held-out simple loss of its network."""
    result, _ = run_tf("""
        notebook_functions(NB, ["build_unet", "DiffusionModel", "train_ddpm", "heldout_simple_loss"], nb)
        (x_train, _), (x_test, _) = genmod.load_mnist(verbose=False)
        x0 = (x_train[:512].astype("float32") / 127.5 - 1)[..., None]
        x0_test = (x_test[:128].astype("float32") / 127.5 - 1)[..., None]
        settings = nb["training_config"](nb["checkpoint_config"], num_train_steps=30, ema_decay=0.0, batch_size=32)
        model, history = nb["train_ddpm"](settings, x0, seed=0, log_every=10, verbose=False)
        untrained = nb["build_unet"](settings)
        print(json.dumps({"before": nb["heldout_simple_loss"](untrained, x0_test, settings),
                          "after": nb["heldout_simple_loss"](model.ema_network, x0_test, settings),
                          "steps": history["step"], "iterations": int(model.optimizer.iterations.numpy())}))
    """, tmp_path)
    assert result["before"] > 0.5 and result["after"] < 0.7 * result["before"], result
    assert result["steps"] == [10, 20, 30] and result["iterations"] == 30


def test_committed_checkpoint_reproduces_its_recorded_loss(tmp_path):
    """The checkpoint the notebook loads exists for its configuration, loads into build_unet through the notebook's
    read_checkpoint, and reproduces the held-out loss recorded in its provenance."""
    config = notebook_config(NB, scale="book")
    nb = notebook_functions(NB, ["TRAINING_SETTINGS", "training_config", "checkpoint_config"],
                            {"config": config, "genmod": genmod})
    found = find_checkpoint("ddpm_mnist_tf", nb["checkpoint_config"])
    assert found is not None, "book/diffusion/checkpoints has no checkpoint for the notebook's checkpoint_config"
    assert found.path.suffix == ".npz" and found.path.stat().st_size <= MAX_COMMITTED_BYTES
    record = found.provenance
    assert record["builder"] == "build_unet"
    assert record["history"]["step"][-1] == nb["checkpoint_config"].num_train_steps
    result, _ = run_tf(f"""
        notebook_functions(NB, ["build_unet", "read_checkpoint", "heldout_simple_loss"], nb)
        (_, _), (x_test, _) = genmod.load_mnist(verbose=False)
        x0_test = (x_test[:256].astype("float32") / 127.5 - 1)[..., None]
        network = nb["read_checkpoint"]("{found.path}")
        print(json.dumps({{"loss": nb["heldout_simple_loss"](network, x0_test, nb["checkpoint_config"])}}))
    """, tmp_path)
    assert result["loss"] == pytest.approx(record["metrics"]["heldout_simple_loss"], rel=1e-4)
    assert result["loss"] < 0.1, "the checkpoint should be a trained model"
