r"""The Keras RBM of book/ebm/rbm_mnist_tf.py against genmod.ebm (PyTorch), from the same weights and random bits.

Every Bernoulli draw of both is written as ``u < p`` with explicit uniforms
(``genmod.ebm.bernoulli`` draws them with ``torch.rand``), so the uniforms a seeded
``torch.Generator`` hands to ``genmod.ebm.cd_gradient`` can be replayed here and fed to
the notebook's ``RBM``. Then the free energy (eq. ``ebm-rbm-free-energy``), the Gibbs
states (eq. ``ebm-gibbs``), the CD-1 and PCD-2 estimates of the learning rule
(eqs. ``ebm-rbm-learning-rule``, ``ebm-cd``, ``ebm-pcd``) and one training step of
``RBM.train_step`` with Keras's SGD with momentum must agree to float64 rounding.

TensorFlow must not be imported after torchvision in one process (DESIGN.md, known
traps), so the notebook's class runs in a fresh process that imports TensorFlow only.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from genmod.ebm import cd_gradient, free_energy

TESTS = Path(__file__).resolve().parents[1]
D, D_H, B, C = 30, 12, 40, 16          # visible, hidden, minibatch, persistent chains
LR, MOMENTUM, WEIGHT_DECAY = 0.1, 0.5, 2e-3

SCRIPT = textwrap.dedent(r"""
    import json, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import tensorflow as tf
    import keras
    from notebook_code import notebook_functions
    assert "torch" not in sys.modules
    a = dict(np.load(sys.argv[2]))
    RBM = notebook_functions("book/ebm/rbm_mnist_tf.py", ["RBM"], {"keras": keras, "tf": tf})["RBM"]
    D, D_H = a["W"].shape

    def model(**kwargs):
        rbm = RBM(D, D_H, dtype="float64", **kwargs)
        for name in ("W", "a", "b"):
            getattr(rbm, name).assign(a[name])
        return rbm

    x = tf.constant(a["x"])
    out = {}
    rbm = model(k=1)
    out["free_energy"] = rbm.free_energy(x).numpy().tolist()
    dW, da, db, x_model = rbm.cd_gradient(x, [(tf.constant(a["cd_u_h"]), tf.constant(a["cd_u_x"]))])
    out["cd1"] = [v.numpy().tolist() for v in (dW, da, db, x_model)]

    pcd = model(k=2, num_chains=len(a["chain"]))
    pcd.chain.assign(a["chain"])
    uniforms = [(tf.constant(a["pcd_u_h0"]), tf.constant(a["pcd_u_x0"])),
                (tf.constant(a["pcd_u_h1"]), tf.constant(a["pcd_u_x1"]))]
    out["pcd2"] = [v.numpy().tolist() for v in pcd.cd_gradient(x, uniforms)]

    # one train_step, PCD-2, with its uniforms replayed: first the reconstruction error's, then k pairs
    step = model(k=2, num_chains=len(a["chain"]), weight_decay=float(a["weight_decay"]))
    step.chain.assign(a["chain"])
    step.compile(optimizer=keras.optimizers.SGD(learning_rate=float(a["lr"]), momentum=float(a["momentum"])))
    queue = [a["rec_u"], a["pcd_u_h0"], a["pcd_u_x0"], a["pcd_u_h1"], a["pcd_u_x1"]]

    def replay(shape):
        u = queue.pop(0)
        assert tuple(u.shape) == tuple(int(s) for s in shape), (u.shape, shape)
        return tf.constant(u)

    step.uniform = replay
    step.train_step(x)
    assert not queue, "train_step drew fewer uniforms than expected"
    out["step"] = [v.numpy().tolist() for v in (step.W, step.a, step.b, step.chain)]
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """Weights, data and the uniforms that seeded torch generators hand to genmod.ebm, replayed."""
    gen = torch.Generator().manual_seed(0)
    dt = torch.float64
    W = 0.3 * torch.randn(D, D_H, generator=gen, dtype=dt)
    a_vis = 0.5 * torch.randn(D, generator=gen, dtype=dt)
    b_hid = 0.5 * torch.randn(D_H, generator=gen, dtype=dt)
    x = (torch.rand(B, D, generator=gen, dtype=dt) < 0.4).to(dt)
    chain = (torch.rand(C, D, generator=gen, dtype=dt) < 0.5).to(dt)

    torch_results = {"free_energy": free_energy(x, W, a_vis, b_hid)}
    torch_results["cd1"] = cd_gradient(x, W, a_vis, b_hid, k=1, generator=torch.Generator().manual_seed(1))
    torch_results["pcd2"] = cd_gradient(x, W, a_vis, b_hid, k=2, chain=chain, generator=torch.Generator().manual_seed(2))

    replay = torch.Generator().manual_seed(1)                     # the draws of cd_gradient's one Gibbs step
    arrays = {"cd_u_h": torch.rand(B, D_H, generator=replay, dtype=dt), "cd_u_x": torch.rand(B, D, generator=replay, dtype=dt)}
    replay = torch.Generator().manual_seed(2)                     # two steps of the persistent chains
    for i in range(2):
        arrays[f"pcd_u_h{i}"] = torch.rand(C, D_H, generator=replay, dtype=dt)
        arrays[f"pcd_u_x{i}"] = torch.rand(C, D, generator=replay, dtype=dt)
    arrays["rec_u"] = torch.rand(B, D_H, generator=gen, dtype=dt)  # any uniforms: the reconstruction error's

    # one step of SGD with momentum from zero velocity: theta + lr * (ascent direction), decay on W.
    # Keras keeps the learning rate in a float32 variable, so the step uses LR rounded to float32.
    lr = float(np.float32(LR))
    dW, da, db, chain_new = torch_results["pcd2"]
    torch_results["step"] = (W + lr * (dW - WEIGHT_DECAY * W), a_vis + lr * da, b_hid + lr * db, chain_new)

    arrays.update(W=W, a=a_vis, b=b_hid, x=x, chain=chain)
    path = tmp_path_factory.mktemp("rbm") / "case.npz"
    np.savez(path, lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY,
             **{k: v.numpy() for k, v in arrays.items()})
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(TESTS), str(path)], capture_output=True, text=True,
                         cwd=TESTS.parent, timeout=300)
    assert run.returncode == 0, f"the TensorFlow subprocess failed:\n{run.stderr[-4000:]}"
    keras_results = json.loads(run.stdout.strip().splitlines()[-1])
    return torch_results, keras_results


