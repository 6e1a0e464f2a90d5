r"""The conditional GAN of book/gans/cgan_mnist_tf.py: its own networks and losses, checked in a
TensorFlow subprocess (TensorFlow must not be imported in this process after torchvision,
tests/conftest.py and DESIGN.md, known traps).

- the losses equal ``genmod.gan.discriminator_loss`` and ``generator_loss_nonsaturating``
  on the same logits (eqs. gans-value-function, gans-nonsaturating-loss, with the label as an
  extra input of D they are the losses of gans-conditional-game);
- the generator uses its label only as the text says: G(h, y) with the label embedding E equals
  G(h * E[y], y) with every embedding row set to ones, so the network sees h * e_y;
- the notebook's discriminator, trained on real pairs (x, y) against pairs (x', y) whose
  digit x' is drawn independently of the label (a generator that ignores its label), is held
  to the optimal conditional discriminator gans-conditional-optimal-discriminator: with
  p_r(x | y) = p_r(x) [class(x) = y] / p(y) and p_g(x | y) = p_r(x), D* = 1 / (1 + p(y)) on
  matching pairs and 0 on the others, and no discriminator's held-out loss can be below
  L_D* = sum_y p(y) [log(1 + p(y)) + p(y) log((1 + p(y)) / p(y))] (about 0.335 nats) in
  expectation. A few hundred steps do not reach D*, so the test checks what holds at any
  stage: the loss lies between L_D* and far below log 4; a fake whose digit happens to match
  its label is a real pair in distribution, so D gives such fakes the same mean as real pairs;
  the mismatched fakes are pushed towards D* = 0. The same network with the label withheld
  (a constant label) cannot do better than D = 1/2, L_D = log 4, since real and fake digits
  have the same marginal: the gain comes through the label embedding.
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

from genmod.gan import discriminator_loss, generator_loss_nonsaturating

TESTS = Path(__file__).resolve().parents[1]
NOTEBOOK = "book/gans/cgan_mnist_tf.py"

SCRIPT = textwrap.dedent(r"""
    import json, math, sys
    from types import SimpleNamespace
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import tensorflow as tf
    from tensorflow.keras import layers
    from notebook_code import notebook_functions
    assert "torch" not in sys.modules
    args = json.loads(sys.argv[2])
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    ns = {"tf": tf, "layers": layers, "config": SimpleNamespace(gen_filters=(8, 8, 4), disc_filters=(16, 32))}
    nb = notebook_functions(args["notebook"], ["noise_dim", "num_classes", "cross_entropy", "discriminator_loss",
                                               "generator_loss", "make_generator_model", "make_discriminator_model"], ns)
    out = {"noise_dim": nb["noise_dim"], "num_classes": nb["num_classes"]}
    a = np.load(args["arrays"])
    lr_, lf_ = tf.constant(a["logits_real"]), tf.constant(a["logits_fake"])
    out["losses"] = [float(nb["discriminator_loss"](lr_, lf_)), float(nb["generator_loss"](lf_))]

    # the generator sees h * e_y
    G = nb["make_generator_model"]((8, 8, 4))
    emb = G.get_layer("label_embedding")
    E = rng.normal(size=emb.get_weights()[0].shape).astype("float32")
    h = rng.normal(size=(20, nb["noise_dim"])).astype("float32")
    y = rng.integers(0, nb["num_classes"], size=20).astype("int32")
    emb.set_weights([E])
    with_embedding = G([h, y], training=False).numpy()
    same_h = G([np.repeat(h[:1], 10, axis=0), np.arange(10, dtype="int32")], training=False).numpy()
    emb.set_weights([np.ones_like(E)])
    product_fed = G([h * E[y], y], training=False).numpy()
    out["generator_shape"] = list(with_embedding.shape)
    out["generator_product_max_diff"] = float(np.abs(with_embedding - product_fed).max())
    out["generator_output_scale"] = float(np.abs(with_embedding).max())
    out["generator_label_spread"] = float(same_h.std(axis=0).mean())

    # the discriminator against a generator that ignores its label
    d = np.load(args["mnist"])
    scale = lambda x: ((x.astype("float32") - 127.5) / 127.5)[..., None]
    x_tr, y_tr = scale(d["x_train"][:args["num_train"]]), d["y_train"][:args["num_train"]].astype("int32")
    x_te, y_te = tf.constant(scale(d["x_test"])), d["y_test"].astype("int32")

    def train_and_evaluate(blind):
        tf.keras.utils.set_random_seed(1)
        D = nb["make_discriminator_model"]((16, 32))
        opt = tf.keras.optimizers.Adam(1e-3)
        label = (lambda y: tf.zeros_like(y)) if blind else tf.convert_to_tensor

        @tf.function
        def step(x, y, x_other):
            with tf.GradientTape() as tape:
                loss = nb["discriminator_loss"](D([x, label(y)], training=True), D([x_other, label(y)], training=True))
            opt.apply_gradients(zip(tape.gradient(loss, D.trainable_variables), D.trainable_variables))
            return loss

        order = np.random.default_rng(2)
        b = args["batch_size"]
        for epoch in range(args["epochs"]):
            perm, other = order.permutation(len(x_tr)), order.permutation(len(x_tr))
            for i in range(0, len(x_tr) - b + 1, b):
                step(x_tr[perm[i:i + b]], y_tr[perm[i:i + b]], x_tr[other[i:i + b]])  # fakes: digits independent of y
        other = np.random.default_rng(3).permutation(len(x_te))
        l_real = D([x_te, label(y_te)], training=False)
        l_fake = D([tf.gather(x_te, other), label(y_te)], training=False)
        matched = y_te[other] == y_te
        d_fake = tf.sigmoid(l_fake).numpy()[:, 0]
        return {"loss": float(nb["discriminator_loss"](l_real, l_fake)),
                "d_real": float(tf.reduce_mean(tf.sigmoid(l_real))),
                "d_fake_matched": float(d_fake[matched].mean()), "d_fake_mismatched": float(d_fake[~matched].mean()),
                "p_y": (np.bincount(y_te, minlength=10) / len(y_te)).tolist()}

    out["conditional"] = train_and_evaluate(blind=False)
    out["blind"] = train_and_evaluate(blind=True)
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def arrays(tmp_path_factory):
    rng = np.random.default_rng(0)
    a = {"logits_real": rng.normal(1.0, 2.0, size=(64, 1)).astype(np.float32),
         "logits_fake": rng.normal(-1.0, 2.0, size=(64, 1)).astype(np.float32)}
    path = tmp_path_factory.mktemp("cgan") / "arrays.npz"
    np.savez(path, **a)
    return path, a


