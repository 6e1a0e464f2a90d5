r"""The Keras RBM of book/ebm/rbm_mnist_tf.py against genmod.rbm (PyTorch), from the same weights
and random bits.

Every Bernoulli draw of both is written as ``u < p`` with explicit uniforms
(``genmod.rbm.bernoulli`` draws them with ``torch.rand``), so the uniforms a seeded
``torch.Generator`` hands to ``genmod.rbm.cd_gradient`` can be replayed here and fed to the
notebook's ``RBM``. The fixture ``tests/tf/fixtures/ebm_rbm_frameworks.npz`` holds them with
genmod.rbm's results, written and checked against a fresh computation by
tests/ebm/test_ebm_tf_fixtures.py. The free energy (eq. ``ebm-rbm-free-energy``), the Gibbs
states (eq. ``ebm-gibbs``), the CD-1 and PCD-2 estimates of the learning rule (eqs.
``ebm-rbm-learning-rule``, ``ebm-cd``, ``ebm-pcd``) and one training step of
``RBM.train_step`` with Keras's SGD with momentum must agree to float64 rounding.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from notebook_code import notebook_functions


@pytest.fixture(scope="module")
def case(fixtures):
    with np.load(fixtures / "ebm_rbm_frameworks.npz") as saved:
        return {k: saved[k] for k in saved.files}


@pytest.fixture(scope="module")
def RBM():
    return notebook_functions("book/ebm/rbm_mnist_tf.py", ["RBMEnergy", "CDRBM", "RBM"],
                              {"keras": keras, "tf": tf})["RBM"]


def model(RBM, case, **kwargs):
    rbm = RBM(*case["W"].shape, dtype="float64", **kwargs)
    for name in ("W", "a", "b"):
        getattr(rbm, name).assign(case[name])
    return rbm


def assert_same(mine, theirs, name):
    np.testing.assert_allclose(np.asarray(mine), theirs, rtol=0, atol=1e-12, err_msg=name)


def test_free_energy_agrees(RBM, case):
    rbm = model(RBM, case, k=1)
    assert_same(rbm.free_energy(tf.constant(case["x"])), case["free_energy"], "free energy")


@pytest.mark.parametrize("which", ["cd1", "pcd2"])
def test_cd_update_and_chain_states_agree(RBM, case, which):
    """The same uniforms give the same Gibbs states bit for bit, hence the same dW, da, db."""
    if which == "cd1":
        rbm = model(RBM, case, k=1)
        uniforms = [(tf.constant(case["cd_u_h"]), tf.constant(case["cd_u_x"]))]
    else:
        rbm = model(RBM, case, k=2, num_chains=len(case["chain"]))
        rbm.chain.assign(case["chain"])
        uniforms = [(tf.constant(case[f"pcd_u_h{i}"]), tf.constant(case[f"pcd_u_x{i}"]))
                    for i in range(2)]
    got = rbm.cd_gradient(tf.constant(case["x"]), uniforms)
    for part, mine in zip(("dW", "da", "db", "x_model"), got):
        assert_same(mine, case[f"{which}_{part}"], f"{which}: {part}")
    states = np.asarray(got[3])
    assert set(np.unique(states)) <= {0.0, 1.0} and 0 < states.mean() < 1


def test_train_step_is_sgd_with_momentum_on_the_pcd_estimate(RBM, case):
    """Keras's SGD applied to minus the ascent direction moves the weights as the PyTorch loop
    does; train_step draws the reconstruction error's uniforms first, then k pairs."""
    step = model(RBM, case, k=2, num_chains=len(case["chain"]),
                 weight_decay=float(case["weight_decay"]))
    step.chain.assign(case["chain"])
    step.compile(optimizer=keras.optimizers.SGD(learning_rate=float(case["lr"]),
                                                momentum=float(case["momentum"])))
    queue = [case[k] for k in ("rec_u", "pcd_u_h0", "pcd_u_x0", "pcd_u_h1", "pcd_u_x1")]

    def replay(shape):
        u = queue.pop(0)
        assert tuple(u.shape) == tuple(int(s) for s in shape), (u.shape, shape)
        return tf.constant(u)

    step.uniform = replay
    step.train_step(tf.constant(case["x"]))
    assert not queue, "train_step drew fewer uniforms than expected"
    for name in ("W", "a", "b", "chain"):
        assert_same(getattr(step, name), case[f"step_{name}"], name)