def test_free_energy_agrees(case):
    torch_results, keras_results = case
    np.testing.assert_allclose(keras_results["free_energy"], torch_results["free_energy"].numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("which", ["cd1", "pcd2"])
def test_cd_update_and_chain_states_agree(case, which):
    """The same uniforms give the same Gibbs states bit for bit, hence the same dW, da, db."""
    torch_results, keras_results = case
    names = ("dW", "da", "db", "chain states")
    for name, mine, theirs in zip(names, keras_results[which], torch_results[which]):
        np.testing.assert_allclose(np.asarray(mine), theirs.numpy(), rtol=0, atol=1e-12, err_msg=f"{which}: {name}")
    states = np.asarray(keras_results[which][3])
    assert set(np.unique(states)) <= {0.0, 1.0} and 0 < states.mean() < 1, "the chain states must be binary and mixed"


def test_train_step_is_sgd_with_momentum_on_the_pcd_estimate(case):
    """Keras's SGD applied to minus the ascent direction moves the weights as the PyTorch loop does."""
    torch_results, keras_results = case
    for name, mine, theirs in zip(("W", "a", "b", "chain"), keras_results["step"], torch_results["step"]):
        np.testing.assert_allclose(np.asarray(mine), theirs.numpy(), rtol=0, atol=1e-12, err_msg=name)
    dW = torch_results["pcd2"][0]
    assert dW.abs().max() > 1e-2, "the update must move the weights, or the comparison says nothing"