@pytest.fixture(scope="module")
def tf_results(arrays, mnist_file):
    path, _ = arrays
    args = {"notebook": NOTEBOOK, "arrays": str(path), "mnist": str(mnist_file),
            "num_train": 4000, "epochs": 5, "batch_size": 32}
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(TESTS), json.dumps(args)], capture_output=True, text=True,
                         cwd=TESTS.parent, timeout=600)
    assert run.returncode == 0, f"the TensorFlow subprocess failed:\n{run.stderr[-4000:]}"
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_cgan_losses_match_the_torch_losses_of_genmod(arrays, tf_results):
    _, a = arrays
    d_tf, g_tf = tf_results["losses"]
    l_real, l_fake = torch.from_numpy(a["logits_real"]).double(), torch.from_numpy(a["logits_fake"]).double()
    assert d_tf == pytest.approx(discriminator_loss(l_real, l_fake).item(), rel=1e-5)
    assert g_tf == pytest.approx(generator_loss_nonsaturating(l_fake).item(), rel=1e-5)


def test_generator_sees_the_noise_times_the_label_embedding(tf_results):
    assert tf_results["generator_shape"] == [20, 28, 28, 1]
    assert tf_results["noise_dim"] == 100 and tf_results["num_classes"] == 10
    # exact up to float32 rounding, against outputs of order 0.1-1
    assert tf_results["generator_output_scale"] > 1e-2
    assert tf_results["generator_product_max_diff"] < 1e-5
    # and with a non-trivial embedding, the same h gives a different image for each class
    assert tf_results["generator_label_spread"] > 1e-3


def optimal_conditional_loss(p_y):
    r"""L_D at D* for a generator that draws p_r(x) whatever the label (see the module docstring), in nats."""
    p = np.asarray(p_y)
    return float(np.sum(p * (np.log1p(p) + p * np.log((1 + p) / p))))


def test_conditional_discriminator_moves_towards_the_optimal_conditional_discriminator(tf_results):
    r"""Eq. gans-conditional-optimal-discriminator on MNIST pairs, for a label-blind generator."""
    res = tf_results["conditional"]
    p_y = np.array(res["p_y"])
    l_star = optimal_conditional_loss(p_y)
    assert l_star == pytest.approx(0.335, abs=0.01)  # p(y) close to 1/10: log(11/10) + log(11) / 10
    # the held-out loss of any fixed D is >= L_D* in expectation (2,000 pairs: noise of about 0.02) ...
    assert res["loss"] > l_star - 0.05
    # ... and the label has taken it more than half way from the log 4 = 1.386 of a discriminator
    # that cannot use it down to L_D*
    assert res["loss"] < (math.log(4) + l_star) / 2
    # fakes that match their label are real pairs in distribution: the same mean D (about 200 of them)
    assert res["d_fake_matched"] == pytest.approx(res["d_real"], abs=0.05)
    # mismatched fakes are pushed towards D* = 0, real pairs towards D* = 1 / (1 + p(y)) ~ 0.91
    assert res["d_fake_mismatched"] < 0.35
    assert res["d_real"] > 0.7


def test_discriminator_without_the_label_cannot_beat_log_4(tf_results):
    r"""Same network, label withheld: real and fake digits have one marginal, so D* = 1/2 and L_D* = log 4."""
    blind, conditional = tf_results["blind"], tf_results["conditional"]
    assert blind["loss"] > math.log(4) - 0.03
    assert blind["d_fake_matched"] == pytest.approx(blind["d_fake_mismatched"], abs=0.05)
    # with the label, the same network closes more than half the gap between the blind loss and L_D*
    l_star = optimal_conditional_loss(np.array(conditional["p_y"]))
    assert conditional["loss"] < (blind["loss"] + l_star) / 2
